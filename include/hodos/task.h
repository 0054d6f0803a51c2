/* Functions and the task context.
 *
 * A function is registered under a name so that a workflow, a graph node or
 * another process (a forked worker, an MPI rank running the same binary) can
 * find it. When its node runs, it is called with the task: it reads the
 * inputs (its predecessors' results, in the order the dependencies were
 * declared) and params, sets one output, and returns HD_OK or an error. */
#ifndef HODOS_TASK_H
#define HODOS_TASK_H

#include <stddef.h>

#include "common.h"
#include "value.h"

HD_BEGIN_DECLS

typedef struct hd_task hd_task;

/* A task function. data is the pointer given at registration. Return HD_OK
 * on success; any other value fails the task (hd_task_fail() sets the
 * message). Runs on a worker thread or process chosen by the backend. */
typedef int (*hd_fn_cb)(hd_task *t, void *data);

/* Register fn under name (copied). Names are unique in the process.
 * Errors: HD_EINVAL (NULL or empty name, NULL fn), HD_EEXIST (the name is
 * taken), HD_ENOMEM. Thread-safe. */
HD_API int hd_fn_register(const char *name, hd_fn_cb fn, void *data);

/* Remove a registration. Errors: HD_ENOENT. Thread-safe; do not remove a
 * function while a run that uses it is going on. */
HD_API int hd_fn_unregister(const char *name);

/* Find a function by name. fn and data may be NULL when not wanted.
 * Errors: HD_EINVAL, HD_ENOENT. Thread-safe. */
HD_API int hd_fn_lookup(const char *name, hd_fn_cb *fn, void **data);

/* List the registered names, sorted. On success *names is an array of
 * *count strings that the caller frees with hd_fn_list_free().
 * Errors: HD_EINVAL, HD_ENOMEM. Thread-safe. */
HD_API int hd_fn_list(char ***names, size_t *count);
HD_API void hd_fn_list_free(char **names, size_t count);

/* The task's node name. The readers below take a NULL task as one with
 * nothing: NULL, 0, no input, not cancelled. */
HD_API const char *hd_task_name(const hd_task *t);

/* The number of inputs, and input i (borrowed: it lives until the function
 * returns; take a reference to keep it longer). NULL when i is out of
 * range. Both may be called from any thread while the function runs.
 * A task with many inputs (a wide fan-in) has them gathered at its first
 * hd_task_input() call; should that fail (out of memory, a result that
 * cannot be read back), the call gives the empty value,
 * hd_task_cancelled() turns true and the task fails when the function
 * returns. */
HD_API size_t hd_task_input_count(const hd_task *t);
HD_API hd_value *hd_task_input(const hd_task *t, size_t i);

/* A param's value, or NULL when the node has no such param. */
HD_API const char *hd_task_param(const hd_task *t, const char *key);

/* Set the task's output, taking over the caller's reference to v (also on
 * error). A second call replaces the first output. Errors: HD_EINVAL. */
HD_API int hd_task_set_output(hd_task *t, hd_value *v);

/* Record why the task failed (printf-style) and return HD_ETASK, so that a
 * function can write: return hd_task_fail(t, "bad input %zu", i); */
HD_API int hd_task_fail(hd_task *t, const char *fmt, ...) HD_PRINTF(2, 3);

/* Nonzero once the run asks the task to stop: the run was interrupted or
 * the task is past its timeout. Long functions should check it now and
 * then and return HD_ECANCELED. The hd_task_* calls are made from the
 * thread running the task, on its own task only. */
HD_API int hd_task_cancelled(const hd_task *t);

/* The attempt number, 1 for the first. */
HD_API unsigned hd_task_attempt(const hd_task *t);

HD_END_DECLS

#endif
