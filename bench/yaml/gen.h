/* Workflow files for the benchmark: a random layered DAG of shell tasks,
 * the same for a given size and seed. */
#ifndef BENCH_YAML_GEN_H
#define BENCH_YAML_GEN_H

#include <stddef.h>
#include <stdint.h>

typedef struct gen_opts {
  size_t tasks;
  uint64_t seed;
  int params; /* give each task a params: mapping used by its run: */
} gen_opts;

typedef struct gen_info {
  size_t edges;  /* the after: entries written */
  size_t width;  /* tasks per layer */
  size_t layers; /* the last one may be partial */
  size_t bytes;  /* the size of the file */
} gen_info;

/* Write the workflow o describes to path, replacing any file there. Returns
 * 0, or -1 with errno set when the file cannot be written. */
int gen_write(const char *path, const gen_opts *o, gen_info *info);

#endif
