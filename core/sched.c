/* The scheduler: join counters, the failure policy, retries and events,
 * shared by every backend. A backend calls run_task() (through its host)
 * for each ready task; run_task() executes it, accounts for it and
 * releases its dependents, keeping one for the same worker. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cachekey.h"
#include "run.h"
#include "template.h"

static void emit(hd__run *r, hd_event_type type, uint32_t node,
                 const char *message) {
  if (r->opts.on_event == NULL)
    return;
  const hd__tstate *t = &r->report->tasks[node];
  hd_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.task = hd__plan_name(r->plan, node);
  ev.index = node;
  if (type == HD_EVENT_DONE || type == HD_EVENT_FAILED ||
      type == HD_EVENT_RETRIED)
    ev.elapsed_ns = t->end_ns - t->start_ns;
  ev.attempt = t->attempts;
  ev.worker = t->worker;
  ev.message = message;
  ev.total = r->plan->count;
  ev.failure_allowed = type == HD_EVENT_FAILED &&
                       hd__plan_settings(r->plan, node)->allow_failure;
  if (r->worker_hosts != NULL && t->worker < r->nworkers &&
      type != HD_EVENT_QUEUED && type != HD_EVENT_SKIPPED)
    ev.host = r->worker_hosts[t->worker];
  if ((type == HD_EVENT_DONE || type == HD_EVENT_CACHED) && t->result != NULL)
    ev.size = hd_value_size(t->result);
  if (type == HD_EVENT_DONE && r->wire_size != NULL)
    ev.wire_size = r->wire_size[node];
  /* Events reach the application one at a time, whichever worker sends
     them, their times in order, and done counted here: the tasks whose
     last event was sent, this one included (a count taken before the
     lock ran ahead of the events, or behind them, on threads). */
  pthread_mutex_lock(&r->event_lock);
  ev.time_ns = hd__now_ns();
  if (type == HD_EVENT_DONE || type == HD_EVENT_FAILED ||
      type == HD_EVENT_SKIPPED || type == HD_EVENT_CANCELLED ||
      type == HD_EVENT_CACHED)
    r->event_done++;
  ev.done = r->event_done;
  r->opts.on_event(&ev, r->opts.event_data);
  pthread_mutex_unlock(&r->event_lock);
}

int hd__run_stopping(hd__run *r) {
  if (r->opts.interrupt != NULL && hd__flag(r->opts.interrupt) != 0)
    atomic_store(&r->interrupted, 1);
  return atomic_load_explicit(&r->interrupted, memory_order_relaxed) ||
         (atomic_load_explicit(&r->failed, memory_order_relaxed) &&
          !r->opts.keep_going);
}

static void set_message(hd__tstate *t, const char *fmt, ...) HD_PRINTF(2, 3);
static void set_message(hd__tstate *t, const char *fmt, ...) {
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  hd__textra *x = hd__tstate_extra(t);
  if (x != NULL && hd__buf_vappendf(&b, fmt, ap) == HD_OK) {
    hd__free(x->message);
    x->message = b.data;
  } else {
    hd__buf_cleanup(&b);
  }
  va_end(ap);
}

/* Check that a task's input files exist (outputs 0) or that it made its
 * output files (outputs 1); paths are taken from its workdir. Returns
 * HD_OK, or HD_ETASK with the first missing file in message. */
static int check_files(const hd__plan *p, const hd__pio *io, int outputs,
                       hd__buf *message) {
  uint32_t off = outputs ? io->outputs : io->inputs;
  uint32_t count = outputs ? io->noutputs : io->ninputs;
  int rc = HD_OK;
  hd__buf path = {0};
  for (uint32_t k = 0; k < count && rc == HD_OK; k++) {
    const char *f = hd__plan_list(p, off, k);
    rc = hd__io_path(&path, p, io, f);
    struct stat st;
    if (rc == HD_OK && stat(path.data, &st) != 0) {
      int err = errno;
      if (outputs)
        hd__buf_appendf(message, "did not produce its output '%s' (%s)", f,
                        strerror(err));
      else
        hd__buf_appendf(message, "input file '%s' does not exist (%s)", f,
                        strerror(err));
      rc = HD_ETASK;
    }
  }
  hd__buf_cleanup(&path);
  return rc;
}

/* Output k's path, and its staged name beside it. */
static int staged_paths(const hd__plan *p, const hd__pio *io, uint32_t k,
                        hd__buf *final, hd__buf *staged) {
  staged->len = 0;
  if (hd__io_path(final, p, io, hd__plan_list(p, io->outputs, k)) != HD_OK ||
      hd__staged_path(staged, final->data) != HD_OK)
    return HD_ENOMEM;
  return HD_OK;
}

/* Outputs written under their staged names: renamed into place when the
 * task succeeded (ok), removed when it did not, so that no output is
 * ever left half written under its own name. A staged output missing, or
 * a rename that fails, fails the task. */
static int place_outputs(const hd__plan *p, const hd__pio *io, int ok,
                         hd__buf *message) {
  hd__buf final = {0}, staged = {0};
  int rc = HD_OK;
  /* A staged output that was not written fails the task, and then none
     is put in place: a failed task leaves no output under its own name,
     and a file of that name left from before is not this run's. */
  for (uint32_t k = 0; ok && k < io->noutputs && k < 64; k++) {
    if (!(io->staged >> k & 1))
      continue;
    struct stat st;
    if ((rc = staged_paths(p, io, k, &final, &staged)) != HD_OK) {
      ok = 0;
    } else if (lstat(staged.data, &st) != 0 && errno == ENOENT) {
      hd__buf_appendf(message,
                      "did not produce its output '%s' (nothing was written "
                      "where its command names it)",
                      hd__plan_list(p, io->outputs, k));
      rc = HD_ETASK;
      ok = 0;
    }
  }
  for (uint32_t k = 0; k < io->noutputs && k < 64; k++) {
    if (!(io->staged >> k & 1))
      continue;
    if (staged_paths(p, io, k, &final, &staged) != HD_OK) {
      rc = HD_ENOMEM;
      break;
    }
    if (!ok) {
      unlink(staged.data);
    } else if (rename(staged.data, final.data) != 0 && rc == HD_OK) {
      hd__buf_appendf(message, "cannot put its output '%s' in place: %s",
                      hd__plan_list(p, io->outputs, k), strerror(errno));
      rc = HD_ETASK;
    }
  }
  hd__buf_cleanup(&final);
  hd__buf_cleanup(&staged);
  return rc;
}

/* Whether task i ended in a way its dependents accept: done, or failed
 * with its failure allowed. */
static int usable(const hd__run *r, uint32_t i) {
  uint8_t st = r->report->tasks[i].state;
  return st == HD_STATE_DONE || (st == HD_STATE_FAILED &&
                                 hd__plan_settings(r->plan, i)->allow_failure);
}

/* Sleep ns, waking early when the run stops. */
static void pause_for(hd__run *r, uint64_t ns) {
  uint64_t end = hd__now_ns() + ns;
  while (!hd__run_stopping(r)) {
    uint64_t now = hd__now_ns();
    if (now >= end)
      break;
    uint64_t step = end - now < 20000000u ? end - now : 20000000u;
    struct timespec ts = {(time_t)(step / 1000000000u),
                          (long)(step % 1000000000u)};
    nanosleep(&ts, NULL);
  }
}

/* With a store: key task node and look its result up. Returns 1 when a
 * stored result was taken (the task is done, cached), 0 when it is to
 * run. A task whose key cannot be made (an input file is missing) runs,
 * and says so. */
static int cache_lookup(hd__run *r, uint32_t node) {
  if (r->keyed[node])
    return 0; /* looked up before, and waiting for a worker */
  const hd__plan *p = r->plan;
  const char *name = hd__plan_name(p, node);
  hd__tstate *t = &r->report->tasks[node];
  /* The inputs' hashes: the seeds', and those kept as each task before
     it ended (all ones for a failure that was allowed: no value). */
  size_t n = hd__input_count(r, node), k = 0;
  hd__key small[8];
  hd__key *in = n <= 8 ? small : hd__calloc(n, sizeof(hd__key));
  if (in == NULL)
    return 0;
  if (r->ext.seed_off != NULL)
    for (size_t s = r->ext.seed_off[node]; s < r->ext.seed_off[node + 1]; s++)
      in[k++] = hd__key_value(r->ext.seeds[s]);
  hd__preds it;
  for (hd__preds_begin(p, node, &it); it.left > 0;) {
    uint32_t u = hd__preds_next(&it);
    in[k++] = r->report->tasks[u].state == HD_STATE_DONE
                  ? r->vhash[u]
                  : (hd__key){UINT64_MAX, UINT64_MAX};
  }
  hd__buf why = {0};
  hd__key key;
  hd__keyparts *parts = &r->parts[node];
  int rc = hd__task_key(p, node, in, n, &key, parts, &why);
  int e = errno;
  if (in != small)
    hd__free(in);
  if (rc != HD_OK) {
    /* It runs, and is not kept. A missing input fails it anyway, and says
       so; an input it can read but not hash (a folder) would make it run
       again at every run, silently. */
    if (rc == HD_EIO && e != ENOENT && why.data != NULL &&
        hd__plan_settings(p, node)->cache)
      hd__log(HD_LOG_WARN, "task '%s': its result cannot be cached (%s)", name,
              why.data);
    hd__buf_cleanup(&why);
    return 0;
  }
  r->keys[node] = key;
  r->keyed[node] = 1;
  if (!hd__plan_settings(p, node)->cache &&
      !(r->opts.resume && hd__store_resumed(r->store, key))) {
    hd__buf_cleanup(&why);
    return 0;
  }
  const hd__pio *io = hd__plan_io(p, node);
  uint32_t want = io != NULL ? io->noutputs : 0;
  hd__key *outs = hd__calloc((size_t)want + 1, sizeof(hd__key));
  hd_value *v = NULL;
  uint32_t nout = 0;
  rc = outs != NULL ? hd__store_get(r->store, key, &v, outs, want, &nout)
                    : HD_ENOMEM;
  if (rc == HD_ECHECKSUM || rc == HD_ECORRUPT)
    hd__log(HD_LOG_WARN,
            "task '%s': its stored result is damaged (%s); it runs again", name,
            hd_strerror(rc));
  int hit = rc == HD_OK && nout == want;
  /* Declared outputs must still be there, as they were made. */
  if (hit && want > 0)
    hit = hd__outputs_check(p, node, outs, &why) == HD_OK;
  if (hit && r->results_dir != NULL && hd__write_result(r, name, v) != HD_OK)
    /* As for a result just made (hd__attempt_end()): the run folder loses
       its copy, not the run the stored result (a full disk used to make
       the task run again). */
    hd__log(HD_LOG_WARN,
            "task '%s': its stored result cannot be written under %s: %s; "
            "the tasks after it get it from memory",
            name, r->results_dir, strerror(errno));
  hd__free(outs);
  hd__buf_cleanup(&why);
  if (!hit) {
    if (v != NULL)
      hd_value_unref(v);
    return 0;
  }
  r->vhash[node] = hd__key_value(v);
  t->result = v;
  t->state = HD_STATE_DONE;
  t->flags |= HD__T_CACHED;
  if (!r->opts.no_task_times)
    t->start_ns = t->end_ns = hd__now_ns();
  if (hd__store_journal(r->store, key, parts, name) != HD_OK)
    hd__log(HD_LOG_WARN, "cannot write the store's journal: %s",
            strerror(errno));
  return 1;
}

/* With a store: keep a result that was just made. A failure to keep it
 * costs a later run the work again, not this run its result. */
static void cache_keep(hd__run *r, uint32_t node, const hd_value *v) {
  if (!r->keyed[node])
    return;
  const hd__plan *p = r->plan;
  const hd__pio *io = hd__plan_io(p, node);
  uint32_t nout = io != NULL ? io->noutputs : 0;
  hd__key *outs = hd__calloc(nout + 1, sizeof(hd__key));
  hd__buf why = {0};
  int rc = outs == NULL ? HD_ENOMEM : hd__output_keys(p, node, outs, &why);
  if (rc == HD_OK)
    rc = hd__store_put(r->store, r->keys[node], v ? v : hd__value_empty(), outs,
                       nout);
  if (rc == HD_OK)
    rc = hd__store_journal(r->store, r->keys[node], &r->parts[node],
                           hd__plan_name(p, node));
  /* A write that failed says why (a full disk, most often). */
  int err = rc == HD_EIO ? errno : 0;
  if (rc != HD_OK)
    hd__log(HD_LOG_WARN, "task '%s': its result cannot be kept: %s",
            hd__plan_name(p, node),
            why.len ? why.data
            : err   ? strerror(err)
                    : hd_strerror(rc));
  hd__free(outs);
  hd__buf_cleanup(&why);
}

/* x's outcome, before an attempt. Field by field rather than a memset of
 * the whole: this runs for every task, and a small memset costs more
 * than the stores. */
static inline void exec_out_clear(hd__exec *x) {
  x->output = NULL;
  x->exit_status = -1;
  x->term_signal = 0;
  x->message = (hd__buf){0};
  x->err_tail = (hd__buf){0};
  x->timed_out = 0;
}

/* The start of an attempt: the task is running from now on. x is filled
 * for the executor. Returns HD_OK to go on and execute it, or HD_ETASK
 * (an input file is missing; x->message says which) to end the attempt
 * at once. */
static int begin(hd__run *r, uint32_t node, unsigned w, hd_value **inputs,
                 size_t ninputs, hd__exec *x, int announce, uint64_t deps_end,
                 int plain) {
  const hd__plan *p = r->plan;
  hd__tstate *t = &r->report->tasks[node];
  /* Field by field rather than a memset of the whole: this runs for every
     task, and a small memset costs more than the stores. */
  hd__fnref f = {NULL, NULL};
  if (plain || p->nodes[node].kind == HD_NODE_FN)
    f = hd__run_fn(r, node);
  x->plan = p;
  x->node = node;
  x->inputs = inputs;
  x->ninputs = ninputs;
  x->lazy = NULL;
  x->lent = NULL;
  x->interrupt = r->opts.interrupt;
  x->log_fd = -1;
  x->fn = f.fn;
  x->fn_data = f.data;
  x->timeout_ns = hd__plan_settings(p, node)->timeout_ns;
  x->results_dir = r->results_dir;
  exec_out_clear(x);
  t->state = HD_STATE_RUNNING;
  t->attempts++;
  t->worker = (uint16_t)w;
  x->attempt = t->attempts;
  /* A task taken at once after another on its worker starts when that
     one ended (one clock read per task instead of two). Never before
     its dependencies ended (deps_end, when known): one may have ended
     on another worker after this one's last task, or on a clock a little
     ahead of this worker's. */
  hd__wstate *ws = plain || w < r->nworkers ? &r->workers[w] : NULL;
  uint64_t start = 0;
  if (!r->opts.no_task_times) {
    start = ws == NULL ? hd__now_ns()
            : ws->chained
                ? atomic_load_explicit(&ws->last_end, memory_order_relaxed)
                : hd__tclock_now(&ws->clock);
    if (start < deps_end)
      start = deps_end;
  }
  t->start_ns = start;
  /* A timeout counts from the start, whether the report keeps it or not. */
  x->start_ns = start != 0 || x->timeout_ns == 0 ? start : hd__now_ns();
  if (announce)
    emit(r, HD_EVENT_STARTED, node, NULL);
  if (plain)
    return HD_OK; /* no files */
  const hd__pio *io = hd__plan_io(p, node);
  return io != NULL ? check_files(p, io, 0, &x->message) : HD_OK;
}

/* A task that ran on no worker of the run ended at end. */
static void end_stray(hd__run *r, uint64_t end) {
  uint64_t at = atomic_load_explicit(&r->stray_end, memory_order_relaxed);
  while (at < end && !atomic_compare_exchange_weak_explicit(
                         &r->stray_end, &at, end, memory_order_relaxed,
                         memory_order_relaxed))
    ;
}

/* Task t ended now, on worker ws (or on no worker of the run: NULL). */
static inline void stamp_end(hd__run *r, hd__tstate *t, hd__wstate *ws) {
  uint64_t end = ws != NULL ? hd__tclock_now(&ws->clock) : hd__now_ns();
  if (end < t->start_ns) /* a start set by another clock */
    end = t->start_ns;
  t->end_ns = end;
  if (ws != NULL)
    atomic_store_explicit(&ws->last_end, end, memory_order_relaxed);
  else
    end_stray(r, end);
}

/* A bound on the end of every task that ended so far, when all ran on
 * the run's workers or ended through end_stray() (no task was taken from
 * a store): the latest end on each worker. A task's end is stored before
 * the decrement that releases its dependents, so a task released reads
 * at least its dependencies' ends here; and each is at most its worker's
 * time now. Cheaper than deps_end_of() for a wide fan-in. */
static uint64_t workers_end(hd__run *r) {
  uint64_t end = atomic_load_explicit(&r->stray_end, memory_order_relaxed);
  for (unsigned w = 0; w < r->nworkers; w++) {
    uint64_t e =
        atomic_load_explicit(&r->workers[w].last_end, memory_order_relaxed);
    if (e > end)
      end = e;
  }
  return end;
}

/* The latest end of node's dependencies. */
static uint64_t deps_end_of(const hd__run *r, uint32_t node) {
  uint64_t end = 0;
  hd__preds it;
  for (hd__preds_begin(r->plan, node, &it); it.left > 0;) {
    uint64_t e = r->report->tasks[hd__preds_next(&it)].end_ns;
    if (e > end)
      end = e;
  }
  return end;
}

int hd__attempt_begin(hd__run *r, uint32_t node, unsigned w, hd_value **inputs,
                      size_t ninputs, hd__exec *x) {
  return begin(r, node, w, inputs, ninputs, x, 1, deps_end_of(r, node), 0);
}

int hd__attempt_begin_queued(hd__run *r, uint32_t node, unsigned w,
                             hd_value **inputs, size_t ninputs, hd__exec *x) {
  return begin(r, node, w, inputs, ninputs, x, 0, deps_end_of(r, node), 0);
}

void hd__attempt_started(hd__run *r, uint32_t node) {
  if (!r->opts.no_task_times) {
    uint64_t now = hd__now_ns(), deps_end = deps_end_of(r, node);
    r->report->tasks[node].start_ns = now > deps_end ? now : deps_end;
  }
  emit(r, HD_EVENT_STARTED, node, NULL);
}

/* Execute an attempt on this thread. */
static int attempt_exec(hd__run *r, uint32_t node, hd__exec *x) {
  int rc;
  if (r->plan->nodes[node].kind != HD_NODE_FN) {
    x->log_fd = hd__open_log(r, hd__plan_name(r->plan, node));
    rc = hd__exec_shell(x);
    if (x->log_fd >= 0)
      close(x->log_fd);
    x->log_fd = -1;
  } else {
    rc = hd__exec_fn(x);
  }
  return rc;
}

/* The end of an attempt that returned rc: its outcome is recorded (the
 * output files checked, the result written) and x released. Returns 1
 * when the task is to be tried again (after its retry delay), 0 when its
 * state is final. */
int hd__attempt_end(hd__run *r, uint32_t node, unsigned w, hd__exec *x,
                    int rc) {
  const hd__plan *p = r->plan;
  hd__tstate *t = &r->report->tasks[node];
  const hd__pio *io = hd__plan_io(p, node);
  if (io != NULL && io->staged != 0) {
    int placed = place_outputs(p, io, rc == HD_OK, &x->message);
    if (rc == HD_OK)
      rc = placed;
  }
  if (rc == HD_OK && io != NULL)
    rc = check_files(p, io, 1, &x->message);
  hd__wstate *ws = w < r->nworkers ? &r->workers[w] : NULL;
  if (!r->opts.no_task_times)
    stamp_end(r, t, ws);
  if (p->nodes[node].kind != HD_NODE_FN || t->extra != NULL) {
    hd__textra *e = hd__tstate_extra(t);
    if (e != NULL) {
      e->exit_status = x->exit_status;
      e->term_signal = x->term_signal;
      hd__free(e->stderr_tail);
      e->stderr_tail = NULL;
      if (x->err_tail.len > 0) {
        e->stderr_tail = x->err_tail.data;
        x->err_tail.data = NULL;
      }
    }
  }
  if (rc == HD_OK && r->results_dir != NULL &&
      hd__write_result(r, hd__plan_name(p, node), x->output) != HD_OK)
    /* The result is made and in memory: the tasks after it get it from
       there (a full disk costs the run folder its copy, not the run the
       work). */
    hd__log(HD_LOG_WARN,
            "task '%s': its result cannot be written under %s: %s; the "
            "tasks after it get it from memory",
            hd__plan_name(p, node), r->results_dir, strerror(errno));
  if (rc == HD_ENOMEM && x->message.len == 0)
    hd__buf_appendf(&x->message, "out of memory");
  if (rc == HD_OK) {
    if (r->store != NULL) {
      r->vhash[node] = hd__key_value(x->output ? x->output : hd__value_empty());
      cache_keep(r, node, x->output);
    }
    t->state = HD_STATE_DONE;
    t->result = x->output;
    x->output = NULL;
    if (t->extra != NULL) {
      /* A retry that succeeded: the earlier failure is not the outcome. */
      hd__free(t->extra->message);
      t->extra->message = NULL;
    }
  } else {
    t->state = rc == HD_EINTR ? HD_STATE_CANCELLED : HD_STATE_FAILED;
    hd__textra *e = hd__tstate_extra(t);
    if (e != NULL) {
      hd__free(e->message);
      e->message = x->message.data;
      x->message.data = NULL;
    }
  }
  hd__exec_cleanup(x);
  const hd__psettings *set = hd__plan_settings(p, node);
  if (t->state == HD_STATE_FAILED && t->attempts <= set->retries &&
      !hd__run_stopping(r)) {
    hd__log(HD_LOG_INFO, "task '%s' failed (%s); attempt %u of %u",
            hd__plan_name(p, node),
            hd__tstate_message(t) ? hd__tstate_message(t) : "", t->attempts + 1,
            set->retries + 1);
    emit(r, HD_EVENT_RETRIED, node, hd__tstate_message(t));
    return 1;
  }
  if (t->state == HD_STATE_FAILED && !set->allow_failure)
    atomic_store(&r->failed, 1);
  else if (t->state == HD_STATE_CANCELLED)
    atomic_store(&r->interrupted, 1);
  return 0;
}

/* Cancel a task that did not run because the run is stopping. */
void hd__task_cancel(hd__run *r, uint32_t node) {
  hd__tstate *t = &r->report->tasks[node];
  t->state = HD_STATE_CANCELLED;
  if (t->extra != NULL) { /* an earlier attempt's message */
    hd__free(t->extra->message);
    t->extra->message = NULL;
  }
  t->flags |= atomic_load(&r->interrupted) ? HD__T_INTERRUPTED : HD__T_STOPPED;
}

/* Take back an attempt that was begun but never ran (its worker died
 * while it waited): the task is as it was before, ready to be sent
 * again. */
void hd__attempt_abandon(hd__run *r, uint32_t node, hd__exec *x) {
  hd__tstate *t = &r->report->tasks[node];
  if (t->attempts > 0)
    t->attempts--;
  t->state = HD_STATE_READY;
  hd__exec_cleanup(x);
}

size_t hd__input_count(const hd__run *r, uint32_t node) {
  const hd__plan *p = r->plan;
  size_t n = hd__plan_npreds(p, node);
  if (r->ext.seed_off != NULL)
    n += r->ext.seed_off[node + 1] - r->ext.seed_off[node];
  return n;
}

/* hd__gather_inputs(), and the latest end of node's dependencies in
 * *deps_end: their states are read here for their results. */
static hd_value **gather(hd__run *r, uint32_t node, hd_value **small,
                         size_t nsmall, size_t *count, hd__buf *why,
                         uint64_t *deps_end) {
  const hd__plan *p = r->plan;
  hd__preds it;
  size_t n = hd__preds_begin(p, node, &it);
  if (r->ext.seed_off != NULL)
    n += r->ext.seed_off[node + 1] - r->ext.seed_off[node];
  /* Every one is set below: a wide fan-in's array need not be cleared. */
  hd_value **inputs = n <= nsmall ? small : hd__malloc(n * sizeof(*inputs));
  if (inputs == NULL) {
    hd__buf_appendf(why, "out of memory gathering its inputs");
    return NULL;
  }
  size_t k = 0;
  if (r->ext.seed_off != NULL)
    for (size_t s = r->ext.seed_off[node]; s < r->ext.seed_off[node + 1]; s++)
      inputs[k++] = hd_value_ref(r->ext.seeds[s]);
  /* A shell task whose stdin names one task reads no other input (its
     {after.X} files are made from the run folder, unless it has none):
     the others are not read back nor sent. */
  const hd__pio *io = hd__plan_io(p, node);
  int only_stdin = io != NULL && io->stdin_lo != io->stdin_hi && !io->late &&
                   p->nodes[node].kind != HD_NODE_FN;
  uint64_t end = 0;
  while (it.left > 0) {
    uint32_t u = hd__preds_next(&it);
    const hd__tstate *tu = &r->report->tasks[u];
    if (tu->end_ns > end)
      end = tu->end_ns;
    if (only_stdin && (u < io->stdin_lo || u >= io->stdin_hi)) {
      inputs[k++] = NULL; /* read as the empty value */
      continue;
    }
    if (!(tu->flags & (HD__T_PACKED | HD__T_SPILLED))) {
      /* NULL (no output) is read as the empty value (task.c). */
      inputs[k++] = tu->result != NULL ? hd_value_ref(tu->result) : NULL;
      continue;
    }
    int rc = hd__hold_get(r->report->hold, u, tu, &inputs[k]);
    if (rc != HD_OK) {
      hd__buf_appendf(why, "the result of '%s' cannot be read back: %s",
                      hd__plan_name(p, u), hd_strerror(rc));
      hd__inputs_free(inputs, k, small);
      return NULL;
    }
    k++;
  }
  *count = n;
  *deps_end = end;
  return inputs;
}

hd_value **hd__gather_inputs(hd__run *r, uint32_t node, hd_value **small,
                             size_t nsmall, size_t *count, hd__buf *why) {
  uint64_t end;
  return gather(r, node, small, nsmall, count, why, &end);
}

void hd__inputs_free(hd_value **inputs, size_t n, hd_value **small) {
  if (inputs == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    if (inputs[i] != NULL)
      hd_value_unref(inputs[i]);
  if (inputs != small)
    hd__free(inputs);
}

/* Before task node's next attempt: its retry delay. Returns 0 when the
 * run stopped meanwhile (no attempt is to be made). */
static int retry_wait(hd__run *r, uint32_t node) {
  const hd__psettings *set = hd__plan_settings(r->plan, node);
  if (set->retry_delay_ns == 0)
    return 1;
  pause_for(r, set->retry_delay_ns);
  if (!hd__run_stopping(r))
    return 1;
  if (!set->allow_failure)
    atomic_store(&r->failed, 1);
  return 0;
}

/* A function task with at least LAZY_MIN inputs gets them when it first
 * reads one (see hd__lazy in exec.h). */
#define LAZY_MIN 256

static int fill_inputs(void *ctx, uint32_t node, hd_value ***inputs,
                       hd__buf *why) {
  size_t n;
  uint64_t end;
  *inputs = gather(ctx, node, NULL, 0, &n, why, &end);
  return *inputs != NULL ? HD_OK : HD_ENOMEM;
}

/* Whether a task of p has retries with a delay. */
static int has_retry_delay(const hd__plan *p) {
  for (size_t i = 0; i < p->nsettings; i++)
    if (p->settings[i].retries > 0 && p->settings[i].retry_delay_ns > 0)
      return 1;
  return 0;
}

/* After an attempt of node that failed with attempts left: hand it to the
 * run's retry queue, to run again once its delay is over, instead of
 * waiting here. Returns 1 when it was (the task is not to be settled: it
 * comes back through run_task()), 0 when its retry is to wait here (no
 * delay, no queue, or no memory for it). */
static int defer_retry(hd__run *r, uint32_t node, unsigned w) {
  uint64_t delay = hd__plan_settings(r->plan, node)->retry_delay_ns;
  if (r->retryq == NULL || delay == 0)
    return 0;
  r->retrying[node] = 1;
  if (hd__retryq_add(r->retryq, node, hd__now_ns() + delay) != HD_OK) {
    r->retrying[node] = 0;
    return 0;
  }
  if (w < r->nworkers)
    r->workers[w].chained = 0; /* its next task starts afresh */
  return 1;
}

/* Execute a task whose dependencies are done, on this thread: every
 * attempt its retries allow. Returns 1 when the task is to be settled, 0
 * when a retry of it waits in the retry queue (defer_retry()). */
static int execute(hd__run *r, uint32_t node, unsigned w) {
  const hd__plan *p = r->plan;
  hd__tstate *t = &r->report->tasks[node];
  hd_value *small[8];
  size_t npred = hd__plan_npreds(p, node);
  hd__buf why = {0};
  uint64_t deps_end = 0;
  hd_value **inputs = NULL;
  hd__lazy lazy;
  int lazily = npred >= LAZY_MIN && p->nodes[node].kind == HD_NODE_FN &&
               r->ext.seed_off == NULL;
  if (lazily) {
    hd__lazy_init(&lazy, fill_inputs, r);
    if (!r->opts.no_task_times)
      deps_end = r->store == NULL ? workers_end(r) : deps_end_of(r, node);
  } else if ((inputs = gather(r, node, small, 8, &npred, &why, &deps_end)) ==
             NULL) {
    t->state = HD_STATE_FAILED;
    set_message(t, "%s", why.data ? why.data : "its inputs cannot be gathered");
    hd__buf_cleanup(&why);
    atomic_store(&r->failed, 1);
    return 1;
  }
  int settle_it = 1;
  for (;;) {
    hd__exec x;
    int rc = begin(r, node, w, inputs, npred, &x, 1, deps_end, 0);
    if (lazily)
      x.lazy = &lazy;
    if (rc == HD_OK)
      rc = attempt_exec(r, node, &x);
    if (!hd__attempt_end(r, node, w, &x, rc))
      break;
    if (defer_retry(r, node, w)) {
      settle_it = 0;
      break;
    }
    if (!retry_wait(r, node))
      break;
  }
  if (lazily)
    hd__lazy_done(&lazy, npred);
  else
    hd__inputs_free(inputs, npred, small);
  return settle_it;
}

/* A task whose dependencies are all accounted for: returns 1 when it is
 * to run, or 0 after settling it as skipped (downstream of a failure),
 * cancelled (the run is stopping) or done with a stored result. */
int hd__task_gate(hd__run *r, uint32_t node) {
  const hd__plan *p = r->plan;
  hd__tstate *ts = r->report->tasks;
  hd__tstate *t = &ts[node];
  uint32_t bad = UINT32_MAX;
  /* While every task that ended is done, so are this one's dependencies:
     each ended before it was released, and settle() marks the run
     before it releases anything. */
  hd__preds it;
  if (atomic_load_explicit(&r->undone, memory_order_relaxed))
    for (hd__preds_begin(p, node, &it); it.left > 0;) {
      uint32_t u = hd__preds_next(&it);
      if (ts[u].state != HD_STATE_DONE && !usable(r, u)) {
        bad = u;
        break;
      }
    }
  if (bad != UINT32_MAX && ts[bad].state != HD_STATE_CANCELLED) {
    /* Downstream of a failure: skipped. */
    t->state = HD_STATE_SKIPPED;
    set_message(t, "dependency '%s' %s", hd__plan_name(p, bad),
                ts[bad].state == HD_STATE_FAILED ? "failed" : "was skipped");
    return 0;
  }
  if (bad != UINT32_MAX || hd__run_stopping(r)) {
    /* Downstream of a cancellation, or stopping: cancelled. */
    hd__task_cancel(r, node);
    return 0;
  }
  if (r->store != NULL && cache_lookup(r, node))
    return 0;
  return 1;
}

/* A task whose state is final: it is counted, its event sent and its
 * dependents released. The one with the highest bottom level is returned
 * (for the same worker to run next); the others are submitted. */
/* Settle node. With batch, worker w (whose next task, when one is
 * returned, runs at once on the same thread) counts finished tasks on its
 * own and adds them to the run's count every BATCH tasks and whenever its
 * chain ends, instead of touching the shared counter for each: the task
 * that finishes the run ends a chain, so the count reaches the total
 * exactly then. With the threads backend, whose workers say when they
 * find no task at all (hd__run_worker_idle()), the count is added then
 * rather than at the end of every chain: the task that finishes the run
 * leaves its worker with none. Events need the exact count at each
 * task: with an event hook, every task is counted at once. */
#define BATCH 64
/* Decrements are held only while the join counter is above this: a small
 * fan-in costs little, and the decrement that makes the node ready lets
 * its worker run it next. */
#define HOLD_ABOVE 64

/* Held decrements. Many tasks whose one dependent is the same node (the
 * middle of a fan-in) would each decrement its join counter, one cache
 * line that every worker writes in turn. A worker instead counts its
 * own decrements of that node (ws->held) and makes them in one go when
 * it is about to run a task that is not also a dependency of that node,
 * when it finds no task, or when another node's turn comes. This never
 * holds the node back: while the worker runs another of its
 * dependencies, the node could not be ready anyway. */
static void flush_held(hd__run *r, hd__wstate *ws) {
  uint32_t v = ws->held_node, n = ws->held;
  ws->held = 0;
  if (n != 0 &&
      atomic_fetch_sub_explicit(&r->pending[v], n, memory_order_acq_rel) == n)
    r->backend->submit(r->backend_state, v);
}

/* Whether node's one dependent is v. */
static int feeds_only(const hd__plan *p, uint32_t node, uint32_t v) {
  uint32_t e = p->succ_off[node];
  return p->succ_off[node + 1] - e == 1 && p->succs[e] == v;
}

/* Count a dependency of v as ended: returns 1 when that made v ready.
 * only: it is the ending task's one dependent. ws: the worker's state,
 * when it counts on its own (settle()). */
static inline int released(hd__run *r, hd__wstate *ws, uint32_t v, int only) {
  unsigned left = atomic_load_explicit(&r->pending[v], memory_order_relaxed);
  if (left == HD__ONE_PRED)
    return 1; /* its one dependency: no other task can race for it */
  if (r->one_thread) {
    atomic_store_explicit(&r->pending[v], left - 1, memory_order_relaxed);
    return left == 1;
  }
  if (only && ws != NULL && r->lazy_count && left > HOLD_ABOVE) {
    /* Held (see flush_held()): many dependencies of v are still to end. */
    if (ws->held != 0 && ws->held_node != v)
      flush_held(r, ws);
    ws->held_node = v;
    ws->held++;
    return 0;
  }
  /* With this worker's held decrements of v, if any: the one that makes v
     ready is made here, so that v runs next on this worker. */
  unsigned n = 1;
  if (ws != NULL && ws->held != 0 && ws->held_node == v) {
    n += ws->held;
    ws->held = 0;
  }
  return atomic_fetch_sub_explicit(&r->pending[v], n, memory_order_acq_rel) ==
         n;
}

/* Fetch what task v reads first when it runs (a random DAG, or tasks
 * taken one after another from a million, miss the cache on each). */
static inline void prefetch_task(const hd__run *r, uint32_t v) {
  const hd__plan *p = r->plan;
  __builtin_prefetch(&p->nodes[v]);
  __builtin_prefetch(&r->report->tasks[v]);
  __builtin_prefetch(&p->pred_at[v]);
  __builtin_prefetch(&p->succ_off[v]);
}

/* A range's tasks are taken edge after edge: the task AHEAD edges on is
 * fetched meanwhile (some hundred nanoseconds ahead for tiny tasks, about
 * a memory access's time). */
#define AHEAD 24
static inline uint32_t edge_ready(hd__run *r, uint32_t e, unsigned w) {
  const hd__plan *p = r->plan;
  uint32_t v = p->succs[e];
  if (e + AHEAD < p->nedges) {
    uint32_t a = p->succs[e + AHEAD];
    __builtin_prefetch(&r->pending[a]);
    prefetch_task(r, a);
  }
  return released(r, &r->workers[w], v, 0) ? v : HD_TASK_NONE;
}

uint32_t hd__run_edge_ready(void *run, uint32_t e, unsigned w) {
  return edge_ready(run, e, w);
}

static inline uint32_t source(const hd__run *r, uint32_t i) {
  const uint32_t *src = r->mem->src;
  /* Sources are taken from the most urgent (the highest i) down. */
  if (i >= AHEAD)
    prefetch_task(r, src[i - AHEAD]);
  return src[i];
}

uint32_t hd__run_source(void *run, uint32_t i) { return source(run, i); }

size_t hd__run_range_room(void *run) {
  const hd__run *r = run;
  /* The items of one deque cover distinct edges, and a range pushed holds
     at least RANGE_GRAIN / 2 (32) of them (threads.c). */
  return r->plan->nedges / 32 + 64;
}

static uint32_t release(hd__run *r, uint32_t node, unsigned w, hd__wstate *ws,
                        size_t done);

static uint32_t settle(hd__run *r, uint32_t node, unsigned w, int batch) {
  const hd__plan *p = r->plan;
  hd__tstate *t = &r->report->tasks[node];
  hd__wstate *ws = batch && w < r->nworkers && r->opts.on_event == NULL
                       ? &r->workers[w]
                       : NULL;
  size_t done = 0;
  if (ws == NULL)
    done = atomic_fetch_add(&r->finished, 1) + 1;
  else
    ws->unflushed++;
  hd_event_type type =
      t->state == HD_STATE_DONE
          ? (t->flags & HD__T_CACHED ? HD_EVENT_CACHED : HD_EVENT_DONE)
      : t->state == HD_STATE_FAILED  ? HD_EVENT_FAILED
      : t->state == HD_STATE_SKIPPED ? HD_EVENT_SKIPPED
                                     : HD_EVENT_CANCELLED;
  if (t->state != HD_STATE_DONE &&
      !atomic_load_explicit(&r->undone, memory_order_relaxed))
    atomic_store_explicit(&r->undone, 1, memory_order_relaxed);
  emit(r, type, node, hd__tstate_message(t));
  if (r->ext.on_settle != NULL)
    r->ext.on_settle(r->ext.settle_ctx, node, t);
  if (r->report->hold != NULL && t->state == HD_STATE_DONE && t->result != NULL)
    hd__hold_keep(r->report->hold, node, t);
  hd__preds it;
  if (r->consumers != NULL)
    for (hd__preds_begin(p, node, &it); it.left > 0;) {
      uint32_t u = hd__preds_next(&it);
      if (atomic_fetch_sub_explicit(&r->consumers[u], 1,
                                    memory_order_acq_rel) != 1)
        continue;
      /* Every task after u has ended: nobody reads its result again. */
      hd__tstate *tu = &r->report->tasks[u];
      hd__hold_drop(r->report->hold, u, tu);
      hd_value *v = tu->result;
      tu->result = NULL;
      tu->flags |= HD__T_RELEASED;
      if (v != NULL)
        hd_value_unref(v);
    }
  return release(r, node, w, ws, done);
}

/* The end of settle(): node's dependents released, the one to run next
 * returned, finished tasks counted (done: the count, when settle() added
 * node to it; ws: worker w's state, when it counts on its own). */
static uint32_t release(hd__run *r, uint32_t node, unsigned w, hd__wstate *ws,
                        size_t done) {
  const hd__plan *p = r->plan;
  uint32_t next = HD_TASK_NONE;
  uint32_t s0 = p->succ_off[node], s1 = p->succ_off[node + 1];
  if (ws != NULL && r->lazy_count && s1 - s0 > HD__RANGE_MIN &&
      s1 <= HD__RANGE_FIRST_MAX && hd__plan_ranged(p, node)) {
    /* Very many dependents: one range for the workers to split (run.h). */
    hd__threads_push_range(r->backend_state, w, s0, s1);
    s1 = s0;
  }
  for (uint32_t e = s0; e < s1; e++) {
    uint32_t v = p->succs[e];
    if (!released(r, ws, v, s1 - s0 == 1))
      continue;
    emit(r, HD_EVENT_QUEUED, v, NULL);
    prefetch_task(r, v); /* it runs soon, on this worker most often */
    if (next == HD_TASK_NONE) {
      next = v;
    } else if (p->nodes[v].bottom > p->nodes[next].bottom) {
      r->backend->submit(r->backend_state, next);
      next = v;
    } else {
      r->backend->submit(r->backend_state, v);
    }
  }
  if (ws != NULL &&
      (ws->unflushed >= BATCH || (next == HD_TASK_NONE && !r->lazy_count))) {
    done = atomic_fetch_add(&r->finished, ws->unflushed) + ws->unflushed;
    ws->unflushed = 0;
  }
  if (done == p->count)
    r->backend->finish(r->backend_state);
  if (w < r->nworkers)
    r->workers[w].chained = next != HD_TASK_NONE;
  return next;
}

void hd__run_worker_idle(void *run, unsigned w) {
  hd__run *r = run;
  if (w >= r->nworkers)
    return;
  flush_held(r, &r->workers[w]);
  if (r->workers[w].unflushed == 0)
    return;
  size_t n = r->workers[w].unflushed;
  r->workers[w].unflushed = 0;
  if (atomic_fetch_add(&r->finished, n) + n == r->plan->count)
    r->backend->finish(r->backend_state);
}

uint32_t hd__task_settle(hd__run *r, uint32_t node, unsigned w) {
  return settle(r, node, w, 0);
}

/* The plain path: a function task with at most PLAIN_PREDS dependencies
 * and no files, in a plain run (hd__run.plain) of the threads backend,
 * while every task so far is done and the run goes on. What
 * hd__task_gate(), execute() and settle() do for it, without the tests
 * that cannot hold here: a million tiny tasks are a million times
 * through this. Anything else (a result to read back that cannot be, a
 * failure) goes the general way. */
#define PLAIN_PREDS 8

static int plain_node(const hd__pnode *n) {
  return n->kind == HD_NODE_FN && n->io == 0 && n->npreds <= PLAIN_PREDS;
}

/* Call a plain task's function: what hd__exec_fn() does, without the
 * tests that a task with no message and no timeout passes (a call saved
 * for each tiny task). */
static inline int plain_call(hd__exec *x) {
  if (x->fn == NULL)
    return hd__exec_fn(x);
  hd_task task = {x, NULL, {0}};
  int rc = x->fn(&task, x->fn_data);
  if (rc == HD_OK && task.message.data == NULL && x->timeout_ns == 0) {
    x->output = task.output;
    return HD_OK;
  }
  return hd__exec_fn_after(x, &task, rc);
}

/* The end of a plain task's attempt, its function's code rc (as
 * hd__exec_fn() returns it): the task accounted for, and the dependent
 * to run next returned. x's inputs are the caller's to free. */
static uint32_t plain_end(hd__run *r, uint32_t node, unsigned w, hd__exec *x,
                          int rc) {
  const hd__plan *p = r->plan;
  hd__tstate *t = &r->report->tasks[node];
  hd__wstate *ws = &r->workers[w];
  if (rc == HD_OK && t->extra == NULL) {
    if (!r->opts.no_task_times)
      stamp_end(r, t, ws);
    t->state = HD_STATE_DONE;
    t->result = x->output;
  } else if (hd__attempt_end(r, node, w, x, rc)) {
    if (defer_retry(r, node, w))
      return HD_TASK_NONE;
    if (retry_wait(r, node))
      /* the attempts left */
      return execute(r, node, w) ? settle(r, node, w, 1) : HD_TASK_NONE;
  }
  if (t->state != HD_STATE_DONE)
    return settle(r, node, w, 1);
  ws->unflushed++;
  if (r->report->hold != NULL && t->result != NULL)
    hd__hold_keep(r->report->hold, node, t);
  uint32_t e = p->succ_off[node];
  if (p->succ_off[node + 1] - e != 1 || ws->unflushed >= BATCH)
    return release(r, node, w, ws, 0);
  /* One dependent (release(), shortened). */
  uint32_t v = p->succs[e];
  uint32_t next = released(r, ws, v, 1) ? v : HD_TASK_NONE;
  ws->chained = next != HD_TASK_NONE;
  return next;
}

static uint32_t run_plain(hd__run *r, uint32_t node, unsigned w) {
  const hd__plan *p = r->plan;
  hd__tstate *ts = r->report->tasks;
  hd_value *inputs[PLAIN_PREDS];
  hd__preds it;
  uint32_t n = hd__preds_begin(p, node, &it);
  uint64_t deps_end = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint32_t u = hd__preds_next(&it);
    const hd__tstate *tu = &ts[u];
    if (tu->end_ns > deps_end)
      deps_end = tu->end_ns;
    if (!(tu->flags & (HD__T_PACKED | HD__T_SPILLED))) {
      inputs[k] = tu->result != NULL ? hd_value_ref(tu->result) : NULL;
    } else if (hd__hold_get(r->report->hold, u, tu, &inputs[k]) != HD_OK) {
      /* execute() reads it again, and says why it cannot. */
      hd__inputs_free(inputs, k, inputs);
      return execute(r, node, w) ? settle(r, node, w, 1) : HD_TASK_NONE;
    }
  }
  hd__exec x;
  (void)begin(r, node, w, inputs, n, &x, 0, deps_end, 1);
  uint32_t next = plain_end(r, node, w, &x, plain_call(&x));
  hd__inputs_free(inputs, n, inputs);
  return next;
}

/* A task back from the retry queue (defer_retry()): its next attempts,
 * unless the run stopped meanwhile: then its last failure stands, as
 * after retry_wait(). */
static uint32_t run_retry(hd__run *r, uint32_t node, unsigned w) {
  r->retrying[node] = 0;
  if (hd__run_stopping(r)) {
    if (!hd__plan_settings(r->plan, node)->allow_failure)
      atomic_store(&r->failed, 1);
    return settle(r, node, w, 1);
  }
  return execute(r, node, w) ? settle(r, node, w, 1) : HD_TASK_NONE;
}

static uint32_t run_task(void *ctx, uint32_t node, unsigned w) {
  hd__run *r = ctx;
  /* (One thread counts every dependency at once: it holds none.) */
  if (!r->one_thread && w < r->nworkers && r->workers[w].held != 0 &&
      !feeds_only(r->plan, node, r->workers[w].held_node))
    flush_held(r, &r->workers[w]);
  if (r->retrying != NULL && r->retrying[node])
    return run_retry(r, node, w);
  if (r->plain && plain_node(&r->plan->nodes[node]) &&
      !atomic_load_explicit(&r->undone, memory_order_relaxed) &&
      !hd__run_stopping(r))
    return run_plain(r, node, w);
  if (hd__task_gate(r, node) && !execute(r, node, w))
    return HD_TASK_NONE;
  return settle(r, node, w, 1);
}

/* One worker alone on the threads backend: no thief takes its pushes and
 * no sleeper waits for them, so task and the tasks run_task() hands back
 * after it run here, without a call through the host for each (a
 * million tiny tasks are a million times through this). at_once: as for
 * run_task_at_once(). */
static void run_alone(hd__run *r, uint32_t task, unsigned w, int at_once) {
  if (at_once && w < r->nworkers)
    r->workers[w].chained = 1;
  do
    task = run_task(r, task, w);
  while (task != HD_TASK_NONE);
}

/* The lean path (hd__run.lean: a plain run on the one worker of the
 * threads backend): run_plain() with what one thread makes simpler
 * still, its loop and its task in one piece. Inputs are lent, not
 * referenced: in a plain run no result is released before the report is
 * freed, and the memory limits pack or spill a result only in
 * hd__hold_keep(), which this thread calls between tasks (a packed or
 * spilled input is read back the general way).
 * The parts of the task's context that stay from task to task are set
 * once. Anything else than a task without timeout whose function is
 * found and succeeds without a message goes run_task()'s way. */
typedef struct lean {
  hd__run *r;
  const hd__plan *p;
  hd__tstate *ts;
  hd__wstate *ws;
  unsigned w;
  int times;                        /* tasks' times are read */
  volatile sig_atomic_t *interrupt; /* the run's flag, or a flag never set */
  /* The last function name and settings found fit (lean_fits()), and
     that function; UINT32_MAX: none yet, or a run whose caller gives
     functions task by task (ext.fns). */
  uint32_t what, settings;
  hd__fnref f;
  int lend; /* inputs are lent (l->lent): no result is packed or spilled */
  const uint8_t *retrying; /* the run's (NULL: no retry waits its delay
                              in the retry queue) */
  hd__lent lent;
  hd__exec x;
} lean;

_Static_assert(PLAIN_PREDS <= HD__LENT_MAX, "a plain task's inputs are lent");

/* hd__lent.fill: node's inputs, as they are while no result is packed or
 * spilled. */
static void lean_fill(void *ctx, uint32_t node, hd_value **out) {
  const hd__run *r = ctx;
  hd__preds it;
  uint32_t n = hd__preds_begin(r->plan, node, &it);
  for (uint32_t k = 0; k < n; k++)
    out[k] = r->report->tasks[hd__preds_next(&it)].result;
}

/* Whether a lean run's inputs can be lent now. */
static int lean_lends(const hd__run *r) {
  return r->report->hold == NULL || !hd__hold_any(r->report->hold);
}

/* The parts of l's task context that stay from task to task. */
static void lean_reset(lean *l) {
  hd__exec *x = &l->x;
  x->plan = l->p;
  x->lazy = NULL;
  x->lent = &l->lent;
  x->interrupt = l->r->opts.interrupt;
  x->log_fd = -1;
  x->timeout_ns = 0;
  x->results_dir = l->r->results_dir;
  exec_out_clear(x);
}

static void lean_init(lean *l, hd__run *r, unsigned w, int at_once) {
  static volatile sig_atomic_t never;
  l->r = r;
  l->p = r->plan;
  l->ts = r->report->tasks;
  l->ws = &r->workers[w];
  l->w = w;
  l->times = !r->opts.no_task_times;
  l->interrupt = r->opts.interrupt != NULL ? r->opts.interrupt : &never;
  l->what = l->settings = UINT32_MAX;
  l->f = (hd__fnref){NULL, NULL};
  l->lend = lean_lends(r);
  l->retrying = r->retrying;
  l->lent.fill = lean_fill;
  l->lent.ctx = r;
  lean_reset(l);
  if (at_once)
    l->ws->chained = 1;
}

/* Whether node, whose function name or settings differ from the last
 * ones that fitted, takes the lean way: a plain node with a function and
 * no timeout. Its function in *f. */
static int lean_fits(lean *l, uint32_t node, hd__fnref *f) {
  const hd__pnode *n = &l->p->nodes[node];
  if (!plain_node(n) || hd__plan_settings(l->p, node)->timeout_ns != 0)
    return 0;
  *f = hd__run_fn(l->r, node);
  if (f->fn == NULL)
    return 0;
  if (l->r->ext.fns == NULL) {
    l->what = n->what;
    l->settings = n->settings;
    l->f = *f;
  }
  return 1;
}

/* run_task() for a task that does not take the lean way. */
static uint32_t lean_aside(lean *l, uint32_t node) {
  uint32_t next = run_task(l->r, node, l->w);
  l->lend = lean_lends(l->r);
  return next;
}

/* Run node; returns the dependent to run next, as run_task() does. */
static inline __attribute__((always_inline)) uint32_t lean_task(lean *l,
                                                                uint32_t node) {
  hd__run *r = l->r;
  const hd__plan *p = l->p;
  const hd__pnode *pn = &p->nodes[node];
  hd__fnref f = l->f;
  /* A task that fails, or is skipped or cancelled, marks the run undone;
     so does one that stops it (r->failed). */
  if (hd__flag(l->interrupt) != 0 ||
      atomic_load_explicit(&r->interrupted, memory_order_relaxed) ||
      atomic_load_explicit(&r->undone, memory_order_relaxed) ||
      (l->retrying != NULL && l->retrying[node]) ||
      ((pn->what != l->what || pn->settings != l->settings ||
        pn->kind != HD_NODE_FN || pn->io != 0 || pn->npreds > PLAIN_PREDS) &&
       !lean_fits(l, node, &f)))
    return lean_aside(l, node);
  hd__tstate *t = &l->ts[node];
  hd__exec *x = &l->x;
  hd_value *inputs[PLAIN_PREDS];
  uint32_t n = pn->npreds; /* not HD__PN_MANY: a plain node */
  if (l->lend) {
    x->inputs = NULL;
    for (uint32_t k = 0; k < n; k++)
      atomic_store_explicit(&l->lent.slot[k], HD__LENT_UNSET,
                            memory_order_relaxed);
  } else {
    hd__preds it;
    hd__preds_begin(p, node, &it);
    for (uint32_t k = 0; k < n; k++) {
      const hd__tstate *tu = &l->ts[hd__preds_next(&it)];
      if (tu->flags & (HD__T_PACKED | HD__T_SPILLED))
        return lean_aside(l, node); /* to be read back */
      inputs[k] = tu->result;
    }
    x->inputs = inputs;
  }
  hd__wstate *ws = l->ws;
  x->node = node;
  x->ninputs = n;
  x->fn = f.fn;
  x->fn_data = f.data;
  t->state = HD_STATE_RUNNING;
  x->attempt = ++t->attempts;
  t->worker = (uint16_t)l->w;
  uint64_t start = 0;
  if (l->times) {
    /* As in begin(), with workers_end() for the dependencies' end: every
       task that ended so far ended on this worker, or on none. */
    start = atomic_load_explicit(&ws->last_end, memory_order_relaxed);
    if (!ws->chained) {
      uint64_t now = hd__tclock_now(&ws->clock);
      if (now > start)
        start = now;
    }
    uint64_t stray = atomic_load_explicit(&r->stray_end, memory_order_relaxed);
    if (start < stray)
      start = stray;
  }
  t->start_ns = start;
  x->start_ns = start;
  hd_task task = {x, NULL, {0}};
  int rc = f.fn(&task, f.data);
  if (rc != HD_OK || task.message.data != NULL || t->extra != NULL) {
    uint32_t next =
        plain_end(r, node, l->w, x, hd__exec_fn_after(x, &task, rc));
    lean_reset(l);
    l->lend = lean_lends(r);
    return next;
  }
  if (l->times) { /* stamp_end() */
    uint64_t end = hd__tclock_now(&ws->clock);
    if (end < start)
      end = start;
    t->end_ns = end;
    atomic_store_explicit(&ws->last_end, end, memory_order_relaxed);
  }
  t->state = HD_STATE_DONE;
  t->result = task.output;
  ws->unflushed++;
  if (task.output != NULL && r->report->hold != NULL) {
    hd__hold_keep(r->report->hold, node, t);
    if (t->flags & (HD__T_PACKED | HD__T_SPILLED))
      l->lend = 0;
  }
  uint32_t e = p->succ_off[node];
  if (p->succ_off[node + 1] - e != 1 || ws->unflushed >= BATCH)
    return release(r, node, l->w, ws, 0);
  /* Its one dependent (released() on one thread). */
  uint32_t v = p->succs[e];
  unsigned left = atomic_load_explicit(&r->pending[v], memory_order_relaxed);
  if (left != HD__ONE_PRED) {
    atomic_store_explicit(&r->pending[v], left - 1, memory_order_relaxed);
    if (left != 1)
      v = HD_TASK_NONE;
  }
  ws->chained = v != HD_TASK_NONE;
  return v;
}

void hd__run_chain_alone(void *run, uint32_t task, unsigned w, int at_once) {
  hd__run *r = run;
  if (!r->lean) {
    run_alone(r, task, w, at_once);
    return;
  }
  lean l;
  lean_init(&l, r, w, at_once);
  do
    task = lean_task(&l, task);
  while (task != HD_TASK_NONE);
}

void hd__run_edges_alone(void *run, uint32_t e0, uint32_t n, unsigned w,
                         int at_once) {
  hd__run *r = run;
  if (!r->lean) {
    for (uint32_t e = e0; e < e0 + n; e++) {
      uint32_t task = edge_ready(r, e, w);
      if (task != HD_TASK_NONE) {
        run_alone(r, task, w, at_once);
        at_once = 1;
      }
    }
    return;
  }
  lean l;
  lean_init(&l, r, w, at_once);
  for (uint32_t e = e0; e < e0 + n; e++) {
    uint32_t task = edge_ready(r, e, w);
    if (task == HD_TASK_NONE)
      continue;
    do
      task = lean_task(&l, task);
    while (task != HD_TASK_NONE);
    l.ws->chained = 1;
  }
}

void hd__run_sources_alone(void *run, uint32_t i0, uint32_t n, unsigned w,
                           int at_once) {
  hd__run *r = run;
  if (!r->lean) {
    for (uint32_t i = i0 + n; i-- > i0;) {
      run_alone(r, source(r, i), w, at_once);
      at_once = 1;
    }
    return;
  }
  lean l;
  lean_init(&l, r, w, at_once);
  for (uint32_t i = i0 + n; i-- > i0;) {
    uint32_t task = source(r, i);
    do
      task = lean_task(&l, task);
    while (task != HD_TASK_NONE);
    l.ws->chained = 1;
  }
}

int hd__run_host_is_ours(const hd_backend_host *host) {
  return host->run == run_task;
}

static uint32_t run_task_at_once(void *ctx, uint32_t node, unsigned w,
                                 int at_once) {
  hd__run *r = ctx;
  if (at_once && w < r->nworkers)
    r->workers[w].chained = 1; /* it starts when the last one ended */
  return run_task(ctx, node, w);
}

/* The results' memory limits (run.h), when there are any. */
static int make_hold(hd__run *r) {
  size_t raw = r->opts.mem_limit, all = r->opts.spill_limit;
  if (raw == HD_MEM_UNLIMITED || r->plan->count == 0 || r->report->hold != NULL)
    return HD_OK;
  if (raw == 0) {
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    raw = pages > 0 && size > 0 ? (size_t)pages / 4 * (size_t)size
                                : (size_t)1 << 30;
  }
  if (all == 0)
    all = raw <= SIZE_MAX / 2 ? raw * 2 : SIZE_MAX;
  const char *dir = r->opts.spill_dir;
  if (dir == NULL)
    dir = r->opts.store != NULL ? r->opts.store : r->opts.run_dir;
  return hd__hold_new(r->plan->count, raw, all, dir, &r->report->hold);
}

/* qsort has no context argument; runs that sort at the same time are
 * serialised by this lock. */
static const hd__plan *sort_plan;
static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

void hd__sched_fork_lock(int lock) {
  if (lock)
    pthread_mutex_lock(&sort_lock);
  else
    pthread_mutex_unlock(&sort_lock);
}

/* Ascending urgency: user priority, then bottom level, then the later
 * place in the plan's order. */
static int by_urgency(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const hd__plan *p = sort_plan;
  int32_t px = hd__plan_settings(p, x)->priority;
  int32_t py = hd__plan_settings(p, y)->priority;
  if (px != py)
    return px < py ? -1 : 1;
  if (p->nodes[x].bottom != p->nodes[y].bottom)
    return p->nodes[x].bottom < p->nodes[y].bottom ? -1 : 1;
  return x > y ? -1 : x < y;
}

/* ---- the memory of a run, kept with its plan ---- */

/* Every join counter back to its task's count of dependencies: a copy
 * of the first, rather than reading every node again. */
static void pending_init(const hd__plan *p, hd__runmem *m) {
  memcpy((void *)m->pending, m->npreds, p->count * sizeof(uint32_t));
  m->fresh = 1;
}

static uint32_t fn_probe(const uint32_t *set, size_t mask, uint32_t key) {
  size_t i = (key * 2654435761u) & mask;
  while (set[i] != UINT32_MAX && set[i] != key)
    i = (i + 1) & mask;
  return (uint32_t)i;
}

/* The string offsets of the plan's function names, each once (the plan
 * keeps one copy of each name): what a run looks up. */
static int collect_fns(const hd__plan *p, hd__runmem *m) {
  size_t cap = 16, used = 0;
  uint32_t *set = hd__malloc(cap * sizeof(uint32_t));
  if (set == NULL)
    return HD_ENOMEM;
  memset(set, 0xff, cap * sizeof(uint32_t));
  uint32_t last = UINT32_MAX;
  for (size_t i = 0; i < p->count; i++) {
    if (p->nodes[i].kind != HD_NODE_FN || p->nodes[i].what == last)
      continue;
    last = p->nodes[i].what;
    if (2 * (used + 1) > cap) {
      uint32_t *bigger = hd__malloc(2 * cap * sizeof(uint32_t));
      if (bigger == NULL) {
        hd__free(set);
        return HD_ENOMEM;
      }
      memset(bigger, 0xff, 2 * cap * sizeof(uint32_t));
      for (size_t k = 0; k < cap; k++)
        if (set[k] != UINT32_MAX)
          bigger[fn_probe(bigger, 2 * cap - 1, set[k])] = set[k];
      hd__free(set);
      set = bigger;
      cap *= 2;
    }
    uint32_t s = fn_probe(set, cap - 1, last);
    if (set[s] == UINT32_MAX) {
      set[s] = last;
      used++;
    }
  }
  m->fns = hd__malloc((used + 1) * sizeof(uint32_t));
  if (m->fns == NULL) {
    hd__free(set);
    return HD_ENOMEM;
  }
  for (size_t k = 0; k < cap; k++)
    if (set[k] != UINT32_MAX)
      m->fns[m->nfns++] = set[k];
  hd__free(set);
  return HD_OK;
}

static void runmem_free(hd__runmem *m) {
  if (m == NULL)
    return;
  hd__free(m->fns);
  hd__big_free(m, m->bytes, 1);
}

/* Places in the plan's order, the higher priority first, then the earlier
 * place. */
static int by_priority(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const hd__plan *p = sort_plan;
  int32_t px = hd__plan_settings(p, p->order[x])->priority;
  int32_t py = hd__plan_settings(p, p->order[y])->priority;
  if (px != py)
    return px > py ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* When tasks have priorities: rank (the plan's order so far) ordered by
 * them first, so that backends that keep a ready set by rank (processes,
 * ssh, serial) start the higher priorities first among ready tasks. */
static int rank_by_priority(const hd__plan *p, uint32_t *rank) {
  size_t i = 0;
  while (i < p->count && hd__plan_settings(p, i)->priority == 0)
    i++;
  if (i == p->count)
    return HD_OK;
  uint32_t *at = hd__malloc(p->count * sizeof(uint32_t));
  if (at == NULL)
    return HD_ENOMEM;
  for (i = 0; i < p->count; i++)
    at[i] = (uint32_t)i;
  pthread_mutex_lock(&sort_lock);
  sort_plan = p;
  qsort(at, p->count, sizeof(uint32_t), by_priority);
  pthread_mutex_unlock(&sort_lock);
  for (i = 0; i < p->count; i++)
    rank[p->order[at[i]]] = (uint32_t)i;
  hd__free(at);
  return HD_OK;
}

/* One block: this header, then pending, the first pending, and rank
 * (count + 1 each) and the sources. A large block is populated at once
 * (alloc.c). */
static hd__runmem *runmem_new(const hd__plan *p) {
  size_t nsrc = 0;
  while (nsrc < p->count && hd__plan_npreds(p, p->order[nsrc]) == 0)
    nsrc++; /* the order puts every source first */
  size_t head = (sizeof(hd__runmem) + 63) / 64 * 64;
  size_t bytes = head + (3 * (p->count + 1) + nsrc + 1) * sizeof(uint32_t);
  char *block = hd__big_calloc(bytes, 1);
  if (block == NULL)
    return NULL;
  hd__runmem *m = (hd__runmem *)(void *)block;
  m->bytes = bytes;
  m->nsrc = nsrc;
  m->pending = (atomic_uint *)(void *)(block + head);
  m->npreds = (uint32_t *)(void *)(m->pending + p->count + 1);
  m->rank = m->npreds + p->count + 1;
  m->src = m->rank + p->count + 1;
  for (size_t i = 0; i < p->count; i++) {
    size_t np = hd__plan_npreds(p, i);
    m->npreds[i] = np == 1 ? HD__ONE_PRED : (uint32_t)np;
    m->rank[p->order[i]] = (uint32_t)i;
  }
  if (rank_by_priority(p, m->rank) != HD_OK || collect_fns(p, m) != HD_OK) {
    runmem_free(m);
    return NULL;
  }
  memcpy(m->src, p->order, nsrc * sizeof(uint32_t));
  pthread_mutex_lock(&sort_lock);
  sort_plan = p;
  qsort(m->src, nsrc, sizeof(uint32_t), by_urgency);
  pthread_mutex_unlock(&sort_lock);
  pending_init(p, m);
  return m;
}

hd__runmem *hd__runmem_take(const hd__plan *p) {
  hd__plan *mp = (hd__plan *)p; /* only its spare changes */
  hd__runmem *m = atomic_exchange(&mp->spare_mem, NULL);
  if (m == NULL)
    m = runmem_new(p);
  if (m != NULL && !m->fresh)
    pending_init(p, m);
  if (m != NULL)
    m->fresh = 0;
  return m;
}

void hd__runmem_give(const hd__plan *p, hd__runmem *m) {
  if (m == NULL)
    return;
  hd__plan *mp = (hd__plan *)p;
  hd__runmem *none = NULL;
  if (!atomic_compare_exchange_strong(&mp->spare_mem, &none, m))
    runmem_free(m);
}

void hd__plan_prepare(hd__plan *p) {
  hd__runmem *m = atomic_load(&p->spare_mem) ? NULL : runmem_new(p);
  hd__runmem_give(p, m);
  if (atomic_load(&p->spare_tasks) == NULL) {
    hd__tstate *t = hd__big_calloc(p->count + 1, sizeof(hd__tstate));
    hd__tstate *none = NULL;
    if (t != NULL && !atomic_compare_exchange_strong(&p->spare_tasks, &none, t))
      hd__big_free(t, p->count + 1, sizeof(hd__tstate));
  }
}

void hd__plan_spares_free(hd__plan *p) {
  runmem_free(atomic_exchange(&p->spare_mem, NULL));
  hd__big_free(atomic_exchange(&p->spare_tasks, NULL), p->count + 1,
               sizeof(hd__tstate));
}

/* Look every function up once, before the run, so that the hot path never
 * locks the registry. A missing one fails its task when it runs. */
/* Make the function table cap slots (a power of two), keeping what it
 * holds. */
static int fn_grow(hd__run *r, size_t cap) {
  uint32_t *keys = r->fn_keys;
  hd__fnref *refs = r->fn_refs;
  size_t old = keys != NULL ? (size_t)r->fn_mask + 1 : 0;
  r->fn_keys = cap <= UINT32_MAX ? hd__malloc(cap * sizeof(uint32_t)) : NULL;
  r->fn_refs = hd__malloc(cap * sizeof(hd__fnref));
  int rc = r->fn_keys != NULL && r->fn_refs != NULL ? HD_OK : HD_ENOMEM;
  if (rc == HD_OK) {
    memset(r->fn_keys, 0xff, cap * sizeof(uint32_t));
    r->fn_mask = (uint32_t)(cap - 1);
    for (size_t k = 0; k < old; k++)
      if (keys[k] != UINT32_MAX) {
        uint32_t s = hd__run_fn_slot(r, keys[k]);
        r->fn_keys[s] = keys[k];
        r->fn_refs[s] = refs[k];
      }
  }
  hd__free(keys);
  hd__free(refs);
  return rc;
}

/* Resolve each function name of the plan once per run (the registry may
 * change between runs of a plan): a table by the name's string offset,
 * since the plan keeps one copy of each name (hd__run_fn()). */
static int resolve_functions(hd__run *r) {
  const hd__runmem *m = r->mem;
  size_t cap = 16;
  while (cap < 2 * m->nfns)
    cap *= 2;
  int rc = fn_grow(r, cap);
  for (size_t k = 0; k < m->nfns && rc == HD_OK; k++) {
    uint32_t s = hd__run_fn_slot(r, m->fns[k]);
    r->fn_keys[s] = m->fns[k];
    r->fn_refs[s].fn = NULL;
    r->fn_refs[s].data = NULL;
    hd_fn_lookup(r->plan->strings + m->fns[k], &r->fn_refs[s].fn,
                 &r->fn_refs[s].data);
    if (k == 0) {
      r->fn_hot_key = m->fns[k];
      r->fn_hot = r->fn_refs[s];
    }
  }
  return rc;
}

static int prepare_dirs(hd__run *r) {
  hd_report *report = r->report;
  hd__buf res = {0}, logs = {0};
  /* Absolute: a task with a workdir of its own reads {after.TASK} from
     there. */
  char cwd[4096] = "";
  if (r->opts.run_dir[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
    cwd[0] = '\0';
  const char *sep = cwd[0] != '\0' ? "/" : "";
  if (hd__buf_appendf(&res, "%s%s%s/results", cwd, sep, r->opts.run_dir) !=
          HD_OK ||
      hd__buf_appendf(&logs, "%s%s%s/logs", cwd, sep, r->opts.run_dir) !=
          HD_OK) {
    hd__buf_cleanup(&res);
    hd__buf_cleanup(&logs);
    return HD_ENOMEM;
  }
  r->results_dir = res.data;
  r->logs_dir = logs.data;
  if (hd__make_dirs(r->results_dir) != HD_OK ||
      hd__make_dirs(r->logs_dir) != HD_OK) {
    hd__diags_add(&report->diags, HD_EIO, r->opts.run_dir, 0, 0, NULL,
                  "cannot create the run folder: %s", strerror(errno));
    return HD_EIO;
  }
  return HD_OK;
}

/* Without a run folder, results are only written to files when a task
 * names one ({after.TASK}); then they go to a temporary folder. */
static int prepare_tmp_dir(hd__run *r) {
  const hd__plan *p = r->plan;
  int late = 0;
  for (size_t i = 1; i < p->nio && !late; i++)
    late = p->io[i].late != 0;
  if (!late)
    return HD_OK;
  const char *base = getenv("TMPDIR");
  hd__buf dir = {0};
  if (hd__buf_appendf(&dir, "%s/hodos-XXXXXX",
                      base != NULL && base[0] ? base : "/tmp") != HD_OK)
    return HD_ENOMEM;
  if (mkdtemp(dir.data) == NULL) {
    hd__diags_add(&r->report->diags, HD_EIO, dir.data, 0, 0, NULL,
                  "cannot create a folder for results: %s", strerror(errno));
    hd__buf_cleanup(&dir);
    return HD_EIO;
  }
  r->tmp_dir = dir.data;
  r->results_dir = hd__strdup(dir.data);
  return r->results_dir != NULL ? HD_OK : HD_ENOMEM;
}

static void remove_tmp_dir(hd__run *r) {
  if (r->tmp_dir == NULL)
    return;
  hd__remove_dir(r->tmp_dir);
  hd__free(r->tmp_dir);
  r->tmp_dir = NULL;
}

static int open_store(hd__run *r) {
  char *message = NULL;
  int rc = hd__store_open(r->opts.store,
                          r->opts.resume ? HD__STORE_RESUME : HD__STORE_FRESH,
                          &r->store, &message);
  if (rc != HD_OK) {
    /* The message names the store. */
    hd__diags_add(&r->report->diags, rc, NULL, 0, 0, NULL, "%s",
                  message != NULL ? message : hd_strerror(rc));
    hd__free(message);
    return rc;
  }
  r->keys = hd__big_calloc(r->plan->count + 1, sizeof(hd__key));
  r->vhash = hd__big_calloc(r->plan->count + 1, sizeof(hd__key));
  r->keyed = hd__big_calloc(r->plan->count + 1, 1);
  r->parts = hd__big_calloc(r->plan->count + 1, sizeof(hd__keyparts));
  return r->keys != NULL && r->vhash != NULL && r->keyed != NULL &&
                 r->parts != NULL
             ? HD_OK
             : HD_ENOMEM;
}

int hd__run_plan(hd_report *report, const hd_run_opts *o) {
  return hd__run_plan_ext(report, o, NULL);
}

int hd__run_plan_ext(hd_report *report, const hd_run_opts *o,
                     const hd__run_ext *ext) {
  hd__run r;
  memset(&r, 0, sizeof(r));
  if (ext != NULL)
    r.ext = *ext;
  r.plan = report->plan;
  r.report = report;
  if (o != NULL)
    r.opts = *o;
  else
    hd_run_opts_init(&r.opts);
  pthread_mutex_init(&r.event_lock, NULL);
  r.fn_hot_key = UINT32_MAX;
  report->start_ns = hd__now_ns();
  const hd__plan *p = r.plan;
  int rc = HD_OK;

  const char *name = r.opts.backend ? r.opts.backend : "serial";
  r.backend = hd_backend_find(name);
  if (r.backend == NULL) {
    hd__buf names = {0};
    for (size_t i = 0; i < hd_backend_count(); i++)
      hd__buf_appendf(&names, "%s%s", i ? ", " : "", hd_backend_at(i)->name);
    hd__diags_add(&report->diags, HD_ENOTSUP, NULL, 0, 0, NULL,
                  "unknown backend '%s' (available: %s)", name,
                  names.data ? names.data : "");
    hd__buf_cleanup(&names);
    rc = HD_ENOTSUP;
    goto out;
  }
  if (r.opts.run_dir != NULL && (rc = prepare_dirs(&r)) != HD_OK)
    goto out;
  if (r.opts.run_dir == NULL && (rc = prepare_tmp_dir(&r)) != HD_OK)
    goto out;
  if (r.opts.store != NULL && (rc = open_store(&r)) != HD_OK)
    goto out;
  if ((rc = make_hold(&r)) != HD_OK)
    goto out;
  r.mem = hd__runmem_take(p);
  if (r.mem == NULL || resolve_functions(&r) != HD_OK) {
    rc = HD_ENOMEM;
    goto out;
  }
  r.pending = r.mem->pending;
  if (r.opts.release_results) {
    r.consumers = hd__big_calloc(p->count + 1, sizeof(atomic_uint));
    if (r.consumers == NULL) {
      rc = HD_ENOMEM;
      goto out;
    }
    for (size_t i = 0; i < p->count; i++)
      atomic_init(&r.consumers[i], p->succ_off[i + 1] - p->succ_off[i]);
  }
  hd_backend_host host = {&r, run_task, p->count, r.mem->rank,
                          run_task_at_once};
  if (r.backend == &hd__backend_threads && r.opts.jobs > HD__THREADS_MAX) {
    rc = HD_EINVAL;
    hd__diags_add(&report->diags, rc, NULL, 0, 0, NULL,
                  "jobs is %u: the threads backend runs at most %u workers",
                  r.opts.jobs, HD__THREADS_MAX);
    goto out;
  }
  if ((rc = r.backend->start(&r.backend_state, r.opts.jobs, &host)) != HD_OK) {
    hd__diags_add(&report->diags, rc, NULL, 0, 0, NULL,
                  "backend '%s' could not start: %s", name, hd_strerror(rc));
    goto out;
  }
  r.nworkers = r.backend->capacity(r.backend_state);
  r.one_thread = r.nworkers == 1 && (r.backend == &hd__backend_threads ||
                                     r.backend == &hd__backend_serial);
  r.lazy_count = r.backend == &hd__backend_threads;
  r.plain = r.lazy_count && r.opts.on_event == NULL &&
            r.ext.on_settle == NULL && r.ext.seed_off == NULL &&
            r.store == NULL && r.consumers == NULL && r.results_dir == NULL;
  r.lean = r.plain && r.one_thread;
  /* Aligned on a cache line: two workers' states sharing one would make
     it travel between their CPUs at every task. */
  r.workers_mem = hd__calloc(r.nworkers + 2, sizeof(hd__wstate));
  r.workers =
      r.workers_mem == NULL
          ? NULL
          : (hd__wstate *)(((uintptr_t)r.workers_mem + 63) & ~(uintptr_t)63);
  if (r.workers == NULL) {
    r.backend->stop(r.backend_state);
    rc = HD_ENOMEM;
    goto out;
  }
  /* Retries wait out their delays in a queue rather than on a worker of
     the threads backend (without memory for one, on the worker). */
  if (r.lazy_count && has_retry_delay(p) &&
      (r.retrying = hd__calloc(p->count + 1, 1)) != NULL &&
      hd__retryq_start(&r, &r.retryq) != HD_OK) {
    hd__free(r.retrying);
    r.retrying = NULL;
  }
  /* The sources, least urgent first (hd__runmem): a worker takes the
     task it pushed last, so the most urgent (the user's priority, then
     the longest path ahead) starts first. */
  if (r.lazy_count && r.opts.on_event == NULL && r.mem->nsrc > HD__RANGE_MIN &&
      r.mem->nsrc <= HD__RANGE_FIRST_MAX) {
    /* Many sources: one range for the workers to split (run.h). */
    hd__threads_push_sources(r.backend_state, (uint32_t)r.mem->nsrc);
  } else {
    for (size_t k = 0; k < r.mem->nsrc; k++) {
      emit(&r, HD_EVENT_QUEUED, r.mem->src[k], NULL);
      r.backend->submit(r.backend_state, r.mem->src[k]);
    }
  }
  if (p->count == 0)
    r.backend->finish(r.backend_state);
  rc = r.backend->wait(r.backend_state);
  hd__retryq_stop(r.retryq);
  r.retryq = NULL;
  r.backend->stop(r.backend_state);
  if (rc == HD_OK) {
    if (atomic_load(&r.interrupted))
      rc = HD_EINTR;
    else if (atomic_load(&r.failed))
      rc = HD_ETASK;
  }
out:
  report->status = rc;
  report->end_ns = hd__now_ns();
  hd__store_close(r.store);
  hd__big_free(r.keys, p->count + 1, sizeof(hd__key));
  hd__big_free(r.vhash, p->count + 1, sizeof(hd__key));
  hd__big_free(r.keyed, p->count + 1, 1);
  if (r.parts != NULL)
    for (size_t i = 0; i < p->count; i++)
      hd__free(r.parts[i].files);
  hd__big_free(r.parts, p->count + 1, sizeof(hd__keyparts));
  remove_tmp_dir(&r);
  hd__free(r.results_dir);
  hd__free(r.logs_dir);
  hd__runmem_give(p, r.mem);
  hd__big_free(r.consumers, p->count + 1, sizeof(atomic_uint));
  hd__big_free(r.wire_size, p->count + 1, sizeof(uint32_t));
  hd__free(r.fn_keys);
  hd__free(r.fn_refs);
  hd__free(r.retrying);
  hd__free(r.workers_mem);
  pthread_mutex_destroy(&r.event_lock);
  return rc;
}
