/* The processes backend: tasks run in worker processes forked when the run
 * starts (fork without exec, so that the program's registered functions
 * are there, as in pathos's ProcessPool), each joined to hodos by a
 * socketpair that carries frames of the wire protocol (wire.h).
 *
 * The calling thread keeps the scheduler: an event loop (libuv) reads
 * results, hands ready tasks to idle workers as their slots allow, and
 * watches the clock. A worker that dies (a crash, a signal, an exit) is
 * noticed when its socket closes: the process group of the shell task it
 * ran, if any, gets SIGKILL (see "the process groups of workers' shell
 * tasks" below), its task fails with the reason, or is tried again under
 * its retries, and the worker is replaced. A function task past its
 * timeout has its worker killed; a shell task's worker stops it itself
 * (SIGTERM, then SIGKILL, to its process group).
 *
 * Interrupts: once *interrupt is 1 no task starts and running ones finish;
 * at 2 they are stopped (SIGTERM to their workers, which stop their shell
 * tasks; SIGKILL two seconds later for those still running, and with them
 * their shell tasks' groups).
 *
 * Workers are forked from the thread that calls hd_run(): a program with
 * other threads should not hold locks the workers would need (malloc's
 * are safe with glibc). Runs in several threads at once are safe: a
 * worker closes the sockets of other workers and the inputs of shell tasks
 * that it inherits (core/fork.c). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "procs.h"

#define TICK_MS 10
/* ssh: how many times a task's input files may be sent before it runs
   (once per host that lacks them, and a few more when they change). */
#define MAX_SENDS 8
/* ssh: a session that has not answered the HELLO by then is ended. */
#define READY_TIMEOUT_NS 20000000000ull
#define STOP_GRACE_NS 2000000000ull
/* A shell task stops itself at its timeout; its worker is killed if it
   has not answered this long after. */
#define SHELL_BACKSTOP_NS 5000000000ull
/* Waiting for a short task's result, the loop polls its workers' sockets
   this long before it sleeps (see spin()). */
#define SPIN_NS 50000ull
/* ... when tasks take less than this on average. */
#define SPIN_BELOW_NS 200000ull
#define SPIN_MISSES 2
#define SPIN_PROBE 64

/* ---- hodos's side ---- */

static void on_readable(uv_poll_t *h, int status, int events);
static int take_frames(procs *pp, worker *wk);
static int send_one_ahead(procs *pp, worker *wk, uint32_t task);

static void free_handle(uv_handle_t *h) { hd__free(h); }

/* Watch wk's socket in the loop. */
static int watch(procs *pp, worker *wk) {
  uv_poll_t *h = hd__calloc(1, sizeof(*h));
  if (h == NULL)
    return HD_ENOMEM;
  if (uv_poll_init(&pp->loop, h, wk->fd) != 0) {
    hd__free(h);
    return HD_EIO;
  }
  h->data = wk;
  wk->poll = h;
  uv_poll_start(h, UV_READABLE, on_readable);
  return HD_OK;
}

int hd__procs_watch(procs *pp, worker *wk) { return watch(pp, wk); }

/* Send sig to wk's process; a worker reached through a tunnel has none
 * here, and is ended by shutting its connection (seen as end of file). */
static void signal_worker(worker *wk, int sig) {
  if (wk->pid > 0)
    kill(wk->pid, sig);
  else if (wk->fd >= 0)
    shutdown(wk->fd, SHUT_RDWR);
}

/* ---- the process groups of workers' shell tasks ----
 *
 * A shell task runs in a session of its own, out of reach of its worker's
 * end: a worker killed or crashed in the middle of one would leave it
 * running, beside its retry. So each worker forked here gets a record in
 * memory shared with hodos, where core/shell.c notes the process group of
 * each shell task it runs until the task is over. When the worker is
 * reaped, whether it died or hodos killed it (a second interrupt, a
 * timeout, a malformed frame), the groups left in its record get SIGKILL,
 * before its task is failed or retried.
 *
 * A group noted there is alive, or ended moments before: its ID is not
 * given to a new process while any process of the group lives, a worker
 * clears the entry as soon as its task is over, and hodos kills the groups
 * as soon as it sees the worker end, so that a reused ID would take the
 * kernel going round every other one in between. (PR_SET_PDEATHSIG would
 * not do instead: posix_spawn cannot set it, and it does not reach the
 * task's children.) */
/* Workers forked here at once; shell tasks at once in one worker (one,
   unless a function runs a run of its own on threads). */
#define GROUP_RECORDS 4096
#define GROUPS_PER 5
/* The last entry of a worker's record is no group: hodos sets it to
 * HD__STOP_NOW when the run stops (a failure without keep_going, an
 * interrupt), and the worker then starts none of the tasks it holds
 * (hd__worker_stop_at()): tasks queued behind its running one, sent
 * before the stop, would start. HD__STOP_AT_FAILURE (no keep_going):
 * the worker sets HD__STOP_NOW itself when one of its tasks fails for
 * good, before hodos has read the failure. */
#define STOP_ENTRY (GROUPS_PER - 1)

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int *groups_map; /* the records (shared memory), or NULL */
static pid_t groups_owner[GROUP_RECORDS]; /* worker, -1 forking, 0 free */
static unsigned groups_used;

/* A record for a worker about to be forked: its entries, and its number
 * in *rec; NULL and -1 when there is none (too many workers, or no
 * memory): that worker's tasks are then not followed. */
static atomic_int *groups_take(int *rec) {
  atomic_int *at = NULL;
  *rec = -1;
  pthread_mutex_lock(&groups_lock);
  if (groups_map == NULL) {
    void *m = mmap(NULL, sizeof(atomic_int) * GROUP_RECORDS * GROUPS_PER,
                   PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    groups_map = m != MAP_FAILED ? m : NULL;
  }
  for (unsigned i = 0; groups_map != NULL && i < GROUP_RECORDS; i++)
    if (groups_owner[i] == 0) {
      groups_owner[i] = -1;
      groups_used++;
      *rec = (int)i;
      at = groups_map + (size_t)i * GROUPS_PER;
      atomic_store(&at[STOP_ENTRY], 0);
      break;
    }
  pthread_mutex_unlock(&groups_lock);
  return at;
}

/* Record rec is free again (its entries cleared first). Holds the lock. */
static void groups_free_locked(int rec) {
  groups_owner[rec] = 0;
  if (--groups_used == 0) {
    munmap(groups_map, sizeof(atomic_int) * GROUP_RECORDS * GROUPS_PER);
    groups_map = NULL;
  }
}

/* rec's worker was forked as pid, or could not be (pid < 0). */
static void groups_own(int rec, pid_t pid) {
  if (rec < 0)
    return;
  pthread_mutex_lock(&groups_lock);
  if (pid > 0)
    groups_owner[rec] = pid;
  else
    groups_free_locked(rec);
  pthread_mutex_unlock(&groups_lock);
}

/* The record of worker pid, or -1. pid is not reaped yet, so that it
 * names no other process. */
static int groups_find(pid_t pid) {
  int rec = -1;
  pthread_mutex_lock(&groups_lock);
  for (unsigned i = 0; pid > 0 && groups_used > 0 && i < GROUP_RECORDS; i++)
    if (groups_owner[i] == pid) {
      rec = (int)i;
      break;
    }
  pthread_mutex_unlock(&groups_lock);
  return rec;
}

/* rec's worker is reaped: SIGKILL to the groups it left noted, and the
 * record is free. */
static void groups_end(int rec) {
  if (rec < 0)
    return;
  pthread_mutex_lock(&groups_lock);
  atomic_int *at = groups_map + (size_t)rec * GROUPS_PER;
  for (unsigned k = 0; k < STOP_ENTRY; k++) {
    pid_t pg = atomic_exchange(&at[k], 0);
    if (pg > 1 && pg != getpid() && pg != getpgrp())
      kill(-pg, SIGKILL);
  }
  atomic_store(&at[STOP_ENTRY], 0);
  groups_free_locked(rec);
  pthread_mutex_unlock(&groups_lock);
}

/* Reap worker pid, waiting for it unless nohang, and kill the groups its
 * shell tasks left. Returns waitpid's answer (0: it still runs). */
static pid_t reap_worker(pid_t pid, int *status, int nohang) {
  int rec = groups_find(pid);
  pid_t got;
  while ((got = waitpid(pid, status, nohang ? WNOHANG : 0)) < 0 &&
         errno == EINTR)
    ;
  if (got != 0)
    groups_end(rec);
  return got;
}

/* Tell worker pid to start no task it holds (stop), or to go on. */
static void groups_stop(pid_t pid, int stop) { /* 0, STOP_* */
  int rec = groups_find(pid);
  if (rec < 0)
    return;
  pthread_mutex_lock(&groups_lock);
  atomic_store(&groups_map[(size_t)rec * GROUPS_PER + STOP_ENTRY], stop);
  pthread_mutex_unlock(&groups_lock);
}

/* A forked child does not own its parent's workers: it starts afresh,
 * with records of its own when it forks workers (a worker keeps the
 * mapping, where its own record is). */
static void groups_forget(void) {
  pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
  groups_lock = fresh;
  groups_map = NULL;
  if (groups_used > 0)
    memset(groups_owner, 0, sizeof(groups_owner));
  groups_used = 0;
}

__attribute__((constructor)) static void groups_handlers(void) {
  pthread_atfork(NULL, NULL, groups_forget);
}

/* Fork worker i. Its socket's end here is listed in fork.c, so that a
 * worker forked by another run (of a pool in another thread, say) does
 * not keep it open: this worker would never see its socket close, and
 * stop() would wait for it. */
static int fork_worker(procs *pp, worker *wk) {
  int sv[2];
  hd__fork_alone_begin();
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    int e = errno;
    hd__fork_alone_end();
    hd__log(HD_LOG_ERROR, "processes: cannot start a worker: %s", strerror(e));
    return HD_ESPAWN;
  }
  int rc = hd__fork_track(sv[0]);
  pid_t pid = -1, parent = getpid();
  int rec;
  atomic_int *groups = groups_take(&rec);
  if (groups != NULL && !pp->r->opts.keep_going)
    atomic_store(&groups[STOP_ENTRY], HD__STOP_AT_FAILURE);
  if (rc == HD_OK) {
    fflush(NULL); /* buffered output would be written again by the worker */
    pid = fork();
    if (pid < 0) {
      hd__log(HD_LOG_ERROR, "processes: cannot start a worker: %s",
              strerror(errno));
      rc = HD_ESPAWN;
    }
  }
  if (pid == 0) {
    hd__fork_child(); /* closes sv[0] and every other worker's socket */
    hd__shell_groups_at(groups, STOP_ENTRY);
    hd__worker_stop_at(groups != NULL ? &groups[STOP_ENTRY] : NULL);
    hd__worker_parent = parent;
    signal(SIGALRM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(0); /* hodos died before the line above */
    if (pp->kept != NULL)
      _exit(hd__worker_kept(sv[1]));
    _exit(hd__worker_loop(pp->r, sv[1], sv[1], NULL, NULL));
  }
  /* sv[1] is closed while no fork can copy it: a copy in another worker
     would hide this one's death. */
  close(sv[1]);
  hd__fork_alone_end();
  groups_own(rec, pid);
  if (rc != HD_OK) {
    hd__fork_close(sv[0]);
    return rc;
  }
  wk->pid = pid;
  wk->fd = sv[0];
  return HD_OK;
}

/* Start worker i: forked here, or a session on its host. */
static int spawn(procs *pp, unsigned i) {
  worker *wk = &pp->w[i];
  wk->head = wk->n = 0;
  wk->slots = 0;
  wk->exclusive = 0;
  wk->queued = 0;
  wk->deadline = 0;
  wk->term_sent = 0;
  wk->killed_late = 0;
  wk->gone = 0;
  wk->corrupt = NULL;
  wk->in.len = 0;
  wk->out.len = 0;
  wk->ready = pp->ssh == NULL;
  hd__kept *k = pp->kept;
  int rc;
  if (k != NULL && i < k->cap && k->fd[i] >= 0 &&
      reap_worker(k->pid[i], NULL, 1) != 0) {
    /* It died between runs (and is reaped now): one is forked instead,
       so that no task is lost to it. */
    hd__fork_close(k->fd[i]);
    k->fd[i] = -1;
    k->pid[i] = 0;
  }
  if (k != NULL && i < k->cap && k->fd[i] >= 0) {
    /* Lent by the caller until the run stops. */
    wk->pid = k->pid[i];
    /* The last run's stop is over. */
    groups_stop(wk->pid, pp->r->opts.keep_going ? 0 : HD__STOP_AT_FAILURE);
    wk->fd = k->fd[i];
    k->pid[i] = 0;
    k->fd[i] = -1;
    rc = HD_OK;
  } else {
    rc = pp->ssh != NULL ? hd__ssh_spawn(pp, i) : fork_worker(pp, wk);
  }
  if (rc != HD_OK)
    return rc;
  /* A kept worker learns the run before its first task. */
  if (k != NULL && hd__buf_append(&wk->out, pp->plan_frame.data,
                                  pp->plan_frame.len) != HD_OK) {
    /* Seen as the end of its socket: it is replaced, or the run ends. */
    signal_worker(wk, SIGKILL);
  }
  return pp->loop_ready ? watch(pp, wk) : HD_OK;
}

int hd__procs_put_tasks(const hd__run *r, hd__buf *b) {
  const hd__run_ext *ext = &r->ext;
  if (ext->seed_off == NULL && ext->packed == NULL)
    return hd__wire_put_u32(b, 0);
  int rc = hd__wire_put_u32(b, r->plan->count);
  for (uint32_t t = 0; t < r->plan->count && rc == HD_OK; t++) {
    size_t seeds =
        ext->seed_off != NULL ? ext->seed_off[t + 1] - ext->seed_off[t] : 0;
    unsigned char packed = ext->packed != NULL && ext->packed[t] != 0;
    rc = hd__wire_put_u32(b, (uint32_t)seeds);
    if (rc == HD_OK)
      rc = hd__buf_append(b, &packed, 1);
  }
  return rc;
}

/* The PLAN frame a kept worker gets before the run's tasks (wire.h). */
static int make_plan_frame(procs *pp) {
  const hd__run *r = pp->r;
  hd__buf b = {0};
  hd__buf plan = {0};
  int rc = hd__plan_pack(r->plan, &plan);
  if (rc == HD_OK)
    rc = hd__wire_put_bytes(&b, plan.data, plan.len);
  hd__buf_cleanup(&plan);
  if (rc == HD_OK)
    rc = hd__procs_put_tasks(r, &b);
  if (rc == HD_OK)
    rc = hd__wire_frame(&pp->plan_frame, HD__WIRE_PLAN, b.data, b.len);
  hd__buf_cleanup(&b);
  return rc;
}

static void heap_push(procs *pp, uint32_t task) {
  const uint32_t *rank = pp->host.rank;
  size_t i = pp->count++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (rank[pp->heap[parent]] <= rank[task])
      break;
    pp->heap[i] = pp->heap[parent];
    i = parent;
  }
  pp->heap[i] = task;
}

static uint32_t heap_pop(procs *pp) {
  const uint32_t *rank = pp->host.rank;
  uint32_t top = pp->heap[0];
  uint32_t last = pp->heap[--pp->count];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= pp->count)
      break;
    if (c + 1 < pp->count && rank[pp->heap[c + 1]] < rank[pp->heap[c]])
      c++;
    if (rank[last] <= rank[pp->heap[c]])
      break;
    pp->heap[i] = pp->heap[c];
    i = c;
  }
  if (pp->count > 0)
    pp->heap[i] = last;
  return top;
}

static unsigned task_slots(procs *pp, uint32_t task) {
  unsigned c = hd__plan_settings(pp->r->plan, task)->cpus;
  return c == 0 ? 1 : c > pp->group_max ? pp->group_max : c;
}

/* wk starts holding n slots, or gives back those it holds (n == 0). */
static void hold_slots(procs *pp, worker *wk, unsigned n) {
  if (n == 0) {
    pp->free_slots += wk->slots;
    pp->group_free[wk->host] += wk->slots;
  } else {
    pp->free_slots -= n;
    pp->group_free[wk->host] -= n;
  }
  wk->slots = n;
}

/* A task is ready: in line, or, when a worker holds it sent ahead, to be
 * confirmed there. */
static void ready(procs *pp, uint32_t task) {
  if (pp->ahead != NULL && pp->ahead[task])
    pp->confirm[pp->nconfirm++] = task;
  else
    heap_push(pp, task);
}

static void settle(procs *pp, worker *wk, uint32_t task) {
  unsigned w = wk ? wk->index : 0;
  pp->retrying[task] = 0;
  uint32_t next = hd__task_settle(pp->r, task, w);
  /* No task follows on the same worker here: each start is its own. */
  pp->r->workers[w].chained = 0;
  if (next != HD_TASK_NONE)
    ready(pp, next);
}

static void free_inputs(flight *f) {
  hd__inputs_free(f->inputs, f->ninputs, f->small);
  f->inputs = NULL;
  f->ninputs = 0;
}

/* An attempt of f's task ended with rc: record it (with the times the
 * worker measured, when it sent them), then retry or settle the task. */
static void attempt_done(procs *pp, worker *wk, flight *f, int rc,
                         uint64_t started, uint64_t ended) {
  hd__run *r = pp->r;
  uint32_t task = f->task;
  int again = hd__attempt_end(r, task, wk->index, &f->x, rc);
  if (started != 0 && ended >= started && !r->opts.no_task_times) {
    r->report->tasks[task].start_ns = started;
    r->report->tasks[task].end_ns = ended;
  }
  free_inputs(f);
  if (again) {
    uint64_t delay = hd__plan_settings(r->plan, task)->retry_delay_ns;
    pp->retrying[task] = 1;
    if (delay == 0) {
      heap_push(pp, task);
    } else if (!hd__grow((void **)&pp->later, &pp->caplater, pp->nlater + 1,
                         sizeof(delayed))) {
      pp->later[pp->nlater++] = (delayed){task, hd__now_ns() + delay};
    } else {
      heap_push(pp, task);
    }
  } else {
    settle(pp, wk, task);
  }
}

/* The head of wk's queue is answered: take it off. */
static flight *pop_flight(procs *pp, worker *wk) {
  flight *f = &wk->q[wk->head];
  wk->head = (wk->head + 1) % DEPTH;
  wk->n--;
  wk->queued -= f->bytes;
  if (wk->n == 0) {
    hold_slots(pp, wk, 0);
    wk->exclusive = 0;
    wk->deadline = 0;
  }
  return f;
}

/* Whether task may wait behind another in a worker's queue: one slot, no
 * timeout, small inputs. */
static int queueable(procs *pp, uint32_t task) {
  const hd__plan *p = pp->r->plan;
  const hd__psettings *set = hd__plan_settings(p, task);
  if (set->cpus > 1 || set->timeout_ns != 0)
    return 0;
  size_t bytes = 0;
  hd__preds it;
  for (hd__preds_begin(p, task, &it); it.left > 0;) {
    const hd__tstate *t = &pp->r->report->tasks[hd__preds_next(&it)];
    if (t->flags & (HD__T_PACKED | HD__T_SPILLED))
      return 0; /* held past a memory limit: large */
    bytes += t->result != NULL ? hd_value_size(t->result) : 0;
    if (bytes > SMALL_INPUTS)
      return 0;
  }
  const hd__run_ext *ext = &pp->r->ext;
  if (ext->seed_off != NULL)
    for (size_t k = ext->seed_off[task]; k < ext->seed_off[task + 1]; k++) {
      bytes += ext->seeds[k] != NULL ? hd_value_size(ext->seeds[k]) : 0;
      if (bytes > SMALL_INPUTS)
        return 0;
    }
  return 1;
}

/* Queue task on wk: the frame goes out with the next flush. Returns
 * whether it did (0: the attempt ended here). */
static int dispatch(procs *pp, worker *wk, uint32_t task, int queue_ok) {
  hd__run *r = pp->r;
  flight *f = &wk->q[(wk->head + wk->n) % DEPTH];
  memset(f, 0, sizeof(*f));
  f->task = task;
  if (wk->n == 0) {
    hold_slots(pp, wk, task_slots(pp, task));
    wk->exclusive = !queue_ok;
  }
  /* Behind another, it starts when that one ends: so says its event. */
  f->waiting = wk->n > 0;
  wk->n++;
  hd__buf why = {0};
  f->inputs = hd__gather_inputs(r, task, f->small, 8, &f->ninputs, &why);
  int rc = f->waiting
               ? hd__attempt_begin_queued(r, task, wk->index, f->inputs,
                                          f->inputs ? f->ninputs : 0, &f->x)
               : hd__attempt_begin(r, task, wk->index, f->inputs,
                                   f->inputs ? f->ninputs : 0, &f->x);
  if (rc == HD_OK && f->inputs == NULL) {
    hd__buf_appendf(&f->x.message, "%s",
                    why.data ? why.data : "its inputs cannot be gathered");
    rc = HD_EIO;
  }
  hd__buf_cleanup(&why);
  size_t before = wk->out.len;
  hd__buf p = {0};
  int ok = rc == HD_OK && hd__wire_put_u32(&p, task) == HD_OK &&
           hd__wire_put_u32(&p, f->x.attempt) == HD_OK &&
           hd__wire_put_u64(&p, f->x.timeout_ns) == HD_OK &&
           hd__wire_put_u32(&p, (uint32_t)f->ninputs) == HD_OK;
  for (size_t i = 0; ok && i < f->ninputs; i++) {
    hd_value *frame = NULL;
    if (f->inputs[i] == NULL) {
      ok = hd__wire_put_bytes(&p, NULL, 0) == HD_OK;
      continue;
    }
    /* To a kept worker (a pool's, on this machine) raw: see wire.h. */
    ok = hd__value_encode_level(f->inputs[i], pp->kept != NULL ? -1 : 1,
                                &frame) == HD_OK &&
         hd__wire_put_bytes(&p, hd_value_data(frame), hd_value_size(frame)) ==
             HD_OK;
    hd_value_unref(frame);
  }
  ok = ok && (pp->ssh == NULL || hd__ssh_check(pp, wk, task) == HD_OK) &&
       hd__wire_frame(&wk->out, HD__WIRE_TASK, p.data, p.len) == HD_OK;
  hd__buf_cleanup(&p);
  if (!ok) {
    /* It never reaches the worker: it ends here. */
    wk->out.len = before;
    if (rc == HD_OK) {
      hd__buf_appendf(&f->x.message, "out of memory sending it to a worker");
      rc = HD_ENOMEM;
    }
    flight done = *f;
    wk->n--;
    if (wk->n == 0) {
      hold_slots(pp, wk, 0);
      wk->exclusive = 0;
    }
    /* The copy's inputs may point into the flight's own array. */
    if (done.inputs == f->small)
      done.inputs = done.small;
    done.x.inputs = done.inputs;
    if (done.waiting)
      hd__attempt_started(r, task); /* an end follows a start */
    attempt_done(pp, wk, &done, rc, 0, 0);
    return 0;
  }
  f->bytes = wk->out.len - before;
  wk->queued += f->bytes;
  if (wk->n == 1) {
    uint64_t t = f->x.timeout_ns;
    int fn = r->plan->nodes[task].kind == HD_NODE_FN;
    wk->deadline =
        t == 0 ? 0 : f->x.start_ns + t + (fn ? 0 : SHELL_BACKSTOP_NS);
  }
  return 1;
}

/* The task to send ahead after task on wk: a successor whose only input
 * is task's result, a short function task that nothing else decides
 * about (no cache, files, timeout or more than one slot), while the run's
 * tasks are short. The one with the highest bottom level, as the threads
 * backend continues with. HD_TASK_NONE when there is none. */
static uint32_t ahead_of(procs *pp, worker *wk, uint32_t task) {
  hd__run *r = pp->r;
  const hd__plan *p = r->plan;
  if (pp->ahead == NULL || pp->mean_ns >= QUEUE_BELOW_NS || wk->n >= DEPTH ||
      wk->queued >= QUEUE_BYTES || wk->term_sent != 0 || wk->gone ||
      hd__run_stopping(r))
    return HD_TASK_NONE;
  uint32_t best = HD_TASK_NONE;
  for (uint32_t e = p->succ_off[task]; e < p->succ_off[task + 1]; e++) {
    uint32_t v = p->succs[e];
    const hd__psettings *set = hd__plan_settings(p, v);
    if (p->nodes[v].kind != HD_NODE_FN || hd__input_count(r, v) != 1 ||
        p->nodes[v].npreds != 1 || set->cpus > 1 || set->timeout_ns != 0 ||
        (r->store != NULL && set->cache) || hd__plan_io(p, v) != NULL ||
        pp->retrying[v] || pp->ahead[v] ||
        r->report->tasks[v].state != HD_STATE_PENDING)
      continue;
    if (best == HD_TASK_NONE || p->nodes[v].bottom > p->nodes[best].bottom)
      best = v;
  }
  return best;
}

/* Send tasks ahead to wk while they may go: each a successor of the last
 * task in wk's queue, up to AHEAD of them not confirmed yet. */
static void send_ahead(procs *pp, worker *wk) {
  unsigned sent = 0;
  for (unsigned k = 0; k < wk->n; k++)
    sent += wk->q[(wk->head + k) % DEPTH].ahead;
  while (sent < AHEAD && wk->n > 0) {
    const flight *tail = &wk->q[(wk->head + wk->n - 1) % DEPTH];
    if (tail->dead || !send_one_ahead(pp, wk, tail->task))
      return;
    sent++;
  }
}

/* Send a successor of task, the last in wk's queue, ahead to wk, if one
 * may go. Returns whether one went. */
static int send_one_ahead(procs *pp, worker *wk, uint32_t task) {
  uint32_t next = ahead_of(pp, wk, task);
  if (next == HD_TASK_NONE)
    return 0;
  uint32_t attempt = pp->r->report->tasks[next].attempts + 1;
  size_t before = wk->out.len;
  hd__buf p = {0};
  int ok = hd__wire_put_u32(&p, next) == HD_OK &&
           hd__wire_put_u32(&p, attempt) == HD_OK &&
           hd__wire_put_u32(&p, task) == HD_OK &&
           hd__wire_frame(&wk->out, HD__WIRE_NEXT, p.data, p.len) == HD_OK;
  hd__buf_cleanup(&p);
  if (!ok) {
    wk->out.len = before; /* it goes the usual way */
    return 0;
  }
  flight *f = &wk->q[(wk->head + wk->n) % DEPTH];
  memset(f, 0, sizeof(*f));
  f->task = next;
  f->ahead = 1;
  f->attempt = attempt;
  f->bytes = wk->out.len - before;
  wk->n++;
  wk->queued += f->bytes;
  pp->ahead[next] = 1;
  return 1;
}

/* The flights sent ahead behind position k of wk's queue (each after
 * the one before it) will not be confirmed: the task they follow did not
 * go as they assumed. Their answers are dropped; their tasks go the
 * usual way when they are ready. */
static void drop_ahead_from(procs *pp, worker *wk, unsigned k) {
  for (; k < wk->n; k++) {
    flight *g = &wk->q[(wk->head + k) % DEPTH];
    if (!g->ahead)
      break;
    g->ahead = 0;
    g->dead = 1;
    pp->ahead[g->task] = 0;
  }
}

/* The flight that holds task sent ahead, or NULL. */
static flight *find_ahead(procs *pp, uint32_t task, worker **wk, unsigned *at) {
  for (unsigned i = 0; i < pp->nworkers; i++)
    for (unsigned k = 0; k < pp->w[i].n; k++) {
      flight *f = &pp->w[i].q[(pp->w[i].head + k) % DEPTH];
      if (f->task == task && f->ahead && !f->dead) {
        *wk = &pp->w[i];
        *at = k;
        return f;
      }
    }
  return NULL;
}

/* task was sent ahead and is now ready: its attempt begins where it is
 * (the worker may be running it already), or it is settled here
 * (cancelled: the worker's answer is then dropped). */
static void confirm(procs *pp, uint32_t task) {
  hd__run *r = pp->r;
  worker *wk = NULL;
  unsigned at = 0;
  flight *f = find_ahead(pp, task, &wk, &at);
  pp->ahead[task] = 0;
  if (f == NULL) {
    heap_push(pp, task); /* its worker was lost: the usual way */
    return;
  }
  f->ahead = 0;
  if (!hd__task_gate(r, task)) {
    f->dead = 1;
    drop_ahead_from(pp, wk, at + 1);
    settle(pp, NULL, task);
    return;
  }
  pp->retrying[task] = 1;
  hd__buf why = {0};
  f->inputs = hd__gather_inputs(r, task, f->small, 8, &f->ninputs, &why);
  int rc = hd__attempt_begin(r, task, wk->index, f->inputs,
                             f->inputs ? f->ninputs : 0, &f->x);
  if (rc == HD_OK && (f->inputs == NULL || f->x.attempt != f->attempt)) {
    hd__buf_appendf(&f->x.message, "%s",
                    f->inputs == NULL && why.data != NULL
                        ? why.data
                        : "its attempt cannot be sent ahead");
    rc = HD_EIO;
  }
  hd__buf_cleanup(&why);
  if (rc != HD_OK) {
    /* It ends here; what the worker says of it is dropped. */
    flight done = *f;
    if (done.inputs == f->small)
      done.inputs = done.small;
    done.x.inputs = done.inputs;
    memset(&f->x, 0, sizeof(f->x));
    f->inputs = NULL;
    f->ninputs = 0;
    f->dead = 1;
    drop_ahead_from(pp, wk, at + 1);
    attempt_done(pp, wk, &done, rc, 0, 0);
    return;
  }
  send_ahead(pp, wk);
}

/* Send what is waiting for each worker. A worker reads whole frames
 * before it answers, and at most QUEUE_BYTES wait in its socket besides
 * one frame to an idle worker: these writes do not deadlock. */
static void flush(procs *pp) {
  for (unsigned i = 0; i < pp->nworkers; i++) {
    worker *wk = &pp->w[i];
    if (wk->out.len == 0 || wk->fd < 0 || wk->gone)
      continue;
    if (hd__write_full(wk->fd, wk->out.data, wk->out.len) != 0)
      signal_worker(wk, SIGKILL); /* seen as end of file on its socket */
    wk->out.len = 0;
  }
}

/* Hand ready tasks to workers while slots allow: idle workers first, then
 * behind the running task of a worker when the task is small. */
static void pump(procs *pp) {
  hd__run *r = pp->r;
  uint64_t now = 0;
  for (size_t i = 0; i < pp->nlater;) {
    if (now == 0)
      now = hd__now_ns();
    if (pp->later[i].due <= now || hd__run_stopping(r)) {
      heap_push(pp, pp->later[i].task);
      pp->later[i] = pp->later[--pp->nlater];
    } else {
      i++;
    }
  }
  /* Tasks sent ahead first: their workers wait for them. */
  while (pp->nconfirm > 0)
    confirm(pp, pp->confirm[--pp->nconfirm]);
  while (pp->count > 0) {
    uint32_t task = pp->heap[0];
    int retry = pp->retrying[task];
    if (!retry && !hd__task_gate(r, task)) {
      heap_pop(pp);
      settle(pp, NULL, task); /* skipped or cancelled */
      continue;
    }
    if (retry && hd__run_stopping(r)) {
      /* A retry while stopping: its last failure stands. */
      heap_pop(pp);
      if (r->report->tasks[task].state != HD_STATE_FAILED)
        hd__task_cancel(r, task); /* taken back from a lost worker */
      else if (!hd__plan_settings(r->plan, task)->allow_failure)
        atomic_store(&r->failed, 1);
      settle(pp, NULL, task);
      continue;
    }
    int queue_ok = pp->mean_ns < QUEUE_BELOW_NS && queueable(pp, task);
    worker *to = NULL, *behind = NULL;
    unsigned need = task_slots(pp, task);
    if (pp->free_slots >= need)
      for (unsigned i = 0; i < pp->nworkers && to == NULL; i++)
        if (pp->w[i].n == 0 && pp->w[i].fd >= 0 && pp->w[i].ready &&
            !pp->w[i].gone && pp->group_free[pp->w[i].host] >= need)
          to = &pp->w[i];
    /* Otherwise behind the worker with the fewest waiting, so that the
       queues stay even. */
    for (unsigned i = 0; to == NULL && queue_ok && i < pp->nworkers; i++) {
      worker *wk = &pp->w[i];
      if (wk->fd >= 0 && wk->ready && !wk->gone && wk->n > 0 && wk->n < DEPTH &&
          !wk->exclusive && wk->term_sent == 0 && wk->queued < QUEUE_BYTES &&
          (behind == NULL || wk->n < behind->n))
        behind = wk;
    }
    if (to == NULL)
      to = behind;
    if (to == NULL)
      break;
    heap_pop(pp);
    /* The gate has passed: from here the task runs (or retries). */
    pp->retrying[task] = 1;
    if (dispatch(pp, to, task, queue_ok))
      send_ahead(pp, to);
  }
  flush(pp);
}

static void close_worker(worker *wk) {
  if (wk->poll != NULL) {
    uv_poll_stop(wk->poll);
    uv_close((uv_handle_t *)wk->poll, free_handle);
    wk->poll = NULL;
  }
  if (wk->fd >= 0)
    hd__fork_close(wk->fd);
  wk->fd = -1;
}

/* Once the run stops (a failure without keep_going, an interrupt; this
 * also notes an interrupt), workers start none of the tasks they hold:
 * they are told through their records' STOP_ENTRY. */
static void tell_stop(procs *pp) {
  if (!hd__run_stopping(pp->r) || pp->stop_told || pp->ssh != NULL)
    return;
  pp->stop_told = 1;
  for (unsigned i = 0; i < pp->nworkers; i++)
    if (pp->w[i].pid > 0)
      groups_stop(pp->w[i].pid, HD__STOP_NOW);
}

/* The flight at the head of wk's queue has started, if it was begun
 * behind another: its STARTED event goes now. */
static void head_started(procs *pp, worker *wk) {
  tell_stop(pp);
  flight *f = wk->n > 0 ? &wk->q[wk->head] : NULL;
  /* Once the run stops the worker starts none of these: its answer
     says whether it did (on_result()). */
  if (f != NULL && f->waiting && !f->dead && !f->ahead && !pp->stop_told) {
    f->waiting = 0;
    hd__attempt_started(pp->r, f->task);
  }
}

/* A flight that holds no attempt (sent ahead and not confirmed, or
 * dropped) is taken off its worker. */
static void drop(procs *pp, flight *f) {
  if (f->ahead)
    pp->ahead[f->task] = 0;
  free_inputs(f);
  hd__exec_cleanup(&f->x);
}

/* wk's socket closed or carried garbage: reap it, fail its running task,
 * put the ones waiting behind it back in line, replace it. */
static void worker_lost(procs *pp, worker *wk) {
  close_worker(wk);
  int status = 0;
  if (wk->corrupt != NULL && wk->pid > 0)
    kill(wk->pid, SIGKILL);
  /* Its shell task's group goes too: a retry must not run beside it. */
  if (wk->pid > 0)
    reap_worker(wk->pid, &status, 0);
  /* A session lost with its host is the host's fault: its task goes back
     in line, up to twice, before it fails. */
  hd__buf why = {0};
  int requeue = 0;
  if (pp->ssh != NULL && !wk->killed_late && wk->term_sent == 0)
    requeue = hd__ssh_lost(pp, wk, &why) && wk->corrupt == NULL;
  /* A flight sent ahead and not confirmed, or one whose answer was to be
     dropped, holds no attempt of hodos's: it goes (a task sent ahead is
     ready only when its dependency is done, and then goes the usual way).
     The worker was running it, so those behind it had not started. */
  int live = wk->n > 0 && !wk->q[wk->head].ahead && !wk->q[wk->head].dead;
  if (wk->n > 0 && !live)
    drop(pp, pop_flight(pp, wk));
  if (live && requeue && pp->lost[wk->q[wk->head].task] < 2) {
    flight *f = pop_flight(pp, wk);
    pp->lost[f->task]++;
    hd__log(HD_LOG_WARN, "task '%s' goes back in line: %s",
            hd__plan_name(pp->r->plan, f->task),
            why.data ? why.data : "its worker was lost");
    hd__attempt_abandon(pp->r, f->task, &f->x);
    free_inputs(f);
    heap_push(pp, f->task);
  } else if (live) {
    flight *f = pop_flight(pp, wk);
    hd__exec *x = &f->x;
    char sig[32];
    int rc = HD_ETASK;
    hd__buf_cleanup(&x->message);
    if (wk->killed_late) {
      x->timed_out = 1;
      hd__buf_appendf(&x->message,
                      "timed out after %.3g s (its worker was killed)",
                      (double)x->timeout_ns / 1e9);
    } else if (wk->term_sent != 0) {
      hd__buf_appendf(&x->message, "interrupted");
      rc = HD_EINTR;
      if (WIFSIGNALED(status))
        /* Killed past its grace, with its task's process group. */
        x->term_signal = WTERMSIG(status);
    } else if (wk->corrupt != NULL) {
      hd__buf_appendf(&x->message,
                      "worker %u (pid %ld) sent a malformed frame (%s)",
                      wk->index, (long)wk->pid, wk->corrupt);
    } else if (pp->ssh != NULL) {
      hd__buf_appendf(&x->message, "its worker was lost %s: %s",
                      requeue ? "three times" : "during the task",
                      why.data ? why.data : "the session ended");
    } else if (WIFSIGNALED(status)) {
      hd__buf_appendf(&x->message, "worker %u (pid %ld) died: killed by %s",
                      wk->index, (long)wk->pid,
                      hd__signal_name(WTERMSIG(status), sig, sizeof(sig)));
      x->term_signal = WTERMSIG(status);
    } else {
      hd__buf_appendf(&x->message,
                      "worker %u (pid %ld) exited with status %d during the "
                      "task",
                      wk->index, (long)wk->pid,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    if (pp->ssh == NULL && x->err_tail.len == 0)
      /* What the task wrote before its worker died: in its log file. */
      hd__log_tail(pp->r, hd__plan_name(pp->r->plan, f->task), &x->err_tail);
    attempt_done(pp, wk, f, rc, 0, 0);
  }
  /* The others had not started: they go back in line as they were. */
  while (wk->n > 0) {
    flight *f = pop_flight(pp, wk);
    if (f->ahead || f->dead) {
      drop(pp, f);
      continue;
    }
    hd__attempt_abandon(pp->r, f->task, &f->x);
    free_inputs(f);
    heap_push(pp, f->task);
  }
  wk->pid = 0;
  wk->in.len = 0;
  wk->out.len = 0;
  wk->queued = 0;
  hd__buf_cleanup(&why);
  /* A new worker in its place, unless the run is over (or its host). */
  if (pp->ssh != NULL && !hd__ssh_host_up(pp, wk->index))
    wk->fd = -1;
  else if (!pp->finished && !pp->stopping_all &&
           spawn(pp, wk->index) != HD_OK) {
    wk->fd = -1;
    hd__log(HD_LOG_ERROR, "cannot start a worker in place of worker %u",
            wk->index);
  }
}

/* A RESULT frame from wk. Returns 0, or -1 when it is malformed. */
/* The attempt at the head of wk's queue did not run, or does not count:
 * taken back, its task as it was before. */
static void take_back_head(procs *pp, worker *wk, uint32_t node) {
  flight *g = pop_flight(pp, wk);
  hd__attempt_abandon(pp->r, node, &g->x);
  free_inputs(g);
}

static int on_result(procs *pp, worker *wk, const char *payload, size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  pp->nresults++;
  uint64_t started = hd__wire_u64(&rd);
  uint64_t ended = hd__wire_u64(&rd);
  uint32_t node = hd__wire_u32(&rd);
  uint32_t attempt = hd__wire_u32(&rd);
  int rc = (int)hd__wire_u32(&rd);
  int exit_status = (int)hd__wire_u32(&rd);
  int term_signal = (int)hd__wire_u32(&rd);
  int timed_out = (int)hd__wire_u32(&rd);
  size_t mlen, tlen, olen;
  const char *msg = hd__wire_bytes(&rd, &mlen);
  const char *tail = hd__wire_bytes(&rd, &tlen);
  const char *out = hd__wire_bytes(&rd, &olen);
  if (rd.bad || rd.left != 0) {
    wk->corrupt = "a result that does not parse";
    return -1;
  }
  flight *f = wk->n > 0 ? &wk->q[wk->head] : NULL;
  if (f == NULL || node != f->task ||
      attempt != (f->dead ? f->attempt : f->x.attempt)) {
    wk->corrupt = "a result for a task it was not running";
    return -1;
  }
  if (f->dead) {
    /* Sent ahead, and the task went another way: the answer goes. */
    drop(pp, pop_flight(pp, wk));
    if (wk->n > 0)
      wk->deadline = 0;
    head_started(pp, wk);
    return 0;
  }
  if (rc == HD_EINTR && mlen == strlen(HD__NOT_STARTED) &&
      memcmp(msg, HD__NOT_STARTED, mlen) == 0) {
    /* The run stopped before the worker came to it: it never ran, and is
       cancelled as the tasks that were never sent. */
    take_back_head(pp, wk, node);
    hd__task_cancel(pp->r, node);
    settle(pp, NULL, node);
    if (wk->n > 0)
      wk->deadline = 0;
    head_started(pp, wk);
    return 0;
  }
  if (f->waiting) {
    /* It started before the worker saw the stop (head_started() held
       its event back). */
    f->waiting = 0;
    hd__attempt_started(pp->r, f->task);
  }
  if (rc == HD_ENOENT && pp->ssh != NULL) {
    /* It lacks input files: they go to it, then the task goes back in
       line (not an attempt), a few times at most. */
    char *list = hd__strndup(msg, mlen);
    int sent =
        list != NULL ? hd__ssh_send_inputs(pp, wk, node, list) : HD_ENOMEM;
    hd__free(list);
    if (sent == HD_ECORRUPT) {
      wk->corrupt = "a request for files that are not the task's inputs";
      return -1;
    }
    flight *g = pop_flight(pp, wk);
    if (sent == HD_OK && pp->sends[node] < MAX_SENDS) {
      pp->sends[node]++;
      hd__attempt_abandon(pp->r, node, &g->x);
      free_inputs(g);
      heap_push(pp, node);
      head_started(pp, wk);
      return 0;
    }
    const char *host = pp->r->worker_hosts != NULL
                           ? pp->r->worker_hosts[wk->index]
                           : "its host";
    hd__buf_cleanup(&g->x.message);
    if (sent != HD_OK)
      hd__buf_appendf(&g->x.message, "its input files cannot be sent to %s: %s",
                      host, hd_strerror(sent));
    else
      hd__buf_appendf(&g->x.message,
                      "its input files were sent %d times and %s still "
                      "lacks them",
                      MAX_SENDS, host);
    attempt_done(pp, wk, g, HD_ETASK, started, ended);
    head_started(pp, wk);
    return 0;
  }
  if (rc != HD_OK && rc != HD_ETASK && rc != HD_EINTR && rc != HD_ENOMEM) {
    wk->corrupt = "an unknown result code";
    return -1;
  }
  hd__exec *x = &f->x;
  if (rc == HD_EINTR && wk->term_sent == 0 && pp->ssh != NULL &&
      pp->lost[node] < 2 &&
      !(pp->r->opts.interrupt != NULL && hd__flag(pp->r->opts.interrupt))) {
    /* On a host, a SIGTERM hodos did not send is most often the host
       shutting down (a service manager stops every process): the task
       goes back in line, as for a lost session (not an attempt), and the
       worker ends after this answer. */
    wk->gone = 1;
    pp->lost[node]++;
    hd__log(HD_LOG_WARN,
            "task '%s' goes back in line: its worker on %s was sent "
            "SIGTERM (the host shutting down?)",
            hd__plan_name(pp->r->plan, node),
            pp->r->worker_hosts != NULL ? pp->r->worker_hosts[wk->index]
                                        : "its host");
    take_back_head(pp, wk, node);
    heap_push(pp, node);
    head_started(pp, wk);
    return 0;
  }
  if (rc == HD_EINTR && wk->term_sent == 0 &&
      !(pp->r->opts.interrupt != NULL && hd__flag(pp->r->opts.interrupt))) {
    /* Stopped by a SIGTERM hodos did not send (someone on its host): the
       task failed, as a killed worker's does, and the run is not
       interrupted. (One sent to hodos's whole process group, as by
       timeout(1) or a service manager, reached hodos too: that is an
       interrupt, and the task is cancelled as one.) The worker ends
       after this answer: nothing more goes to it, and it is replaced
       when its socket closes. */
    rc = HD_ETASK;
    wk->gone = 1;
    msg = "stopped: its worker was sent SIGTERM from outside hodos";
    mlen = strlen(msg);
  }
  x->exit_status = exit_status;
  x->term_signal = term_signal;
  x->timed_out = timed_out;
  if ((mlen > 0 && hd__buf_append(&x->message, msg, mlen) != HD_OK) ||
      (tlen > 0 && hd__buf_append(&x->err_tail, tail, tlen) != HD_OK))
    rc = HD_ENOMEM;
  if (pp->ssh != NULL && tlen > 0) {
    /* The host's worker has no run folder: its log is the tail sent. */
    int fd = hd__open_log(pp->r, hd__plan_name(pp->r->plan, node));
    if (fd >= 0) {
      (void)hd__write_full(fd, tail, tlen);
      close(fd);
    }
  }
  if (pp->r->wire_size != NULL)
    pp->r->wire_size[node] = olen > UINT32_MAX ? UINT32_MAX : (uint32_t)olen;
  if (rc == HD_OK && olen > 0 &&
      hd_value_decode(out, olen, MAX_VALUE, &x->output) != HD_OK) {
    wk->corrupt = "a result value that does not decode";
    return -1;
  }
  uint64_t took = ended > started ? ended - started : 0;
  if (pp->mean_ns == UINT64_MAX)
    pp->mean_ns = took;
  else
    pp->mean_ns = pp->mean_ns - pp->mean_ns / 8 + took / 8;
  pop_flight(pp, wk);
  if (wk->n > 0) {
    /* The next one starts now: its deadline counts from here. */
    wk->deadline = 0;
  }
  attempt_done(pp, wk, f, rc, started, ended);
  /* Those sent ahead of this task, which is not done, and ahead of them:
     the worker does not run them (or ran them on a result hodos did not
     take), and they are not ready. */
  if (pp->r->report->tasks[node].state != HD_STATE_DONE)
    drop_ahead_from(pp, wk, 0);
  head_started(pp, wk);
  return 0;
}

static int busy(procs *pp) {
  for (unsigned i = 0; i < pp->nworkers; i++)
    if (pp->w[i].n > 0)
      return 1;
  return 0;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  worker *wk = h->data;
  procs *pp = wk->pp;
  (void)events;
  /* On an error too, what the worker sent is read: a worker that dies
     with frames of ours unread leaves its socket in error (ECONNRESET),
     and the answers it gave before are in the socket still. */
  int eof = 0;
  for (;;) {
    if (wk->in.cap - wk->in.len < 65536 + 1) {
      size_t ncap = wk->in.cap ? 2 * wk->in.cap : 131072;
      char *p = hd__realloc(wk->in.data, ncap);
      if (p == NULL) {
        eof = 1;
        break;
      }
      wk->in.data = p;
      wk->in.cap = ncap;
    }
    size_t room = wk->in.cap - wk->in.len - 1;
    ssize_t n = recv(wk->fd, wk->in.data + wk->in.len, room, MSG_DONTWAIT);
    if (n > 0) {
      wk->in.len += (size_t)n;
      /* Less than asked for: the socket is empty for now. The poll is
         level-triggered, so what comes later wakes the loop again; not
         asking once more saves a system call per result. (Not when it is
         in error: then the poll has stopped, and all is read now.) */
      if ((size_t)n < room && status >= 0)
        break;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    eof = 1;
    break;
  }
  if (status < 0)
    eof = 1; /* libuv stopped watching it */
  int held = take_frames(pp, wk);
  if (eof && wk->corrupt == NULL) {
    /* The worker is gone, but each answer it gave counts: one held until
       its task is confirmed (a task sent ahead) is taken once pump() has
       confirmed it, before the worker is given up. */
    wk->gone = 1;
    while (held && wk->corrupt == NULL) {
      pump(pp);
      if (wk->n > 0 && wk->q[wk->head].ahead)
        break; /* not to be confirmed: its answer goes with the worker */
      held = take_frames(pp, wk);
    }
  }
  if (eof || wk->corrupt != NULL)
    worker_lost(pp, wk);
  pump(pp);
  /* An answer of a task sent ahead waited for the task to be confirmed,
     which pump() did. */
  while (held && wk->corrupt == NULL && !(wk->n > 0 && wk->q[wk->head].ahead)) {
    held = take_frames(pp, wk);
    if (wk->corrupt != NULL)
      worker_lost(pp, wk);
    pump(pp);
  }
  if (pp->finished && !busy(pp))
    pp->stop = 1;
}

/* Take every whole frame wk sent. Returns 1 when it stopped at the answer
 * of a task sent ahead and not confirmed yet (pump() confirms it). */
static int take_frames(procs *pp, worker *wk) {
  int held = 0;
  size_t off = 0;
  while (wk->corrupt == NULL && off < wk->in.len) {
    hd__wire_type type;
    const char *payload, *why;
    size_t len, used;
    int rc = hd__wire_parse(wk->in.data + off, wk->in.len - off, &type,
                            &payload, &len, &used, &why);
    if (rc == HD_ETRUNC)
      break;
    if (rc != HD_OK) {
      wk->corrupt = why;
      break;
    }
    if (type == HD__WIRE_READY && pp->ssh != NULL && !wk->ready) {
      if (hd__ssh_ready(pp, wk, payload, len) != 0)
        break;
    } else if (type == HD__WIRE_OUTPUTS && pp->ssh != NULL) {
      if (hd__ssh_outputs(pp, wk, payload, len) != 0)
        break;
    } else if (type != HD__WIRE_RESULT) {
      wk->corrupt = "a frame a worker does not send";
      break;
    } else if (wk->n > 0 && wk->q[wk->head].ahead) {
      held = 1;
      break;
    } else if (on_result(pp, wk, payload, len) != 0) {
      break;
    }
    off += used;
  }
  if (off > 0) {
    memmove(wk->in.data, wk->in.data + off, wk->in.len - off);
    wk->in.len -= off;
  }
  return held;
}

static void on_tick(uv_timer_t *t) {
  procs *pp = t->data;
  hd__run *r = pp->r;
  uint64_t now = hd__now_ns();
  int second = r->opts.interrupt != NULL && hd__flag(r->opts.interrupt) >= 2;
  if (second)
    pp->stopping_all = 1;
  for (unsigned i = 0; i < pp->nworkers; i++) {
    worker *wk = &pp->w[i];
    /* A session that does not answer in time (a host that accepts and
       then hangs) is ended, and counts against its host. */
    if (pp->ssh != NULL && wk->fd >= 0 && !wk->ready &&
        now - wk->spawned_ns > READY_TIMEOUT_NS) {
      signal_worker(wk, SIGKILL);
      continue;
    }
    if (wk->n == 0 || wk->fd < 0)
      continue;
    if (second && wk->term_sent == 0) {
      wk->term_sent = now;
      signal_worker(wk, SIGTERM);
    } else if (wk->term_sent != 0 && now - wk->term_sent > STOP_GRACE_NS) {
      signal_worker(wk, SIGKILL);
    } else if (wk->deadline != 0 && now > wk->deadline && !wk->killed_late) {
      wk->killed_late = 1;
      signal_worker(wk, SIGKILL);
    }
  }
  tell_stop(pp);
  pump(pp);
  int alive = 0;
  for (unsigned i = 0; i < pp->nworkers; i++)
    alive |= pp->w[i].fd >= 0;
  if (pp->finished && !busy(pp)) {
    pp->stop = 1;
  } else if (!alive && !pp->finished) {
    /* Tasks are left and no worker is: none could be started (or, with
       ssh, every host is lost). */
    pp->error = HD_EIO;
    pp->stop = 1;
  }
}

static void free_procs(procs *pp) {
  for (unsigned i = 0; pp->w != NULL && i < pp->nworkers; i++) {
    hd__buf_cleanup(&pp->w[i].in);
    hd__buf_cleanup(&pp->w[i].out);
  }
  hd__free(pp->w);
  hd__free(pp->heap);
  hd__free(pp->retrying);
  hd__free(pp->ahead);
  hd__free(pp->confirm);
  hd__free(pp->later);
  hd__free(pp->lost);
  hd__free(pp->sends);
  hd__free(pp->group_slots);
  hd__free(pp->group_free);
  hd__buf_cleanup(&pp->plan_frame);
  hd__free(pp);
}

static int start(void **state, unsigned jobs, const hd_backend_host *host,
                 int remote) {
  procs *pp = hd__calloc(1, sizeof(*pp));
  if (pp == NULL)
    return HD_ENOMEM;
  pp->r = host->ctx;
  pp->host = *host;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  pp->ncpus = cpus > 0 ? (unsigned)cpus : 1;
  if (jobs == 0)
    jobs = pp->ncpus;
  if (!remote && host->ctx != NULL && pp->r->ext.kept == NULL) {
    /* No more workers than the run's tasks can keep busy at once: each
       takes its cpus (at least 1) of the slots. A task of -j 1000 does
       not fork a thousand workers. */
    uint64_t need = 0;
    for (size_t t = 0; t < host->ntasks && need < jobs; t++) {
      unsigned c = hd__plan_settings(pp->r->plan, t)->cpus;
      need += c == 0 ? 1 : c;
    }
    if (need == 0)
      need = 1;
    if (need < jobs)
      jobs = (unsigned)need;
  }
  pp->nworkers = jobs;
  int rc = HD_OK;
  if (remote) {
    pp->lost = hd__calloc(host->ntasks + 1, 1);
    pp->sends = hd__calloc(host->ntasks + 1, 1);
    if (pp->lost == NULL || pp->sends == NULL) {
      free_procs(pp);
      return HD_ENOMEM;
    }
    if ((rc = hd__ssh_start(pp)) != HD_OK) {
      hd__ssh_stop(pp);
      free_procs(pp);
      return rc;
    }
    jobs = pp->nworkers;
  }
  pp->slots = pp->free_slots = jobs;
  pp->mean_ns = UINT64_MAX;
  if (pp->ngroups == 0) {
    /* One group: every worker of this machine. */
    pp->ngroups = 1;
    pp->group_slots = hd__calloc(1, sizeof(unsigned));
    if (pp->group_slots != NULL)
      pp->group_slots[0] = jobs;
  }
  pp->group_free = hd__calloc(pp->ngroups, sizeof(unsigned));
  if (pp->group_slots == NULL || pp->group_free == NULL) {
    hd__ssh_stop(pp);
    free_procs(pp);
    return HD_ENOMEM;
  }
  for (unsigned g = 0; g < pp->ngroups; g++) {
    pp->group_free[g] = pp->group_slots[g];
    if (pp->group_slots[g] > pp->group_max)
      pp->group_max = pp->group_slots[g];
  }
  if (pp->r->opts.on_event != NULL && pp->r->wire_size == NULL)
    pp->r->wire_size = hd__big_calloc(host->ntasks + 1, sizeof(uint32_t));
  pp->w = hd__calloc(jobs, sizeof(worker));
  pp->heap = hd__malloc((host->ntasks + 1) * sizeof(uint32_t));
  pp->retrying = hd__calloc(host->ntasks + 1, 1);
  if (pp->ssh == NULL) {
    pp->ahead = hd__calloc(host->ntasks + 1, 1);
    pp->confirm =
        hd__calloc((size_t)pp->nworkers * DEPTH + 1, sizeof(uint32_t));
    if (pp->ahead == NULL || pp->confirm == NULL) {
      /* Nothing is sent ahead. */
      hd__free(pp->ahead);
      hd__free(pp->confirm);
      pp->ahead = NULL;
      pp->confirm = NULL;
    }
  }
  if (pp->w == NULL || pp->heap == NULL || pp->retrying == NULL) {
    hd__ssh_stop(pp);
    free_procs(pp);
    return HD_ENOMEM;
  }
  for (unsigned i = 0; i < jobs; i++) {
    pp->w[i].pp = pp;
    pp->w[i].index = i;
    pp->w[i].fd = -1;
    pp->w[i].err_fd = -1;
  }
  if (!remote && pp->r->ext.kept != NULL) {
    pp->kept = pp->r->ext.kept;
    if ((rc = make_plan_frame(pp)) != HD_OK) {
      free_procs(pp);
      return rc;
    }
  }
  for (unsigned i = 0; i < jobs && rc == HD_OK; i++) {
    rc = spawn(pp, i);
    if (rc == HD_EIO && remote)
      rc = HD_OK; /* its host is given up; the others go on */
  }
  if (rc != HD_OK) {
    for (unsigned i = 0; i < jobs; i++)
      if (pp->w[i].fd >= 0) {
        hd__fork_close(pp->w[i].fd);
        reap_worker(pp->w[i].pid, NULL, 0);
      }
    hd__ssh_stop(pp);
    free_procs(pp);
    return rc;
  }
  *state = pp;
  return HD_OK;
}

static int procs_start(void **state, unsigned jobs,
                       const hd_backend_host *host) {
  return start(state, jobs, host, 0);
}

static int ssh_start(void **state, unsigned jobs, const hd_backend_host *host) {
  return start(state, jobs, host, 1);
}

static int procs_submit(void *state, uint32_t task) {
  ready(state, task);
  return HD_OK;
}

static void procs_finish(void *state) {
  procs *pp = state;
  pp->finished = 1;
}

/* Short tasks: a result comes back sooner than it takes to sleep and be
 * woken (a wake-up across processes costs 3 to 20 us on these VMs, a hop
 * of a chain of tiny tasks about as much). So while the tasks in flight
 * are short and leave a CPU free for this thread, the loop polls the
 * sockets for up to SPIN_NS before it sleeps, as long as that pays. Returns
 * whether anything came. Not for ssh, whose round trips are the network's. */
static int spin(procs *pp) {
  if (pp->ssh != NULL || pp->mean_ns >= SPIN_BELOW_NS)
    return 0;
  unsigned running = 0;
  for (unsigned i = 0; i < pp->nworkers; i++)
    running += pp->w[i].n > 0;
  if (running == 0 || running >= pp->ncpus)
    return 0;
  /* On a busy machine the worker waits for a CPU and the spin only takes
     one from it: after SPIN_MISSES spins in a row that saw nothing, spin
     once in SPIN_PROBE chances until one sees something again. */
  if (pp->spin_misses >= SPIN_MISSES && ++pp->spin_skipped < SPIN_PROBE)
    return 0;
  pp->spin_skipped = 0;
  uint64_t seen = pp->nresults, until = hd__now_ns() + SPIN_NS;
  do {
    uv_run(&pp->loop, UV_RUN_NOWAIT);
    if (pp->nresults != seen || pp->stop) {
      pp->spin_misses = 0;
      return 1;
    }
    sched_yield();
  } while (hd__now_ns() < until);
  pp->spin_misses++;
  return 0;
}

static int procs_wait(void *state) {
  procs *pp = state;
  if (uv_loop_init(&pp->loop) != 0)
    return HD_ENOMEM;
  pp->loop_ready = 1;
  for (unsigned i = 0; i < pp->nworkers; i++)
    if (watch(pp, &pp->w[i]) != HD_OK)
      return HD_EIO;
  uv_timer_init(&pp->loop, &pp->tick);
  pp->tick.data = pp;
  uv_timer_start(&pp->tick, on_tick, TICK_MS, TICK_MS);
  pp->stop = 0;
  pump(pp);
  if (pp->finished && !busy(pp))
    pp->stop = 1;
  while (!pp->stop)
    if (!spin(pp))
      uv_run(&pp->loop, UV_RUN_ONCE);
  uv_timer_stop(&pp->tick);
  uv_close((uv_handle_t *)&pp->tick, NULL);
  return pp->error;
}

static unsigned procs_capacity(void *state) {
  return ((procs *)state)->nworkers;
}

/* Wait for pid's exit, killing it past until, then kill the groups its
 * shell tasks left. Woken when it exits, where the kernel can say so (a
 * process descriptor); otherwise by looking every millisecond. */
static void reap(pid_t pid, uint64_t until) {
  int pfd = -1;
#ifdef SYS_pidfd_open
  pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
  for (;;) {
    pid_t got = reap_worker(pid, NULL, 1);
    if (got != 0)
      break;
    uint64_t now = hd__now_ns();
    if (now > until)
      kill(pid, SIGKILL);
    if (pfd >= 0 && now <= until) {
      struct pollfd pd = {pfd, POLLIN, 0};
      (void)poll(&pd, 1, (int)((until - now) / 1000000u) + 1);
    } else {
      usleep(1000);
    }
  }
  if (pfd >= 0)
    close(pfd);
}

/* Give wk back to the caller that lent it (or that will keep it), when
 * it is healthy and idle: no task of its own is left, nothing half-read,
 * no signal sent. */
static void keep_worker(procs *pp, worker *wk) {
  hd__kept *k = pp->kept;
  if (k == NULL || wk->index >= k->cap || k->fd[wk->index] >= 0 || wk->fd < 0 ||
      wk->pid <= 0 || wk->n > 0 || wk->term_sent != 0 || wk->killed_late ||
      wk->corrupt != NULL || wk->in.len > 0)
    return;
  if (wk->poll != NULL) {
    uv_poll_stop(wk->poll);
    uv_close((uv_handle_t *)wk->poll, free_handle);
    wk->poll = NULL;
  }
  k->pid[wk->index] = wk->pid;
  k->fd[wk->index] = wk->fd;
  wk->pid = 0;
  wk->fd = -1;
}

static void procs_stop(void *state) {
  procs *pp = state;
  pp->stopping_all = 1;
  /* Closing a worker's socket ends it; one that does not end in time is
     killed, and every one is reaped. Kept workers that can go on go back
     to their keeper instead. */
  for (unsigned i = 0; i < pp->nworkers; i++) {
    keep_worker(pp, &pp->w[i]);
    close_worker(&pp->w[i]);
  }
  if (pp->loop_ready) {
    uv_run(&pp->loop, UV_RUN_DEFAULT); /* close the handles */
    uv_loop_close(&pp->loop);
  }
  uint64_t until = hd__now_ns() + STOP_GRACE_NS;
  for (unsigned i = 0; i < pp->nworkers; i++) {
    worker *wk = &pp->w[i];
    while (wk->n > 0) {
      flight *f = pop_flight(pp, wk);
      free_inputs(f);
      hd__exec_cleanup(&f->x);
    }
    if (wk->pid > 0)
      reap(wk->pid, until);
  }
  hd__ssh_stop(pp);
  free_procs(pp);
}

int hd__kept_init(hd__kept *k, unsigned cap) {
  k->cap = 0;
  k->pid = hd__calloc(cap + 1, sizeof(pid_t));
  k->fd = hd__calloc(cap + 1, sizeof(int));
  if (k->pid == NULL || k->fd == NULL) {
    hd__kept_forget(k);
    return HD_ENOMEM;
  }
  for (unsigned i = 0; i < cap; i++)
    k->fd[i] = -1;
  k->cap = cap;
  return HD_OK;
}

void hd__kept_stop(hd__kept *k) {
  for (unsigned i = 0; i < k->cap; i++)
    if (k->fd[i] >= 0) {
      hd__fork_close(k->fd[i]); /* it reads the end, and exits */
      k->fd[i] = -1;
    }
  uint64_t until = hd__now_ns() + STOP_GRACE_NS;
  for (unsigned i = 0; i < k->cap; i++)
    if (k->pid[i] > 0) {
      reap(k->pid[i], until);
      k->pid[i] = 0;
    }
  hd__kept_forget(k);
}

void hd__kept_forget(hd__kept *k) {
  hd__free(k->pid);
  hd__free(k->fd);
  k->pid = NULL;
  k->fd = NULL;
  k->cap = 0;
}

const struct hd_backend_ops hd__backend_processes = {
    HD_BACKEND_OPS_VERSION,
    "processes",
    "tasks in worker processes forked at start: crashes are contained",
    procs_start,
    procs_submit,
    procs_finish,
    procs_wait,
    procs_capacity,
    procs_stop,
};

const struct hd_backend_ops hd__backend_ssh = {
    HD_BACKEND_OPS_VERSION,
    "ssh",
    "tasks on other hosts, through the system ssh client (hosts in the run "
    "options)",
    ssh_start,
    procs_submit,
    procs_finish,
    procs_wait,
    procs_capacity,
    procs_stop,
};
