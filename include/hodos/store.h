/* Looking into a store (run.h's hd_run_opts.store): what a run would
 * reuse and what it would run, and why; and cleaning the store. */
#ifndef HODOS_STORE_H
#define HODOS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "graph.h"

HD_BEGIN_DECLS

typedef struct hd_status hd_status;

/* One task's status. Strings live as long as the status. */
typedef struct hd_task_status {
  const char *name;
  int up_to_date;     /* nonzero: a run would reuse its kept result */
  const char *reason; /* why it would run (such as "input file 'x'
                         changed"); NULL when it is up to date */
} hd_task_status;

/* What a run of plan p with store (a folder) would do, task by task,
 * without running anything or changing the store: a task is up to date
 * when its key has a kept result and its output files are as they were
 * made, which needs every task it runs after to be up to date too. The
 * store may be in use by a run meanwhile. A store that does not exist
 * yet makes every task run. *out is set whenever a status could be made,
 * also on failure, when hd_status_message() says why. Errors: HD_EINVAL,
 * HD_EIO (the store cannot be read), HD_ENOMEM. */
HD_API int hd_plan_status(hd_plan *p, const char *store, hd_status **out);

HD_API size_t hd_status_count(const hd_status *s);
HD_API int hd_status_task(const hd_status *s, size_t i, hd_task_status *out);
/* How many tasks are up to date. */
HD_API size_t hd_status_up_to_date(const hd_status *s);
/* Why hd_plan_status() failed, or NULL. */
HD_API const char *hd_status_message(const hd_status *s);
HD_API void hd_status_free(hd_status *s);

/* What hd_store_clean() did. */
typedef struct hd_clean_result {
  size_t kept, removed;             /* results */
  uint64_t kept_bytes, freed_bytes; /* bytes of the store's pack */
  char message[512];                /* why it failed, or "" */
} hd_clean_result;

/* Clean the store: keep the results the last run used (finished or
 * reused) and drop every other one; with max_bytes nonzero, keep instead
 * as many results as fit in max_bytes, those of the last run first, then
 * the most recently used (made or reused by a run). Takes the store's lock:
 * fails with HD_ESTATE while a run uses it (out->message names the process).
 * Damaged records are dropped. Errors: HD_EINVAL, HD_ENOENT (no store),
 * HD_ESTATE, HD_EIO, HD_ENOMEM; out->message says more. */
HD_API int hd_store_clean(const char *store, uint64_t max_bytes,
                          hd_clean_result *out);

HD_END_DECLS

#endif
