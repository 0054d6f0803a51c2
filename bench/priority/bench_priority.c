/* bench/priority: does running the critical path first pay?
 *
 * A workload with unequal task costs: one chain of CHAIN tasks costing
 * COST_LONG microseconds each, declared after WIDE independent tasks of
 * COST_SHORT microseconds. The lower bound of the makespan with W workers
 * is max(critical path, total work / W). hodos starts the most urgent
 * sources first (the longest path ahead); the same graph with the chain's
 * head given a low user priority shows what happens when it starts last.
 *
 *   bench_priority [WORKERS] [REPEATS]
 *
 * Task bodies spin on the clock, so the figures hold on a loaded machine
 * only as far as the machine gives the workers their cores; quote medians
 * (printed). */
#include <hodos/hodos.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHAIN 40
#define COST_LONG 5000 /* us */
#define WIDE 400
#define COST_SHORT 500 /* us */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int spin(hd_task *t, void *data) {
  (void)data;
  const char *us = hd_task_param(t, "us");
  double end = now() + strtod(us, NULL) / 1e6;
  while (now() < end) {
  }
  return HD_OK;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double run(int late_chain, unsigned workers, int repeats) {
  hd_graph *g;
  hd_graph_new(&g);
  char name[32], us[32];
  snprintf(us, sizeof(us), "%d", COST_SHORT);
  for (int i = 0; i < WIDE; i++) {
    hd_node *n;
    snprintf(name, sizeof(name), "short%d", i);
    hd_graph_add_fn(g, name, "spin", &n);
    hd_node_set_param(n, "us", us);
    hd_node_set_cost(n, COST_SHORT);
  }
  snprintf(us, sizeof(us), "%d", COST_LONG);
  hd_node *prev = NULL;
  for (int i = 0; i < CHAIN; i++) {
    hd_node *n;
    snprintf(name, sizeof(name), "long%d", i);
    hd_graph_add_fn(g, name, "spin", &n);
    hd_node_set_param(n, "us", us);
    hd_node_set_cost(n, COST_LONG);
    if (prev != NULL)
      hd_node_after(n, prev);
    else if (late_chain)
      hd_node_set_priority(n, -1);
    prev = n;
  }
  hd_plan *p;
  if (hd_plan_new(g, &p) != HD_OK) {
    fprintf(stderr, "bench_priority: invalid graph\n");
    exit(1);
  }
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "threads";
  o.jobs = workers;
  double t[99];
  for (int r = 0; r < repeats; r++) {
    hd_report *rep;
    double t0 = now();
    if (hd_plan_run(p, &o, &rep) != HD_OK) {
      fprintf(stderr, "bench_priority: run failed\n");
      exit(1);
    }
    t[r] = now() - t0;
    hd_report_free(rep);
  }
  hd_plan_free(p);
  hd_graph_free(g);
  qsort(t, (size_t)repeats, sizeof(double), cmp_double);
  return t[repeats / 2];
}

int main(int argc, char **argv) {
  unsigned workers = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2;
  int repeats = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
  if (workers < 1 || workers > 64 || repeats < 1 || repeats > 99) {
    fprintf(stderr, "usage: bench_priority [WORKERS 1-64] [REPEATS 1-99]\n");
    return 2;
  }
  hd_fn_register("spin", spin, NULL);
  double chain = CHAIN * COST_LONG / 1e6;
  double total = (CHAIN * COST_LONG + WIDE * COST_SHORT) / 1e6;
  double bound = chain > total / workers ? chain : total / workers;
  double good = run(0, workers, repeats);
  double bad = run(1, workers, repeats);
  printf("workers %u: critical path %.3f s, work %.3f s, lower bound %.3f s\n",
         workers, chain, total, bound);
  printf("  critical path first: %.3f s (%.2f x the bound)\n", good,
         good / bound);
  printf("  critical path last:  %.3f s (%.2f x the bound)\n", bad,
         bad / bound);
  return 0;
}
