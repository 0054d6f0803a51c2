/* bench/threads, hodos: run one workload on the threads backend and print
 * the nanoseconds per task of building (hd_graph and hd_plan_new) and of
 * running (hd_plan_run) it.
 *
 *   bench_threads_hodos WORKLOAD THREADS [--check | --no-times]
 *
 * WORKLOAD is chain, fanout, tree, layered or grid (see README.md). Tasks
 * are registered functions that do nothing. Prints one line,
 * "build_ns_per_task exec_ns_per_task". With --check, the tasks instead
 * count themselves and check that their predecessors are done, and the
 * program prints what it found (exit status 1 when wrong). With
 * --no-times, the run reads no task's start and end times
 * (hd_run_opts.no_task_times), which the peers do not record either. */
#include <errno.h>
#include <hodos/hodos.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the workloads ----
 * This block is the same text in bench_hodos.c, bench_omp.c and
 * bench_tbb.cpp (valid C and C++), so that the three build one DAG; with
 * --check each prints a hash of it and run.sh compares them. Nodes are
 * numbered in a topological order: every predecessor has a lower index. */

typedef struct dag {
  size_t n;       /* nodes */
  size_t m;       /* edges */
  uint32_t *off;  /* n + 1 offsets into pred */
  uint32_t *pred; /* node i runs after pred[off[i]] .. pred[off[i + 1] - 1] */
} dag;

#define DAG_SEED 0x9e3779b97f4a7c15ull

static uint64_t dag_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static const char *const dag_workloads[] = {"chain", "fanout", "tree",
                                            "layered", "grid"};

/* Make the DAG of a workload. Returns 0, -1 for an unknown name, or -2
 * when out of memory. */
static int dag_make(dag *g, const char *workload) {
  /* The tree has 2^20 leaves: 2^21 - 1 nodes, twice any other workload. */
  const size_t chain_n = 1000000, fan_m = 1000000, leaves = (size_t)1 << 20;
  const size_t lay_n = 1000000, lay_w = 1000, lay_k = 4, side = 1000;
  int w = -1;
  for (int k = 0; k < 5; k++)
    if (strcmp(workload, dag_workloads[k]) == 0)
      w = k;
  size_t n = 0, m = 0;
  switch (w) {
  case 0:
    n = chain_n, m = chain_n - 1;
    break;
  case 1:
    n = fan_m + 2, m = 2 * fan_m;
    break;
  case 2:
    n = 2 * leaves - 1, m = 2 * (leaves - 1);
    break;
  case 3:
    n = lay_n, m = lay_k * (lay_n - lay_w);
    break;
  case 4:
    n = side * side, m = 2 * side * (side - 1);
    break;
  default:
    return -1;
  }
  g->n = n;
  g->m = 0;
  g->off = (uint32_t *)malloc((n + 1) * sizeof(uint32_t));
  g->pred = (uint32_t *)malloc((m + 1) * sizeof(uint32_t));
  if (g->off == NULL || g->pred == NULL)
    return -2;
  uint64_t rng = DAG_SEED;
  g->off[0] = 0;
  for (size_t i = 0; i < n; i++) {
    switch (w) {
    case 0: /* a chain: i after i - 1 */
      if (i > 0)
        g->pred[g->m++] = (uint32_t)(i - 1);
      break;
    case 1: /* source 0, fan_m independent tasks, then the sink */
      if (i > 0 && i <= fan_m)
        g->pred[g->m++] = 0;
      else if (i == fan_m + 1)
        for (size_t k = 1; k <= fan_m; k++)
          g->pred[g->m++] = (uint32_t)k;
      break;
    case 2: /* leaves first, then each level of the tree above */
      if (i >= leaves) {
        size_t base = 0, width = leaves, j = i;
        while (j >= base + width) {
          base += width;
          width /= 2;
        }
        /* node j - base of this level joins nodes 2(j - base) and
           2(j - base) + 1 of the level below, which starts at
           base - 2 * width */
        size_t below = base - 2 * width, c = 2 * (j - base);
        g->pred[g->m++] = (uint32_t)(below + c);
        g->pred[g->m++] = (uint32_t)(below + c + 1);
      }
      break;
    case 3: /* layers of lay_w; lay_k distinct random nodes of the layer
               above */
      if (i >= lay_w) {
        size_t above = (i / lay_w - 1) * lay_w;
        size_t first = g->m;
        while (g->m - first < lay_k) {
          uint32_t p = (uint32_t)(above + dag_next(&rng) % lay_w);
          int dup = 0;
          for (size_t e = first; e < g->m; e++)
            dup |= g->pred[e] == p;
          if (!dup)
            g->pred[g->m++] = p;
        }
      }
      break;
    case 4: /* a side x side grid, row by row: after left, then upper */
      if (i % side > 0)
        g->pred[g->m++] = (uint32_t)(i - 1);
      if (i >= side)
        g->pred[g->m++] = (uint32_t)(i - side);
      break;
    }
    g->off[i + 1] = (uint32_t)g->m;
  }
  return g->m == m ? 0 : -2;
}

static void dag_free(dag *g) {
  free(g->off);
  free(g->pred);
}

/* FNV-1a over the node count and the predecessor lists. */
static uint64_t dag_hash(const dag *g) {
  uint64_t h = 0xcbf29ce484222325ull;
  uint64_t words[2] = {g->n, g->m};
  for (int k = 0; k < 2; k++)
    for (int b = 0; b < 8; b++)
      h = (h ^ ((words[k] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  for (size_t i = 0; i < g->n; i++)
    for (uint32_t e = g->off[i]; e < g->off[i + 1]; e++)
      for (int b = 0; b < 4; b++)
        h = (h ^ ((g->pred[e] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  return h;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parse THREADS: 1 to 1024. Returns 0 on error. */
static unsigned parse_threads(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 1024)
    return 0;
  return (unsigned)v;
}

/* ---- end of the shared block ---- */

/* What --check counts. */
typedef struct checker {
  const dag *g;
  atomic_uchar *done;
  atomic_size_t ran;
  atomic_size_t bad;
} checker;

static int noop(hd_task *t, void *data) {
  (void)t;
  (void)data;
  return HD_OK;
}

/* Node i is named "n<i>". */
static int check_task(hd_task *t, void *data) {
  checker *c = data;
  size_t i = (size_t)strtoul(hd_task_name(t) + 1, NULL, 10);
  if (i >= c->g->n) {
    atomic_fetch_add(&c->bad, 1);
    return HD_OK;
  }
  for (uint32_t e = c->g->off[i]; e < c->g->off[i + 1]; e++)
    if (!atomic_load_explicit(&c->done[c->g->pred[e]], memory_order_acquire))
      atomic_fetch_add(&c->bad, 1);
  if (atomic_exchange_explicit(&c->done[i], 1, memory_order_acq_rel))
    atomic_fetch_add(&c->bad, 1); /* ran twice */
  atomic_fetch_add(&c->ran, 1);
  return HD_OK;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_threads_hodos: %s: %s\n", what, hd_strerror(rc));
  exit(1);
}

/* Build the graph of g, every node calling fn. */
static hd_graph *build(const dag *g, const char *fn) {
  hd_graph *hg;
  int rc = hd_graph_new(&hg);
  if (rc != HD_OK)
    die("hd_graph_new", rc);
  hd_node **nodes = malloc(g->n * sizeof(*nodes));
  size_t maxdeg = 0;
  for (size_t i = 0; i < g->n; i++)
    if (g->off[i + 1] - g->off[i] > maxdeg)
      maxdeg = g->off[i + 1] - g->off[i];
  hd_node **deps = malloc((maxdeg + 1) * sizeof(*deps));
  if (nodes == NULL || deps == NULL)
    die("building", HD_ENOMEM);
  char name[32];
  for (size_t i = 0; i < g->n; i++) {
    snprintf(name, sizeof(name), "n%zu", i);
    if ((rc = hd_graph_add_fn(hg, name, fn, &nodes[i])) != HD_OK)
      die("hd_graph_add_fn", rc);
    size_t deg = g->off[i + 1] - g->off[i];
    const uint32_t *p = g->pred + g->off[i];
    if (deg == 1) {
      rc = hd_node_after(nodes[i], nodes[p[0]]);
    } else if (deg > 1) {
      for (size_t k = 0; k < deg; k++)
        deps[k] = nodes[p[k]];
      rc = hd_node_after_all(nodes[i], deps, deg);
    }
    if (rc != HD_OK)
      die("hd_node_after", rc);
  }
  free(deps);
  free(nodes);
  return hg;
}

int main(int argc, char **argv) {
  unsigned threads = argc >= 3 ? parse_threads(argv[2]) : 0;
  int check = argc == 4 && strcmp(argv[3], "--check") == 0;
  int no_times = argc == 4 && strcmp(argv[3], "--no-times") == 0;
  dag g;
  if (argc < 3 || argc > 4 || threads == 0 ||
      (argc == 4 && !check && !no_times)) {
    fprintf(stderr, "usage: bench_threads_hodos chain|fanout|tree|layered|grid "
                    "THREADS [--check | --no-times]\n");
    return 2;
  }
  int made = dag_make(&g, argv[1]);
  if (made != 0) {
    fprintf(stderr, "bench_threads_hodos: %s '%s'\n",
            made == -1 ? "unknown workload" : "out of memory making", argv[1]);
    return made == -1 ? 2 : 1;
  }
  checker c;
  c.g = &g;
  c.done = calloc(g.n, sizeof(*c.done));
  atomic_init(&c.ran, 0);
  atomic_init(&c.bad, 0);
  if (c.done == NULL)
    die("checker", HD_ENOMEM);
  int rc = check ? hd_fn_register("bench_task", check_task, &c)
                 : hd_fn_register("bench_task", noop, NULL);
  if (rc != HD_OK)
    die("hd_fn_register", rc);

  double t0 = now_s();
  hd_graph *hg = build(&g, "bench_task");
  hd_plan *plan;
  if ((rc = hd_plan_new(hg, &plan)) != HD_OK)
    die("hd_plan_new", rc);
  double t1 = now_s();

  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "threads";
  o.jobs = threads;
  o.no_task_times = no_times;
  hd_report *rep;
  double t2 = now_s();
  rc = hd_plan_run(plan, &o, &rep);
  double t3 = now_s();
  if (rc != HD_OK)
    die("hd_plan_run", rc);

  int status = 0;
  if (check) {
    size_t ran = atomic_load(&c.ran), bad = atomic_load(&c.bad);
    size_t ndone = hd_report_count(rep, HD_STATE_DONE);
    int ok = ran == g.n && bad == 0 && ndone == g.n &&
             hd_plan_node_count(plan) == g.n && hd_plan_edge_count(plan) == g.m;
    printf("check %s nodes %zu edges %zu hash %016llx ran %zu "
           "order-errors %zu: %s\n",
           argv[1], g.n, g.m, (unsigned long long)dag_hash(&g), ran, bad,
           ok ? "ok" : "FAILED");
    status = !ok;
  } else {
    printf("%.1f %.1f\n", (t1 - t0) * 1e9 / (double)g.n,
           (t3 - t2) * 1e9 / (double)g.n);
    /* Tearing down is not timed; skipping it saves run.sh time. */
    fflush(stdout);
    _Exit(0);
  }
  hd_report_free(rep);
  hd_plan_free(plan);
  hd_graph_free(hg);
  free(c.done);
  dag_free(&g);
  return status;
}
