/* Timing one size: write its workflow, load and plan it R times, and keep
 * the medians. */
#ifndef BENCH_YAML_RUN_H
#define BENCH_YAML_RUN_H

#include <stddef.h>

#include "gen.h"

#define MAX_RUNS 99

typedef struct sample {
  double load, plan;         /* seconds */
  double load_mib, plan_mib; /* growth of peak resident memory, or -1 */
} sample;

typedef struct result {
  gen_info file;
  int runs;
  int via_string; /* the file is over hd_workflow_load's size cap */
  sample med;     /* medians */
} result;

/* Write the workflow of tasks tasks (with params when params is nonzero)
 * to path, time loading and planning it runs times (1 to MAX_RUNS) and
 * fill r. Returns 0, or -1 after saying on stderr what failed. */
int run_size(const char *path, size_t tasks, int params, int runs, result *r);

#endif
