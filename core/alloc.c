/* Allocation. Every allocation of the library goes through these wrappers
 * so that tests can inject failures and watch request sizes. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"

static atomic_long fail_countdown = -1;
static atomic_size_t largest_request;

static int should_fail(size_t size) {
  size_t seen = atomic_load_explicit(&largest_request, memory_order_relaxed);
  while (size > seen &&
         !atomic_compare_exchange_weak(&largest_request, &seen, size)) {
  }
  long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
  if (n < 0)
    return 0;
  return atomic_fetch_sub(&fail_countdown, 1) == 0;
}

void hd__alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }

size_t hd__alloc_largest_reset(void) {
  return atomic_exchange(&largest_request, 0);
}

void *hd__malloc(size_t size) {
  if (should_fail(size))
    return NULL;
  return malloc(size ? size : 1);
}

void *hd__calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size)
    return NULL;
  if (should_fail(count * size))
    return NULL;
  return calloc(count ? count : 1, size ? size : 1);
}

void *hd__realloc(void *p, size_t size) {
  if (should_fail(size))
    return NULL;
  return realloc(p, size ? size : 1);
}

void hd__free(void *p) { free(p); }

char *hd__strndup(const char *s, size_t n) {
  char *d = hd__malloc(n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *hd__strdup(const char *s) { return hd__strndup(s, strlen(s)); }

int hd__grow(void **items, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return HD_OK;
  size_t ncap = *cap ? *cap : 8;
  while (ncap < need) {
    if (ncap > SIZE_MAX / 2)
      return HD_ENOMEM;
    ncap *= 2;
  }
  if (elem != 0 && ncap > SIZE_MAX / elem)
    return HD_ENOMEM;
  void *p = hd__realloc(*items, ncap * elem);
  if (p == NULL)
    return HD_ENOMEM;
  *items = p;
  *cap = ncap;
  return HD_OK;
}

#define BIG_MIN (1u << 20)
/* The size of a transparent huge page on x86-64 and arm64's usual
 * configuration; elsewhere the advice below is merely ignored. */
#define HUGE_PAGE (2u << 20)

/* A mapping of bytes aligned on HUGE_PAGE, so that all of it but its
 * tail can be backed by huge pages. NULL when the system refuses. */
static void *map_aligned(size_t bytes) {
  size_t extra = bytes + HUGE_PAGE;
  if (extra < bytes)
    return NULL;
  char *raw = mmap(NULL, extra, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  uintptr_t a = ((uintptr_t)raw + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
  char *p = (char *)a;
  /* mmap returns whole pages, so both cuts fall on page boundaries. */
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  size_t len = (bytes + page - 1) / page * page;
  if (p > raw)
    munmap(raw, (size_t)(p - raw));
  if (raw + extra > p + len)
    munmap(p + len, (size_t)(raw + extra - (p + len)));
  return p;
}

void *hd__big_calloc(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size)
    return NULL;
  size_t bytes = count * size;
  if (bytes < BIG_MIN)
    return hd__calloc(count, size);
  if (should_fail(bytes))
    return NULL;
  /* Measured on these VMs (512 MiB, then one write per cache line): pages
     populated by MAP_POPULATE still cost 1.0 s on first touch, huge pages
     faulted by touch 1.2 s, and huge pages populated in advance 0.08 s.
     So: huge pages, populated at once, where the kernel has both. */
  if (bytes >= HUGE_PAGE) {
    void *p = map_aligned(bytes);
    if (p != NULL) {
#if defined(MADV_HUGEPAGE) && defined(MADV_POPULATE_WRITE)
      madvise(p, bytes, MADV_HUGEPAGE);
      if (madvise(p, bytes, MADV_POPULATE_WRITE) == 0)
        return p;
#endif
      /* Without the advice (an older kernel): populated page by page. */
      munmap(p, bytes);
    }
  }
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void *hd__big_reserve(size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size)
    return NULL;
  size_t bytes = count * size;
  if (bytes < BIG_MIN || should_fail(bytes))
    return NULL;
  void *p = map_aligned(bytes);
#ifdef MADV_HUGEPAGE
  if (p != NULL)
    madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void hd__big_populate(void *p, size_t from, size_t to) {
#ifdef MADV_POPULATE_WRITE
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  from = from / page * page;
  if (to > from)
    madvise((char *)p + from, to - from, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)from;
  (void)to;
#endif
}

void hd__big_small_pages(void *p, size_t bytes) {
#ifdef MADV_NOHUGEPAGE
  /* Up to a huge page's boundary: what follows stays huge. */
  bytes = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  (void)madvise(p, bytes, MADV_NOHUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

void hd__big_free(void *p, size_t count, size_t size) {
  if (p == NULL)
    return;
  size_t bytes = count * size;
  if (bytes < BIG_MIN)
    hd__free(p);
  else
    munmap(p, bytes);
}
