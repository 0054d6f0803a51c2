/* A pool's calls, their results, and the iterators and futures that hand
 * them out. A call is shared by the pool's dispatcher, which fills it as
 * items end, and by its user, who reads it; whichever lets go last frees
 * it. */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "poolcall.h"

/* ---- calls ---- */

/* Arrays of at least this many bytes are mapped in whole transparent
 * huge pages (see struct hd_results): on these VMs a 4 KiB page costs
 * several microseconds on first touch even when populated in advance, a
 * populated huge page almost nothing. Smaller ones come from the
 * allocator, which keeps them for the next call (a mapping of its own
 * would cost an unmapping, with its TLB shootdowns, at every call). */
#define HUGE_PAGE ((size_t)2 << 20)
#define MAPPED_MIN ((size_t)256 << 10)

/* The length of the mapping that holds bytes. */
static size_t mapped_len(size_t bytes) {
  return (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
}

/* Mapped arrays kept for the next calls, up to KEPT_MAPS of them and
 * KEPT_MAP_BYTES in all: a loop of calls over 10^6 items mapped and
 * populated 14 to 22 MiB per call, and where the kernel had no free huge
 * page at hand one 8 MiB array took 19 ms to populate (compaction, and the
 * host's own faults on this kind of VM), against 0.3 ms to clear a kept
 * one. A mapping left out of forked workers (private) serves only such
 * arrays; a child of a fork forgets those it does not have. */
#define KEPT_MAPS 8
#define KEPT_MAP_BYTES ((size_t)64 << 20)
typedef struct kept_map {
  void *p;
  size_t len;
  int private;
} kept_map;
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static kept_map maps[KEPT_MAPS];
static size_t nmaps, map_bytes;

static void *map_take(size_t len, int private) {
  void *p = NULL;
  pthread_mutex_lock(&maps_lock);
  for (size_t i = nmaps; i-- > 0;)
    if (maps[i].len == len && maps[i].private == private) {
      p = maps[i].p;
      map_bytes -= len;
      maps[i] = maps[--nmaps];
      break;
    }
  pthread_mutex_unlock(&maps_lock);
  return p;
}

static void map_give(void *p, size_t len, int private) {
  pthread_mutex_lock(&maps_lock);
  int kept = nmaps < KEPT_MAPS && map_bytes + len <= KEPT_MAP_BYTES;
  if (kept) {
    maps[nmaps++] = (kept_map){p, len, private};
    map_bytes += len;
  }
  pthread_mutex_unlock(&maps_lock);
  if (!kept)
    munmap(p, len);
}

void hd__arrays_trim(void) {
  pthread_mutex_lock(&maps_lock);
  kept_map old[KEPT_MAPS];
  size_t n = nmaps;
  memcpy(old, maps, n * sizeof(*old));
  nmaps = 0;
  map_bytes = 0;
  pthread_mutex_unlock(&maps_lock);
  for (size_t i = 0; i < n; i++)
    munmap(old[i].p, old[i].len);
}

void hd__arrays_fork_lock(int lock) {
  if (lock)
    pthread_mutex_lock(&maps_lock);
  else
    pthread_mutex_unlock(&maps_lock);
}

void hd__arrays_fork_child(void) {
  /* Private mappings did not come along; the others are the parent's
     pages, shared until written, and not worth keeping here. */
  for (size_t i = 0; i < nmaps; i++)
    if (!maps[i].private)
      munmap(maps[i].p, maps[i].len);
  nmaps = 0;
  map_bytes = 0;
}

__attribute__((destructor)) static void maps_atexit(void) { hd__arrays_trim(); }

/* An array of count elements of size bytes, zeroed when zero is nonzero
 * (otherwise its content is undefined); mapped with its pages populated
 * when large, or taken from those kept, and then, with private nonzero,
 * left out of forked workers. Free it with array_free(p, count, size,
 * private). */
static void *array_new(size_t count, size_t size, int private, int zero) {
  if (size != 0 && count > SIZE_MAX / size)
    return NULL;
  size_t bytes = count * size;
  if (bytes < MAPPED_MIN)
    return zero ? hd__calloc(count, size) : hd__malloc(bytes);
  size_t len = mapped_len(bytes), align = HUGE_PAGE;
  if (len + align < len)
    return NULL;
  char *p = map_take(len, private);
  if (p != NULL) {
    if (zero)
      memset(p, 0, bytes);
    return p;
  }
  char *raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return NULL;
  p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
  /* mmap gives whole pages, so both cuts fall on page boundaries. */
  if (p > raw)
    munmap(raw, (size_t)(p - raw));
  if (raw + len + align > p + len)
    munmap(p + len, (size_t)(raw + len + align - (p + len)));
#ifdef MADV_HUGEPAGE
  /* Each of these is only a saving, and may fail. */
  (void)madvise(p, len, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
  (void)madvise(p, len, MADV_POPULATE_WRITE);
#endif
  if (private)
    (void)madvise(p, len, MADV_DONTFORK);
  return p;
}

static void array_free(void *p, size_t count, size_t size, int private) {
  if (p == NULL)
    return;
  if (count * size < MAPPED_MIN)
    hd__free(p);
  else
    map_give(p, mapped_len(count * size), private);
}

static void results_free(hd_results *r) {
  if (r == NULL)
    return;
  if (r->values != NULL)
    hd__value_unref_many(r->values, r->n);
  for (size_t i = 0; r->errors != NULL && i < r->n; i++)
    hd__free(r->errors[i]);
  array_free(r->values, r->n + 1, sizeof(*r->values), 1);
  array_free(r->state, r->n + 1, sizeof(*r->state), 1);
  array_free(r->errors, r->n + 1, sizeof(*r->errors), 1);
  hd__free(r);
}

static hd_results *results_new(size_t n) {
  hd_results *r = hd__calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->n = n;
  r->values = array_new(n + 1, sizeof(*r->values), 1, 1);
  r->state = array_new(n + 1, sizeof(*r->state), 1, 1);
  if (r->values == NULL || r->state == NULL) {
    results_free(r);
    return NULL;
  }
  return r;
}

static void release_args(hd__call *c) {
  if (c->owned != NULL && !c->borrowed)
    hd__value_unref_many(c->owned, c->n * c->nargs);
  array_free(c->owned, c->n * c->nargs + 1, sizeof(hd_value *), 0);
  c->owned = NULL;
  c->args = NULL;
}

int hd__call_new(hd__call_kind kind, const char *fn, const hd_list *lists,
                 size_t nlists, hd__args_mode mode, hd__call **out) {
  int borrow = mode == HD__ARGS_BORROW;
  *out = NULL;
  if (fn == NULL || fn[0] == '\0' || (nlists > 0 && lists == NULL))
    return HD_EINVAL;
  for (const char *s = fn; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return HD_EINVAL;
  size_t n = nlists > 0 ? SIZE_MAX : 1;
  for (size_t l = 0; l < nlists; l++) {
    if (lists[l].count > 0 && lists[l].items == NULL)
      return HD_EINVAL;
    if (lists[l].count < n)
      n = lists[l].count;
  }
  if (n > UINT32_MAX / 2)
    return HD_EINVAL;
  for (size_t l = 0; l < nlists; l++)
    for (size_t i = 0; i < n; i++)
      if (lists[l].items[i] == NULL)
        return HD_EINVAL;
  hd__call *c = hd__calloc(1, sizeof(*c));
  if (c == NULL)
    return HD_ENOMEM;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, &ca);
  pthread_condattr_destroy(&ca);
  c->refs = 1;
  c->kind = kind;
  c->n = n;
  c->nargs = nlists;
  c->borrowed = borrow;
  c->fn = hd__strdup(fn);
  c->res = results_new(n);
  /* Written in the order items end, and read only that far. */
  c->order = array_new(n + 1, sizeof(uint32_t), 1, 0);
  int args_ok = 1;
  if (borrow && nlists == 1) {
    /* Item-major already; NULL for an empty list ({NULL, 0}). */
    c->args = lists[0].items;
  } else {
    /* Read by forked workers: inherited, and never written during the
       run. */
    c->owned = array_new(n * nlists + 1, sizeof(hd_value *), 0, 0);
    c->args = c->owned;
    args_ok = c->owned != NULL;
  }
  if (c->fn == NULL || c->res == NULL || c->order == NULL || !args_ok) {
    c->borrowed = 1; /* nothing is referenced yet */
    hd__call_unref(c);
    return HD_ENOMEM;
  }
  /* The copies live and die with the call: one block holds them. */
  hd__vslab *slab =
      mode == HD__ARGS_COPY && n > 0 ? hd__vslab_new(n * nlists) : NULL;
  for (size_t l = 0; c->owned != NULL && l < nlists; l++) {
    hd_value *const *v = lists[l].items;
    if (mode == HD__ARGS_COPY) {
      hd__value_copy_many(v, n, slab, c->owned + l, nlists);
      continue;
    }
    for (size_t i = 0; i < n; i++)
      c->owned[i * nlists + l] = borrow ? v[i] : hd_value_ref(v[i]);
  }
  hd__vslab_done(slab);
  c->ended = n == 0;
  *out = c;
  return HD_OK;
}

void hd__call_ref(hd__call *c) {
  pthread_mutex_lock(&c->lock);
  c->refs++;
  pthread_mutex_unlock(&c->lock);
}

void hd__call_unref(hd__call *c) {
  if (c == NULL)
    return;
  pthread_mutex_lock(&c->lock);
  unsigned left = --c->refs;
  pthread_mutex_unlock(&c->lock);
  if (left > 0)
    return;
  release_args(c);
  results_free(c->res);
  array_free(c->order, c->n + 1, sizeof(uint32_t), 1);
  hd__free(c->fn);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  hd__free(c);
}

int hd__call_pending(hd__call *c, size_t item) {
  pthread_mutex_lock(&c->lock);
  int pending =
      c->res != NULL && item < c->n && c->res->state[item] == HD__ITEM_PENDING;
  pthread_mutex_unlock(&c->lock);
  return pending;
}

void hd__call_release_args(hd__call *c) {
  pthread_mutex_lock(&c->lock);
  release_args(c);
  pthread_mutex_unlock(&c->lock);
}

/* Under c->lock. value and error pass to the call (or are freed); the
 * item, when it ends here, takes place at in c->order, and is counted
 * in c->settled by publish(). Returns 1 when the item ended here, 0 when
 * it had ended before. */
static int settle_item(hd__call *c, size_t item, int status, hd_value *value,
                       char *error, size_t at) {
  hd_results *r = c->res;
  if (r == NULL || item >= r->n || r->state[item] != HD__ITEM_PENDING) {
    hd_value_unref(value);
    hd__free(error);
    return 0;
  }
  if (status == HD_OK) {
    r->values[item] = value ? value : hd_value_ref(hd__value_empty());
    hd__free(error);
  } else {
    hd_value_unref(value);
    r->failed++;
    if (error != NULL && r->errors == NULL)
      __atomic_store_n(&r->errors,
                       array_new(r->n + 1, sizeof(*r->errors), 1, 1),
                       __ATOMIC_RELEASE);
    if (r->errors != NULL)
      r->errors[item] = error;
    else
      hd__free(error);
  }
  c->order[at] = (uint32_t)item;
  /* An iterator reads these without the lock (see hd_iter_next()): the
     item's state, then how many have ended (publish()), are stored
     last. */
  __atomic_store_n(&r->state[item],
                   status == HD_OK      ? HD__ITEM_DONE
                   : status == HD_EINTR ? HD__ITEM_CANCELLED
                                        : HD__ITEM_FAILED,
                   __ATOMIC_RELEASE);
  return 1;
}

/* Under c->lock: settled items have ended in all. Stored once for a
 * block of items: a reader waiting without the lock reads c->settled,
 * and a store per item made its line travel between the two CPUs at
 * every item. */
static void publish(hd__call *c, size_t settled) {
  if (settled == c->settled)
    return;
  __atomic_store_n(&c->settled, settled, __ATOMIC_RELEASE);
  if (settled == c->n)
    __atomic_store_n(&c->ended, 1, __ATOMIC_RELEASE);
}

static int settle_locked(hd__call *c, size_t item, int status, hd_value *value,
                         char *error) {
  if (!settle_item(c, item, status, value, error, c->settled))
    return 0;
  publish(c, c->settled + 1);
  return 1;
}

/* Wake whoever waits on c, under c->lock, when items first .. first + n
 * - 1 just ended: a map's or a future's waiter only when the call has
 * ended; imap's only when its next item is among them; uimap's always.
 * A wake-up costs tens of microseconds here, and results come a block
 * at a time from several workers at once. */
static void wake(hd__call *c, size_t first, size_t n) {
  if (c->ended || c->kind == HD__CALL_UIMAP ||
      (c->kind == HD__CALL_IMAP && c->next >= first && c->next - first < n))
    pthread_cond_broadcast(&c->cond);
}

void hd__call_settle(hd__call *c, size_t item, int status, hd_value *value,
                     const char *error) {
  char *e = status != HD_OK && error != NULL ? hd__strdup(error) : NULL;
  hd_value_ref(status == HD_OK ? value : NULL);
  pthread_mutex_lock(&c->lock);
  settle_locked(c, item, status, status == HD_OK ? value : NULL, e);
  wake(c, item, 1);
  pthread_mutex_unlock(&c->lock);
}

void hd__call_settle_many(hd__call *c, size_t first, size_t n,
                          const int *status, hd_value **values, char **errors,
                          size_t wake_first, size_t wake_n, size_t *left) {
  pthread_mutex_lock(&c->lock);
  size_t settled = c->settled, ended = 0;
  for (size_t i = 0; i < n; i++) {
    ended += (size_t)settle_item(c, first + i, status[i], values[i], errors[i],
                                 settled + ended);
    values[i] = NULL;
    errors[i] = NULL;
  }
  publish(c, settled + ended);
  if (left != NULL)
    *left -= ended < *left ? ended : *left;
  if (wake_n > 0 && (left == NULL || *left == 0))
    wake(c, wake_first, wake_n);
  pthread_mutex_unlock(&c->lock);
}

void hd__call_set_help(hd__call *c, int (*help)(void *data, size_t item),
                       void *data) {
  /* Readers look at help without the lock (see help_once()). */
  if (help != NULL)
    __atomic_store_n(&c->help_data, data, __ATOMIC_RELEASE);
  __atomic_store_n(&c->help, help, __ATOMIC_SEQ_CST);
  if (help != NULL)
    return;
  pthread_mutex_lock(&c->lock);
  while (__atomic_load_n(&c->helpers, __ATOMIC_SEQ_CST) > 0)
    pthread_cond_wait(&c->cond, &c->lock);
  pthread_mutex_unlock(&c->lock);
}

void hd__call_abort(hd__call *c, int status, const char *error) {
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; c->res != NULL && i < c->n; i++)
    if (c->res->state[i] == HD__ITEM_PENDING)
      settle_locked(c, i, status, NULL,
                    error != NULL && status != HD_OK ? hd__strdup(error)
                                                     : NULL);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

/* now + seconds on CLOCK_MONOTONIC. */
static struct timespec deadline(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (seconds > 1e9)
    seconds = 1e9;
  time_t whole = (time_t)seconds;
  long ns = (long)((seconds - (double)whole) * 1e9);
  ts.tv_sec += whole;
  ts.tv_nsec += ns;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

int hd__spin_locked(pthread_mutex_t *lock, int (*ready)(void *), void *arg,
                    uint64_t ns) {
  uint64_t until = hd__now_ns() + ns;
  while (!ready(arg) && hd__now_ns() < until) {
    pthread_mutex_unlock(lock);
    sched_yield();
    pthread_mutex_lock(lock);
  }
  return ready(arg);
}

/* Look at whether c has ended for up to ns, without the lock (which the
 * threads settling its items take), yielding the CPU between looks. */
static int spin_ended(hd__call *c, uint64_t ns) {
  uint64_t until = hd__now_ns() + ns;
  while (!__atomic_load_n(&c->ended, __ATOMIC_ACQUIRE)) {
    if (hd__now_ns() >= until)
      return 0;
    sched_yield();
  }
  return 1;
}

int hd__call_wait(hd__call *c, double timeout) {
  if (timeout != 0 && spin_ended(c, timeout > 0 && timeout * 1e9 < HD__SPIN_NS
                                        ? (uint64_t)(timeout * 1e9)
                                        : HD__SPIN_NS))
    return 1;
  pthread_mutex_lock(&c->lock);
  struct timespec until = deadline(timeout > 0 ? timeout : 0);
  int ok = 1;
  while (!c->ended) {
    if (timeout < 0) {
      pthread_cond_wait(&c->cond, &c->lock);
    } else if (timeout == 0 || pthread_cond_timedwait(&c->cond, &c->lock,
                                                      &until) == ETIMEDOUT) {
      ok = c->ended;
      break;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return ok;
}

int hd__call_status(hd__call *c) {
  pthread_mutex_lock(&c->lock);
  int rc = HD_OK;
  for (size_t i = 0; c->res != NULL && i < c->n; i++) {
    if (c->res->state[i] == HD__ITEM_CANCELLED)
      rc = HD_EINTR;
    else if (c->res->state[i] != HD__ITEM_DONE && rc == HD_OK)
      rc = HD_ETASK;
  }
  pthread_mutex_unlock(&c->lock);
  return rc;
}

/* ---- results ---- */

/* Item i's status as a code (an item that has not ended is not asked
 * for). */
static int item_code(const hd_results *r, size_t i) {
  switch (r->state[i]) {
  case HD__ITEM_DONE:
    return HD_OK;
  case HD__ITEM_CANCELLED:
    return HD_EINTR;
  default:
    return HD_ETASK;
  }
}

size_t hd_results_count(const hd_results *r) { return r ? r->n : 0; }

size_t hd_results_failed(const hd_results *r) { return r ? r->failed : 0; }

hd_value *hd_results_value(const hd_results *r, size_t i) {
  return r != NULL && i < r->n ? r->values[i] : NULL;
}

int hd_results_status(const hd_results *r, size_t i) {
  if (r == NULL || i >= r->n)
    return HD_EINVAL;
  return item_code(r, i);
}

const char *hd_results_error(const hd_results *r, size_t i) {
  return r != NULL && r->errors != NULL && i < r->n ? r->errors[i] : NULL;
}

void hd_results_free(hd_results *r) { results_free(r); }

hd_results *hd__call_take_results(hd__call *c) {
  pthread_mutex_lock(&c->lock);
  hd_results *r = c->res;
  c->res = NULL;
  pthread_mutex_unlock(&c->lock);
  return r;
}

/* ---- iterators ---- */

/* An iterator takes the call's lock only when it has handed out every
 * item it knew to have ended: it then notes how far the ended items go
 * (in item order for imap, in the order they ended for uimap) and hands
 * those out without the lock. An item's entries are written once, under
 * the lock, before it counts as ended, and never again. */
struct hd_iter {
  hd__call *call;
  const char *error; /* the last failed item's message, in the call */
  size_t pos;        /* the next to hand out: an item (imap), or a place in
                        the order items ended (uimap) */
  size_t until;      /* those before it have ended */
  char **errors;     /* the call's messages when until was set */
};

int hd__iter_new(hd__call *c, hd_iter **out) {
  hd_iter *it = hd__calloc(1, sizeof(*it));
  if (it == NULL) {
    hd__call_unref(c);
    return HD_ENOMEM;
  }
  it->call = c;
  *out = it;
  return HD_OK;
}

/* Whether the iterator's next item is there, or all have been given. */
static int next_ready(void *arg) {
  hd__call *c = arg;
  if (c->next >= c->n)
    return 1;
  if (c->kind == HD__CALL_UIMAP)
    return c->next < c->settled;
  return c->res->state[c->next] != HD__ITEM_PENDING;
}

/* How far the ended items go from pos: a bounded look ahead for imap.
 * Without the call's lock: an item's entries are written before its
 * state, and the items in c->order before c->settled counts them. */
static size_t ended_until(const hd__call *c, size_t pos) {
  if (c->kind == HD__CALL_UIMAP)
    return __atomic_load_n(&c->settled, __ATOMIC_ACQUIRE);
  size_t end = c->n - pos > 4096 ? pos + 4096 : c->n, i = pos;
  while (i < end && __atomic_load_n(&c->res->state[i], __ATOMIC_ACQUIRE) !=
                        HD__ITEM_PENDING)
    i++;
  return i;
}

/* Note how far the ended items go from it->pos, without the lock.
 * Returns whether its next item has ended. */
static int look(hd_iter *it) {
  hd__call *c = it->call;
  it->until = ended_until(c, it->pos);
  if (it->until <= it->pos)
    return 0;
  it->errors = __atomic_load_n(&c->res->errors, __ATOMIC_ACQUIRE);
  return 1;
}

/* Run a few items of c's chunks that no worker has taken (see
 * hd__call::help), when its run lets readers. Returns 0 when it ran
 * none. The run, as it ends, clears help, then waits until helpers is 0;
 * a reader counts itself in helpers, then reads help: one of the two sees
 * the other's store. */
static int help_once(hd__call *c, size_t pos) {
  __atomic_add_fetch(&c->helpers, 1, __ATOMIC_SEQ_CST);
  int (*help)(void *, size_t) = __atomic_load_n(&c->help, __ATOMIC_SEQ_CST);
  void *data = __atomic_load_n(&c->help_data, __ATOMIC_ACQUIRE);
  int ran = help != NULL && help(data, pos);
  if (__atomic_sub_fetch(&c->helpers, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&c->help, __ATOMIC_SEQ_CST) == NULL) {
    pthread_mutex_lock(&c->lock);
    pthread_cond_broadcast(&c->cond); /* the run waits for it */
    pthread_mutex_unlock(&c->lock);
  }
  return ran;
}

/* Wait up to timeout seconds (negative: no limit) until it's next item
 * has ended. Returns HD_OK or HD_ETIMEDOUT. */
static int refill(hd_iter *it, double timeout) {
  hd__call *c = it->call;
  /* Rather than wait, run items no worker has taken yet: their results
     are made in this thread's cache, where they are read, and the thread
     takes a CPU it would otherwise spend waiting. Not with a time limit:
     a function may take longer than that. */
  while (timeout < 0 && help_once(c, it->pos))
    if (look(it))
      return HD_OK;
  /* Then look again for a while, without the lock, which the threads
     that settle items take; then sleep. */
  if (timeout != 0) {
    uint64_t spin = timeout > 0 && timeout * 1e9 < HD__SPIN_NS
                        ? (uint64_t)(timeout * 1e9)
                        : HD__SPIN_NS;
    uint64_t until = hd__now_ns() + spin;
    while (hd__now_ns() < until) {
      sched_yield();
      if (look(it))
        return HD_OK;
    }
  }
  pthread_mutex_lock(&c->lock);
  c->next = it->pos; /* what wake() looks for */
  struct timespec until = deadline(timeout > 0 ? timeout : 0);
  while (!next_ready(c)) {
    if (timeout < 0) {
      pthread_cond_wait(&c->cond, &c->lock);
    } else if (timeout == 0 || pthread_cond_timedwait(&c->cond, &c->lock,
                                                      &until) == ETIMEDOUT) {
      if (next_ready(c))
        break;
      pthread_mutex_unlock(&c->lock);
      return HD_ETIMEDOUT;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return look(it) ? HD_OK : HD_ETIMEDOUT;
}

int hd_iter_next(hd_iter *it, double timeout, size_t *index, hd_value **value) {
  if (value != NULL)
    *value = NULL;
  if (it == NULL)
    return HD_EINVAL;
  hd__call *c = it->call;
  if (it->pos >= it->until) {
    if (it->pos >= c->n)
      return HD_EEND;
    int rc = look(it) ? HD_OK : refill(it, timeout);
    if (rc != HD_OK)
      return rc;
  }
  size_t item = c->kind == HD__CALL_UIMAP ? c->order[it->pos] : it->pos;
  it->pos++;
  hd_results *r = c->res;
  int rc = item_code(r, item);
  it->error = rc != HD_OK && it->errors != NULL ? it->errors[item] : NULL;
  if (index != NULL)
    *index = item;
  if (rc == HD_OK && value != NULL) {
    /* Each item is given once: the call's reference becomes the
       caller's (a reference counted up and down again per item costs as
       much as the rest of a tiny item's trip). */
    *value = r->values[item];
    r->values[item] = NULL;
  }
  return rc;
}

const char *hd_iter_error(const hd_iter *it) { return it ? it->error : NULL; }

size_t hd_iter_count(const hd_iter *it) { return it ? it->call->n : 0; }

void hd_iter_free(hd_iter *it) {
  if (it == NULL)
    return;
  hd__call_unref(it->call);
  hd__free(it);
}

/* ---- futures ---- */

struct hd_future {
  hd__call *call;
};

int hd__future_new(hd__call *c, hd_future **out) {
  hd_future *f = hd__calloc(1, sizeof(*f));
  if (f == NULL) {
    hd__call_unref(c);
    return HD_ENOMEM;
  }
  f->call = c;
  *out = f;
  return HD_OK;
}

int hd_future_ready(const hd_future *f) {
  if (f == NULL)
    return 0;
  pthread_mutex_lock(&f->call->lock);
  int ended = f->call->ended;
  pthread_mutex_unlock(&f->call->lock);
  return ended;
}

int hd_future_wait(hd_future *f, double timeout) {
  if (f == NULL)
    return HD_EINVAL;
  return hd__call_wait(f->call, timeout) ? HD_OK : HD_ETIMEDOUT;
}

int hd_future_get(hd_future *f, double timeout, const hd_results **out) {
  if (out != NULL)
    *out = NULL;
  if (f == NULL || out == NULL)
    return HD_EINVAL;
  if (!hd__call_wait(f->call, timeout))
    return HD_ETIMEDOUT;
  *out = f->call->res;
  return hd__call_status(f->call);
}

void hd_future_free(hd_future *f) {
  if (f == NULL)
    return;
  hd__call_unref(f->call);
  hd__free(f);
}
