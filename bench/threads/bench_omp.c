/* bench/threads, OpenMP: run one workload as OpenMP tasks with depend
 * clauses and print the nanoseconds per task.
 *
 *   bench_threads_omp WORKLOAD THREADS [--check]
 *
 * One thread of a parallel region creates a task per node, in the DAG's
 * topological order, with an out-dependence on the node's own byte of an
 * array and an in-dependence on each predecessor's byte: fixed clauses
 * for 0 to 4 predecessors (chain 1, tree 2, grid up to 2, layered 4). A
 * node with more (the fan-in sink) is preceded by a taskwait instead, and
 * a node with many successors (the fan-out source) is followed by one
 * (see WIDE).
 * Tasks run while they are being created, so building cannot be timed
 * apart: the whole parallel region is timed as execution and the line
 * printed is "0 exec_ns_per_task". --check as in bench_hodos.c. */
#include <errno.h>
#include <omp.h>
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
static const dag *check_g;
static atomic_uchar *check_done;
static atomic_size_t check_ran, check_bad;

static void check_task(size_t i) {
  for (uint32_t e = check_g->off[i]; e < check_g->off[i + 1]; e++)
    if (!atomic_load_explicit(&check_done[check_g->pred[e]],
                              memory_order_acquire))
      atomic_fetch_add(&check_bad, 1);
  if (atomic_exchange_explicit(&check_done[i], 1, memory_order_acq_rel))
    atomic_fetch_add(&check_bad, 1); /* ran twice */
  atomic_fetch_add(&check_ran, 1);
}

/* A node with more successors than this is waited for with taskwait as
 * soon as it is created, and its successors do not name it: libgomp scans
 * every earlier reader of an address when it adds one, so a million
 * in-dependences on one node take quadratic time (see README.md). */
#define WIDE 64

/* One task per node of g, each with the body BODY (which may use i). d
 * holds one dependence object per node; wide[i] is nonzero when node i
 * has more than WIDE successors. A node with more than four predecessors
 * (the fan-in sink) waits for every earlier task with taskwait instead of
 * naming them. */
/* _Pragma takes one string literal: keep clang-format from splitting. */
/* clang-format off */
#define SPAWN_ALL(g, d, wide, BODY)                                            \
  for (size_t i = 0; i < (g)->n; i++) {                                        \
    const uint32_t *p = (g)->pred + (g)->off[i];                               \
    uint32_t deg = (g)->off[i + 1] - (g)->off[i], q[4], k = 0;                 \
    if (deg > 4) {                                                             \
      _Pragma("omp taskwait");                                                 \
    } else {                                                                   \
      for (uint32_t e = 0; e < deg; e++)                                       \
        if (!(wide)[p[e]])                                                     \
          q[k++] = p[e];                                                       \
    }                                                                          \
    switch (k) {                                                               \
    case 0:                                                                    \
      _Pragma("omp task depend(out : d[i])") { BODY; }                         \
      break;                                                                   \
    case 1:                                                                    \
      _Pragma("omp task depend(in : d[q[0]]) depend(out : d[i])") { BODY; }    \
      break;                                                                   \
    case 2:                                                                    \
      _Pragma("omp task depend(in : d[q[0]], d[q[1]]) depend(out : d[i])") {   \
        BODY;                                                                  \
      }                                                                        \
      break;                                                                   \
    case 3:                                                                    \
      _Pragma("omp task depend(in : d[q[0]], d[q[1]], d[q[2]]) depend(out : d[i])") { \
        BODY;                                                                  \
      }                                                                        \
      break;                                                                   \
    default:                                                                   \
      _Pragma("omp task depend(in : d[q[0]], d[q[1]], d[q[2]], d[q[3]]) depend(out : d[i])") { \
        BODY;                                                                  \
      }                                                                        \
      break;                                                                   \
    }                                                                          \
    if ((wide)[i]) {                                                           \
      _Pragma("omp taskwait");                                                 \
    }                                                                          \
  }

/* clang-format on */

static void run_empty(const dag *g, char *d, const char *wide,
                      unsigned threads) {
  (void)d; /* GCC misses its uses in the depend clauses */
#pragma omp parallel num_threads(threads)
#pragma omp single
  SPAWN_ALL(g, d, wide, (void)0)
}

static void run_check(const dag *g, char *d, const char *wide,
                      unsigned threads) {
  (void)d; /* GCC misses its uses in the depend clauses */
#pragma omp parallel num_threads(threads)
#pragma omp single
  SPAWN_ALL(g, d, wide, check_task(i))
}

int main(int argc, char **argv) {
  unsigned threads = argc >= 3 ? parse_threads(argv[2]) : 0;
  int check = argc == 4 && strcmp(argv[3], "--check") == 0;
  dag g;
  if (argc < 3 || argc > 4 || threads == 0 || (argc == 4 && !check)) {
    fprintf(stderr, "usage: bench_threads_omp "
                    "chain|fanout|tree|layered|grid THREADS [--check]\n");
    return 2;
  }
  int made = dag_make(&g, argv[1]);
  if (made != 0) {
    fprintf(stderr, "bench_threads_omp: %s '%s'\n",
            made == -1 ? "unknown workload" : "out of memory making", argv[1]);
    return made == -1 ? 2 : 1;
  }
  /* Before the clock starts, as the DAG itself: count the successors. */
  char *d = calloc(g.n, 1), *wide = calloc(g.n, 1);
  uint32_t *nsucc = calloc(g.n, sizeof(uint32_t));
  check_g = &g;
  check_done = calloc(g.n, sizeof(*check_done));
  if (d == NULL || wide == NULL || nsucc == NULL || check_done == NULL) {
    fprintf(stderr, "bench_threads_omp: out of memory\n");
    return 1;
  }
  for (size_t e = 0; e < g.m; e++)
    nsucc[g.pred[e]]++;
  for (size_t i = 0; i < g.n; i++)
    wide[i] = nsucc[i] > WIDE;
  free(nsucc);
  omp_set_dynamic(0);

  double t0 = now_s();
  if (check)
    run_check(&g, d, wide, threads);
  else
    run_empty(&g, d, wide, threads);
  double t1 = now_s();

  int status = 0;
  if (check) {
    size_t ran = atomic_load(&check_ran), bad = atomic_load(&check_bad);
    int ok = ran == g.n && bad == 0;
    printf("check %s nodes %zu edges %zu hash %016llx ran %zu "
           "order-errors %zu: %s\n",
           argv[1], g.n, g.m, (unsigned long long)dag_hash(&g), ran, bad,
           ok ? "ok" : "FAILED");
    status = !ok;
  } else {
    printf("0 %.1f\n", (t1 - t0) * 1e9 / (double)g.n);
    /* Tearing down is not timed; skipping it saves run.sh time. */
    fflush(stdout);
    _Exit(0);
  }
  free(d);
  free(wide);
  free(check_done);
  dag_free(&g);
  return status;
}
