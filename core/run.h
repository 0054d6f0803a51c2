/* A run in progress: the state every backend shares (per-task states and
 * join counters, the report being filled, events) and the scheduler that
 * moves tasks through their states. */
#ifndef HODOS_CORE_RUN_H
#define HODOS_CORE_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "exec.h"
#include "hold.h"
#include "store.h"

/* What most tasks never need, allocated on demand: shell tasks and tasks
 * that fail, are skipped or cancelled. */
typedef struct hd__textra {
  char *message;
  char *stderr_tail;
  int exit_status;
  int term_signal;
} hd__textra;

/* One task's state in a run: 40 bytes, since a run of a million tiny
 * tasks touches a million of them. */
struct hd__tstate {
  hd_value *result; /* NULL: none, or the shared empty value when DONE */
  uint64_t start_ns, end_ns;
  hd__textra *extra;
  uint32_t attempts;
  uint16_t worker;
  uint8_t state; /* hd_state */
  uint8_t flags; /* HD__T_* */
};
typedef struct hd__tstate hd__tstate;

#define HD__T_CACHED 1   /* done with a stored result */
#define HD__T_RELEASED 2 /* its result was freed (release_results) */
#define HD__T_COUNTED 4  /* its result counts against the raw limit */
#define HD__T_PACKED 8   /* its result is a compressed frame (hold.h) */
#define HD__T_SPILLED 16 /* its result is in the spill file (hold.h) */
/* Cancelled, with no message of its own: its message is "interrupted"
   or "stopped after a failure" (no allocation for each of the millions
   of tasks a stopping run may cancel). */
#define HD__T_INTERRUPTED 32
#define HD__T_STOPPED 64

/* The task's extra part, made when first needed; NULL when out of
 * memory. */
HD__INTERNAL hd__textra *hd__tstate_extra(hd__tstate *t);

static inline const char *hd__tstate_message(const hd__tstate *t) {
  if (t->extra != NULL && t->extra->message != NULL)
    return t->extra->message;
  return t->flags & HD__T_INTERRUPTED ? "interrupted"
         : t->flags & HD__T_STOPPED   ? "stopped after a failure"
                                      : NULL;
}

/* The task states of a report of p: the ones p keeps for its next run
 * (zeroed), or fresh ones; NULL when out of memory. hd__tasks_give()
 * takes them back from a report being freed, whose tasks' extras and
 * results are freed: zeroed and kept for the next run when p keeps none,
 * or freed. */
HD__INTERNAL hd__tstate *hd__tasks_take(hd__plan *p);
HD__INTERNAL void hd__tasks_give(hd__plan *p, hd__tstate *tasks);

#define HD__ONE_PRED 0x80000000u

/* The most workers the threads backend runs (hd_run_opts.jobs). */
#define HD__THREADS_MAX 1024u

/* A run's counters, in one block that the plan keeps from run to run
 * (sched.c): made once per plan, so that a run neither touches fresh
 * memory nor sorts its sources again. */
struct hd__runmem {
  size_t bytes; /* the whole block's, this header included */
  size_t nsrc;
  int fresh;            /* pending holds each task's count of dependencies */
  atomic_uint *pending; /* per task: dependencies not yet accounted for,
                           or HD__ONE_PRED for a task that has one (read
                           instead of the task's node by settle()) */
  uint32_t *npreds;     /* pending's first values */
  uint32_t *rank;       /* per task: place in plan->order, by priority first */
  uint32_t *src;        /* the nsrc sources, least urgent first */
  uint32_t *fns;        /* the plan's function names (string offsets), */
  size_t nfns;          /* each once */
};
typedef struct hd__runmem hd__runmem;

/* The counters for a run of p, pending set: the ones p keeps, or new
 * ones; NULL when out of memory. hd__runmem_give() hands them back to p
 * when it keeps none, or frees them. */
HD__INTERNAL hd__runmem *hd__runmem_take(const hd__plan *p);
HD__INTERNAL void hd__runmem_give(const hd__plan *p, hd__runmem *m);

/* A function node's resolved function, looked up once per run. */
typedef struct hd__fnref {
  hd_fn_cb fn;
  void *data;
} hd__fnref;

struct hd_report {
  int status;
  hd__plan *plan; /* a reference: names and shape of the run */
  hd__tstate *tasks;
  hd__diags diags;
  uint64_t start_ns, end_ns;
  hd__hold *hold; /* with memory limits: the results held, or NULL */
};

/* Per worker: when its last task ended, and whether it went straight on
 * to the next (then that task starts when the last one ended, and the
 * clock is read once per task instead of twice); its clock. One cache
 * line per worker. */
typedef struct hd__wstate {
  /* The latest end of a task it ran (read by other workers: see
     workers_end() in sched.c). */
  _Atomic uint64_t last_end;
  uint32_t unflushed; /* tasks it finished that the run has not counted */
  /* Decrements of held_node's join counter not made yet (see settle()
     in sched.c): held, from tasks whose one dependent is held_node. */
  uint32_t held_node;
  uint32_t held;
  uint8_t chained;
  hd__tclock clock;
} hd__wstate;
_Static_assert(sizeof(hd__wstate) == 64, "a worker's state is a cache line");

/* Worker processes that outlive a run (the processes backend, for a
 * pool): slot i's process and its socket, or pid 0 and fd -1. A run
 * given them lends slot i's worker to its worker i (forking one where
 * the slot is empty), sends it each run's plan in a PLAN frame, and
 * hands back the workers still healthy and idle when it stops. Used by
 * one thread at a time. */
typedef struct hd__kept {
  unsigned cap;
  pid_t *pid;
  int *fd;
} hd__kept;

/* Make k's cap empty slots (HD_ENOMEM), or stop its workers: close each
 * socket (a kept worker ends when it reads its end), wait for each
 * process (SIGKILL past two seconds), and free the slots. */
HD__INTERNAL int hd__kept_init(hd__kept *k, unsigned cap);
HD__INTERNAL void hd__kept_stop(hd__kept *k);
/* The same in a forked child, where the sockets are closed already and
 * the processes are not its own: only the memory is freed. */
HD__INTERNAL void hd__kept_forget(hd__kept *k);

/* Threads that outlive a run (the threads backend, for a pool): n
 * threads that serve as workers 1..n of each run given them (the thread
 * that runs the run is worker 0), instead of threads started for the run
 * and joined after it. Between runs they spin briefly, then sleep. Used
 * by one run at a time. hd__kthreads_new() returns NULL when out of
 * memory or when no thread could be started; hd__kthreads_free() stops
 * and joins them (NULL does nothing). */
typedef struct hd__kthreads hd__kthreads;
HD__INTERNAL hd__kthreads *hd__kthreads_new(unsigned n);
HD__INTERNAL void hd__kthreads_free(hd__kthreads *k);

/* ssh master connections that outlive a run (a pool's): a control
 * socket per host of the pool, in a folder that the first run makes; a
 * later run that finds a host's master alive (its socket answers) uses it
 * instead of connecting again, which is most of a small call's time. A
 * master left alone ends by itself a minute after its last session
 * (ControlPersist), so nothing outlives a process that dies for long.
 * Used by one run at a time. */
typedef struct hd__sshkeep {
  char *dir;             /* the control folder, or NULL until a run makes it */
  const unsigned *index; /* per host of the run: its place among the
                            pool's hosts (set by the pool for each run) */
} hd__sshkeep;

/* Close k's masters that are up (`ssh -O exit`, with the pool's hosts and
 * client command) and remove its folder; hd__sshkeep_forget() only frees
 * it, in a forked child, where the masters are the parent's. */
HD__INTERNAL void hd__sshkeep_stop(hd__sshkeep *k, const struct hd_host *hosts,
                                   size_t nhosts, const char *ssh_command);
HD__INTERNAL void hd__sshkeep_forget(hd__sshkeep *k);

/* The function a kept worker, or a worker on another host, runs for a
 * task marked as a pool's packed chunk (pool.c): its one input holds its
 * items' arguments, packed; its output, their results, packed; the plan's
 * node names the user's function, looked up in the worker. */
HD__INTERNAL int hd__pool_packed_chunk(hd_task *t, void *data);

/* What a caller inside the library (the pool) adds to a run. */
typedef struct hd__run_ext {
  /* Values given to tasks as their first inputs, before their
     predecessors' results: task t's are seeds[seed_off[t]] up to
     seeds[seed_off[t + 1]] (seed_off has a count + 1 entries). */
  hd_value *const *seeds;
  const size_t *seed_off;
  /* Functions to call instead of looking up each function task's name
     (per task; an entry with fn NULL is looked up as usual). */
  const hd__fnref *fns;
  /* Called once per task as it reaches its final state, before its
     dependents are released, from whichever thread settles it (several
     at once with "threads"). */
  void (*on_settle)(void *ctx, uint32_t node, const hd__tstate *t);
  void *settle_ctx;
  /* Workers kept from run to run (processes), or NULL: forked at start
     and reaped at stop. */
  hd__kept *kept;
  /* With kept workers or ssh, per task: nonzero when it is a packed
     chunk (hd__pool_packed_chunk), or NULL. */
  const uint8_t *packed;
  /* Threads kept from run to run (threads), or NULL: started for the run
     and joined at its end. */
  hd__kthreads *threads;
  /* ssh, or NULL: per host of the run's options, set (atomically: a
     pool's threads read it) when the run has reached its hosts, before
     any task starts, to the slots each was given or learned (its CPU
     count), or 0 for a host that could not be reached; so that a pool
     asks a host's CPU count once, not at every run. */
  unsigned *host_slots;
  /* ssh, or NULL: master connections kept from run to run. */
  hd__sshkeep *ssh_keep;
} hd__run_ext;

typedef struct hd__retryq hd__retryq;

typedef struct hd__run {
  const hd__plan *plan;
  hd__run_ext ext;
  hd_run_opts opts;
  hd_report *report;
  char *results_dir;    /* RUN_DIR/results, or NULL */
  char *logs_dir;       /* RUN_DIR/logs, or NULL */
  char *tmp_dir;        /* made for {after.TASK} files without a run
                           folder, removed at the end; or NULL */
  hd__runmem *mem;      /* pending, rank and the sources */
  atomic_uint *pending; /* mem->pending */
  /* The functions of the run, resolved once per name: an open-addressing
     table keyed by the name's string offset in the plan (the plan keeps
     one copy of each function's name). See hd__run_fn(). */
  uint32_t *fn_keys; /* UINT32_MAX: empty */
  hd__fnref *fn_refs;
  uint32_t fn_mask;
  uint32_t fn_hot_key; /* one name's string offset (UINT32_MAX: none) */
  hd__fnref fn_hot;    /* and its function: most plans have one */
  atomic_size_t finished;
  atomic_int failed;      /* a task failed */
  atomic_int undone;      /* a task ended other than done (settle()) */
  atomic_int interrupted; /* the run was interrupted */
  /* The latest end of a task that ran on no worker of the run (ended
     with hd__now_ns()). */
  _Atomic uint64_t stray_end;
  pthread_mutex_t event_lock;
  size_t event_done; /* tasks whose last event was sent (under
                        event_lock): the events' done */
  const struct hd_backend_ops *backend;
  void *backend_state;
  hd__wstate *workers; /* one per worker, each on a cache line of its own */
  void *workers_mem;   /* the allocation workers is in */
  unsigned nworkers;
  int one_thread; /* every task is settled on one thread (pending needs no
                     atomic operation) */
  int lazy_count; /* workers count their tasks until hd__run_worker_idle() */
  int plain;      /* nothing watches or keeps tasks one by one (no events,
                     store, run folder, seeds, settle hook nor released
                     results): plain function tasks take the short path
                     (run_plain() in sched.c) */
  int lean;       /* plain, on the one worker of the threads backend: the lean
                     path (lean_task() in sched.c) */
  atomic_uint *consumers; /* with release_results: per task, the tasks
                             after it that have not ended */
  /* With the threads backend and retry delays: tasks whose retry waits
     out its delay in retryq instead of on a worker (retrying: per task,
     1 while it is there or on its way back). NULL: retries wait on their
     worker. */
  hd__retryq *retryq;
  uint8_t *retrying;
  hd__store *store;    /* or NULL */
  hd__key *keys;       /* with a store: per task, its cache key */
  hd__key *vhash;      /* with a store: per task done, its result's hash,
                          made once for every task after it */
  uint8_t *keyed;      /* with a store: per task, whether keys[] is set */
  hd__keyparts *parts; /* with a store: per task, what its key is made of */
  /* Set by backends for events: per worker, the host it runs on (ssh);
     per task, its result's size as it travelled (processes, ssh). */
  const char *const *worker_hosts;
  uint32_t *wire_size;
} hd__run;

/* The function a function task calls in this run: the caller's own for
 * the task (ext.fns), or its name's, found when the run started; NULL
 * when none is registered under that name. */
/* The slot of the run's function table that holds key (a name's string
 * offset), or the empty one where it goes. */
static inline uint32_t hd__run_fn_slot(const hd__run *r, uint32_t key) {
  uint32_t i = (key * 2654435761u) & r->fn_mask;
  while (r->fn_keys[i] != UINT32_MAX && r->fn_keys[i] != key)
    i = (i + 1) & r->fn_mask;
  return i;
}

static inline hd__fnref hd__run_fn(const hd__run *r, uint32_t node) {
  if (r->ext.fns != NULL && r->ext.fns[node].fn != NULL)
    return r->ext.fns[node];
  uint32_t key = r->plan->nodes[node].what;
  if (key == r->fn_hot_key)
    return r->fn_hot;
  hd__fnref none = {NULL, NULL};
  if (r->fn_keys == NULL)
    return none;
  uint32_t i = hd__run_fn_slot(r, key);
  return r->fn_keys[i] == UINT32_MAX ? none : r->fn_refs[i];
}

/* Make a report for plan (taking a reference) with every task pending;
 * plan may be NULL for a run that could not start. */
HD__INTERNAL int hd__report_new(hd__plan *plan, hd_report **out);

/* Run the report's plan with the options; fills the report. */
HD__INTERNAL int hd__run_plan(hd_report *report, const hd_run_opts *o);

/* The same, with what ext adds (NULL: nothing). */
HD__INTERNAL int hd__run_plan_ext(hd_report *report, const hd_run_opts *o,
                                  const hd__run_ext *ext);

/* The number of inputs task node receives: its seeds and its
 * predecessors' results. */
HD__INTERNAL size_t hd__input_count(const hd__run *r, uint32_t node);

/* The scheduler's steps (sched.c), for backends that run tasks out of
 * the thread that settles them. A ready task goes through
 * hd__task_gate(); when it is to run, each attempt is
 * hd__attempt_begin(), its execution, and hd__attempt_end(), which says
 * whether to try again; then hd__task_settle() releases its dependents.
 * Not thread-safe for one task; safe for different tasks. */
HD__INTERNAL int hd__task_gate(hd__run *r, uint32_t node);
HD__INTERNAL int hd__attempt_begin(hd__run *r, uint32_t node, unsigned w,
                                   hd_value **inputs, size_t ninputs,
                                   hd__exec *x);
HD__INTERNAL int hd__attempt_end(hd__run *r, uint32_t node, unsigned w,
                                 hd__exec *x, int rc);
/* For an attempt that waits behind another on its worker: begun without
 * its STARTED event, which hd__attempt_started() sends (and its start
 * time sets) when it does start. */
HD__INTERNAL int hd__attempt_begin_queued(hd__run *r, uint32_t node, unsigned w,
                                          hd_value **inputs, size_t ninputs,
                                          hd__exec *x);
HD__INTERNAL void hd__attempt_started(hd__run *r, uint32_t node);
HD__INTERNAL uint32_t hd__task_settle(hd__run *r, uint32_t node, unsigned w);

/* Retries waiting out their delay while the run goes on (retry.c): a
 * thread that submits each task to the run's backend when its delay is
 * over, or at once when the run stops. Used by the threads backend, whose
 * submit() takes tasks from outside its workers while it runs. */
HD__INTERNAL int hd__retryq_start(hd__run *r, hd__retryq **out);
/* Submit node at due (hd__now_ns()). HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__retryq_add(hd__retryq *q, uint32_t node, uint64_t due);
/* Ends the thread (any task left is not submitted) and frees q. */
HD__INTERNAL void hd__retryq_stop(hd__retryq *q);
HD__INTERNAL void hd__attempt_abandon(hd__run *r, uint32_t node, hd__exec *x);
HD__INTERNAL void hd__task_cancel(hd__run *r, uint32_t node);
/* Task node's inputs, each a reference (read back when held), in small
 * when there are at most nsmall; NULL, with why said, on failure. Free
 * them with hd__inputs_free(). */
HD__INTERNAL hd_value **hd__gather_inputs(hd__run *r, uint32_t node,
                                          hd_value **small, size_t nsmall,
                                          size_t *count, hd__buf *why);
HD__INTERNAL void hd__inputs_free(hd_value **inputs, size_t n,
                                  hd_value **small);
/* Whether the run is stopping: interrupted, or failed without keep-going
 * (reads the interrupt flag). */
HD__INTERNAL int hd__run_stopping(hd__run *r);

/* The threads backend's worker w found no task, in its deque nor in
 * others' (it is about to spin or sleep): the tasks it finished are added
 * to the run's count, which ends the run when they were the last. Until
 * then a worker of that backend counts its tasks on its own (settle()),
 * even across the ends of its chains. */
HD__INTERNAL void hd__run_worker_idle(void *run, unsigned w);

/* Ranges of dependents (threads backend). A task with more than
 * HD__RANGE_MIN dependents has them released as one range of the plan's
 * successor lists, edges e0 .. e1 - 1, pushed on its worker w's deque
 * (hd__threads_push_range(), from w's thread) instead of one push per
 * dependent; a worker that takes (part of) a range calls
 * hd__run_edge_ready() for each of its edges, which counts the dependency
 * and returns the dependent when that made it ready (HD_TASK_NONE
 * otherwise), for the worker to run as it runs a task it took.
 * hd__run_range_room() is how many more items a deque may need to hold
 * for ranges. */
HD__INTERNAL uint32_t hd__run_edge_ready(void *run, uint32_t e, unsigned w);
HD__INTERNAL size_t hd__run_range_room(void *run);
HD__INTERNAL void hd__threads_push_range(void *state, unsigned w, uint32_t e0,
                                         uint32_t e1);
/* The same for the run's sources: hd__threads_push_sources() hands the
 * threads backend all n of them as one range before it starts, and
 * hd__run_source() gives source i (the least urgent first). */
HD__INTERNAL void hd__threads_push_sources(void *state, uint32_t n);
HD__INTERNAL uint32_t hd__run_source(void *run, uint32_t i);
/* With one worker (threads backend, jobs 1) and this scheduler's host
 * (hd__run_host_is_ours()): what the worker would do through the host for
 * a task it took (and the tasks each hands back), for the dependents a
 * range of edges makes ready, and for a range of sources (the most
 * urgent first), called directly. No other thread takes that worker's
 * pushes, so it has no one to tell of them between tasks. at_once: as
 * for hd_backend_host.run_at_once, for the first task. */
HD__INTERNAL int hd__run_host_is_ours(const hd_backend_host *host);
HD__INTERNAL void hd__run_chain_alone(void *run, uint32_t task, unsigned w,
                                      int at_once);
HD__INTERNAL void hd__run_edges_alone(void *run, uint32_t e0, uint32_t n,
                                      unsigned w, int at_once);
HD__INTERNAL void hd__run_sources_alone(void *run, uint32_t i0, uint32_t n,
                                        unsigned w, int at_once);
/* The largest first index of a range (edges or sources). */
#define HD__RANGE_FIRST_MAX 0x3fffffffu

/* Results on disk (run.c). */

HD__INTERNAL int hd__make_dirs(const char *path);
HD__INTERNAL int hd__write_result(hd__run *r, const char *name,
                                  const hd_value *v);
HD__INTERNAL int hd__open_log(hd__run *r, const char *name);
/* The end of task name's log file (at most HD__STDERR_TAIL bytes),
 * appended to out: for a task whose worker died before it could send
 * the tail it kept. Nothing when there is none. */
HD__INTERNAL void hd__log_tail(hd__run *r, const char *name, hd__buf *out);

/* The built-in backends. */
HD__INTERNAL extern const struct hd_backend_ops hd__backend_serial;
HD__INTERNAL extern const struct hd_backend_ops hd__backend_threads;
HD__INTERNAL extern const struct hd_backend_ops hd__backend_processes;
HD__INTERNAL extern const struct hd_backend_ops hd__backend_ssh;

#endif
