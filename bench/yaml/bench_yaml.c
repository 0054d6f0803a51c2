/* bench/yaml: write workflow files of 10^3 to 10^6 tasks and time loading
 * them with hd_workflow_load (read, parse, check, build and validate the
 * graph), then compiling their graph with hd_plan_new.
 *
 *   bench_yaml [--params] [--min N] [--max N] [--runs R]
 *
 * Sizes are the powers of ten from --min to --max (default 1000 to
 * 1000000). Times are medians of R runs; without --runs, 21 runs up to
 * 10^3 tasks, 11 up to 10^4, 5 up to 10^5 and 3 above. --params gives
 * every task a params: mapping and a {shard} placeholder, which only
 * loaders that know params accept. The files live in a temporary folder
 * that is removed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"
#include "scratch.h"
#include "table.h"

typedef struct opts {
  size_t min, max;
  int runs; /* 0: by size */
  int params;
} opts;

static int runs_for(const opts *o, size_t tasks) {
  if (o->runs > 0)
    return o->runs;
  return tasks <= 1000 ? 21 : tasks <= 10000 ? 11 : tasks <= 100000 ? 5 : 3;
}

static int parse_size(const char *s, size_t *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s || *end != '\0' || v == 0 || v > 100000000)
    return -1;
  *out = (size_t)v;
  return 0;
}

static int parse_opts(int argc, char **argv, opts *o) {
  *o = (opts){1000, 1000000, 0, 0};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    size_t v;
    if (strcmp(a, "--params") == 0)
      o->params = 1;
    else if (i + 1 < argc && strcmp(a, "--min") == 0)
      o->min = parse_size(argv[++i], &v) == 0 ? v : 0;
    else if (i + 1 < argc && strcmp(a, "--max") == 0)
      o->max = parse_size(argv[++i], &v) == 0 ? v : 0;
    else if (i + 1 < argc && strcmp(a, "--runs") == 0)
      o->runs = parse_size(argv[++i], &v) == 0 && v <= MAX_RUNS ? (int)v : -1;
    else
      return -1;
  }
  return o->min == 0 || o->max == 0 || o->runs < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
  opts o;
  if (parse_opts(argc, argv, &o) != 0) {
    fprintf(stderr, "usage: bench_yaml [--params] [--min N] [--max N] "
                    "[--runs R]\n"
                    "N: 1 to 100000000 tasks; R: 1 to 99\n");
    return 2;
  }
  if (scratch_make() != 0) {
    perror("bench_yaml: making a temporary folder");
    return 1;
  }
  table_header(o.params);
  int status = 0, refused = 0;
  for (size_t n = o.min; n <= o.max && status == 0; n *= 10) {
    result r;
    if (run_size(scratch_file(), n, o.params, runs_for(&o, n), &r) != 0) {
      if (o.params)
        fprintf(stderr, "bench_yaml: if the loader refused 'params', see "
                        "bench/yaml/README.md\n");
      status = 1;
      break;
    }
    table_row(n, &r);
    refused |= r.via_string;
  }
  scratch_remove();
  if (refused)
    table_note_via_string();
  return status;
}
