/* Running one attempt of one task, on the calling thread: a shell command
 * (shell.c) or a registered function (task.c). Backends call these. */
#ifndef HODOS_CORE_EXEC_H
#define HODOS_CORE_EXEC_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "plan.h"

/* How much of a shell task's standard error the report keeps. */
#define HD__STDERR_TAIL (16 * 1024)

/* A wide fan-in's inputs, gathered when the function first reads one
 * (hd_task_input()), by whichever of its threads does: a function that
 * only counts them, or reads none, costs no pass over a million
 * results. */
typedef struct hd__lazy {
  atomic_int state; /* 0: not gathered, 1: gathered, 2: could not be */
  pthread_mutex_t lock;
  /* Gathers node's inputs into *inputs (count: as hd__exec.ninputs), or
     says in why why it cannot. */
  int (*fill)(void *ctx, uint32_t node, hd_value ***inputs, hd__buf *why);
  void *ctx;
  hd_value **inputs;
  hd__buf why;
} hd__lazy;

/* Inputs lent when first read (the lean path in sched.c): every slot
 * holds HD__LENT_UNSET until a reader fills them all. Two readers may
 * fill them at once: they store the same values. */
#define HD__LENT_MAX 8
#define HD__LENT_UNSET ((hd_value *)(uintptr_t)1)
typedef struct hd__lent {
  /* Writes node's inputs (as many as hd__exec.ninputs) to out. */
  void (*fill)(void *ctx, uint32_t node, hd_value **out);
  void *ctx;
  _Atomic(hd_value *) slot[HD__LENT_MAX];
} hd__lent;

typedef struct hd__exec {
  /* in */
  const hd__plan *plan;
  uint32_t node;
  hd_value **inputs; /* the predecessors' results, in declaration order */
  size_t ninputs;
  hd__lazy *lazy; /* with inputs NULL: inputs gathered on first use */
  hd__lent *lent; /* with inputs NULL: inputs lent on first use */
  volatile sig_atomic_t *interrupt; /* may be NULL */
  unsigned attempt;
  int log_fd;  /* receives a shell task's whole stderr, or -1 */
  hd_fn_cb fn; /* a function task's function, when resolved */
  void *fn_data;
  uint64_t timeout_ns;     /* 0: none */
  const char *results_dir; /* where {after.TASK} files are, or NULL */
  uint64_t start_ns;
  /* out */
  hd_value *output; /* the result, on success */
  int exit_status;  /* a shell task's exit status, or -1 */
  int term_signal;  /* the signal that ended it, or 0 */
  hd__buf message;  /* why it failed */
  hd__buf err_tail; /* the end of a shell task's stderr */
  int timed_out;    /* it ran past its timeout */
} hd__exec;

/* Both return HD_OK when the task succeeded, HD_ETASK when it failed (the
 * message says why; a timeout is a failure), HD_EINTR when it was
 * interrupted, HD_ENOMEM. A shell task past its timeout gets SIGTERM, then
 * SIGKILL after a grace period; a function cannot be stopped: it sees
 * hd_task_cancelled() turn true and fails when it returns. */
HD__INTERNAL int hd__exec_shell(hd__exec *x);

/* In a forked worker of the processes backend: note the process group of
 * each shell task this process runs in one of the n entries at at
 * (memory shared with hodos), from the task's start until its end, so
 * that hodos can kill the groups of a worker that dies; NULL notes
 * nothing. Call before the process has other threads. */
HD__INTERNAL void hd__shell_groups_at(atomic_int *at, unsigned n);
HD__INTERNAL int hd__exec_fn(hd__exec *x);

/* The context a function task's function is handed. */
struct hd_task {
  hd__exec *x;
  hd_value *output;
  hd__buf message; /* set by hd_task_fail() and the like */
};

/* The end of hd__exec_fn(), for a caller that called x->fn itself (with
 * t = {x, NULL, {0}}) and got rc: what hd__exec_fn() returns, x->output
 * set on success. */
HD__INTERNAL int hd__exec_fn_after(hd__exec *x, hd_task *t, int rc);

/* The node a task context runs, and its function's name. */
HD__INTERNAL uint32_t hd__task_node(const hd_task *t);
HD__INTERNAL const char *hd__task_what(const hd_task *t);

/* Call fn for task t as if its inputs were the n values at inputs (a
 * pool's chunk makes one such call per item), on attempt (what
 * hd_task_attempt() tells fn; 0: t's own). Returns fn's code; on
 * success *out holds the output (or NULL), otherwise the function's
 * message, if it gave one, is appended to message. */
HD__INTERNAL int hd__task_call(hd_task *t, hd_fn_cb fn, void *data,
                               hd_value **inputs, size_t n, unsigned attempt,
                               hd_value **out, hd__buf *message);

/* The retries task t's node is given (a pool's chunk gives each of its
 * items as many). */
HD__INTERNAL unsigned hd__task_retries(const hd_task *t);

/* Call cb with a task context for x, made outside a backend's attempt
 * (a pool's reader running items of its call's chunks itself: see
 * pool.c). x is the caller's, filled as hd__exec_fn() expects it.
 * Returns cb's code. */
HD__INTERNAL int hd__task_with(hd__exec *x, int (*cb)(hd_task *t, void *arg),
                               void *arg);

/* dir/NAME-as-a-file-name SUFFIX (see run.c). */
HD__INTERNAL int hd__file_name(hd__buf *b, const char *dir, const char *name,
                               const char *suffix);

/* Lazy inputs (see hd__lazy): set up with fill and ctx, and released
 * (with the inputs gathered, if any) by hd__lazy_done(). */
HD__INTERNAL void hd__lazy_init(hd__lazy *l,
                                int (*fill)(void *, uint32_t, hd_value ***,
                                            hd__buf *),
                                void *ctx);
HD__INTERNAL void hd__lazy_done(hd__lazy *l, size_t n);

/* Release what an attempt holds (output, message, tail). */
HD__INTERNAL void hd__exec_cleanup(hd__exec *x);

/* The name of a signal, such as "SIGKILL", or "signal 77". buf must hold
 * at least 16 bytes. */
HD__INTERNAL const char *hd__signal_name(int sig, char *buf, size_t len);

#endif
