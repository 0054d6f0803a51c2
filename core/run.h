/* A run in progress: the state every backend shares (per-task states, the
 * report being filled, events), and the helpers backends use to move a
 * task through its states. */
#ifndef HODOS_CORE_RUN_H
#define HODOS_CORE_RUN_H

#include "exec.h"

typedef struct hd__tstate {
  hd_state state;
  unsigned attempts;
  int exit_status;
  int term_signal;
  unsigned worker;
  uint64_t start_ns, end_ns;
  char *message;
  char *stderr_tail;
  hd_value *result;
} hd__tstate;

struct hd_report {
  int status;
  hd__plan *plan; /* owned: names and shape of the run */
  hd__tstate *tasks;
  size_t finished;
  hd__diags diags;
  uint64_t start_ns, end_ns;
};

typedef struct hd__run {
  const hd__plan *plan;
  hd_run_opts opts;
  hd_report *report;
  char *results_dir; /* RUN_DIR/results, or NULL */
  char *logs_dir;    /* RUN_DIR/logs, or NULL */
  int failed;        /* a task failed */
  int interrupted;
} hd__run;

/* One backend: how a plan's tasks get run. */
typedef struct hd__backend {
  const char *name;
  const char *description;
  int (*run)(hd__run *r); /* runs the whole plan; returns HD_OK or ENOMEM */
} hd__backend;

HD__INTERNAL const hd__backend *hd__backend_find(const char *name);

/* Make a report for plan (taking a reference) with every task pending;
 * plan may be NULL for a run that could not start. */
HD__INTERNAL int hd__report_new(hd__plan *plan, hd_report **out);

/* Run plan with the options; fills r's report. */
HD__INTERNAL int hd__run_plan(hd_report *report, const hd_run_opts *o);

/* True once the run must not start new tasks. */
HD__INTERNAL int hd__run_stopping(hd__run *r);

/* Run one task on the calling thread (worker number w): gather its inputs,
 * execute, record the outcome and emit events. Returns the final state. */
HD__INTERNAL hd_state hd__run_task(hd__run *r, uint32_t node, unsigned w);

/* Mark a task that will not run as skipped (a dependency failed) or
 * cancelled, with an event. */
HD__INTERNAL void hd__run_not_run(hd__run *r, uint32_t node, hd_state s,
                                  const char *fmt, ...) HD_PRINTF(4, 5);

#endif
