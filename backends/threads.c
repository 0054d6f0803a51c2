/* The threads backend: a work-stealing pool of pthreads.
 *
 * Each worker owns a Chase-Lev deque (Le, Pop, Cohen and Zappa Nardelli,
 * "Correct and efficient work-stealing for weak memory models", PPoPP 2013):
 * it pushes and takes at the bottom, thieves steal at the top. A task the
 * scheduler hands back as a continuation runs at once on the same worker,
 * so a chain costs no queue operation at all. The calling thread is worker
 * 0; the others are kept threads lent to the run (see "threads kept for
 * any run" below), or, when none are free, started by wait() and joined
 * before it returns.
 *
 * A worker that finds nothing spins briefly, then sleeps on a condition
 * variable; pushes wake one sleeper. Sleepers announce themselves before
 * their last look at the deques, and a worker's pushes are announced
 * (announce(): a read-modify-write of its deque's bottom, then a read of
 * the sleeper count) every ANNOUNCE pushes and before it runs its next
 * task, so a push either is seen by that look or sees the sleeper (see
 * idle()).
 *
 * A task with very many dependents hands them over as one range item
 * (run_range()): a worker that takes it pushes its upper half back, and
 * so on down to RANGE_GRAIN edges, whose ready dependents it runs; a
 * thief takes half of what is left in one steal. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "../core/run.h"

#define SPINS 2048

/* A deque item is a task, or a range of a plan's successor lists: the
 * dependents a task with very many of them releases (see
 * hd__run_edge_ready() in run.h), pushed as one item and split in halves
 * as workers take it, so that a million dependents cost a few thousand
 * queue operations, and a thief takes half of what is left at once. */
#define ITEM_NONE UINT64_MAX
#define RANGE ((uint64_t)1 << 63)
/* With RANGE: a range of the run's sources (hd__run_source()), not of
   edges. Either range's first index takes bits 32 to 61. */
#define SOURCES ((uint64_t)1 << 62)
/* A range of at most this many edges is not split further. */
#define RANGE_GRAIN 64

static uint64_t range_item(uint32_t e0, uint32_t n) {
  return RANGE | (uint64_t)e0 << 32 | n;
}

static uint64_t sources_item(uint32_t i0, uint32_t n) {
  return RANGE | SOURCES | (uint64_t)i0 << 32 | n;
}

typedef struct deque {
  atomic_llong top;
  char pad1[64 - sizeof(atomic_llong)];
  atomic_llong bottom;
  char pad2[64 - sizeof(atomic_llong)];
  _Atomic uint64_t *buf; /* items: a task, or a range (RANGE) */
  long long mask;
  long long populated; /* slots below this are populated (owner only) */
} deque;

typedef struct pool pool;

typedef struct worker {
  pool *pool;
  unsigned id;
  unsigned unannounced; /* pushes not announced yet (announce()) */
  pthread_t thread;
  deque q;
  uint64_t rng;
  char pad[64];
} worker;

struct pool {
  hd_backend_host host;
  unsigned n;
  /* One worker, and the host is the scheduler's: the worker calls it
     directly (hd__run_chain_alone() and the like). */
  int alone;
  worker *workers;
  unsigned next_submit; /* round robin before the workers start */
  atomic_int running;   /* wait() was called: the workers may run */
  /* Tasks submitted from outside the workers while they run (the run's
     retry queue): under lock, their count readable without it. */
  uint32_t *inbox;
  size_t ninbox, capinbox;
  atomic_size_t inbox_n;
  atomic_int done;
  atomic_int sleepers;
  atomic_uint epoch;
  pthread_mutex_t lock;
  pthread_cond_t cond;
};

/* Read at every submit: initial-exec, so that no call looks it up (a
 * pointer fits in the static TLS that glibc keeps for libraries loaded
 * later, too). */
#if defined(__GNUC__) || defined(__clang__)
static _Thread_local worker *self __attribute__((tls_model("initial-exec")));
#else
static _Thread_local worker *self;
#endif

/* ---- the deque ---- */

/* A deque's first slots are on small pages (most deques stay shallow);
 * the first populated are a page's worth. */
#define SMALL_SLOTS (1 << 18)
#define FIRST_SLOTS 512

static int deque_init(deque *q, size_t capacity) {
  /* Each task is pushed at most once, and a range is pushed only when it
     holds at least RANGE_GRAIN / 2 edges of its own. */
  size_t cap = 2;
  while (cap < capacity + 1)
    cap *= 2;
  /* Zeroed memory is a valid initial state for the slots. Reserved, not
     populated: a deque holds the tasks pushed and not yet taken, and only
     the pages under its deepest point are touched (a chain touches one),
     while fresh memory is costly on a VM. */
  q->buf = hd__big_reserve(cap, sizeof(*q->buf));
  q->populated = 0;
  if (q->buf != NULL)
    hd__big_small_pages((void *)q->buf, SMALL_SLOTS * sizeof(*q->buf));
  if (q->buf == NULL) {
    q->buf = hd__big_calloc(cap, sizeof(*q->buf));
    q->populated = (long long)cap;
  }
  if (q->buf == NULL)
    return HD_ENOMEM;
  q->mask = (long long)cap - 1;
  atomic_init(&q->top, 0);
  atomic_init(&q->bottom, 0);
  return HD_OK;
}

/* Populate the slots from q->populated on: pages faulted one by one cost
 * far more than pages populated at once. Within the first SMALL_SLOTS
 * (small pages), a page's worth and then as many again each time; past
 * them, as many again (at least a huge page's worth). */
static void deque_grow(deque *q) {
  long long cap = q->mask + 1, at = q->populated, to;
  if (at < SMALL_SLOTS) {
    to = at != 0 ? 2 * at : FIRST_SLOTS;
    if (to > SMALL_SLOTS)
      to = SMALL_SLOTS;
  } else {
    to = at + (at > (1 << 19) ? at : (1 << 19));
  }
  if (to > cap)
    to = cap;
  hd__big_populate((void *)q->buf, (size_t)q->populated * sizeof(*q->buf),
                   (size_t)to * sizeof(*q->buf));
  q->populated = to;
}

/* Owner only. The buffer never overflows: each task is pushed once. With
 * one worker (alone) there is no thief nor sleeper to order against.
 * Otherwise the push is seen by thieves at once (release), and by
 * sleepers after announce(). */
static void deque_push(deque *q, uint64_t item, int alone) {
  long long b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
  if (b >= q->populated)
    deque_grow(q);
  atomic_store_explicit(&q->buf[b & q->mask], item, memory_order_relaxed);
  /* (Two calls: an order that is not a constant is taken as seq_cst.) */
  if (alone)
    atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
  else
    atomic_store_explicit(&q->bottom, b + 1, memory_order_release);
}

/* Owner only; alone as for deque_push(). */
static uint64_t deque_take(deque *q, int alone) {
  long long b = atomic_load_explicit(&q->bottom, memory_order_relaxed) - 1;
  if (alone) {
    if (b < atomic_load_explicit(&q->top, memory_order_relaxed))
      return ITEM_NONE;
    atomic_store_explicit(&q->bottom, b, memory_order_relaxed);
    return atomic_load_explicit(&q->buf[b & q->mask], memory_order_relaxed);
  }
  /* Sequentially consistent store and load instead of the paper's fence
     (which ThreadSanitizer cannot follow); the same ordering. */
  atomic_store_explicit(&q->bottom, b, memory_order_seq_cst);
  long long t = atomic_load_explicit(&q->top, memory_order_seq_cst);
  if (t > b) {
    atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
    return ITEM_NONE;
  }
  uint64_t x = atomic_load_explicit(&q->buf[b & q->mask], memory_order_relaxed);
  if (t == b) {
    /* The last one: race the thieves for it. */
    if (!atomic_compare_exchange_strong_explicit(
            &q->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
      x = ITEM_NONE;
    atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
  }
  return x;
}

/* Any thread. */
static uint64_t deque_steal(deque *q) {
  long long t = atomic_load_explicit(&q->top, memory_order_seq_cst);
  long long b = atomic_load_explicit(&q->bottom, memory_order_seq_cst);
  if (t >= b)
    return ITEM_NONE;
  uint64_t x = atomic_load_explicit(&q->buf[t & q->mask], memory_order_relaxed);
  if (!atomic_compare_exchange_strong_explicit(
          &q->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
    return ITEM_NONE;
  return x;
}

static int deque_empty(deque *q) {
  long long t = atomic_load_explicit(&q->top, memory_order_acquire);
  long long b = atomic_load_explicit(&q->bottom, memory_order_acquire);
  return t >= b;
}

/* ---- workers ---- */

static void announce(worker *w);

/* A task from the inbox, or ITEM_NONE. */
static uint64_t take_inbox(pool *p) {
  if (atomic_load_explicit(&p->inbox_n, memory_order_relaxed) == 0)
    return ITEM_NONE;
  uint64_t x = ITEM_NONE;
  pthread_mutex_lock(&p->lock);
  if (p->ninbox > 0) {
    x = p->inbox[--p->ninbox];
    atomic_store_explicit(&p->inbox_n, p->ninbox, memory_order_relaxed);
  }
  pthread_mutex_unlock(&p->lock);
  return x;
}

static uint64_t find_work(worker *w) {
  pool *p = w->pool;
  uint64_t x = deque_take(&w->q, p->n == 1);
  if (x != ITEM_NONE || (x = take_inbox(p)) != ITEM_NONE)
    return x;
  if (p->n == 1)
    return ITEM_NONE;
  /* xorshift: a random first victim, then every other worker. */
  w->rng ^= w->rng << 13;
  w->rng ^= w->rng >> 7;
  w->rng ^= w->rng << 17;
  unsigned start = (unsigned)(w->rng % p->n);
  for (unsigned k = 0; k < p->n; k++) {
    unsigned v = (start + k) % p->n;
    if (v == w->id)
      continue;
    x = deque_steal(&p->workers[v].q);
    if (x != ITEM_NONE)
      return x;
  }
  return ITEM_NONE;
}

static int any_work(pool *p) {
  if (atomic_load(&p->inbox_n) != 0)
    return 1;
  for (unsigned i = 0; i < p->n; i++)
    if (!deque_empty(&p->workers[i].q))
      return 1;
  return 0;
}

/* Sleep until a submit or the end. Returns 0 when the run is over. */
static int idle(worker *w) {
  pool *p = w->pool;
  atomic_fetch_add(&p->sleepers, 1);
  unsigned e = atomic_load(&p->epoch);
  if (atomic_load(&p->done) || any_work(p)) {
    atomic_fetch_sub(&p->sleepers, 1);
    return !atomic_load(&p->done) || any_work(p);
  }
  pthread_mutex_lock(&p->lock);
  while (atomic_load(&p->epoch) == e && !atomic_load(&p->done))
    pthread_cond_wait(&p->cond, &p->lock);
  pthread_mutex_unlock(&p->lock);
  atomic_fetch_sub(&p->sleepers, 1);
  return !atomic_load(&p->done) || any_work(p);
}

/* Run task, and the tasks run() hands back after it, on w. at_once: as
 * for run_at_once(). Pushes are announced before each task. */
static void run_chain(worker *w, uint32_t task, int at_once) {
  pool *p = w->pool;
  if (p->alone) {
    hd__run_chain_alone(p->host.ctx, task, w->id, at_once);
    return;
  }
  if (w->unannounced != 0)
    announce(w);
  if (p->host.run_at_once != NULL && at_once)
    task = p->host.run_at_once(p->host.ctx, task, w->id, 1);
  while (task != HD_TASK_NONE) {
    if (w->unannounced != 0)
      announce(w);
    task = p->host.run(p->host.ctx, task, w->id);
  }
}

/* Take a range of sources (least urgent first): push its lower halves
 * back until at most RANGE_GRAIN are left, then run those from the most
 * urgent down. The halves pushed last are the most urgent of the rest:
 * this worker takes them next, thieves the least urgent. */
static void run_sources(worker *w, uint32_t i0, uint32_t n, int at_once) {
  pool *p = w->pool;
  if (p->alone) {
    hd__run_sources_alone(p->host.ctx, i0, n, w->id, at_once);
    return;
  }
  while (n > RANGE_GRAIN && p->n > 1) {
    uint32_t half = n / 2;
    deque_push(&w->q, sources_item(i0, half), 0);
    w->unannounced++;
    i0 += half;
    n -= half;
  }
  for (uint32_t i = i0 + n; i-- > i0;) {
    run_chain(w, hd__run_source(p->host.ctx, i), at_once);
    at_once = 1;
  }
}

/* Take a range: push its upper halves back (for thieves, or for this
 * worker later) until at most RANGE_GRAIN edges are left, then run the
 * dependents that these edges make ready. */
static void run_range(worker *w, uint64_t item, int at_once) {
  pool *p = w->pool;
  uint32_t e0 = (uint32_t)(item >> 32) & 0x3fffffffu, n = (uint32_t)item;
  if (item & SOURCES) {
    run_sources(w, e0, n, at_once);
    return;
  }
  if (p->alone) {
    hd__run_edges_alone(p->host.ctx, e0, n, w->id, at_once);
    return;
  }
  while (n > RANGE_GRAIN && p->n > 1) {
    uint32_t half = n / 2;
    deque_push(&w->q, range_item(e0 + n - half, half), 0);
    w->unannounced++;
    n -= half;
  }
  for (uint32_t e = e0; e < e0 + n; e++) {
    uint32_t task = hd__run_edge_ready(p->host.ctx, e, w->id);
    if (task == HD_TASK_NONE)
      continue;
    run_chain(w, task, at_once);
    at_once = 1;
  }
}

static void work(worker *w) {
  pool *p = w->pool;
  /* A task of another run may be running a run of its own here (a pool's
     blocking call runs in its caller's thread): its worker comes back. */
  worker *outer = self;
  self = w;
  int ran = 0; /* it has just run a task */
  for (;;) {
    uint64_t item = ITEM_NONE;
    int at_once = ran;
    for (int spin = 0; spin < SPINS && item == ITEM_NONE; spin++) {
      item = find_work(w);
      if (item == ITEM_NONE) {
        /* No task anywhere it looked: the run counts the ones it
           finished (which may end the run). */
        if (spin == 0)
          hd__run_worker_idle(p->host.ctx, w->id);
        at_once = 0;
        if (atomic_load_explicit(&p->done, memory_order_acquire))
          break;
        if (spin > SPINS / 2)
          sched_yield();
      }
    }
    if (item == ITEM_NONE) {
      ran = 0;
      if (!idle(w))
        break;
      continue;
    }
    if (item & RANGE)
      run_range(w, item, at_once);
    else
      run_chain(w, (uint32_t)item, at_once);
    if (w->unannounced != 0)
      announce(w);
    ran = 1;
  }
  self = outer;
}

static void *thread_main(void *arg) {
  work(arg);
  return NULL;
}

/* ---- the ops ---- */

static void wake_one(pool *p) {
  if (atomic_load(&p->sleepers) == 0)
    return;
  pthread_mutex_lock(&p->lock);
  atomic_fetch_add(&p->epoch, 1);
  pthread_cond_signal(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

static int threads_start(void **state, unsigned jobs,
                         const hd_backend_host *host) {
  if (jobs == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    jobs = cpus > 0 ? (unsigned)cpus : 1;
  }
  if (jobs > HD__THREADS_MAX)
    return HD_EINVAL;
  pool *p = hd__calloc(1, sizeof(*p));
  if (p == NULL)
    return HD_ENOMEM;
  p->host = *host;
  p->n = jobs;
  p->alone = jobs == 1 && hd__run_host_is_ours(host);
  p->workers = hd__calloc(jobs, sizeof(worker));
  if (p->workers == NULL) {
    hd__free(p);
    return HD_ENOMEM;
  }
  for (unsigned i = 0; i < jobs; i++) {
    worker *w = &p->workers[i];
    w->pool = p;
    w->id = i;
    w->rng = 0x9e3779b97f4a7c15ull * (i + 1);
    if (deque_init(&w->q, host->ntasks + hd__run_range_room(host->ctx)) !=
        HD_OK) {
      for (unsigned k = 0; k < i; k++)
        hd__big_free((void *)p->workers[k].q.buf,
                     (size_t)p->workers[k].q.mask + 1, sizeof(uint64_t));
      hd__free(p->workers);
      hd__free(p);
      return HD_ENOMEM;
    }
  }
  atomic_init(&p->done, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->epoch, 0);
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  *state = p;
  return HD_OK;
}

/* Make w's pushes so far known to sleeping workers: its deque's bottom,
 * stored before the sleeper count is read (a read-modify-write of its
 * own line orders the two, as a sleeper's count is ordered before its
 * look at the deques in idle()), and a sleeper woken if there is one.
 * Once per ANNOUNCE pushes, and before the worker runs its next task:
 * a task that makes a million others ready pays for a few thousand,
 * not a million. */
#define ANNOUNCE 64
static void announce(worker *w) {
  w->unannounced = 0;
  (void)atomic_fetch_add_explicit(&w->q.bottom, 0, memory_order_seq_cst);
  wake_one(w->pool);
}

/* Push item on the deque of w, the calling thread's own. */
static void push_own(worker *w, uint64_t item) {
  int alone = w->pool->n == 1;
  deque_push(&w->q, item, alone);
  if (!alone && ++w->unannounced >= ANNOUNCE)
    announce(w);
}

static int threads_submit(void *state, uint32_t task) {
  pool *p = state;
  worker *w = self;
  if (w != NULL && w->pool == p) {
    push_own(w, task);
    return HD_OK;
  }
  if (atomic_load(&p->running)) {
    /* From outside the workers while they run: into the inbox, and a
       sleeper woken for it. */
    pthread_mutex_lock(&p->lock);
    int rc = HD_OK;
    if (hd__grow((void **)&p->inbox, &p->capinbox, p->ninbox + 1,
                 sizeof(uint32_t)))
      rc = HD_ENOMEM;
    else
      p->inbox[p->ninbox++] = task;
    atomic_store(&p->inbox_n, p->ninbox);
    atomic_fetch_add(&p->epoch, 1);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return rc;
  }
  /* Before wait(): no worker runs yet, so pushing as the owner is safe;
     spread the sources over the workers. */
  worker *owner = &p->workers[p->next_submit];
  if (++p->next_submit == p->n)
    p->next_submit = 0;
  deque_push(&owner->q, task, p->n == 1);
  return HD_OK;
}

void hd__threads_push_sources(void *state, uint32_t n) {
  /* Before wait(): as the owner of worker 0's deque. The other workers
     take halves of it from the start. */
  pool *p = state;
  deque_push(&p->workers[0].q, sources_item(0, n), p->n == 1);
}

void hd__threads_push_range(void *state, unsigned w, uint32_t e0, uint32_t e1) {
  /* From worker w's own thread, inside run() (settle()). */
  push_own(&((pool *)state)->workers[w], range_item(e0, e1 - e0));
}

static void threads_finish(void *state) {
  pool *p = state;
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->done, 1);
  atomic_fetch_add(&p->epoch, 1);
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
}

/* ---- threads kept from run to run ---- */

/* How long a kept thread spins for the next run before it sleeps, and the
 * run's own thread for the others to end: a loop of small calls finds
 * them awake, which a wake-up (about 20 us here) would cost. */
#define KEPT_SPIN_NS 50000

struct hd__kthreads {
  pthread_mutex_t lock;
  pthread_cond_t *wake; /* per thread: a run for it was posted, or quit */
  pthread_cond_t idle;  /* the last thread left the run */
  unsigned n;           /* threads started */
  unsigned cap;         /* threads asked for: wake has as many */
  pthread_t *t;
  struct kthread *args;
  /* The run posted last: its number (high half) and how many of the
     threads serve it (low half: those with ids 1..m). One word, so that
     a thread that reads it knows at once whether the run is its own: a
     thread that is not in a run is not waited for, and must never touch
     that run's pool, which may be gone by the time it looks. */
  atomic_uint_least64_t post;
  _Atomic(pool *) job;
  atomic_uint running; /* threads still in the posted run */
  int quit;            /* under lock */
};

typedef struct kthread {
  hd__kthreads *k;
  unsigned id; /* the worker it serves as: 1..n */
} kthread;

static void *kept_main(void *arg) {
  const kthread *a = arg;
  hd__kthreads *k = a->k;
  uint32_t seen = 0;
  for (;;) {
    uint64_t post = atomic_load_explicit(&k->post, memory_order_acquire);
    uint64_t until = 0;
    while ((uint32_t)(post >> 32) == seen) {
      uint64_t now = hd__now_ns();
      if (until == 0)
        until = now + KEPT_SPIN_NS;
      if (now > until)
        break;
      sched_yield();
      post = atomic_load_explicit(&k->post, memory_order_acquire);
    }
    if ((uint32_t)(post >> 32) == seen) {
      pthread_mutex_lock(&k->lock);
      while ((uint32_t)((post = atomic_load(&k->post)) >> 32) == seen &&
             !k->quit)
        pthread_cond_wait(&k->wake[a->id - 1], &k->lock);
      int quit = (uint32_t)(post >> 32) == seen;
      pthread_mutex_unlock(&k->lock);
      if (quit)
        break;
    }
    seen = (uint32_t)(post >> 32);
    if (a->id > (uint32_t)post)
      continue; /* not one of this run's workers */
    /* The run waits for this thread: its pool is there. */
    pool *p = atomic_load_explicit(&k->job, memory_order_acquire);
    work(&p->workers[a->id]);
    if (atomic_fetch_sub_explicit(&k->running, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&k->lock);
      pthread_cond_broadcast(&k->idle);
      pthread_mutex_unlock(&k->lock);
    }
  }
  return NULL;
}

hd__kthreads *hd__kthreads_new(unsigned n) {
  hd__kthreads *k = hd__calloc(1, sizeof(*k));
  if (k == NULL)
    return NULL;
  k->t = hd__calloc(n + 1, sizeof(pthread_t));
  k->args = hd__calloc(n + 1, sizeof(kthread));
  k->wake = hd__calloc(n + 1, sizeof(pthread_cond_t));
  if (k->t == NULL || k->args == NULL || k->wake == NULL) {
    hd__free(k->t);
    hd__free(k->args);
    hd__free(k->wake);
    hd__free(k);
    return NULL;
  }
  pthread_mutex_init(&k->lock, NULL);
  for (unsigned i = 0; i < n; i++)
    pthread_cond_init(&k->wake[i], NULL);
  pthread_cond_init(&k->idle, NULL);
  atomic_init(&k->post, 0);
  atomic_init(&k->job, NULL);
  atomic_init(&k->running, 0);
  k->cap = n;
  for (; k->n < n; k->n++) {
    k->args[k->n] = (kthread){k, k->n + 1};
    if (pthread_create(&k->t[k->n], NULL, kept_main, &k->args[k->n]) != 0)
      break; /* fewer threads: the others steal their share */
  }
  if (k->n == 0) {
    hd__kthreads_free(k);
    return NULL;
  }
  return k;
}

void hd__kthreads_free(hd__kthreads *k) {
  if (k == NULL)
    return;
  pthread_mutex_lock(&k->lock);
  k->quit = 1;
  for (unsigned i = 0; i < k->n; i++)
    pthread_cond_signal(&k->wake[i]);
  pthread_mutex_unlock(&k->lock);
  for (unsigned i = 0; i < k->n; i++)
    pthread_join(k->t[i], NULL);
  pthread_cond_destroy(&k->idle);
  for (unsigned i = 0; i < k->cap; i++)
    pthread_cond_destroy(&k->wake[i]);
  pthread_mutex_destroy(&k->lock);
  hd__free(k->t);
  hd__free(k->args);
  hd__free(k->wake);
  hd__free(k);
}

/* Run p with the kept threads as its workers 1..m (m: as many as p has
 * besides the calling thread, at most all of them); the others are not
 * woken. */
static void kept_run(pool *p, hd__kthreads *k) {
  unsigned m = p->n - 1 < k->n ? p->n - 1 : k->n;
  uint32_t gen = (uint32_t)(atomic_load(&k->post) >> 32) + 1;
  if (gen == 0) /* a thread's first "seen" */
    gen = 1;
  atomic_store_explicit(&k->running, m, memory_order_relaxed);
  atomic_store_explicit(&k->job, p, memory_order_relaxed);
  atomic_store_explicit(&k->post, (uint64_t)gen << 32 | m,
                        memory_order_release);
  pthread_mutex_lock(&k->lock);
  for (unsigned i = 0; i < m; i++)
    pthread_cond_signal(&k->wake[i]);
  pthread_mutex_unlock(&k->lock);
  work(&p->workers[0]);
  uint64_t until = hd__now_ns() + KEPT_SPIN_NS;
  while (atomic_load_explicit(&k->running, memory_order_acquire) != 0 &&
         hd__now_ns() < until)
    sched_yield();
  pthread_mutex_lock(&k->lock);
  while (atomic_load(&k->running) != 0)
    pthread_cond_wait(&k->idle, &k->lock);
  pthread_mutex_unlock(&k->lock);
}

/* ---- threads kept for any run ----
 * A run without threads of its own (r->ext.threads: a pool's) borrows the
 * process's: made by the first run with more than one worker, made
 * again, larger, for a run that wants more, and lent to one run at a
 * time (a run that finds them lent, one started by a task of another
 * run say, starts threads of its own). A loop of small runs then starts
 * and joins no thread per run (about 20 us a run here). A forked child
 * forgets its parent's, which do not exist in it. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static hd__kthreads *shared; /* under shared_lock */
static int shared_lent;      /* under shared_lock */
static pthread_once_t shared_once = PTHREAD_ONCE_INIT;

static void shared_forget(void) {
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  shared_lock = fresh;
  shared = NULL; /* its threads were not copied: it is left as it is */
  shared_lent = 0;
}

static void shared_init(void) { pthread_atfork(NULL, NULL, shared_forget); }

/* The process's kept threads, at least n of them, lent to the caller; or
 * NULL (lent already, or none could be made). */
static hd__kthreads *shared_take(unsigned n) {
  pthread_once(&shared_once, shared_init);
  hd__kthreads *k = NULL;
  pthread_mutex_lock(&shared_lock);
  if (!shared_lent) {
    if (shared != NULL && shared->n < n) {
      hd__kthreads_free(shared);
      shared = NULL;
    }
    if (shared == NULL)
      shared = hd__kthreads_new(n);
    if (shared != NULL && shared->n >= n) {
      k = shared;
      shared_lent = 1;
    }
  }
  pthread_mutex_unlock(&shared_lock);
  return k;
}

static void shared_give(void) {
  pthread_mutex_lock(&shared_lock);
  shared_lent = 0;
  pthread_mutex_unlock(&shared_lock);
}

/* When the library is unloaded (or the process exits): no kept thread may
 * go on in code that is gone. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((destructor)) static void shared_stop(void) {
  if (pthread_mutex_trylock(&shared_lock) != 0)
    return;
  if (!shared_lent) {
    hd__kthreads_free(shared);
    shared = NULL;
  }
  pthread_mutex_unlock(&shared_lock);
}
#endif

static int threads_wait(void *state) {
  pool *p = state;
  atomic_store(&p->running, 1);
  const hd__run *r = p->host.ctx;
  if (r != NULL && r->ext.threads != NULL && p->n > 1) {
    kept_run(p, r->ext.threads);
    return HD_OK;
  }
  hd__kthreads *k = p->n > 1 ? shared_take(p->n - 1) : NULL;
  if (k != NULL) {
    kept_run(p, k);
    shared_give();
    return HD_OK;
  }
  unsigned started = 1;
  int rc = HD_OK;
  for (; started < p->n; started++)
    if (pthread_create(&p->workers[started].thread, NULL, thread_main,
                       &p->workers[started]) != 0) {
      /* Fewer workers than asked for still finish the run. */
      hd__log(HD_LOG_WARN, "threads: could only start %u of %u workers",
              started, p->n);
      break;
    }
  work(&p->workers[0]);
  for (unsigned i = 1; i < started; i++)
    pthread_join(p->workers[i].thread, NULL);
  return rc;
}

static unsigned threads_capacity(void *state) { return ((pool *)state)->n; }

static void threads_stop(void *state) {
  pool *p = state;
  for (unsigned i = 0; i < p->n; i++)
    hd__big_free((void *)p->workers[i].q.buf, (size_t)p->workers[i].q.mask + 1,
                 sizeof(uint64_t));
  hd__free(p->workers);
  hd__free(p->inbox);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->cond);
  hd__free(p);
}

const struct hd_backend_ops hd__backend_threads = {
    .version = HD_BACKEND_OPS_VERSION,
    .name = "threads",
    .description = "a work-stealing pool of threads in this process",
    .start = threads_start,
    .submit = threads_submit,
    .finish = threads_finish,
    .wait = threads_wait,
    .capacity = threads_capacity,
    .stop = threads_stop,
};
