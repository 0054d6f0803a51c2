/* Pools: calls queue up, and one dispatcher thread per pool runs them.
 * Each run takes every call queued so far and makes one plan of them, a
 * task per item (or per chunk of items) with the item's arguments as the
 * task's first inputs, and runs it on the pool's backend through the
 * scheduler; as each task settles, its item's result goes to its call,
 * where iterators and futures find it. One run at a time keeps the pool
 * within its workers. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "poolcall.h"
#include "run.h"

enum { POOL_OPEN, POOL_CLOSED, POOL_TERMINATED };

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
  hd__call *head, *tail;
  unsigned long seq;
  volatile sig_atomic_t interrupt; /* the running run's */
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
  size_t first, count;
  hd__fnref user;   /* the call's function, when registered */
  int chunked;      /* run by run_chunk(): its result holds each item's */
  int split;        /* the chunk died as a whole: its items run again, one
                       task each */
  int settled_here; /* run in this process, its items settled already */
} btask;

typedef struct batch {
  hd_pool *pool;
  btask *tasks;
  size_t ntasks;
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

/* The 32-bit little-endian fields of a packed chunk (pack_items()). */
static int put_u32(hd__buf *b, uint32_t v) {
  unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8),
                        (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  return hd__buf_append(b, p, 4);
}

static int get_u32(const unsigned char **p, const unsigned char *end,
                   uint32_t *v) {
  if (end - *p < 4)
    return -1;
  const unsigned char *q = *p;
  *v = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
       (uint32_t)q[3] << 24;
  *p += 4;
  return 0;
}

/* Run a chunk's items in turn: item i's result in vals[i], its status in
 * codes[i] (HD_OK, HD_ETASK, HD_EINTR) and, when it failed, its message
 * in errs[i]. Returns HD_OK, or HD_ECANCELED or HD_ENOMEM for the chunk
 * as a whole. */
static int call_items(hd_task *t, const btask *bt, hd_value **vals, int *codes,
                      char **errs) {
  size_t nargs = bt->call->nargs;
  hd_value *args[64];
  hd_value **a = nargs <= 64 ? args : hd__calloc(nargs, sizeof(*a));
  int rc = a != NULL ? HD_OK : HD_ENOMEM;
  hd__buf msg = {0};
  for (size_t i = 0; i < bt->count && rc == HD_OK; i++) {
    if (hd_task_cancelled(t)) {
      rc = HD_ECANCELED;
      break;
    }
    for (size_t k = 0; k < nargs; k++)
      a[k] = hd_task_input(t, i * nargs + k);
    msg.len = 0;
    int irc =
        hd__task_call(t, bt->user.fn, bt->user.data, a, nargs, &vals[i], &msg);
    if (irc != HD_OK && msg.len == 0)
      hd__buf_appendf(&msg, "function '%s' returned %s (%s)", bt->call->fn,
                      hd_err_name(irc), hd_strerror(irc));
    codes[i] = irc == HD_OK                             ? HD_OK
               : irc == HD_ECANCELED || irc == HD_EINTR ? HD_EINTR
                                                        : HD_ETASK;
    if (irc != HD_OK &&
        (errs[i] = hd__strdup(msg.data ? msg.data : "")) == NULL)
      rc = HD_ENOMEM;
  }
  hd__buf_cleanup(&msg);
  if (a != args)
    hd__free(a);
  return rc;
}

/* The chunk's results as one bytes value, for the process that made the
 * pool: per item, its status (4 bytes), the length of its message and
 * the message, the length of its value's frame and the frame. */
static int pack_items(size_t n, hd_value *const *vals, const int *codes,
                      char *const *errs, hd_value **out) {
  hd__buf b = {0};
  /* About what each item's result takes: no growing on the way. */
  b.cap = n * 64 + 64;
  b.data = hd__malloc(b.cap);
  if (b.data == NULL)
    return HD_ENOMEM;
  b.data[0] = '\0';
  int rc = HD_OK;
  for (size_t i = 0; i < n && rc == HD_OK; i++) {
    hd_value *frame = NULL;
    size_t mlen = errs[i] ? strlen(errs[i]) : 0;
    if (codes[i] == HD_OK &&
        (rc = hd_value_encode(vals[i] ? vals[i] : hd__value_empty(), 1,
                              &frame)) != HD_OK)
      break;
    if (put_u32(&b, (uint32_t)codes[i]) != HD_OK ||
        put_u32(&b, (uint32_t)mlen) != HD_OK ||
        hd__buf_append(&b, errs[i], mlen) != HD_OK ||
        put_u32(&b, frame ? (uint32_t)hd_value_size(frame) : 0) != HD_OK ||
        (frame && hd__buf_append(&b, hd_value_data(frame),
                                 hd_value_size(frame)) != HD_OK))
      rc = HD_ENOMEM;
    hd_value_unref(frame);
  }
  if (rc == HD_OK)
    rc = hd_value_new_bytes(b.data, b.len, out);
  hd__buf_cleanup(&b);
  return rc;
}

/* Run a chunk's items. In the process that made the pool (serial,
 * threads) their results go to the call as they are, all at once; in a
 * worker process they travel back packed as the chunk's one result. */
static int run_chunk(hd_task *t, void *data) {
  const batch *b = data;
  const btask *bt = &b->tasks[hd__task_node(t)];
  const hd_pool *prev = current_pool;
  current_pool = b->pool;
  size_t n = bt->count;
  hd_value **vals = hd__calloc(n, sizeof(*vals));
  char **errs = hd__calloc(n, sizeof(*errs));
  int *codes = hd__calloc(n, sizeof(*codes));
  int rc =
      vals && errs && codes ? call_items(t, bt, vals, codes, errs) : HD_ENOMEM;
  if (rc == HD_OK && getpid() == b->pool->owner) {
    hd__call_settle_many(bt->call, bt->first, n, codes, vals, errs);
    ((btask *)bt)->settled_here = 1;
  } else if (rc == HD_OK) {
    hd_value *packed;
    if ((rc = pack_items(n, vals, codes, errs, &packed)) == HD_OK)
      rc = hd_task_set_output(t, packed);
  }
  for (size_t i = 0; vals != NULL && i < n; i++) {
    hd_value_unref(vals[i]);
    hd__free(errs ? errs[i] : NULL);
  }
  hd__free(vals);
  hd__free(errs);
  hd__free(codes);
  current_pool = prev;
  return rc;
}

/* Hand a finished chunk's items to its call. */
static void settle_chunk(const btask *bt, hd_value *v) {
  const unsigned char *p = v ? hd_value_data(v) : NULL;
  const unsigned char *end = p ? p + hd_value_size(v) : NULL;
  for (size_t i = 0; i < bt->count; i++) {
    uint32_t rc, mlen, flen;
    hd_value *item = NULL;
    if (p == NULL || get_u32(&p, end, &rc) != 0 ||
        get_u32(&p, end, &mlen) != 0 || (size_t)(end - p) < mlen) {
      hd__call_settle(bt->call, bt->first + i, HD_ETASK, NULL,
                      "the chunk's results are malformed");
      p = NULL;
      continue;
    }
    char *m = mlen ? hd__strndup((const char *)p, mlen) : NULL;
    p += mlen;
    if (get_u32(&p, end, &flen) != 0 || (size_t)(end - p) < flen ||
        (rc == HD_OK && hd_value_decode(p, flen, SIZE_MAX, &item) != HD_OK)) {
      hd__call_settle(bt->call, bt->first + i, HD_ETASK, NULL,
                      "the chunk's results are malformed");
      hd__free(m);
      p = NULL;
      continue;
    }
    p += flen;
    hd__call_settle(bt->call, bt->first + i,
                    rc == HD_OK                                      ? HD_OK
                    : (int)rc == HD_ECANCELED || (int)rc == HD_EINTR ? HD_EINTR
                                                                     : HD_ETASK,
                    item, m);
    hd_value_unref(item);
    hd__free(m);
  }
}

static void on_settle(void *ctx, uint32_t node, const hd__tstate *t) {
  const batch *b = ctx;
  const btask *bt = &b->tasks[node];
  const char *msg = hd__tstate_message(t);
  if (bt->settled_here)
    return;
  if (t->state == HD_STATE_DONE && bt->user.fn != NULL && bt->chunked) {
    settle_chunk(bt, t->result);
    return;
  }
  if (t->state == HD_STATE_FAILED && bt->chunked && bt->count > 1 &&
      __atomic_load_n(&b->pool->interrupt, __ATOMIC_RELAXED) == 0) {
    /* Its worker died, or it ran out of time or memory: which item did
       it is not known, so each runs again alone, and only that one
       fails. */
    ((btask *)bt)->split = 1;
    return;
  }
  int status = t->state == HD_STATE_DONE        ? HD_OK
               : t->state == HD_STATE_CANCELLED ? HD_EINTR
                                                : HD_ETASK;
  for (size_t i = 0; i < bt->count; i++)
    hd__call_settle(bt->call, bt->first + i, status,
                    status == HD_OK ? t->result : NULL, msg);
}

static void on_event(const hd_event *ev, void *data) {
  const batch *b = data;
  hd_event e = *ev;
  e.index = b->tasks[ev->index].first;
  b->pool->opts.on_event(&e, b->pool->opts.event_data);
}

/* Build one plan of the tasks and run it. */
static int run_tasks(hd_pool *p, btask *tasks, size_t ntasks, hd__buf *why) {
  size_t nseeds = 0;
  for (size_t t = 0; t < ntasks; t++)
    nseeds += tasks[t].count * tasks[t].call->nargs;
  batch b = {p, tasks, ntasks};
  size_t *seed_off = hd__calloc(ntasks + 1, sizeof(size_t));
  hd_value **seeds = hd__calloc(nseeds + 1, sizeof(hd_value *));
  hd__fnref *fns = hd__calloc(ntasks + 1, sizeof(hd__fnref));
  hd_graph *g = NULL;
  hd_plan *plan = NULL;
  hd_report *report = NULL;
  hd__buf name = {0};
  int rc = HD_ENOMEM;
  if (seed_off == NULL || seeds == NULL || fns == NULL ||
      hd_graph_new(&g) != HD_OK)
    goto fail;
  size_t s = 0;
  for (size_t t = 0; t < ntasks; t++) {
    const btask *bt = &tasks[t];
    hd__call *call = bt->call;
    name.len = 0;
    if (bt->count == 1)
      rc = hd__buf_appendf(&name, "%s%lu:%s[%zu]", kind_word[call->kind],
                           call->seq, call->fn, bt->first);
    else
      rc = hd__buf_appendf(&name, "%s%lu:%s[%zu-%zu]", kind_word[call->kind],
                           call->seq, call->fn, bt->first,
                           bt->first + bt->count - 1);
    hd_node *node;
    if (rc != HD_OK ||
        (rc = hd_graph_add_fn(g, name.data, call->fn, &node)) != HD_OK ||
        (rc = hd_node_set_retries(node, p->opts.retries)) != HD_OK ||
        (p->opts.timeout > 0 &&
         (rc = hd_node_set_timeout(node, p->opts.timeout)) != HD_OK))
      goto fail;
    for (size_t i = 0; i < bt->count * call->nargs; i++)
      seeds[s++] = call->args[bt->first * call->nargs + i];
    seed_off[t + 1] = s;
    if (bt->user.fn != NULL)
      fns[t] = (hd__fnref){bt->chunked ? run_chunk : run_item, &b};
  }
  if ((rc = hd_plan_new(g, &plan)) != HD_OK) {
    hd__buf_appendf(why, "the pool's plan could not be made: %s",
                    hd_strerror(rc));
    goto fail;
  }
  hd_graph_free(g);
  g = NULL;
  if ((rc = hd__report_new(plan, &report)) != HD_OK)
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
  hd__run_ext ext = {seeds, seed_off, fns, on_settle, &b};
  rc = hd__run_plan_ext(report, &o, &ext);
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
  hd_graph_free(g);
  hd__buf_cleanup(&name);
  hd__free(fns);
  hd__free(seeds);
  hd__free(seed_off);
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
      tasks[t] = (btask){call, first, count, user, chunk > 1, 0, 0};
    }
  }
  int rc = run_tasks(p, tasks, ntasks, why);
  size_t nsplit = 0;
  for (size_t i = 0; i < ntasks; i++)
    nsplit += tasks[i].split ? tasks[i].count : 0;
  if (rc == HD_OK && nsplit > 0) {
    btask *again = hd__calloc(nsplit, sizeof(btask));
    if (again == NULL) {
      rc = HD_ENOMEM;
    } else {
      size_t k = 0;
      for (size_t i = 0; i < ntasks; i++)
        for (size_t j = 0; tasks[i].split && j < tasks[i].count; j++)
          again[k++] = (btask){
              tasks[i].call, tasks[i].first + j, 1, tasks[i].user, 0, 0};
      rc = run_tasks(p, again, nsplit, why);
      hd__free(again);
    }
  }
  hd__free(tasks);
  return rc;
}

/* ---- the dispatcher ---- */

static void *dispatcher(void *arg) {
  hd_pool *p = arg;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (p->head == NULL && !p->quit)
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
    n = 0;
    for (hd__call *c = p->head; c != NULL; c = c->next_queued)
      calls[n++] = c;
    p->head = p->tail = NULL;
    p->busy = 1;
    __atomic_store_n(&p->interrupt, 0, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&p->lock);

    hd__buf why = {0};
    int rc = run_calls(p, calls, n, &why);
    for (size_t i = 0; i < n; i++) {
      /* Items a run could not start, or left unsettled, end here. */
      hd__call_abort(calls[i], rc == HD_OK ? HD_EINTR : HD_ETASK,
                     rc == HD_OK ? "cancelled: the pool was terminated"
                                 : why.data);
      hd__call_unref(calls[i]);
    }
    hd__buf_cleanup(&why);
    hd__free(calls);

    pthread_mutex_lock(&p->lock);
    p->busy = 0;
    pthread_cond_broadcast(&p->cond);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* ---- the pool ---- */

int hd_pool_new_opts(const char *backend, unsigned nodes, const hd_pool_opts *o,
                     hd_pool **out) {
  if (out == NULL)
    return HD_EINVAL;
  *out = NULL;
  if (backend == NULL)
    backend = "threads";
  if (hd_backend_find(backend) == NULL)
    return HD_ENOTSUP;
  if (nodes > 1024)
    return HD_EINVAL;
  hd_pool *p = hd__calloc(1, sizeof(*p));
  if (p == NULL || (p->backend = hd__strdup(backend)) == NULL) {
    hd__free(p);
    return HD_ENOMEM;
  }
  if (o != NULL)
    p->opts = *o;
  else
    hd_pool_opts_init(&p->opts);
  p->nodes = nodes;
  p->owner = getpid();
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
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

/* Make a call and queue it; *out keeps a reference for the user. */
static int start_call(hd_pool *p, hd__call_kind kind, const char *fn,
                      const hd_list *lists, size_t nlists, hd__call **out) {
  *out = NULL;
  if (p == NULL)
    return HD_EINVAL;
  if (!usable(p))
    return HD_ESTATE;
  hd__call *c;
  int rc = hd__call_new(kind, fn, lists, nlists, &c);
  if (rc != HD_OK)
    return rc;
  if (c->n > 0) {
    hd__call_ref(c);
    if ((rc = submit(p, c)) != HD_OK) {
      hd__call_unref(c);
      hd__call_unref(c);
      return rc;
    }
  } else {
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
  else if (error != NULL && c->res->errors[0] != NULL)
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
  pthread_mutex_unlock(&p->lock);
  return HD_OK;
}

int hd_pool_join(hd_pool *p) {
  if (!usable(p))
    return p == NULL ? HD_EINVAL : HD_ESTATE;
  pthread_mutex_lock(&p->lock);
  while (p->head != NULL || p->busy)
    pthread_cond_wait(&p->cond, &p->lock);
  pthread_mutex_unlock(&p->lock);
  return HD_OK;
}

/* Cancel what is queued, stop what runs, and wait for it; under p->lock. */
static void terminate_locked(hd_pool *p) {
  hd__call *c = p->head;
  p->head = p->tail = NULL;
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
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  hd__free(p->backend);
  hd__free(p);
}
