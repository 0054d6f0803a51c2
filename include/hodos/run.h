/* Running a graph, and the report of a run. */
#ifndef HODOS_RUN_H
#define HODOS_RUN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "error.h"
#include "event.h"
#include "graph.h"
#include "value.h"

HD_BEGIN_DECLS

typedef struct hd_report hd_report;

/* Options of a run. Fill with hd_run_opts_init() and then set what you
 * need; fields are only ever appended. */
typedef struct hd_run_opts {
  const char *backend; /* a backend's name: "serial" (the default, also
                          for NULL), "threads" or "processes" (workers
                          forked when the run starts; see backend.h) */
  unsigned jobs;       /* workers or slots; 0 means one per CPU */
  int keep_going;      /* nonzero: after a failure, run all that does not
                          depend on it; zero: stop at the first failure */
  const char *run_dir; /* when set, each result is written to
                          RUN_DIR/results/TASK and the standard error of
                          each shell task to RUN_DIR/logs/TASK.stderr */
  /* When set, the run checks *interrupt: once it is nonzero, no task
     starts, running shell tasks get SIGTERM (then SIGKILL after two
     seconds) and the run ends with HD_EINTR. Set it from a signal
     handler. */
  volatile sig_atomic_t *interrupt; /* with "processes", 1 lets running
                                       tasks finish and 2 stops them */
  hd_event_cb on_event;             /* receives every event, or NULL */
  void *event_data;                 /* passed to on_event */
  /* When set, a folder (made if missing, readable by its owner only)
     where every result is kept by its task's cache key: a hash of the
     task's definition, its input values and its input files' contents.
     A task whose key has a kept result is not run: it ends done with that
     result, reported cached (HD_EVENT_CACHED), unless its cache setting
     is off. One run uses a store at a time: another gets HD_ESTATE, with
     a diagnostic naming the process that holds it. */
  const char *store;
  /* With store: nonzero reuses, also for tasks whose cache is off, what
     the last run using the store finished before it was stopped (its
     journal), so that an interrupted run goes on where it stopped. */
  int resume;
  /* Nonzero: free a task's result as soon as every task that runs after
     it has ended, so that a run holds only the results still needed;
     the results of the final tasks (those no task runs after) are kept.
     hd_report_result() gives NULL for a freed result (run_dir keeps them
     all on disk). Zero (the default): the report keeps every result. */
  int release_results;
  /* Memory for results. A result is kept as it is when the results so
     kept, it included, take at most mem_limit bytes; otherwise it is
     compressed with zstd, and written to a spill file (made in
     spill_dir, unlinked at once, so gone with the process) when the
     results in memory, as they are and compressed, its frame included,
     would take more than spill_limit bytes: neither limit is passed. Held
     results are read back, and checked, when a task needs them or
     hd_report_result() is asked; results under 64 bytes are always kept as they
     are. mem_limit 0 (the default) means a quarter of the machine's memory;
     HD_MEM_UNLIMITED keeps every result as it is. spill_limit 0 (the default)
     means twice mem_limit. */
  size_t mem_limit;
  size_t spill_limit;
  /* Where the spill file is made: NULL (the default) means the store when
     one is set, else run_dir, else $TMPDIR or /tmp. */
  const char *spill_dir;
  /* The ssh backend's hosts (see hd_host): each runs as many tasks at once
     as its slots, in sessions of one ssh connection. */
  const struct hd_host *hosts;
  size_t nhosts;
  /* The ssh client and its options, split at blanks (no quoting): NULL
     means $HODOS_SSH_COMMAND when set, else "ssh". hodos adds BatchMode,
     keep-alives and connection sharing; ~/.ssh/config applies. */
  const char *ssh_command;
  /* Plugins for the workers on other hosts to open (the paths a
     workflow's plugins: were opened from). */
  const char *const *plugins;
  size_t nplugins;
  /* Nonzero: no task's start and end times are read (each is 0 in the
     report and its events; the run's own start and end still are). A
     clock read is a third or more of what a tiny function task costs the
     threads backend (about 15 ns of 45 on a virtual machine measured
     here): for runs of millions of such tasks whose times nobody reads.
     Timeouts still apply. */
  int no_task_times;
} hd_run_opts;

/* A host of the ssh backend. */
typedef struct hd_host {
  const char *host;    /* a name, an address or an alias of ~/.ssh/config */
  const char *user;    /* NULL: ssh's default */
  unsigned port;       /* 0: ssh's default */
  unsigned slots;      /* tasks at once; 0: the host's CPU count (asked
                          of it at start; 1 when it does not answer) */
  const char *command; /* the worker there, run by the login shell; NULL
                          means "hodos worker --stdio" */
  /* Nonzero: do not start workers; reach `hodos serve` listening on this
     port of the host's loopback, through an ssh tunnel hodos opens and
     closes itself, one connection per slot, each presenting token (NULL:
     $HODOS_TOKEN). */
  unsigned tunnel;
  const char *token;
  /* Nonzero: turn ssh's host-key checking off for this host (the key is
     neither checked nor recorded). Zero, the default, leaves it to ssh's
     configuration. */
  int no_host_key_check;
} hd_host;

/* For mem_limit: keep every result as it is. */
#define HD_MEM_UNLIMITED ((size_t)-1)

/* Where a task's result is held (hd_task_info.held). */
typedef enum hd_held {
  HD_HELD_MEMORY = 0,     /* in memory, as it is (or no result) */
  HD_HELD_COMPRESSED = 1, /* in memory, compressed */
  HD_HELD_SPILLED = 2,    /* in the spill file */
} hd_held;

/* Fill o with the defaults. */
HD_API void hd_run_opts_init(hd_run_opts *o);

/* Validate g, then run it with the options o (NULL for defaults). A report
 * is returned in *report whenever one could be made, also on failure; free
 * it with hd_report_free(). The graph is not changed and may be run again.
 * Returns HD_OK when every task is done; HD_ETASK when a task failed;
 * HD_EINTR when interrupted; HD_EGRAPH or HD_ECYCLE when the graph is
 * invalid (the report holds the diagnostics); HD_ENOTSUP for an unknown
 * backend; HD_EIO when run_dir cannot be written; HD_ENOMEM.
 * Several runs may go on at once in different threads, on different
 * graphs. */
HD_API int hd_run(hd_graph *g, const hd_run_opts *o, hd_report **report);

/* Run a compiled plan: the same as hd_run() without the validation. The
 * plan is not changed; any number of runs of one plan may go on at once.
 * With the threads backend, the calling thread is one of the workers and
 * the others are threads the process keeps between runs (made by the
 * first run with more than one worker; sleeping, using no CPU, between
 * runs), so that a loop of small runs starts no thread per run. */
HD_API int hd_plan_run(hd_plan *p, const hd_run_opts *o, hd_report **report);

/* Free a report and the results it holds. NULL does nothing. */
HD_API void hd_report_free(hd_report *r);

/* What became of one task. Strings live as long as the report. Times are
 * on CLOCK_MONOTONIC's scale. On an x86-64 CPU with an invariant
 * time-stamp counter, the scheduler reads the counter instead of the clock
 * (it costs a third as much on some virtual machines), converted from a
 * pair of readings of both that each worker renews at least every 50 us:
 * a time is then within about a microsecond of CLOCK_MONOTONIC's. A
 * task's start_ns is never before the end_ns of any of its
 * dependencies. */
typedef struct hd_task_info {
  const char *name;
  hd_state state;
  unsigned attempts;   /* attempts made */
  int exit_status;     /* a shell task's exit status, or -1 */
  int term_signal;     /* the signal that ended a shell task, or 0 */
  unsigned worker;     /* the worker that ran it */
  uint64_t start_ns;   /* CLOCK_MONOTONIC; 0 when it did not start, or
                          with no_task_times */
  uint64_t end_ns;     /* CLOCK_MONOTONIC; 0 as start_ns */
  const char *message; /* why it failed, was skipped or cancelled; or NULL */
  const char *stderr_tail; /* a shell task's last stderr bytes, or NULL */
  int failure_allowed;     /* it failed, and allow_failure let the run go on */
  int cached;   /* done with a stored result, without running (store) */
  hd_held held; /* where its result is held (see mem_limit) */
} hd_task_info;

/* The run's result code (as returned by hd_run()). */
HD_API int hd_report_status(const hd_report *r);

/* The number of tasks, and task i's info (in the plan's order: the
 * graph's nodes, each template as its expansions one by one).
 * Errors: HD_EINVAL (NULL or out of range). */
HD_API size_t hd_report_task_count(const hd_report *r);
HD_API int hd_report_task(const hd_report *r, size_t i, hd_task_info *info);

/* Count the tasks in a state. */
HD_API size_t hd_report_count(const hd_report *r, hd_state s);

/* Task i's result, or the named task's result (borrowed: it lives as long
 * as the report). NULL when the task has no result, or when its result
 * was held compressed or spilled and cannot be read back (it is read
 * back, and kept in memory from then on, on the first call). */
HD_API hd_value *hd_report_result(const hd_report *r, size_t i);
HD_API hd_value *hd_report_result_by_name(const hd_report *r, const char *name);

/* What the memory limits (mem_limit, spill_limit) did over a run. */
typedef struct hd_held_info {
  size_t compressed;    /* results compressed and kept in memory */
  size_t spilled;       /* results written to the spill file */
  uint64_t raw_bytes;   /* the size of both, as they were */
  uint64_t frame_bytes; /* the size of both, as compressed frames */
} hd_held_info;

/* Fill *info for the run. Errors: HD_EINVAL (an argument is NULL). */
HD_API int hd_report_held(const hd_report *r, hd_held_info *info);

/* Nonzero when no other task depends on task i (a final result). */
HD_API int hd_report_is_sink(const hd_report *r, size_t i);

/* The diagnostics of a run that could not start (an invalid graph, an
 * unknown backend). */
HD_API size_t hd_report_diag_count(const hd_report *r);
HD_API const hd_diag *hd_report_diag(const hd_report *r, size_t i);

/* The file name a task's result and log take in a run folder
 * (run_dir/results/NAME, run_dir/logs/NAME.stderr): the task's name with
 * '/', '%' and a leading '.' written as %XX; past 200 bytes, its first
 * 180 or so (whole UTF-8 characters), "%~" and 16 hex digits of a hash
 * of the name, which no other encoded name holds. Errors: HD_EINVAL (NULL),
 * HD_ETOOBIG (buf, of size bytes, cannot hold it and its NUL). */
HD_API int hd_task_file_name(const char *task, char *buf, size_t size);

/* Wall-clock duration of the run in nanoseconds. */
HD_API uint64_t hd_report_elapsed_ns(const hd_report *r);

HD_END_DECLS

#endif
