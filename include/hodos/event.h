/* Events: every change of a task's state during a run goes through one
 * hook. Progress displays, event logs and reports are all readers of it. */
#ifndef HODOS_EVENT_H
#define HODOS_EVENT_H

#include <stdint.h>

#include "common.h"

HD_BEGIN_DECLS

/* The states of a task. The numbers are stable. */
typedef enum hd_state {
  HD_STATE_PENDING = 0,   /* waiting for its dependencies */
  HD_STATE_READY = 1,     /* dependencies done, waiting for a worker */
  HD_STATE_RUNNING = 2,   /* running */
  HD_STATE_DONE = 3,      /* finished with a result */
  HD_STATE_FAILED = 4,    /* failed (after its retries) */
  HD_STATE_SKIPPED = 5,   /* not run because a dependency failed */
  HD_STATE_CANCELLED = 6, /* not run or stopped: interrupt or stop on failure */
} hd_state;

/* "pending", "ready", "running", "done", "failed", "skipped", "cancelled". */
HD_API const char *hd_state_name(hd_state s);

/* What happened. The numbers are stable. */
typedef enum hd_event_type {
  HD_EVENT_STARTED = 1,   /* a task started running */
  HD_EVENT_DONE = 2,      /* a task finished */
  HD_EVENT_FAILED = 3,    /* a task failed */
  HD_EVENT_SKIPPED = 4,   /* a task was skipped */
  HD_EVENT_CANCELLED = 5, /* a task was cancelled */
  HD_EVENT_CACHED = 6,    /* a task was done with a stored result */
  HD_EVENT_QUEUED = 7,    /* a task's dependencies are accounted for: it
                             goes to the backend (then starts, or is
                             skipped, cancelled or cached) */
  HD_EVENT_RETRIED = 8,   /* an attempt failed and the task will be tried
                             again (message: why it failed); a STARTED
                             follows, unless the run stops first: then a
                             FAILED ends it with that failure */
} hd_event_type;

/* "started", "done", "failed", "skipped", "cancelled", "cached", "queued",
 * "retried". */
HD_API const char *hd_event_type_name(hd_event_type t);

/* One event. Pointers are valid only during the callback. */
typedef struct hd_event {
  hd_event_type type;
  const char *task;    /* the task's name */
  size_t index;        /* the task's index in its plan (expansions
                          counted one by one; hd_plan_node_name()) */
  uint64_t time_ns;    /* CLOCK_MONOTONIC */
  uint64_t elapsed_ns; /* the attempt's duration (DONE, FAILED, RETRIED),
                          else 0 */
  unsigned attempt;    /* 1 for the first attempt */
  unsigned worker;     /* the worker that ran it */
  const char *message; /* why it failed, was skipped or cancelled; or NULL */
  size_t done;         /* tasks finished so far, this one included */
  size_t total;        /* tasks in the run */
  int failure_allowed; /* FAILED, but allow_failure lets the run go on */
  const char *host;    /* the host that ran it (ssh backend), or NULL */
  uint64_t size;       /* DONE, CACHED: its result's size in bytes */
  uint64_t wire_size;  /* DONE: its result's size as it travelled from a
                          worker (a compressed frame), or 0 when it did not
                          travel */
} hd_event;

/* Receives events. It is called from whichever thread ran the task (the
 * caller's thread with the serial backend, a worker with threads), but
 * never for two events at once: hodos serialises the calls, and neither
 * time_ns nor done goes back from one call to the next. It should
 * return quickly, since the worker waits. */
typedef void (*hd_event_cb)(const hd_event *ev, void *data);

HD_END_DECLS

#endif
