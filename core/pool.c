/* Pools: calls queue up, and one dispatcher thread per pool runs them.
 * Each run takes every call queued so far and makes one plan of them, a
 * task per item or per chunk of items (reusing the last run's plan when
 * the run has the same shape), and runs it on the pool's backend through
 * the scheduler. A one-item task gets the item's arguments as its first
 * inputs; a chunk reads them from its call, or, in a worker that does not
 * share the call's memory (a kept process, a host reached by ssh), gets
 * them packed as its one input. As items end, their results go to their
 * call, where iterators and futures find them. One run at a time keeps
 * the pool within its workers. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "poolcall.h"
#include "run.h"

enum { POOL_OPEN, POOL_CLOSED, POOL_TERMINATED };

/* What a kept plan was made for, per task (see plan_for()). */
typedef struct shape {
  hd__call_kind kind;
  unsigned pos;
  int chunked;
  size_t first, count;
  size_t fn; /* in the pool's shape_fns */
} shape;

struct hd_pool {
  char *backend;
  unsigned nodes;
  hd_pool_opts opts;
  pid_t owner; /* the process that made it: its forks cannot use it */
  pthread_mutex_t lock;
  pthread_cond_t cond;
  pthread_t thread;
  int thread_started;
  int quit;
  int state;
  int busy; /* a run is going on */
  /* A terminate, clear or restart with force is waiting for the run it
     stopped to end: no run starts meanwhile (calls made meanwhile queue,
     and run after it), so that it ends. */
  unsigned hold;
  hd__call *head, *tail;
  /* Calls are numbered as they are made, and run in that order: a run
     takes every call queued so far, or one made on an idle pool. */
  unsigned long seq;
  /* While busy: the number of the running run's first call. */
  unsigned long run_first;
  /* Joins waiting (under lock): a run takes no call made after the
     earliest mark of theirs it reaches, so that a join does not wait for
     calls made while it waits. */
  struct join_wait *joins;
  volatile sig_atomic_t interrupt; /* the running run's */
  /* The last run's plan and what it was made for: the dispatcher's. */
  hd_plan *plan;
  shape *shape;
  size_t nshape;
  char **shape_fns;
  size_t nshape_fns, cap_shape_fns;
  /* processes: the workers kept from run to run, and the function
     registry's generation they were forked with. The dispatcher's while
     busy; otherwise anyone's under lock. */
  int keeps;
  hd__kept kept;
  unsigned long kept_gen;
  /* threads: the threads kept from run to run, made by the first run
     that has a use for them; the running run's. */
  hd__kthreads *threads;
  /* ssh: the hosts, copied with their strings, and the client command.
     A host's slots as given, or as a run learned them (0 until then),
     in host_slots: written by the dispatcher, read by anyone. */
  int remote;
  hd_host *hosts;
  size_t nhosts;
  unsigned *host_slots;
  char *ssh_command;
  /* ssh: the master connections kept from run to run (run.h); the
     dispatcher's while busy, otherwise anyone's under lock. */
  hd__sshkeep sshkeep;
};

/* A join waiting for the calls numbered up to upto (hd_pool_join()). */
struct join_wait {
  unsigned long upto;
  struct join_wait *next;
};

/* The pool whose task this thread is running, to refuse a call that
 * would wait behind its own run. */
static _Thread_local const hd_pool *current_pool;

static const char *const kind_word[] = {"map",  "imap", "uimap",
                                        "amap", "pipe", "apipe"};

void hd_pool_opts_init(hd_pool_opts *o) {
  if (o == NULL)
    return;
  memset(o, 0, sizeof(*o)); /* chunk_size 0: automatic */
}

/* Items per task when chunk_size is 0, as Python's Pool.map chooses:
 * about four tasks per worker, so that every worker stays busy while
 * the cost per item falls with the size of the call. */
static size_t auto_chunk(size_t n, unsigned nodes) {
  size_t per = 4 * (size_t)(nodes ? nodes : 1);
  size_t c = n / per + (n % per != 0);
  return c ? c : 1;
}

/* ---- one run ---- */

/* One task of a run: the call and the items it stands for. */
typedef struct btask {
  hd__call *call;
  unsigned pos; /* the call's place in its run, from 1 */
  size_t first, count;
  hd__fnref user;   /* the call's function, when registered */
  int chunked;      /* run by run_chunk(), which reads its items'
                       arguments from the call: the task has no inputs */
  int split;        /* the chunk died as a whole: its items that have not
                       ended run again, one task each */
  int settled_here; /* run in this process, its items settled already */
  int packed;       /* its arguments went packed, its results come so */
  /* A chunk run in this process: items taken to run so far, counted from
     first (atomic: its worker and the call's reader take them, see
     help_call()); and those not settled yet, under the call's lock. */
  size_t taken;
  size_t left;
  /* The worker (and host) its STARTED event named, for the events of its
     items (under the batch's event_lock). */
  unsigned worker;
  const char *host;
} btask;

typedef struct batch {
  hd_pool *pool;
  btask *tasks; /* a task's entry is written only by the thread that runs
                   it, and by on_settle() for it */
  size_t ntasks;
  /* Events come one at a time: the scheduler's (on_event()) and those of
     items retried within their chunk (item_retried()). Under it: */
  pthread_mutex_t event_lock;
  hd__buf name;     /* an event's task name */
  uint64_t ev_time; /* the last event's time and count, which the next */
  size_t ev_done;   /* does not go back from */
  size_t ev_total;  /* the run's tasks */
} batch;

/* Every task's function runs through here, so that a call on the pool
 * from inside it can be refused. */
static int run_item(hd_task *t, void *data) {
  const batch *b = data;
  const btask *bt = &b->tasks[hd__task_node(t)];
  const hd_pool *prev = current_pool;
  current_pool = b->pool;
  int rc = bt->user.fn(t, bt->user.data);
  current_pool = prev;
  return rc;
}

/* A chunk runs its items a block at a time: their results are handed
 * over (to the call, or to the chunk's packed result) before the next
 * block runs, so that a chunk needs no arrays of its own size. */
#define BLOCK 256

/* ---- items retried within their chunk ----
 * A function's failure is an item's, not its chunk's: the item alone is
 * tried again, at once, in the chunk's task, as many times as the
 * pool's retries allow (the chunk's attempts before counting), and the
 * function sees its attempt in hd_task_attempt(). Each failed attempt
 * is told as the scheduler tells a task's: a RETRIED event named after
 * the item, sent here by the thread that ran it, or, from a worker
 * process, packed before the item's result and sent when the chunk's
 * results arrive (settle_chunk()). */

typedef struct packer packer;

/* Where an item's failed attempts go: events (b), or the chunk's packed
 * results (k). */
typedef struct retry_sink {
  batch *b;
  hd__call *call;
  unsigned pos;
  packer *k;
} retry_sink;

static int pack_retried(packer *k, unsigned attempt, uint64_t elapsed_ns,
                        const char *msg);

/* Send the RETRIED event of attempt of item of call (pos: its place in
 * the run), which failed with msg after elapsed_ns, and log it as the
 * scheduler logs a task's. */
static void item_retried(batch *b, hd__call *call, unsigned pos, size_t item,
                         unsigned attempt, uint64_t elapsed_ns,
                         const char *msg);

/* Call fn on one item's nargs arguments: its result in *val and its code
 * (HD_OK or HD_ETASK) in *code; when it failed, its message in *err
 * (allocated), with msg as scratch. A failure is tried again while the
 * pool's retries allow, its attempts going to sink. Returns HD_OK;
 * HD_ECANCELED when the task was cancelled by the time fn returned (past
 * its timeout, or the pool terminated: the item has not ended, whatever
 * fn returned, and the chunk fails as a whole, so that the item fails
 * as the task's timeout or the pool's terminate says); or HD_ENOMEM. */
static int call_item(hd_task *t, const char *name, hd_fn_cb fn, void *data,
                     hd_value **a, size_t nargs, const retry_sink *sink,
                     size_t item, hd_value **val, int *code, char **err,
                     hd__buf *msg) {
  *val = NULL;
  *err = NULL;
  *code = HD_ETASK;
  unsigned attempt = hd_task_attempt(t), retries = hd__task_retries(t);
  for (;;) {
    msg->len = 0;
    /* The clock is read for a failed attempt's event alone. */
    uint64_t start = attempt <= retries ? hd__now_ns() : 0;
    int irc = hd__task_call(t, fn, data, a, nargs, attempt, val, msg);
    if (hd_task_cancelled(t)) {
      hd_value_unref(*val);
      *val = NULL;
      return HD_ECANCELED;
    }
    if (irc == HD_OK) {
      *code = HD_OK;
      return HD_OK;
    }
    if (msg->len == 0)
      hd__buf_appendf(msg, "function '%s' returned %s (%s)", name,
                      hd_err_name(irc), hd_strerror(irc));
    const char *why = msg->data ? msg->data : "";
    if (attempt > retries || attempt == UINT_MAX)
      break;
    if (sink->k != NULL) {
      if (pack_retried(sink->k, attempt, hd__now_ns() - start, why) != HD_OK)
        return HD_ENOMEM;
    } else {
      item_retried(sink->b, sink->call, sink->pos, item, attempt,
                   hd__now_ns() - start, why);
    }
    attempt++;
  }
  *err = hd__strdup(msg->data ? msg->data : "");
  return *err != NULL ? HD_OK : HD_ENOMEM;
}

static int pack_items(packer *k, size_t n, hd_value *const *vals,
                      const int *codes, char *const *errs);

/* Items from .. from + n - 1 of bt's chunk ended (codes, errs): a FAILED
 * event for each that failed, named after it, when the chunk holds more
 * than one (a chunk of one is a task the scheduler tells of). */
static void items_failed(batch *b, const btask *bt, size_t from, size_t n,
                         const int *codes, char *const *errs);

/* Run items from .. from + n - 1 of bt's chunk (counted from the
 * chunk's first item; n <= BLOCK), their arguments read from the call
 * (a forked worker reads its copy): item i's result in vals[i], its
 * status in codes[i] (HD_OK, HD_ETASK) and, when it failed, its message
 * in errs[i]. With k, each item's result is packed in k as it ends
 * (after its failed attempts); otherwise the attempts are sent as events
 * of b. Returns HD_OK, or HD_ECANCELED or HD_ENOMEM for the chunk as a
 * whole; *done says how many items ran (their entries are set). */
static int call_items(hd_task *t, batch *b, const btask *bt, size_t from,
                      size_t n, hd_value **vals, int *codes, char **errs,
                      size_t *done, packer *k) {
  const hd__call *call = bt->call;
  size_t nargs = call->nargs;
  hd_value *args[64];
  hd_value **a = nargs <= 64 ? args : hd__calloc(nargs, sizeof(*a));
  int rc = a != NULL ? HD_OK : HD_ENOMEM;
  hd__buf msg = {0};
  retry_sink sink = {b, bt->call, bt->pos, k};
  size_t i = 0;
  for (; i < n && rc == HD_OK; i++) {
    if (hd_task_cancelled(t)) {
      rc = HD_ECANCELED;
      break;
    }
    for (size_t j = 0; j < nargs; j++)
      a[j] = call->args[(bt->first + from + i) * nargs + j];
    rc = call_item(t, call->fn, bt->user.fn, bt->user.data, a, nargs, &sink,
                   bt->first + from + i, &vals[i], &codes[i], &errs[i], &msg);
    if (rc == HD_OK && k != NULL)
      rc = pack_items(k, 1, &vals[i], &codes[i], &errs[i]);
  }
  *done = i;
  hd__buf_cleanup(&msg);
  if (a != args)
    hd__free(a);
  return rc;
}

/* ---- a chunk's results, packed ----
 * A chunk run in a worker process sends its items' results back as one
 * bytes value: per item a tag (0 done, 1 failed, 2 cancelled); for one
 * done, its value's kind (1 byte) and content: 8 bytes for an integer or
 * a double, otherwise a 32-bit little-endian length and the bytes; for
 * one that failed, the length and bytes of its message. An item tried
 * again within its chunk has, before that, a record per failed attempt:
 * tag 3, the attempt (32 bits), its duration in nanoseconds (64 bits)
 * and the length and bytes of its message. Scalars travel
 * little-endian, as in value frames: a worker on another host may order
 * its bytes otherwise (where both are little-endian, as almost everywhere,
 * this is a plain copy). The whole value crosses as one checked frame. */

struct packer {
  hd_value *v;
  unsigned char *p;
  size_t len, cap;
};

/* Fault a large buffer's pages in at once: far cheaper on these VMs than
 * one fault per page as it fills. */
static void prefault(void *p, size_t len) {
#ifdef MADV_POPULATE_WRITE
  static size_t page;
  if (page == 0) {
    long ps = sysconf(_SC_PAGESIZE);
    page = ps > 0 ? (size_t)ps : 4096;
  }
  uintptr_t lo = ((uintptr_t)p + page - 1) & ~(uintptr_t)(page - 1);
  uintptr_t hi = ((uintptr_t)p + len) & ~(uintptr_t)(page - 1);
  if (hi > lo + 16 * page)
    (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#else
  (void)p;
  (void)len;
#endif
}

static int pack_reserve(packer *k, size_t need) {
  if (k->cap - k->len >= need)
    return HD_OK;
  size_t cap = k->cap * 2 > k->len + need ? k->cap * 2 : k->len + need + 4096;
  hd_value *v;
  if (hd__value_alloc(HD_VALUE_BYTES, cap, &v) != HD_OK)
    return HD_ENOMEM;
  unsigned char *p = hd__value_mut(v);
  prefault(p, cap);
  if (k->len > 0)
    memcpy(p, k->p, k->len);
  hd_value_unref(k->v);
  k->v = v;
  k->p = p;
  k->cap = cap;
  return HD_OK;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* A scalar's 8 bytes (in this machine's order) as little-endian, and
 * back. */
static void put_scalar(unsigned char *p, const void *v) {
  uint64_t bits;
  memcpy(&bits, v, 8);
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(bits >> (8 * i));
}

static void get_scalar(void *v, const unsigned char *p) {
  uint64_t bits = 0;
  for (int i = 0; i < 8; i++)
    bits |= (uint64_t)p[i] << (8 * i);
  memcpy(v, &bits, 8);
}

static int is_scalar(hd_value_kind kind) {
  return kind == HD_VALUE_INT || kind == HD_VALUE_DOUBLE;
}

/* Append one value, as a done item's result. */
static int pack_value(packer *k, const hd_value *v) {
  if (v == NULL && (v = hd__value_empty()) == NULL)
    return HD_ENOMEM;
  hd_value_kind kind = hd_value_kind_of(v);
  size_t size = hd_value_size(v);
  int scalar = is_scalar(kind) && size == 8;
  if (size > UINT32_MAX || pack_reserve(k, 6 + size) != HD_OK)
    return HD_ENOMEM;
  unsigned char *p = k->p + k->len;
  p[0] = 0;
  p[1] = (unsigned char)kind;
  p += 2;
  if (scalar) {
    put_scalar(p, hd_value_data(v));
  } else {
    put_u32(p, (uint32_t)size);
    p += 4;
    if (size > 0)
      memcpy(p, hd_value_data(v), size);
  }
  k->len = (size_t)(p - k->p) + size;
  return HD_OK;
}

/* Append n items' results. */
static int pack_items(packer *k, size_t n, hd_value *const *vals,
                      const int *codes, char *const *errs) {
  for (size_t i = 0; i < n; i++) {
    if (codes[i] != HD_OK) {
      size_t mlen = errs[i] ? strlen(errs[i]) : 0;
      if (mlen > UINT32_MAX || pack_reserve(k, 5 + mlen) != HD_OK)
        return HD_ENOMEM;
      k->p[k->len] = codes[i] == HD_EINTR ? 2 : 1;
      put_u32(k->p + k->len + 1, (uint32_t)mlen);
      if (mlen > 0)
        memcpy(k->p + k->len + 5, errs[i], mlen);
      k->len += 5 + mlen;
      continue;
    }
    if (pack_value(k, vals[i]) != HD_OK)
      return HD_ENOMEM;
  }
  return HD_OK;
}

/* Append the record of an item's failed attempt, which its result
 * follows. */
static int pack_retried(packer *k, unsigned attempt, uint64_t elapsed_ns,
                        const char *msg) {
  size_t mlen = strlen(msg);
  if (mlen > UINT32_MAX || pack_reserve(k, 17 + mlen) != HD_OK)
    return HD_ENOMEM;
  unsigned char *p = k->p + k->len;
  p[0] = 3;
  put_u32(p + 1, attempt);
  put_scalar(p + 5, &elapsed_ns);
  put_u32(p + 13, (uint32_t)mlen);
  memcpy(p + 17, msg, mlen);
  k->len += 17 + mlen;
  return HD_OK;
}

/* Send the events of the failed attempts packed at p (before end) for
 * item of call, and return the bytes they took: 0 when there are none,
 * and (size_t)-1 when they are malformed. */
static size_t unpack_retried(batch *b, hd__call *call, unsigned pos,
                             size_t item, const unsigned char *p,
                             const unsigned char *end) {
  size_t used = 0;
  while (end - p > 0 && p[0] == 3) {
    if (end - p < 17)
      return (size_t)-1;
    unsigned attempt = get_u32(p + 1);
    uint64_t elapsed_ns;
    get_scalar(&elapsed_ns, p + 5);
    uint32_t mlen = get_u32(p + 13);
    if ((size_t)(end - p - 17) < mlen)
      return (size_t)-1;
    char *msg = hd__strndup((const char *)p + 17, mlen);
    item_retried(b, call, pos, item, attempt, elapsed_ns,
                 msg != NULL ? msg : "out of memory");
    hd__free(msg);
    p += 17 + (size_t)mlen;
    used += 17 + (size_t)mlen;
  }
  return used;
}

/* Read one item's result from p (before end): *code, and *val or *err
 * (owned). A scalar is made in slab when there is room (NULL: none).
 * *val may come in holding a value of the caller's: refilled when
 * nobody else holds it, released otherwise. Returns the bytes it took,
 * or 0 when they are malformed (or memory ran out). */
static size_t unpack_item(const unsigned char *p, const unsigned char *end,
                          hd__vslab *slab, int *code, hd_value **val,
                          char **err) {
  hd_value *old = *val;
  *val = NULL;
  *err = NULL;
  size_t used = 0;
  if (end - p < 2)
    goto done;
  if (p[0] == 1 || p[0] == 2) {
    if (end - p < 5)
      goto done;
    uint32_t mlen = get_u32(p + 1);
    if ((size_t)(end - p - 5) < mlen)
      goto done;
    *code = p[0] == 2 ? HD_EINTR : HD_ETASK;
    *err = hd__strndup((const char *)p + 5, mlen);
    used = *err != NULL ? 5 + (size_t)mlen : 0;
    goto done;
  }
  hd_value_kind kind = (hd_value_kind)p[1];
  if (p[0] != 0 || kind < HD_VALUE_BYTES || kind > HD_VALUE_DOUBLE)
    goto done;
  size_t head = 2, size = 8;
  if (!is_scalar(kind)) {
    if (end - p < 6)
      goto done;
    size = get_u32(p + 2);
    head = 6;
  }
  if ((size_t)(end - p) - head < size)
    goto done;
  if (old != NULL && hd__value_reuse(old, kind, size)) {
    *val = old;
    old = NULL;
  } else if (hd__value_alloc_in(slab, kind, size, val) != HD_OK) {
    goto done;
  }
  if (is_scalar(kind))
    get_scalar(hd__value_mut(*val), p + head);
  else if (size > 0)
    memcpy(hd__value_mut(*val), p + head, size);
  *code = HD_OK;
  used = head + size;
done:
  hd_value_unref(old);
  return used;
}

/* Take up to grain items of bt's chunk that nobody has taken yet: the
 * first in *from (counted from the chunk's first item) and their number
 * in *n. Returns 0 when none are left. */
static int take(btask *bt, size_t grain, size_t *from, size_t *n) {
  if (__atomic_load_n(&bt->taken, __ATOMIC_RELAXED) >= bt->count)
    return 0;
  *from = __atomic_fetch_add(&bt->taken, grain, __ATOMIC_RELAXED);
  if (*from >= bt->count)
    return 0;
  *n = bt->count - *from < grain ? bt->count - *from : grain;
  return 1;
}

/* Run items from .. from + n - 1 of bt's chunk (n <= BLOCK), taken by
 * this thread, and hand their results to the call. Readers that wait
 * are woken once, when the chunk's last items are settled: a wake-up
 * costs more here than a block of tiny items. When the chunk fails as a
 * whole (HD_ECANCELED, HD_ENOMEM), the items run are dropped, and the
 * others are left pending, unless fail_rest: then those that did not run
 * fail (HD_ENOMEM) or are left pending (HD_ECANCELED). */
static int run_taken(hd_task *t, batch *b, btask *bt, size_t from, size_t n,
                     int fail_rest) {
  hd_value *vals[BLOCK];
  int codes[BLOCK];
  char *errs[BLOCK];
  size_t done;
  int rc = call_items(t, b, bt, from, n, vals, codes, errs, &done, NULL);
  if (rc == HD_ENOMEM && fail_rest) {
    for (size_t i = done; i < n; i++) {
      vals[i] = NULL;
      codes[i] = HD_ETASK;
      errs[i] = hd__strdup("out of memory");
    }
    done = n;
  }
  if (rc == HD_OK || (rc == HD_ENOMEM && fail_rest)) {
    items_failed(b, bt, from, n, codes, errs);
    hd__call_settle_many(bt->call, bt->first + from, n, codes, vals, errs,
                         bt->first, bt->count, &bt->left);
  }
  for (size_t i = 0; i < done; i++) {
    hd_value_unref(vals[i]);
    hd__free(errs[i]);
  }
  return rc;
}

/* Run a chunk's items. In the process that made the pool (serial,
 * threads) their results go to the call as they are, a block at a time
 * (readers that look find them; those that wait are woken by the last),
 * and the call's reader may take blocks of them (help_call()); in a
 * worker process they travel back packed as the chunk's one result. */
static int run_chunk(hd_task *t, void *data) {
  batch *b = data;
  btask *bt = &b->tasks[hd__task_node(t)];
  const hd_pool *prev = current_pool;
  current_pool = b->pool;
  int here = getpid() == b->pool->owner;
  int rc = HD_OK;
  /* Here, the scalars the function makes (its results, most often) are
     made in one block: the call's results live and die together. */
  hd__vslab *slab = here ? hd__vslab_new(bt->count) : NULL;
  hd__vslab *outer = hd__vslab_use(slab);
  if (here) {
    size_t from, n;
    /* Another attempt (a retry) runs the chunk again from its start: the
       items that ended before are not settled twice. */
    if (hd_task_attempt(t) > 1)
      __atomic_store_n(&bt->taken, 0, __ATOMIC_RELAXED);
    while (rc == HD_OK && take(bt, BLOCK, &from, &n))
      rc = run_taken(t, b, bt, from, n, 0);
    if (rc == HD_OK)
      bt->settled_here = 1;
  } else {
    hd_value *vals[BLOCK];
    int codes[BLOCK];
    char *errs[BLOCK];
    packer k = {NULL, NULL, 0, 0};
    rc = pack_reserve(&k, bt->count * 10 + 64);
    for (size_t from = 0; from < bt->count && rc == HD_OK; from += BLOCK) {
      size_t n = bt->count - from < BLOCK ? bt->count - from : BLOCK, done;
      rc = call_items(t, b, bt, from, n, vals, codes, errs, &done, &k);
      for (size_t i = 0; i < done; i++) {
        hd_value_unref(vals[i]);
        hd__free(errs[i]);
      }
    }
    if (rc == HD_OK) {
      k.v = hd__value_shrink(k.v, k.len);
      rc = hd_task_set_output(t, k.v);
      k.v = NULL;
    }
    hd_value_unref(k.v);
  }
  hd__vslab_use(outer);
  hd__vslab_done(slab);
  current_pool = prev;
  return rc;
}

/* ---- a reader runs items of its call ----
 * An iterator's reader that would wait for its next item runs items of
 * the call's chunks that no worker has taken yet (hd__call::help), a few
 * at a time, while the run goes on in this process. */

typedef struct helper {
  batch *b;
  const hd_plan *plan;
  btask *tasks; /* the call's chunks, in item order */
  size_t ntasks;
  size_t node0; /* the plan's node of tasks[0] */
  size_t chunk; /* items per chunk (the last may have fewer) */
  size_t hint;  /* chunks before it are all taken (the reader's) */
  /* The reader's block of scalars, for HELP_SLAB of them: a new one when
     it is full. */
  hd__vslab *slab;
} helper;

#define HELP_SLAB 4096

typedef struct help_part {
  batch *b;
  btask *bt;
  size_t from, n;
} help_part;

static int help_part_run(hd_task *t, void *arg) {
  const help_part *a = arg;
  return run_taken(t, a->b, a->bt, a->from, a->n, 1);
}

static int help_call(void *data, size_t item) {
  helper *h = data;
  size_t k = h->tasks[0].call->kind == HD__CALL_IMAP ? item / h->chunk : 0;
  if (k < h->hint)
    k = h->hint;
  for (; k < h->ntasks; k++) {
    btask *bt = &h->tasks[k];
    /* A quarter of a chunk at most: imap's reader comes back soon to
       hand out the items that ended meanwhile. */
    size_t grain = bt->count / 4, from, n;
    grain = grain < 1 ? 1 : grain > BLOCK ? BLOCK : grain;
    if (!take(bt, grain, &from, &n)) {
      if (k == h->hint)
        h->hint++;
      continue;
    }
    hd__exec x;
    memset(&x, 0, sizeof(x));
    x.plan = h->plan;
    x.node = (uint32_t)(h->node0 + k);
    x.interrupt = &h->b->pool->interrupt;
    x.attempt = 1;
    x.log_fd = -1;
    x.fn = bt->user.fn;
    x.fn_data = bt->user.data;
    x.exit_status = -1;
    x.start_ns = hd__now_ns();
    if (hd__vslab_room(h->slab) < n) {
      hd__vslab_done(h->slab);
      h->slab = hd__vslab_new(HELP_SLAB);
    }
    help_part a = {h->b, bt, from, n};
    const hd_pool *prev = current_pool;
    current_pool = h->b->pool;
    hd__vslab *outer = hd__vslab_use(h->slab);
    (void)hd__task_with(&x, help_part_run, &a);
    hd__vslab_use(outer);
    current_pool = prev;
    return 1;
  }
  return 0;
}

/* ---- chunks for kept workers and other hosts ----
 * A worker kept from run to run does not have the calls made after it
 * was forked, and one on another host has none: a chunk's task gets its
 * items' arguments as its one input, packed (u32 arguments per item, u32
 * items, then each argument as a done item's result above), and the
 * worker runs them through hd__pool_packed_chunk(). */

static int pack_args(const btask *bt, hd_value **out) {
  const hd__call *call = bt->call;
  packer k = {NULL, NULL, 0, 0};
  int rc = pack_reserve(&k, 8 + bt->count * call->nargs * 10);
  if (rc == HD_OK) {
    put_u32(k.p, (uint32_t)call->nargs);
    put_u32(k.p + 4, (uint32_t)bt->count);
    k.len = 8;
  }
  hd_value *const *a = call->args + bt->first * call->nargs;
  for (size_t i = 0; i < bt->count * call->nargs && rc == HD_OK; i++)
    rc = pack_value(&k, a[i]);
  if (rc != HD_OK) {
    hd_value_unref(k.v);
    return rc;
  }
  *out = hd__value_shrink(k.v, k.len);
  return HD_OK;
}

int hd__pool_packed_chunk(hd_task *t, void *data) {
  (void)data;
  const char *name = hd__task_what(t);
  hd_fn_cb fn;
  void *fn_data;
  if (hd_fn_lookup(name, &fn, &fn_data) != HD_OK)
    return hd_task_fail(t, "no function named '%s' is registered", name);
  const hd_value *in = hd_task_input(t, 0);
  const unsigned char *p = in ? hd_value_data(in) : NULL;
  const unsigned char *end = p ? p + hd_value_size(in) : NULL;
  if (hd_task_input_count(t) != 1 || p == NULL || end - p < 8)
    return hd_task_fail(t, "the chunk's arguments are malformed");
  size_t nargs = get_u32(p), count = get_u32(p + 4);
  p += 8;
  hd_value *args[64] = {NULL};
  hd_value **a = nargs <= 64 ? args : hd__calloc(nargs, sizeof(*a));
  hd_value *vals[BLOCK];
  int codes[BLOCK];
  char *errs[BLOCK];
  packer k = {NULL, NULL, 0, 0};
  hd__buf msg = {0};
  retry_sink sink = {NULL, NULL, 0, &k};
  int rc = a == NULL ? HD_ENOMEM : pack_reserve(&k, count * 10 + 64);
  int bad = 0;
  /* The scalars the function makes (its results, most often) live until
     their block is packed: they are made in one small block of memory,
     used again for the next block when none of them was kept. */
  hd__vslab *slab = hd__vslab_new(BLOCK);
  hd__vslab *outer = hd__vslab_use(slab);
  for (size_t from = 0; from < count && rc == HD_OK; from += BLOCK) {
    size_t n = count - from < BLOCK ? count - from : BLOCK, done = 0;
    if (slab != NULL && !hd__vslab_reset(slab)) {
      hd__vslab_done(slab); /* some were kept: a new block */
      hd__vslab_use(slab = hd__vslab_new(BLOCK));
    }
    for (; done < n && rc == HD_OK; done++) {
      if (hd_task_cancelled(t)) {
        rc = HD_ECANCELED;
        break;
      }
      size_t got = 0;
      for (; got < nargs; got++) {
        int code = HD_ETASK;
        char *err = NULL;
        size_t used = unpack_item(p, end, NULL, &code, &a[got], &err);
        hd__free(err);
        if (used == 0 || code != HD_OK)
          break;
        p += used;
      }
      if (got < nargs) {
        bad = 1;
        rc = HD_ETASK;
        break;
      }
      /* The arguments' values are kept for the next item's, and refilled
         unless the function kept a reference. */
      rc = call_item(t, name, fn, fn_data, a, nargs, &sink, from + done,
                     &vals[done], &codes[done], &errs[done], &msg);
      /* Packed as it ends, after its failed attempts. */
      if (rc == HD_OK)
        rc = pack_items(&k, 1, &vals[done], &codes[done], &errs[done]);
    }
    for (size_t i = 0; i < done; i++) {
      hd_value_unref(vals[i]);
      hd__free(errs[i]);
    }
  }
  hd__vslab_use(outer);
  hd__vslab_done(slab);
  hd__buf_cleanup(&msg);
  for (size_t j = 0; a != NULL && j < nargs; j++)
    hd_value_unref(a[j]);
  if (a != args)
    hd__free(a);
  if (rc == HD_OK) {
    k.v = hd__value_shrink(k.v, k.len);
    return hd_task_set_output(t, k.v);
  }
  hd_value_unref(k.v);
  if (bad)
    return hd_task_fail(t, "the chunk's arguments are malformed");
  return rc;
}

/* Hand a chunk's results, packed by a worker, to its call; items past
 * the point where they do not parse fail, saying so. */
static void settle_chunk(batch *b, const btask *bt, hd_value *v) {
  const unsigned char *p = v ? hd_value_data(v) : NULL;
  const unsigned char *end = p ? p + hd_value_size(v) : NULL;
  hd_value *vals[BLOCK];
  int codes[BLOCK];
  char *errs[BLOCK];
  /* The results' scalars in one block (the call's results live and die
     together); others, or all when it cannot be had, alone. */
  hd__vslab *slab = hd__vslab_new(bt->count);
  for (size_t from = 0; from < bt->count; from += BLOCK) {
    size_t n = bt->count - from < BLOCK ? bt->count - from : BLOCK;
    for (size_t i = 0; i < n; i++) {
      vals[i] = NULL;
      errs[i] = NULL;
      size_t skip = p != NULL ? unpack_retried(b, bt->call, bt->pos,
                                               bt->first + from + i, p, end)
                              : 0;
      if (skip == (size_t)-1)
        p = NULL;
      else if (p != NULL)
        p += skip;
      size_t used =
          p != NULL ? unpack_item(p, end, slab, &codes[i], &vals[i], &errs[i])
                    : 0;
      if (used == 0) {
        p = NULL;
        hd_value_unref(vals[i]);
        hd__free(errs[i]);
        vals[i] = NULL;
        codes[i] = HD_ETASK;
        errs[i] = hd__strdup("the chunk's results are malformed");
      } else {
        p += used;
      }
    }
    items_failed(b, bt, from, n, codes, errs);
    hd__call_settle_many(bt->call, bt->first + from, n, codes, vals, errs,
                         bt->first, from + n == bt->count ? bt->count : 0,
                         NULL);
  }
  hd__vslab_done(slab);
}

static void on_settle(void *ctx, uint32_t node, const hd__tstate *t) {
  batch *b = ctx;
  btask *bt = &b->tasks[node];
  const char *msg = hd__tstate_message(t);
  /* A packed chunk's function is looked up where it runs: on another
     host it may be registered there alone. */
  if (t->state == HD_STATE_DONE && bt->chunked &&
      (bt->user.fn != NULL || bt->packed)) {
    if (!bt->settled_here)
      settle_chunk(b, bt, t->result);
    return;
  }
  if (t->state == HD_STATE_FAILED && bt->chunked && bt->count > 1 &&
      __atomic_load_n(&b->pool->interrupt, __ATOMIC_RELAXED) == 0) {
    /* Its worker died, or it ran out of time or memory: which item did
       it is not known, so each that has not ended runs again alone, and
       only that one fails. */
    bt->split = 1;
    return;
  }
  int status = t->state == HD_STATE_DONE        ? HD_OK
               : t->state == HD_STATE_CANCELLED ? HD_EINTR
                                                : HD_ETASK;
  /* Items a chunk settled already (in this process) stay as they are. */
  for (size_t i = 0; i < bt->count; i++)
    hd__call_settle(bt->call, bt->first + i, status,
                    status == HD_OK ? t->result : NULL, msg);
}

/* A task's name in events, such as "map3:power[7]" (the pool's third
 * call) or "map3:power[8-11]" (a chunk); or, with seq 0, its plan's
 * node's name, such as "map#1:power[7]", which numbers the call in its
 * run instead (the plan serves later runs of the same shape). */
static int task_name(hd__buf *b, const btask *bt, unsigned long seq) {
  const hd__call *call = bt->call;
  b->len = 0;
  int rc = seq != 0
               ? hd__buf_appendf(b, "%s%lu", kind_word[call->kind], seq)
               : hd__buf_appendf(b, "%s#%u", kind_word[call->kind], bt->pos);
  if (rc == HD_OK)
    rc = hd__buf_appendf(b, ":%s[%zu", call->fn, bt->first);
  if (rc == HD_OK && bt->count > 1)
    rc = hd__buf_appendf(b, "-%zu", bt->first + bt->count - 1);
  return rc == HD_OK ? hd__buf_appendf(b, "]") : rc;
}

/* Send e to the pool's on_event, under b->event_lock: its time and
 * count do not go back from the last event's. */
static void send_event(batch *b, hd_event *e) {
  if (e->time_ns < b->ev_time)
    e->time_ns = b->ev_time;
  if (e->done < b->ev_done)
    e->done = b->ev_done;
  b->ev_time = e->time_ns;
  b->ev_done = e->done;
  /* A call on the pool from on_event would wait for the run that waits
     for on_event to return: refused, as from a task. */
  const hd_pool *prev = current_pool;
  current_pool = b->pool;
  b->pool->opts.on_event(e, b->pool->opts.event_data);
  current_pool = prev;
}

/* Events name the task with its call's number, which its plan's node
 * does not carry (the plan serves every call of the same shape). The
 * scheduler sends them one at a time (the run's event lock), and items
 * retried within their chunk send theirs meanwhile (item_retried()). */
static void on_event(const hd_event *ev, void *data) {
  batch *b = data;
  btask *bt = &b->tasks[ev->index];
  hd_event e = *ev;
  e.index = bt->first;
  pthread_mutex_lock(&b->event_lock);
  if (ev->type == HD_EVENT_STARTED) {
    bt->worker = ev->worker;
    bt->host = ev->host;
  }
  b->ev_total = ev->total;
  if (task_name(&b->name, bt, bt->call->seq) == HD_OK)
    e.task = b->name.data;
  send_event(b, &e);
  pthread_mutex_unlock(&b->event_lock);
}

/* Send an event of item of a chunk (its name in b->name; under
 * b->event_lock), on the chunk's worker when known. */
static void send_item_event(batch *b, hd_event_type type, size_t item,
                            unsigned attempt, uint64_t elapsed_ns,
                            const btask *chunk, const char *msg) {
  hd_event e;
  memset(&e, 0, sizeof(e));
  e.type = type;
  e.task = b->name.data;
  e.index = item;
  e.time_ns = hd__now_ns();
  e.elapsed_ns = elapsed_ns;
  e.attempt = attempt;
  e.worker = chunk != NULL ? chunk->worker : 0;
  e.host = chunk != NULL ? chunk->host : NULL;
  e.message = msg;
  e.total = b->ev_total;
  send_event(b, &e);
}

static void item_retried(batch *b, hd__call *call, unsigned pos, size_t item,
                         unsigned attempt, uint64_t elapsed_ns,
                         const char *msg) {
  hd_pool *p = b->pool;
  /* The item as a task of its own, for its name. */
  btask one = {.call = call, .pos = pos, .first = item, .count = 1};
  pthread_mutex_lock(&b->event_lock);
  if (hd__log_is_set() && task_name(&b->name, &one, 0) == HD_OK)
    hd__log(HD_LOG_INFO, "task '%s' failed (%s); attempt %u of %u",
            b->name.data, msg, attempt + 1, p->opts.retries + 1);
  if (p->opts.on_event != NULL &&
      task_name(&b->name, &one, call->seq) == HD_OK) {
    /* Its chunk's worker, whose STARTED event came before. */
    const btask *chunk = NULL;
    for (size_t t = 0; t < b->ntasks && chunk == NULL; t++)
      if (b->tasks[t].call == call && item >= b->tasks[t].first &&
          item - b->tasks[t].first < b->tasks[t].count)
        chunk = &b->tasks[t];
    send_item_event(b, HD_EVENT_RETRIED, item, attempt, elapsed_ns, chunk, msg);
  }
  pthread_mutex_unlock(&b->event_lock);
}

static void items_failed(batch *b, const btask *bt, size_t from, size_t n,
                         const int *codes, char *const *errs) {
  hd_pool *p = b->pool;
  if (p->opts.on_event == NULL || bt->count <= 1)
    return;
  for (size_t i = 0; i < n; i++) {
    if (codes[i] == HD_OK)
      continue;
    size_t item = bt->first + from + i;
    btask one = {.call = bt->call, .pos = bt->pos, .first = item, .count = 1};
    pthread_mutex_lock(&b->event_lock);
    if (task_name(&b->name, &one, bt->call->seq) == HD_OK)
      /* Its retries were spent. */
      send_item_event(b, HD_EVENT_FAILED, item, p->opts.retries + 1, 0, bt,
                      errs[i]);
    pthread_mutex_unlock(&b->event_lock);
  }
}

/* ---- plans ----
 * A plan of independent tasks depends only on each task's call kind,
 * function and items (and the pool's retries and timeout): the pool
 * keeps its last one, and a run of the same shape, such as the next of
 * a loop of maps over lists of one length, reuses it instead of building
 * a graph and a plan again. */

static void shape_clear(hd_pool *p) {
  hd_plan_free(p->plan);
  p->plan = NULL;
  hd__free(p->shape);
  p->shape = NULL;
  for (size_t i = 0; i < p->nshape_fns; i++)
    hd__free(p->shape_fns[i]);
  hd__free(p->shape_fns);
  p->shape_fns = NULL;
  p->nshape = p->nshape_fns = p->cap_shape_fns = 0;
}

static int same_shape(const hd_pool *p, const btask *tasks, size_t ntasks) {
  if (p->plan == NULL || p->nshape != ntasks)
    return 0;
  for (size_t t = 0; t < ntasks; t++) {
    const shape *sh = &p->shape[t];
    const btask *bt = &tasks[t];
    if (sh->kind != bt->call->kind || sh->pos != bt->pos ||
        sh->chunked != bt->chunked || sh->first != bt->first ||
        sh->count != bt->count ||
        strcmp(p->shape_fns[sh->fn], bt->call->fn) != 0)
      return 0;
  }
  return 1;
}

/* Keep plan (taking it over) as the one for runs shaped as tasks; when
 * memory runs out it is simply not kept. */
static void shape_keep(hd_pool *p, hd_plan *plan, const btask *tasks,
                       size_t ntasks) {
  shape_clear(p);
  p->plan = plan;
  p->shape = hd__calloc(ntasks + 1, sizeof(shape));
  if (p->shape == NULL) {
    shape_clear(p);
    return;
  }
  for (size_t t = 0; t < ntasks; t++) {
    const btask *bt = &tasks[t];
    size_t n = p->nshape_fns;
    if (n == 0 || strcmp(p->shape_fns[n - 1], bt->call->fn) != 0) {
      char *fn = hd__strdup(bt->call->fn);
      if (fn == NULL || hd__grow((void **)&p->shape_fns, &p->cap_shape_fns,
                                 n + 1, sizeof(char *)) != HD_OK) {
        hd__free(fn);
        shape_clear(p);
        return;
      }
      p->shape_fns[p->nshape_fns++] = fn;
    }
    p->shape[t] = (shape){bt->call->kind, bt->pos,   bt->chunked,
                          bt->first,      bt->count, p->nshape_fns - 1};
  }
  p->nshape = ntasks;
}

/* The plan for a run of the tasks: the pool's last one when the run has
 * the same shape, or a new one (which the pool then keeps). The pool
 * holds a reference to it; so does *out, for the caller. */
static int plan_for(hd_pool *p, const btask *tasks, size_t ntasks,
                    hd_plan **out, hd__buf *why) {
  if (same_shape(p, tasks, ntasks)) {
    *out = hd__plan_ref(p->plan);
    return HD_OK;
  }
  hd_graph *g = NULL;
  hd__buf name = {0};
  int rc = hd_graph_new(&g);
  for (size_t t = 0; t < ntasks && rc == HD_OK; t++) {
    hd_node *node;
    if ((rc = task_name(&name, &tasks[t], 0)) != HD_OK ||
        (rc = hd_graph_add_fn(g, name.data, tasks[t].call->fn, &node)) !=
            HD_OK ||
        (rc = hd_node_set_retries(node, p->opts.retries)) != HD_OK)
      break;
    if (p->opts.timeout > 0)
      rc = hd_node_set_timeout(node, p->opts.timeout);
  }
  hd_plan *plan = NULL;
  if (rc == HD_OK && (rc = hd_plan_new(g, &plan)) != HD_OK)
    hd__buf_appendf(why, "the pool's plan could not be made: %s",
                    hd_strerror(rc));
  hd_graph_free(g);
  hd__buf_cleanup(&name);
  if (rc != HD_OK)
    return rc;
  *out = hd__plan_ref(plan);
  shape_keep(p, plan, tasks, ntasks);
  return HD_OK;
}

/* Stop what the pool keeps between runs: its worker processes, and its
 * ssh master connections. */
static void stop_kept(hd_pool *p) {
  hd__kept_stop(&p->kept);
  hd__sshkeep_stop(&p->sshkeep, p->hosts, p->nhosts, p->ssh_command);
}

/* With processes, the workers kept from the last run serve this one,
 * unless a function was registered or unregistered since they were
 * forked: they would not know it, so they are replaced. Returns the
 * workers to lend the run, or NULL (forked for the run alone). */
static hd__kept *kept_for_run(hd_pool *p) {
  if (!p->keeps)
    return NULL;
  unsigned long gen = hd__fn_generation();
  if (p->kept.cap > 0 && p->kept_gen != gen)
    hd__kept_stop(&p->kept);
  if (p->kept.cap == 0 && hd__kept_init(&p->kept, hd_pool_nodes(p)) != HD_OK)
    return NULL;
  p->kept_gen = gen;
  return &p->kept;
}

/* ---- hosts (ssh) ---- */

/* Host i's slots: as given, or as a run learned them; 0 while unknown. */
static unsigned host_known(const hd_pool *p, size_t i) {
  return p->hosts[i].slots != 0
             ? p->hosts[i].slots
             : __atomic_load_n(&p->host_slots[i], __ATOMIC_RELAXED);
}

/* The workers of an ssh pool: nodes when given, else the hosts' slots
 * together (a host whose slots are not known yet counting as one), never
 * more than the hosts' slots together once they are all known. */
static unsigned ssh_nodes(const hd_pool *p) {
  size_t known = 0, unknown = 0;
  for (size_t i = 0; i < p->nhosts; i++) {
    unsigned k = host_known(p, i);
    unknown += k == 0;
    known += k;
  }
  if (p->nodes > 0)
    return unknown > 0 || p->nodes < known ? p->nodes : (unsigned)known;
  size_t n = known + unknown;
  return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

/* The hosts of a run of ntasks tasks, in out, in the pool's order, with
 * the slots each gets: min(ntasks, nodes) workers, but one per host at
 * least (nodes allowing), so that a host that cannot be reached leaves
 * the others to the run; given to the hosts in turn, none past its own
 * slots. Every session a run starts costs a process on its host, and
 * most of a small call's time. When the pool has no nodes of its own and
 * a host's slots are not known yet, every host goes with the slots it
 * has, and the run learns the unknown ones (its CPU count): *learn is
 * set, and the run is to tell the pool's host_slots, whose order out
 * keeps. index receives each one's place among the pool's hosts. Returns
 * the number of hosts in out. */
static size_t run_hosts(const hd_pool *p, size_t ntasks, hd_host *out,
                        unsigned *index, int *learn) {
  size_t unknown = 0;
  for (size_t i = 0; i < p->nhosts; i++)
    unknown += host_known(p, i) == 0;
  *learn = p->nodes == 0 && unknown > 0;
  if (*learn) {
    for (size_t i = 0; i < p->nhosts; i++) {
      out[i] = p->hosts[i];
      out[i].slots = host_known(p, i);
      index[i] = (unsigned)i;
    }
    return p->nhosts;
  }
  size_t total = ssh_nodes(p);
  size_t want = ntasks < total ? ntasks : total;
  if (want < p->nhosts)
    want = p->nhosts < total ? p->nhosts : total;
  size_t n = 0;
  for (size_t i = 0; i < p->nhosts; i++) {
    out[i] = p->hosts[i];
    out[i].slots = 0;
  }
  for (int more = 1; want > 0 && more;) {
    more = 0;
    for (size_t i = 0; i < p->nhosts && want > 0; i++) {
      unsigned k = host_known(p, i);
      if (k == 0 || out[i].slots < k) {
        out[i].slots++;
        want--;
        more = 1;
      }
    }
  }
  for (size_t i = 0; i < p->nhosts; i++)
    if (out[i].slots > 0) {
      index[n] = (unsigned)i;
      out[n++] = out[i];
    }
  return n;
}

static unsigned online_cpus(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

/* Let the readers of b's iterator calls run items of their chunks while
 * they wait, when the chunks run in this process (not packed) without a
 * time limit (a reader's items would not count towards their chunk's):
 * fills help, one per such call, and returns how many. */
static size_t help_start(hd_pool *p, batch *b, const hd_plan *plan, int packs,
                         helper *help) {
  size_t n = 0;
  if (packs || p->opts.timeout > 0)
    return 0;
  for (size_t t = 0; t < b->ntasks;) {
    btask *bt = &b->tasks[t];
    size_t end = t + 1;
    while (end < b->ntasks && b->tasks[end].call == bt->call)
      end++;
    hd__call_kind kind = bt->call->kind;
    if ((kind == HD__CALL_IMAP || kind == HD__CALL_UIMAP) && bt->chunked &&
        bt->user.fn != NULL) {
      help[n] = (helper){b, plan, bt, end - t, t, bt->count, 0, NULL};
      hd__call_set_help(bt->call, help_call, &help[n]);
      n++;
    }
    t = end;
  }
  return n;
}

/* Run the tasks, with one plan. */
static int run_tasks(hd_pool *p, btask *tasks, size_t ntasks, hd__buf *why) {
  hd__kept *kept = kept_for_run(p);
  /* Workers that do not share the calls' memory get a chunk's arguments
     packed. */
  int packs = kept != NULL || p->remote;
  size_t nseeds = 0;
  for (size_t t = 0; t < ntasks; t++)
    if (!tasks[t].chunked)
      nseeds += tasks[t].count * tasks[t].call->nargs;
    else if (packs)
      nseeds++; /* its arguments, packed */
  batch b = {.pool = p, .tasks = tasks, .ntasks = ntasks, .ev_total = ntasks};
  pthread_mutex_init(&b.event_lock, NULL);
  size_t *seed_off = hd__calloc(ntasks + 1, sizeof(size_t));
  hd_value **seeds = hd__calloc(nseeds + 1, sizeof(hd_value *));
  hd__fnref *fns = hd__calloc(ntasks + 1, sizeof(hd__fnref));
  uint8_t *packed = packs ? hd__calloc(ntasks + 1, 1) : NULL;
  hd_host *hosts = p->remote ? hd__calloc(p->nhosts, sizeof(hd_host)) : NULL;
  unsigned *host_index =
      p->remote ? hd__calloc(p->nhosts, sizeof(unsigned)) : NULL;
  /* At most one helper per call, and a call has a task at least. */
  helper *help = hd__calloc(ntasks + 1, sizeof(helper));
  size_t nhelp = 0;
  int learn = 0;
  hd_plan *plan = NULL;
  hd_report *report = NULL;
  int rc = HD_ENOMEM;
  size_t s = 0;
  if (seed_off == NULL || seeds == NULL || fns == NULL || help == NULL ||
      (packs && packed == NULL) ||
      (p->remote && (hosts == NULL || host_index == NULL)))
    goto fail;
  for (size_t t = 0; t < ntasks; t++) {
    btask *bt = &tasks[t];
    hd__call *call = bt->call;
    for (size_t i = 0; !bt->chunked && i < bt->count * call->nargs; i++)
      seeds[s++] = call->args[bt->first * call->nargs + i];
    if (bt->chunked && packs) {
      if ((rc = pack_args(bt, &seeds[s])) != HD_OK)
        goto fail;
      s++;
      packed[t] = 1;
      bt->packed = 1;
    }
    seed_off[t + 1] = s;
    if (bt->user.fn != NULL)
      fns[t] = (hd__fnref){bt->chunked ? run_chunk : run_item, &b};
  }
  if ((rc = plan_for(p, tasks, ntasks, &plan, why)) != HD_OK ||
      (rc = hd__report_new(plan, &report)) != HD_OK)
    goto fail;
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = p->backend;
  unsigned nodes = hd_pool_nodes(p);
  o.jobs = ntasks < nodes ? (unsigned)ntasks : nodes;
  o.keep_going = 1;
  o.interrupt = &p->interrupt;
  o.mem_limit = HD_MEM_UNLIMITED; /* the pool holds the results it hands out */
  if (p->opts.on_event != NULL) {
    o.on_event = on_event;
    o.event_data = &b;
  }
  if (o.jobs > 1 && p->threads == NULL && strcmp(p->backend, "threads") == 0)
    p->threads = hd__kthreads_new(nodes - 1); /* NULL: started per run */
  if (p->remote) {
    o.nhosts = run_hosts(p, ntasks, hosts, host_index, &learn);
    o.hosts = hosts;
    o.ssh_command = p->ssh_command;
    p->sshkeep.index = host_index;
  }
  /* The slots the run learns are the pool's as soon as it has them, for
     hd_pool_nodes() and the next runs. */
  hd__run_ext ext = {seeds,
                     seed_off,
                     fns,
                     on_settle,
                     &b,
                     kept,
                     packed,
                     p->threads,
                     learn ? p->host_slots : NULL,
                     p->remote ? &p->sshkeep : NULL};
  nhelp = help_start(p, &b, plan, packs, help);
  /* A reader that runs items is one of the pool's threads: when they
     would be more than the CPUs, the run has one worker fewer (a wake-up
     and a CPU shared by three threads cost more than the worker gives). */
  if (nhelp > 0 && o.jobs > 1 && o.jobs >= online_cpus())
    o.jobs--;
  rc = hd__run_plan_ext(report, &o, &ext);
  for (size_t i = 0; i < nhelp; i++) {
    hd__call_set_help(help[i].tasks[0].call, NULL, NULL);
    hd__vslab_done(help[i].slab);
  }
  if (hd_report_diag_count(report) > 0)
    hd__buf_appendf(why, "%s", hd_report_diag(report, 0)->message);
  if (rc == HD_ETASK || rc == HD_EINTR)
    rc = HD_OK; /* the items say what became of them */
fail:
  if (rc != HD_OK && why->len == 0)
    hd__buf_appendf(why, "the pool could not run the call: %s",
                    hd_strerror(rc));
  hd_report_free(report);
  hd_plan_free(plan);
  hd__buf_cleanup(&b.name);
  pthread_mutex_destroy(&b.event_lock);
  hd__free(fns);
  hd__free(help);
  /* The packed arguments are the run's own; the others, the calls'. */
  for (size_t t = 0; packed != NULL && t < ntasks; t++)
    if (packed[t])
      hd_value_unref(seeds[seed_off[t]]);
  hd__free(packed);
  hd__free(seeds);
  hd__free(seed_off);
  hd__free(hosts);
  hd__free(host_index);
  p->sshkeep.index = NULL;
  return rc;
}

/* Run the calls' items: in chunks (chunk_size, or automatic), then the
 * items of any chunk that died as a whole, one task each. */
static int run_calls(hd_pool *p, hd__call **calls, size_t ncalls,
                     hd__buf *why) {
  size_t ntasks = 0;
  unsigned nodes = hd_pool_nodes(p);
  for (size_t c = 0; c < ncalls; c++) {
    size_t chunk = p->opts.chunk_size ? p->opts.chunk_size
                                      : auto_chunk(calls[c]->n, nodes);
    ntasks += (calls[c]->n + chunk - 1) / chunk;
  }
  btask *tasks = hd__calloc(ntasks + 1, sizeof(btask));
  if (tasks == NULL)
    return HD_ENOMEM;
  size_t t = 0;
  for (size_t c = 0; c < ncalls; c++) {
    hd__call *call = calls[c];
    size_t chunk =
        p->opts.chunk_size ? p->opts.chunk_size : auto_chunk(call->n, nodes);
    hd__fnref user = {NULL, NULL};
    if (hd_fn_lookup(call->fn, &user.fn, &user.data) != HD_OK)
      user.fn = NULL;
    for (size_t first = 0; first < call->n; first += chunk, t++) {
      size_t count = call->n - first < chunk ? call->n - first : chunk;
      tasks[t] = (btask){.call = call,
                         .pos = (unsigned)c + 1,
                         .first = first,
                         .count = count,
                         .user = user,
                         .chunked = chunk > 1,
                         .left = count};
    }
  }
  int rc = run_tasks(p, tasks, ntasks, why);
  size_t nsplit = 0;
  for (size_t i = 0; i < ntasks; i++)
    for (size_t j = 0; tasks[i].split && j < tasks[i].count; j++)
      nsplit += hd__call_pending(tasks[i].call, tasks[i].first + j);
  if (rc == HD_OK && nsplit > 0) {
    btask *again = hd__calloc(nsplit, sizeof(btask));
    if (again == NULL) {
      rc = HD_ENOMEM;
    } else {
      size_t k = 0;
      for (size_t i = 0; i < ntasks; i++)
        for (size_t j = 0; tasks[i].split && j < tasks[i].count; j++)
          if (hd__call_pending(tasks[i].call, tasks[i].first + j) && k < nsplit)
            again[k++] = (btask){.call = tasks[i].call,
                                 .pos = tasks[i].pos,
                                 .first = tasks[i].first + j,
                                 .count = 1,
                                 .user = tasks[i].user,
                                 .left = 1};
      nsplit = k;
      rc = run_tasks(p, again, nsplit, why);
      hd__free(again);
    }
  }
  hd__free(tasks);
  return rc;
}

/* ---- the dispatcher ---- */

/* How long the dispatcher looks for the next call before it sleeps. */
#define DISPATCH_SPIN_NS 200000

/* Run the calls (the pool's references to them pass here) in this
 * thread; p->busy is set, and p->lock not held. Returns with p->lock
 * held and p->busy cleared. */
static void run_batch(hd_pool *p, hd__call **calls, size_t n) {
  hd__buf why = {0};
  int rc = run_calls(p, calls, n, &why);
  for (size_t i = 0; i < n; i++) {
    /* Items a run could not start, or left unsettled, end here. */
    hd__call_abort(calls[i], rc == HD_OK ? HD_EINTR : HD_ETASK,
                   rc == HD_OK ? "cancelled: the pool was terminated"
                               : why.data);
    hd__call_release_args(calls[i]);
    hd__call_unref(calls[i]);
  }
  hd__buf_cleanup(&why);

  pthread_mutex_lock(&p->lock);
  /* Closed, with nothing left to run: its workers are not needed. */
  if (p->state != POOL_OPEN && p->head == NULL)
    stop_kept(p);
  p->busy = 0;
  pthread_cond_broadcast(&p->cond);
}

/* Whether the dispatcher has something to do (under p->lock). */
static int dispatch_ready(void *arg) {
  const hd_pool *p = arg;
  return p->head != NULL || p->busy || p->hold || p->quit;
}

static void *dispatcher(void *arg) {
  hd_pool *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    /* A loop of small calls (imap after imap) finds it awake: an
       iterator's reader is still reading when the run ends, so the next
       call may come a while after; sleeping and being woken costs tens
       of microseconds here. */
    hd__spin_locked(&p->lock, dispatch_ready, p, DISPATCH_SPIN_NS);
    /* Not while a caller runs its own call (run_here()), nor while a
       terminate waits for the run it stopped. */
    while ((p->head == NULL || p->busy || p->hold) && !p->quit)
      pthread_cond_wait(&p->cond, &p->lock);
    if (p->head == NULL)
      break;
    size_t n = 0;
    for (hd__call *c = p->head; c != NULL; c = c->next_queued)
      n++;
    hd__call **calls = hd__calloc(n, sizeof(*calls));
    if (calls == NULL) {
      /* Run them one at a time instead. */
      hd__call *c = p->head;
      p->head = c->next_queued;
      if (p->head == NULL)
        p->tail = NULL;
      pthread_mutex_unlock(&p->lock);
      hd__call_abort(c, HD_ETASK, "out of memory");
      hd__call_unref(c);
      pthread_mutex_lock(&p->lock);
      continue;
    }
    /* The earliest join mark at or past the first queued call: the run
       stops there. */
    unsigned long limit = ULONG_MAX;
    for (const struct join_wait *j = p->joins; j != NULL; j = j->next)
      if (j->upto >= p->head->seq && j->upto < limit)
        limit = j->upto;
    n = 0;
    hd__call *c = p->head;
    for (; c != NULL && (n == 0 || c->seq <= limit); c = c->next_queued)
      calls[n++] = c;
    p->head = c;
    if (c == NULL)
      p->tail = NULL;
    p->busy = 1;
    p->run_first = calls[0]->seq;
    __atomic_store_n(&p->interrupt, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&p->lock);
    run_batch(p, calls, n);
    hd__free(calls);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* ---- the pool ---- */

/* A host's worker when none is given: this program, as its own worker
 * (hd_worker_main()), at the path it was started from, quoted for the
 * login shell that runs it there. */
static char *self_worker(void) {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return NULL;
  self[n] = '\0';
  hd__buf b = {0};
  int rc = hd__buf_appendf(&b, "'");
  for (const char *c = self; rc == HD_OK && *c != '\0'; c++)
    rc = *c == '\'' ? hd__buf_appendf(&b, "'\\''")
                    : hd__buf_appendf(&b, "%c", *c);
  if (rc == HD_OK)
    rc = hd__buf_appendf(&b, "' --hodos-worker");
  if (rc != HD_OK) {
    hd__buf_cleanup(&b);
    return NULL;
  }
  return b.data;
}

static void free_hosts(hd_pool *p) {
  for (size_t i = 0; p->hosts != NULL && i < p->nhosts; i++) {
    hd__free((char *)p->hosts[i].host);
    hd__free((char *)p->hosts[i].user);
    hd__free((char *)p->hosts[i].command);
    hd__free((char *)p->hosts[i].token);
  }
  hd__free(p->hosts);
  hd__free(p->host_slots);
  hd__free(p->ssh_command);
  p->hosts = NULL;
  p->host_slots = NULL;
  p->ssh_command = NULL;
  p->nhosts = 0;
}

/* A copy of s, or NULL for NULL; *ok cleared when memory runs out. */
static char *copy_str(const char *s, int *ok) {
  char *c = s != NULL ? hd__strdup(s) : NULL;
  if (s != NULL && c == NULL)
    *ok = 0;
  return c;
}

/* Copy o's hosts and ssh command into p, with the worker command each
 * host gets. */
static int copy_hosts(hd_pool *p, const hd_pool_opts *o) {
  p->hosts = hd__calloc(o->nhosts, sizeof(hd_host));
  p->host_slots = hd__calloc(o->nhosts, sizeof(unsigned));
  if (p->hosts == NULL || p->host_slots == NULL) {
    free_hosts(p);
    return HD_ENOMEM;
  }
  p->nhosts = o->nhosts;
  int ok = 1;
  char *self = NULL;
  for (size_t i = 0; i < o->nhosts; i++) {
    const hd_host *h = &o->hosts[i];
    hd_host *c = &p->hosts[i];
    *c = *h;
    c->host = copy_str(h->host, &ok);
    c->user = copy_str(h->user, &ok);
    c->token = copy_str(h->token, &ok);
    /* Without a path to this program, the backend's default worker. */
    if (h->command == NULL && self == NULL)
      self = self_worker();
    c->command = copy_str(h->command ? h->command : self, &ok);
  }
  hd__free(self);
  p->ssh_command = copy_str(o->ssh_command, &ok);
  if (!ok) {
    free_hosts(p);
    return HD_ENOMEM;
  }
  return HD_OK;
}

int hd_pool_new_opts(const char *backend, unsigned nodes, const hd_pool_opts *o,
                     hd_pool **out) {
  if (out == NULL)
    return HD_EINVAL;
  *out = NULL;
  if (backend == NULL)
    backend = "threads";
  if (hd_backend_find(backend) == NULL)
    return HD_ENOTSUP;
  int remote = strcmp(backend, "ssh") == 0;
  if (nodes > 1024)
    return HD_EINVAL;
  /* As hd_node_set_timeout() takes it, which every task of the pool gets:
     refused now rather than at every call. */
  if (o != NULL && (!(o->timeout >= 0) || o->timeout > 1e9))
    return HD_EINVAL;
  if (remote) {
    /* Checked now rather than item by item at the first call. */
    if (o == NULL || o->nhosts == 0 || o->hosts == NULL)
      return HD_EINVAL;
    for (size_t i = 0; i < o->nhosts; i++)
      if (o->hosts[i].host == NULL || o->hosts[i].host[0] == '\0')
        return HD_EINVAL;
  }
  hd_pool *p = hd__calloc(1, sizeof(*p));
  if (p == NULL || (p->backend = hd__strdup(backend)) == NULL) {
    hd__free(p);
    return HD_ENOMEM;
  }
  if (o != NULL)
    p->opts = *o;
  else
    hd_pool_opts_init(&p->opts);
  /* The caller's hosts may go once this returns: the pool keeps its own
     copy (see copy_hosts()), and the options point to nothing of theirs. */
  p->opts.hosts = NULL;
  p->opts.nhosts = 0;
  p->opts.ssh_command = NULL;
  p->nodes = nodes;
  p->owner = getpid();
  p->keeps = strcmp(backend, "processes") == 0;
  p->remote = remote;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  if (remote && copy_hosts(p, o) != HD_OK) {
    hd_pool_free(p);
    return HD_ENOMEM;
  }
  *out = p;
  return HD_OK;
}

int hd_pool_new(const char *backend, unsigned nodes, hd_pool **out) {
  return hd_pool_new_opts(backend, nodes, NULL, out);
}

const char *hd_pool_backend(const hd_pool *p) { return p ? p->backend : NULL; }

unsigned hd_pool_nodes(const hd_pool *p) {
  if (p == NULL)
    return 0;
  if (p->remote)
    return ssh_nodes(p);
  if (p->nodes > 0)
    return p->nodes;
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

/* Whether this thread may call on p. */
static int usable(const hd_pool *p) {
  return p != NULL && current_pool != p && p->owner == getpid();
}

/* Queue c (whose reference passes to the pool), starting the dispatcher
 * on first use. */
static int submit(hd_pool *p, hd__call *c) {
  pthread_mutex_lock(&p->lock);
  int rc = HD_OK;
  if (p->state != POOL_OPEN) {
    rc = HD_ESTATE;
  } else if (!p->thread_started) {
    if (pthread_create(&p->thread, NULL, dispatcher, p) != 0)
      rc = HD_ENOMEM;
    else
      p->thread_started = 1;
  }
  if (rc == HD_OK) {
    c->seq = ++p->seq;
    if (p->tail != NULL)
      p->tail->next_queued = c;
    else
      p->head = c;
    p->tail = c;
    pthread_cond_broadcast(&p->cond);
  }
  pthread_mutex_unlock(&p->lock);
  return rc;
}

/* A blocking call (map, pipe) on an idle pool of threads (or serial)
 * runs in its caller's thread, which would only wait for it otherwise:
 * the dispatcher's wake-up and the caller's cost more than a small call.
 * Not with processes, whose workers must be forked by the thread that
 * lives as long as the pool (they get SIGTERM when it ends), nor with
 * ssh, whose calls cost far more than a wake-up, nor from a pool's task.
 * Returns 1 when c (whose reference passes here) ran, 0 when it is to be
 * queued instead, or -1 when the pool is not open. */
static int run_here(hd_pool *p, hd__call *c) {
  if (p->keeps || p->remote || current_pool != NULL)
    return 0;
  pthread_mutex_lock(&p->lock);
  if (p->state != POOL_OPEN) {
    pthread_mutex_unlock(&p->lock);
    return -1;
  }
  if (p->busy || p->head != NULL || p->hold) {
    pthread_mutex_unlock(&p->lock);
    return 0;
  }
  c->seq = ++p->seq;
  p->busy = 1;
  p->run_first = c->seq;
  __atomic_store_n(&p->interrupt, 0, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&p->lock);
  run_batch(p, &c, 1);
  pthread_mutex_unlock(&p->lock);
  return 1;
}

/* Make a call and queue it; *out keeps a reference for the user. */
static int start_call(hd_pool *p, hd__call_kind kind, const char *fn,
                      const hd_list *lists, size_t nlists, hd__call **out) {
  *out = NULL;
  if (p == NULL)
    return HD_EINVAL;
  if (!usable(p))
    return HD_ESTATE;
  hd__call *c;
  /* A blocking call's caller keeps its arguments while it waits. The
     others copy the integers and doubles (see hd__args_mode). */
  int rc = hd__call_new(kind, fn, lists, nlists,
                        kind == HD__CALL_MAP || kind == HD__CALL_PIPE
                            ? HD__ARGS_BORROW
                            : HD__ARGS_COPY,
                        &c);
  if (rc != HD_OK)
    return rc;
  int here = 0;
  if (c->n > 0 && (kind == HD__CALL_MAP || kind == HD__CALL_PIPE)) {
    hd__call_ref(c);
    here = run_here(p, c);
    if (here <= 0)
      hd__call_unref(c);
    if (here < 0) {
      hd__call_unref(c);
      return HD_ESTATE;
    }
  }
  if (c->n > 0 && !here) {
    hd__call_ref(c);
    if ((rc = submit(p, c)) != HD_OK) {
      hd__call_unref(c);
      hd__call_unref(c);
      return rc;
    }
  } else if (!here) {
    pthread_mutex_lock(&p->lock);
    rc = p->state == POOL_OPEN ? HD_OK : HD_ESTATE;
    c->seq = ++p->seq;
    pthread_mutex_unlock(&p->lock);
    if (rc != HD_OK) {
      hd__call_unref(c);
      return rc;
    }
  }
  *out = c;
  return HD_OK;
}

int hd_pool_map(hd_pool *p, const char *fn, const hd_list *lists, size_t nlists,
                hd_results **out) {
  if (out == NULL)
    return HD_EINVAL;
  *out = NULL;
  if (nlists == 0)
    return HD_EINVAL;
  hd__call *c;
  int rc = start_call(p, HD__CALL_MAP, fn, lists, nlists, &c);
  if (rc != HD_OK)
    return rc;
  hd__call_wait(c, -1);
  rc = hd__call_status(c);
  *out = hd__call_take_results(c);
  hd__call_unref(c);
  return rc;
}

static int iter_call(hd_pool *p, hd__call_kind kind, const char *fn,
                     const hd_list *lists, size_t nlists, hd_iter **out) {
  if (out == NULL)
    return HD_EINVAL;
  *out = NULL;
  if (nlists == 0)
    return HD_EINVAL;
  hd__call *c;
  int rc = start_call(p, kind, fn, lists, nlists, &c);
  return rc == HD_OK ? hd__iter_new(c, out) : rc;
}

int hd_pool_imap(hd_pool *p, const char *fn, const hd_list *lists,
                 size_t nlists, hd_iter **out) {
  return iter_call(p, HD__CALL_IMAP, fn, lists, nlists, out);
}

int hd_pool_uimap(hd_pool *p, const char *fn, const hd_list *lists,
                  size_t nlists, hd_iter **out) {
  return iter_call(p, HD__CALL_UIMAP, fn, lists, nlists, out);
}

int hd_pool_amap(hd_pool *p, const char *fn, const hd_list *lists,
                 size_t nlists, hd_future **out) {
  if (out == NULL)
    return HD_EINVAL;
  *out = NULL;
  if (nlists == 0)
    return HD_EINVAL;
  hd__call *c;
  int rc = start_call(p, HD__CALL_AMAP, fn, lists, nlists, &c);
  return rc == HD_OK ? hd__future_new(c, out) : rc;
}

/* A pipe's arguments as lists of one item each. */
static int pipe_call(hd_pool *p, hd__call_kind kind, const char *fn,
                     hd_value *const *args, size_t nargs, hd__call **out) {
  *out = NULL;
  if (nargs > 0 && args == NULL)
    return HD_EINVAL;
  hd_list one[16];
  hd_list *lists = nargs <= 16 ? one : hd__calloc(nargs, sizeof(hd_list));
  if (lists == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < nargs; i++)
    lists[i] = (hd_list){&args[i], 1};
  int rc = start_call(p, kind, fn, lists, nargs, out);
  if (lists != one)
    hd__free(lists);
  return rc;
}

int hd_pool_pipe(hd_pool *p, const char *fn, hd_value *const *args,
                 size_t nargs, hd_value **out, char **error) {
  if (out != NULL)
    *out = NULL;
  if (error != NULL)
    *error = NULL;
  if (out == NULL)
    return HD_EINVAL;
  hd__call *c;
  int rc = pipe_call(p, HD__CALL_PIPE, fn, args, nargs, &c);
  if (rc != HD_OK)
    return rc;
  hd__call_wait(c, -1);
  rc = hd__call_status(c);
  if (rc == HD_OK)
    *out = hd_value_ref(c->res->values[0]);
  else if (error != NULL && c->res->errors != NULL && c->res->errors[0] != NULL)
    *error = hd__strdup(c->res->errors[0]);
  hd__call_unref(c);
  return rc;
}

int hd_pool_apipe(hd_pool *p, const char *fn, hd_value *const *args,
                  size_t nargs, hd_future **out) {
  if (out == NULL)
    return HD_EINVAL;
  *out = NULL;
  hd__call *c;
  int rc = pipe_call(p, HD__CALL_APIPE, fn, args, nargs, &c);
  return rc == HD_OK ? hd__future_new(c, out) : rc;
}

void hd_pool_string_free(char *s) { hd__free(s); }

/* ---- the pool's life ---- */

int hd_pool_close(hd_pool *p) {
  if (!usable(p))
    return p == NULL ? HD_EINVAL : HD_ESTATE;
  pthread_mutex_lock(&p->lock);
  if (p->state == POOL_OPEN)
    p->state = POOL_CLOSED;
  /* Idle: its workers go now (otherwise when its last run ends). */
  if (!p->busy && p->head == NULL)
    stop_kept(p);
  pthread_mutex_unlock(&p->lock);
  return HD_OK;
}

/* Whether a call numbered upto or before is queued or running (under
 * p->lock). Calls run in the order of their numbers, so the queue's
 * head and the running run's first call are the oldest of each. */
static int calls_up_to(const hd_pool *p, unsigned long upto) {
  return (p->head != NULL && p->head->seq <= upto) ||
         (p->busy && p->run_first <= upto);
}

int hd_pool_join(hd_pool *p) {
  if (!usable(p))
    return p == NULL ? HD_EINVAL : HD_ESTATE;
  pthread_mutex_lock(&p->lock);
  /* The calls made so far, not those that other threads make while it
     waits: it would never return while they go on. */
  struct join_wait me = {p->seq, p->joins};
  p->joins = &me;
  while (calls_up_to(p, me.upto))
    pthread_cond_wait(&p->cond, &p->lock);
  struct join_wait **at = &p->joins;
  while (*at != &me)
    at = &(*at)->next;
  *at = me.next;
  pthread_mutex_unlock(&p->lock);
  return HD_OK;
}

/* Cancel what is queued, stop what runs, and wait for it; under p->lock.
 * Calls made meanwhile by other threads queue, and no run starts until
 * the one stopped has ended: it returns however many calls they make,
 * and theirs run after it (unless the pool was closed). */
static void terminate_locked(hd_pool *p) {
  hd__call *c = p->head;
  p->head = p->tail = NULL;
  p->hold++;
  if (p->busy)
    __atomic_store_n(&p->interrupt, 2, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&p->lock);
  while (c != NULL) {
    hd__call *next = c->next_queued;
    hd__call_abort(c, HD_EINTR, "cancelled: the pool was terminated");
    hd__call_unref(c);
    c = next;
  }
  pthread_mutex_lock(&p->lock);
  while (p->busy)
    pthread_cond_wait(&p->cond, &p->lock);
  stop_kept(p);
  p->hold--;
  pthread_cond_broadcast(&p->cond); /* the dispatcher, for the calls queued */
}

int hd_pool_terminate(hd_pool *p) {
  if (!usable(p))
    return p == NULL ? HD_EINVAL : HD_ESTATE;
  pthread_mutex_lock(&p->lock);
  p->state = POOL_TERMINATED;
  terminate_locked(p);
  pthread_mutex_unlock(&p->lock);
  return HD_OK;
}

int hd_pool_restart(hd_pool *p, int force) {
  if (!usable(p))
    return p == NULL ? HD_EINVAL : HD_ESTATE;
  pthread_mutex_lock(&p->lock);
  if (force)
    terminate_locked(p);
  p->state = POOL_OPEN;
  pthread_mutex_unlock(&p->lock);
  return HD_OK;
}

int hd_pool_clear(hd_pool *p) { return hd_pool_restart(p, 1); }

void hd_pool_free(hd_pool *p) {
  if (p == NULL)
    return;
  pthread_mutex_lock(&p->lock);
  p->state = POOL_TERMINATED;
  if (p->owner == getpid())
    terminate_locked(p);
  p->quit = 1;
  pthread_cond_broadcast(&p->cond);
  int started = p->thread_started && p->owner == getpid();
  pthread_mutex_unlock(&p->lock);
  if (started)
    pthread_join(p->thread, NULL);
  if (p->owner == getpid()) {
    stop_kept(p); /* terminate_locked() did, unless it failed */
    hd__kthreads_free(p->threads);
  } else {
    /* The parent's processes, threads and connections, not ours. */
    hd__kept_forget(&p->kept);
    hd__sshkeep_forget(&p->sshkeep);
  }
  shape_clear(p);
  free_hosts(p);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  hd__free(p->backend);
  hd__free(p);
  hd__vslab_trim();  /* the blocks kept for results of later calls */
  hd__arrays_trim(); /* and their arrays */
}
