/* Backends: the one door from the scheduler to the workers.
 *
 * A backend runs tasks that the scheduler declares ready. The scheduler
 * keeps the plan, the join counters, the task states and the failure
 * policy; the backend keeps the workers and the queues. Each task a
 * backend takes is handed back to the scheduler's run() on the worker
 * that runs it: run() executes the task, records its outcome, releases its
 * dependents (submitting them) and returns one of them for the same worker
 * to run next, so that a chain of tasks never goes through a queue.
 *
 * People who write backends include this header; users pick one by name
 * in hd_run_opts.backend. The ops struct is versioned and only appended
 * to. */
#ifndef HODOS_BACKEND_H
#define HODOS_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

HD_BEGIN_DECLS

#define HD_BACKEND_OPS_VERSION 1

/* No task: returned by run() when nothing is left for the worker. */
#define HD_TASK_NONE UINT32_MAX

/* What the scheduler offers a backend for one run. */
typedef struct hd_backend_host {
  void *ctx;
  /* Run task on worker w (0 <= w < the backend's capacity), then return a
     newly ready task for the same worker, or HD_TASK_NONE. Thread-safe:
     every worker calls it, each with its own w. Tasks it makes ready are
     passed to submit(). A task it returns must be passed to run() next
     with the same w (the run counts each worker's tasks when its chain
     ends, so a returned task left aside keeps the run from ending). */
  uint32_t (*run)(void *ctx, uint32_t task, unsigned worker);
  size_t ntasks; /* task ids are 0 .. ntasks - 1 */
  /* rank[t]: t's place in the plan's topological order, tasks with a
     higher priority (hd_node_set_priority()) first; a backend that keeps
     a ready set should prefer lower ranks. */
  const uint32_t *rank;
  /* run() with a hint: at_once is 1 when worker took task straight after
     its last task ended, without waiting (from its own queue, or a first
     try at another's), so that the task's start is that end and the clock
     is read once per task rather than twice. A backend may call either;
     NULL in hosts older than this field. */
  uint32_t (*run_at_once)(void *ctx, uint32_t task, unsigned worker,
                          int at_once);
} hd_backend_host;

struct hd_backend_ops {
  unsigned version; /* HD_BACKEND_OPS_VERSION */
  const char *name;
  const char *description;
  /* Prepare a run with `jobs` workers (0: one per CPU). Workers need not
     start before wait(). Returns HD_OK or an error code. */
  int (*start)(void **state, unsigned jobs, const hd_backend_host *host);
  /* Queue a ready task. Called from the thread that called start() before
     wait(), and from workers inside run(). */
  int (*submit)(void *state, uint32_t task);
  /* Every task has been accounted for: once idle, workers may end. Called
     once, from a worker inside run(), or before wait() for an empty
     plan. */
  void (*finish)(void *state);
  /* Run until finish() has been called and every worker is idle. Called
     once, on the thread that called start(). */
  int (*wait)(void *state);
  /* The number of workers (or slots). */
  unsigned (*capacity)(void *state);
  /* Release everything; state is invalid afterwards. */
  void (*stop)(void *state);
};

/* Register a backend, so that runs can name it. The ops struct must live
 * as long as the process (normally a static const). Errors: HD_EINVAL
 * (NULL, unnamed, missing ops, or a version this library does not know),
 * HD_EEXIST (the name is taken). Thread-safe. */
HD_API int hd_backend_register(const struct hd_backend_ops *ops);

/* Find a backend by name; NULL when there is none. Thread-safe. */
HD_API const struct hd_backend_ops *hd_backend_find(const char *name);

/* The number of registered backends, and backend i (built-in ones first:
 * "serial", "threads"). */
HD_API size_t hd_backend_count(void);
HD_API const struct hd_backend_ops *hd_backend_at(size_t i);

HD_END_DECLS

#endif
