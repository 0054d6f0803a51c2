/* A file over the loader's size cap is still timed, through
 * hd_workflow_load_string on its bytes read beforehand, so that the row
 * says how far the loader itself is from the goal. */
#include "run.h"

#include <hodos/hodos.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"

#define SEED 0x9e3779b97f4a7c15u

/* A file's bytes, for hd_workflow_load_string when hd_workflow_load
 * refuses the file for its size. */
typedef struct text {
  char *data;
  size_t len;
} text;

enum { RUN_OK, RUN_TOO_BIG, RUN_FAILED };

static double peak_growth(long base) {
  long peak = rss_peak_kib();
  return base < 0 || peak < 0 ? -1 : (double)(peak - base) / 1024.0;
}

static int over_cap(const hd_workflow *wf) {
  for (size_t i = 0; i < hd_workflow_diag_count(wf); i++)
    if (hd_workflow_diag(wf, i)->code == HD_ETOOBIG)
      return 1;
  return 0;
}

static void print_diags(const char *what, int rc, const hd_workflow *wf) {
  fprintf(stderr, "bench_yaml: %s: %s\n", what, hd_strerror(rc));
  size_t n = hd_workflow_diag_count(wf);
  for (size_t i = 0; i < n && i < 5; i++) {
    char line[512];
    hd_diag_format(hd_workflow_diag(wf, i), line, sizeof(line));
    fprintf(stderr, "  %s\n", line);
  }
  if (n > 5)
    fprintf(stderr, "  and %zu more\n", n - 5);
}

static int load(const char *path, const text *t, hd_workflow **wf) {
  if (t->data != NULL)
    return hd_workflow_load_string(t->data, t->len, path, wf);
  return hd_workflow_load(path, wf);
}

static int run_once(const char *path, const text *t, const gen_info *g,
                    size_t tasks, sample *s) {
  hd_workflow *wf = NULL;
  hd_plan *plan = NULL;
  long base = rss_peak_start();
  double t0 = clock_now();
  int rc = load(path, t, &wf);
  double t1 = clock_now();
  s->load = t1 - t0;
  s->load_mib = peak_growth(base);
  if (rc != HD_OK) {
    int big = over_cap(wf);
    if (!big)
      print_diags("hd_workflow_load", rc, wf);
    hd_workflow_free(wf);
    return big ? RUN_TOO_BIG : RUN_FAILED;
  }
  base = rss_peak_start();
  t0 = clock_now();
  rc = hd_plan_new(hd_workflow_graph(wf), &plan);
  t1 = clock_now();
  s->plan = t1 - t0;
  s->plan_mib = peak_growth(base);
  int out = RUN_OK;
  if (rc != HD_OK) {
    print_diags("hd_plan_new", rc, wf);
    out = RUN_FAILED;
  } else if (hd_plan_node_count(plan) != tasks ||
             hd_plan_edge_count(plan) != g->edges) {
    fprintf(stderr,
            "bench_yaml: the plan has %zu tasks and %zu edges, the file "
            "%zu and %zu\n",
            hd_plan_node_count(plan), hd_plan_edge_count(plan), tasks,
            g->edges);
    out = RUN_FAILED;
  }
  hd_plan_free(plan);
  hd_workflow_free(wf);
  return out;
}

static int read_text(const char *path, size_t len, text *t) {
  FILE *f = fopen(path, "rb");
  t->data = f != NULL ? malloc(len + 1) : NULL;
  t->len = t->data != NULL ? fread(t->data, 1, len, f) : 0;
  if (f != NULL)
    fclose(f);
  if (t->data == NULL || t->len != len) {
    free(t->data);
    t->data = NULL;
    return -1;
  }
  t->data[len] = '\0';
  return 0;
}

int run_size(const char *path, size_t tasks, int params, int runs, result *r) {
  gen_opts go = {tasks, SEED, params};
  memset(r, 0, sizeof(*r));
  if (gen_write(path, &go, &r->file) != 0) {
    perror("bench_yaml: writing the workflow");
    return -1;
  }
  r->runs = runs;
  double load[MAX_RUNS], plan[MAX_RUNS], lmem[MAX_RUNS], pmem[MAX_RUNS];
  text t = {NULL, 0};
  int rc = RUN_OK;
  for (int i = 0; i < r->runs && rc != RUN_FAILED; i++) {
    sample s = {0, 0, -1, -1};
    rc = run_once(path, &t, &r->file, tasks, &s);
    if (rc == RUN_TOO_BIG && t.data == NULL) {
      if (read_text(path, r->file.bytes, &t) != 0) {
        perror("bench_yaml: reading the workflow");
        rc = RUN_FAILED;
        break;
      }
      r->via_string = 1;
      rc = run_once(path, &t, &r->file, tasks, &s);
    }
    if (rc == RUN_TOO_BIG) {
      fprintf(stderr, "bench_yaml: hd_workflow_load_string refused the "
                      "file for its size too\n");
      rc = RUN_FAILED;
    }
    load[i] = s.load;
    plan[i] = s.plan;
    lmem[i] = s.load_mib;
    pmem[i] = s.plan_mib;
  }
  free(t.data);
  if (rc == RUN_FAILED)
    return -1;
  size_t n = (size_t)r->runs;
  r->med = (sample){median(load, n), median(plan, n), median(lmem, n),
                    median(pmem, n)};
  return 0;
}
