/* Values: immutable, reference-counted buffers. */
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

struct hd_value {
  atomic_size_t refs;
  hd_value_kind kind;
  size_t size;
  hd__vslab *slab; /* the block it was made in, or NULL: its own */
  alignas(max_align_t) unsigned char data[]; /* size bytes, then a NUL */
};

/* ---- scalars made in bulk ----
 * A pool's call makes a result per item, most often an integer or a
 * double: one block of many such values costs one allocation, on pages
 * populated at once (huge ones when large), where one allocation per
 * value costs a fault per fresh page. The block is freed when its last
 * value is, so one value kept alive keeps its whole block: blocks are
 * used only for a call's results, which live and die together. */

#define SLAB_BIAS (SIZE_MAX / 2)
#define SCALAR_STRIDE                                                          \
  ((sizeof(hd_value) + 8 + 1 + alignof(max_align_t) - 1) /                     \
   alignof(max_align_t) * alignof(max_align_t))

struct hd__vslab {
  atomic_size_t live; /* SLAB_BIAS + values freed not yet, while filled */
  /* live on a cache line of its own: an iterator's reader frees the
     values of a block that another thread is still filling. */
  char pad[64 - sizeof(atomic_size_t)];
  size_t bytes;     /* the block's size */
  size_t next, cap; /* the filler's: values taken, room */
  hd__vslab *spare; /* the next block kept for reuse (cache below) */
  alignas(max_align_t) unsigned char values[];
};

/* Freed blocks are kept, up to SPARE_BYTES in all, for the next calls'
 * results: fresh memory costs a page fault per page (and, on a VM, the
 * host's too), which a loop of calls over 10^4-10^5 items paid for every
 * call, while a block used before is already there. hd__vslab_trim()
 * (when a pool is freed) gives them back. */
#define SPARE_BYTES ((size_t)64 << 20)
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;
static hd__vslab *spares;
static size_t spare_bytes;

void hd__value_fork_lock(int lock) {
  if (lock)
    pthread_mutex_lock(&spare_lock);
  else
    pthread_mutex_unlock(&spare_lock);
}

static void slab_free(hd__vslab *s) {
  pthread_mutex_lock(&spare_lock);
  if (spare_bytes + s->bytes <= SPARE_BYTES) {
    s->spare = spares;
    spares = s;
    spare_bytes += s->bytes;
    s = NULL;
  }
  pthread_mutex_unlock(&spare_lock);
  if (s != NULL)
    hd__big_free(s, 1, s->bytes);
}

/* A kept block of at least bytes (and not more than twice), or NULL. */
static hd__vslab *spare_take(size_t bytes) {
  pthread_mutex_lock(&spare_lock);
  hd__vslab **at = &spares;
  while (*at != NULL && ((*at)->bytes < bytes || (*at)->bytes / 2 > bytes))
    at = &(*at)->spare;
  hd__vslab *s = *at;
  if (s != NULL) {
    *at = s->spare;
    spare_bytes -= s->bytes;
  }
  pthread_mutex_unlock(&spare_lock);
  return s;
}

void hd__vslab_trim(void) {
  pthread_mutex_lock(&spare_lock);
  hd__vslab *s = spares;
  spares = NULL;
  spare_bytes = 0;
  pthread_mutex_unlock(&spare_lock);
  while (s != NULL) {
    hd__vslab *next = s->spare;
    hd__big_free(s, 1, s->bytes);
    s = next;
  }
}

__attribute__((destructor)) static void spares_atexit(void) {
  hd__vslab_trim();
}

hd__vslab *hd__vslab_new(size_t n) {
  if (n == 0 || n > (SIZE_MAX - sizeof(hd__vslab)) / SCALAR_STRIDE)
    return NULL;
  size_t bytes = sizeof(hd__vslab) + n * SCALAR_STRIDE;
  hd__vslab *s = spare_take(bytes);
  /* Large: mapped and populated at once (on huge pages where the kernel
     has them); otherwise from malloc. Either way hd__big_free() frees
     it. */
  if (s == NULL) {
    s = bytes >= (1u << 20) ? hd__big_calloc(1, bytes) : hd__malloc(bytes);
    if (s == NULL)
      return NULL;
    s->bytes = bytes;
  }
  atomic_init(&s->live, SLAB_BIAS);
  s->next = 0;
  s->cap = (s->bytes - sizeof(hd__vslab)) / SCALAR_STRIDE;
  s->spare = NULL;
  return s;
}

void hd__vslab_done(hd__vslab *s) {
  if (s == NULL)
    return;
  size_t drop = SLAB_BIAS - s->next;
  if (atomic_fetch_sub_explicit(&s->live, drop, memory_order_acq_rel) == drop)
    slab_free(s);
}

size_t hd__vslab_room(const hd__vslab *s) {
  return s != NULL ? s->cap - s->next : 0;
}

int hd__vslab_reset(hd__vslab *s) {
  /* Every value taken has been freed: nobody else can reach the block. */
  if (atomic_load_explicit(&s->live, memory_order_acquire) !=
      SLAB_BIAS - s->next)
    return 0;
  atomic_store_explicit(&s->live, SLAB_BIAS, memory_order_relaxed);
  s->next = 0;
  return 1;
}

/* A scalar of kind from s, or NULL when it is full. */
static hd_value *slab_take(hd__vslab *s, hd_value_kind kind) {
  if (s == NULL || s->next >= s->cap)
    return NULL;
  hd_value *v = (hd_value *)(void *)(s->values + s->next++ * SCALAR_STRIDE);
  atomic_init(&v->refs, 1);
  v->kind = kind;
  v->size = 8;
  v->slab = s;
  v->data[8] = '\0';
  return v;
}

/* The block this thread's scalars come from (hd__vslab_use()). */
static _Thread_local hd__vslab *thread_slab;

hd__vslab *hd__vslab_use(hd__vslab *s) {
  hd__vslab *prev = thread_slab;
  thread_slab = s;
  return prev;
}

int hd__value_alloc_in(hd__vslab *s, hd_value_kind kind, size_t size,
                       hd_value **out) {
  hd_value *v = NULL;
  if (size == 8 && (kind == HD_VALUE_INT || kind == HD_VALUE_DOUBLE))
    v = slab_take(s, kind);
  if (v == NULL)
    return hd__value_alloc(kind, size, out);
  *out = v;
  return HD_OK;
}

int hd__value_alloc(hd_value_kind kind, size_t size, hd_value **out) {
  if (size > SIZE_MAX - sizeof(hd_value) - 1)
    return HD_ENOMEM;
  hd_value *v = hd__malloc(sizeof(hd_value) + size + 1);
  if (v == NULL)
    return HD_ENOMEM;
  atomic_init(&v->refs, 1);
  v->kind = kind;
  v->size = size;
  v->slab = NULL;
  v->data[size] = '\0';
  *out = v;
  return HD_OK;
}

void *hd__value_mut(hd_value *v) { return v->data; }

/* One empty bytes value for every task without output, made once and
 * never freed: its count starts so high that no run brings it to zero. */
static hd_value *empty_value;
static pthread_once_t empty_once = PTHREAD_ONCE_INIT;

static void make_empty(void) {
  if (hd__value_alloc(HD_VALUE_BYTES, 0, &empty_value) == HD_OK)
    atomic_store(&empty_value->refs, SIZE_MAX / 2);
}

hd_value *hd__value_empty(void) {
  pthread_once(&empty_once, make_empty);
  return empty_value;
}

hd_value *hd__value_shrink(hd_value *v, size_t size) {
  if (size >= v->size || v->slab != NULL)
    return v;
  hd_value *n = hd__realloc(v, sizeof(hd_value) + size + 1);
  if (n == NULL)
    n = v; /* keeping the larger block is harmless */
  n->size = size;
  n->data[size] = '\0';
  return n;
}

static int new_copy(hd_value_kind kind, const void *data, size_t len,
                    hd_value **out) {
  if (out == NULL || (data == NULL && len > 0))
    return HD_EINVAL;
  hd_value *v;
  int rc = hd__value_alloc(kind, len, &v);
  if (rc != HD_OK)
    return rc;
  if (len > 0)
    memcpy(v->data, data, len);
  *out = v;
  return HD_OK;
}

int hd_value_new_bytes(const void *data, size_t len, hd_value **out) {
  return new_copy(HD_VALUE_BYTES, data, len, out);
}

int hd_value_new_text(const char *s, size_t len, hd_value **out) {
  if (len == HD_NUL_TERMINATED) {
    if (s == NULL)
      return HD_EINVAL;
    len = strlen(s);
  }
  return new_copy(HD_VALUE_TEXT, s, len, out);
}

int hd_value_new_int(int64_t i, hd_value **out) {
  hd_value *v = out != NULL ? slab_take(thread_slab, HD_VALUE_INT) : NULL;
  if (v == NULL)
    return new_copy(HD_VALUE_INT, &i, sizeof(i), out);
  memcpy(v->data, &i, sizeof(i));
  *out = v;
  return HD_OK;
}

int hd_value_new_double(double d, hd_value **out) {
  hd_value *v = out != NULL ? slab_take(thread_slab, HD_VALUE_DOUBLE) : NULL;
  if (v == NULL)
    return new_copy(HD_VALUE_DOUBLE, &d, sizeof(d), out);
  memcpy(v->data, &d, sizeof(d));
  *out = v;
  return HD_OK;
}

hd_value *hd_value_ref(hd_value *v) {
  if (v != NULL)
    atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
  return v;
}

void hd_value_unref(hd_value *v) {
  if (v == NULL)
    return;
  /* The only reference (most values, read once and freed) is dropped
     without a locked instruction: nobody else holds one to race with. */
  if (atomic_load_explicit(&v->refs, memory_order_acquire) != 1 &&
      atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
    return;
  hd__vslab *s = v->slab;
  if (s == NULL)
    hd__free(v);
  else if (atomic_fetch_sub_explicit(&s->live, 1, memory_order_acq_rel) == 1)
    slab_free(s);
}

void hd__value_copy_many(hd_value *const *src, size_t n, hd__vslab *slab,
                         hd_value **dst, size_t stride) {
  for (size_t i = 0; i < n; i++) {
    hd_value *v = src[i], *c = NULL;
    if (i + 16 < n)
      __builtin_prefetch(src[i + 16], 0);
    if ((v->kind == HD_VALUE_INT || v->kind == HD_VALUE_DOUBLE) &&
        v->size == 8 && (c = slab_take(slab, v->kind)) != NULL)
      memcpy(c->data, v->data, 8);
    dst[i * stride] = c != NULL ? c : hd_value_ref(v);
  }
}

/* Count down s by drop values freed together. */
static void slab_drop(hd__vslab *s, size_t drop) {
  if (s != NULL && drop > 0 &&
      atomic_fetch_sub_explicit(&s->live, drop, memory_order_acq_rel) == drop)
    slab_free(s);
}

void hd__value_unref_many(hd_value *const *v, size_t n) {
  hd__vslab *s = NULL;
  size_t drop = 0;
  for (size_t i = 0; i < n; i++) {
    hd_value *x = v[i];
    if (i + 8 < n && v[i + 8] != NULL)
      __builtin_prefetch(v[i + 8], 1);
    if (x == NULL)
      continue;
    /* Held here alone, in a block: nobody else can reach it, and its
       block is counted down once for a run of such values. */
    if (x->slab != NULL &&
        atomic_load_explicit(&x->refs, memory_order_acquire) == 1) {
      if (x->slab != s) {
        slab_drop(s, drop);
        s = x->slab;
        drop = 0;
      }
      drop++;
      continue;
    }
    hd_value_unref(x);
  }
  slab_drop(s, drop);
}

int hd__value_reuse(hd_value *v, hd_value_kind kind, size_t size) {
  if (v == NULL || v->size != size ||
      atomic_load_explicit(&v->refs, memory_order_acquire) != 1)
    return 0;
  v->kind = kind;
  return 1;
}

/* NULL reads as an empty bytes value, as a task's missing output does. */
hd_value_kind hd_value_kind_of(const hd_value *v) {
  return v != NULL ? v->kind : HD_VALUE_BYTES;
}

const char *hd_value_kind_name(hd_value_kind kind) {
  switch (kind) {
  case HD_VALUE_BYTES:
    return "bytes";
  case HD_VALUE_TEXT:
    return "text";
  case HD_VALUE_INT:
    return "int";
  case HD_VALUE_DOUBLE:
    return "double";
  }
  return "unknown";
}

size_t hd_value_size(const hd_value *v) { return v != NULL ? v->size : 0; }

const void *hd_value_data(const hd_value *v) {
  return v != NULL ? (const void *)v->data : (const void *)"";
}

const char *hd_value_text(const hd_value *v) {
  if (v == NULL)
    return ""; /* read as the empty bytes value, as the other readers do */
  if (v->kind != HD_VALUE_TEXT && v->kind != HD_VALUE_BYTES)
    return NULL;
  return (const char *)v->data;
}

int hd_value_get_int(const hd_value *v, int64_t *out) {
  if (v == NULL || out == NULL)
    return HD_EINVAL;
  if (v->kind != HD_VALUE_INT)
    return HD_ETYPE;
  memcpy(out, v->data, sizeof(*out));
  return HD_OK;
}

int hd_value_get_double(const hd_value *v, double *out) {
  if (v == NULL || out == NULL)
    return HD_EINVAL;
  if (v->kind != HD_VALUE_DOUBLE)
    return HD_ETYPE;
  memcpy(out, v->data, sizeof(*out));
  return HD_OK;
}

int hd_value_equal(const hd_value *a, const hd_value *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return a->kind == b->kind && a->size == b->size &&
         memcmp(a->data, b->data, a->size) == 0;
}
