/* bench/graph: build, validate and compile graphs of 10^4 to 10^6 nodes
 * and print the time and memory per node of each phase.
 *
 *   bench_graph [--max N] [--repeat R]
 *
 * Shapes: a chain; a wide fan-out (one source, N-2 middles, one sink); a
 * random layered DAG with about four edges per node; a square grid where
 * each cell depends on its left and upper neighbours. Times are medians
 * of R runs (default 3); val+plan is the time issue 3's goal counts
 * (validate and plan), total adds building the graph. "goal" is the
 * plan size per node that issue 3's goal allows this graph: 64 bytes per
 * node plus 4 per edge. */
#include <hodos/hodos.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Resident bytes: the graph's slabs and large tables are mapped apart
 * from malloc's heap, so mallinfo2() would not see them. Falls back to
 * the heap where /proc cannot say. */
static size_t resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size, resident;
  int ok = f != NULL && fscanf(f, "%lu %lu", &size, &resident) == 2;
  if (f != NULL)
    fclose(f);
  if (ok)
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

typedef enum shape { CHAIN, FANOUT, LAYERED, GRID } shape;
static const char *shape_names[] = {"chain", "fan-out", "layered", "grid"};

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_graph: %s: %s\n", what, hd_strerror(rc));
  exit(1);
}

static hd_graph *build(shape s, size_t n, size_t *edges) {
  hd_graph *g;
  int rc = hd_graph_new(&g);
  if (rc != HD_OK)
    die("hd_graph_new", rc);
  hd_node **nodes = malloc(n * sizeof(*nodes));
  char name[32];
  for (size_t i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "n%zu", i);
    if ((rc = hd_graph_add_fn(g, name, "noop", &nodes[i])) != HD_OK)
      die("hd_graph_add_fn", rc);
  }
  *edges = 0;
  switch (s) {
  case CHAIN:
    for (size_t i = 1; i < n; i++)
      hd_node_after(nodes[i], nodes[i - 1]);
    *edges = n - 1;
    break;
  case FANOUT:
    for (size_t i = 1; i + 1 < n; i++) {
      hd_node_after(nodes[i], nodes[0]);
      hd_node_after(nodes[n - 1], nodes[i]);
    }
    *edges = 2 * (n - 2);
    break;
  case LAYERED: {
    /* Layers of 1000; each node after four random nodes of the layer
       above. */
    size_t width = 1000;
    for (size_t i = width; i < n; i++) {
      size_t layer = i / width;
      hd_node *deps[4];
      for (int k = 0; k < 4; k++)
        deps[k] = nodes[(layer - 1) * width + next_rand() % width];
      hd_node_after_all(nodes[i], deps, 4);
      *edges += 4;
    }
    break;
  }
  case GRID: {
    size_t side = 1;
    while ((side + 1) * (side + 1) <= n)
      side++;
    for (size_t r = 0; r < side; r++)
      for (size_t c = 0; c < side; c++) {
        size_t i = r * side + c;
        if (c > 0) {
          hd_node_after(nodes[i], nodes[i - 1]);
          (*edges)++;
        }
        if (r > 0) {
          hd_node_after(nodes[i], nodes[i - side]);
          (*edges)++;
        }
      }
    break;
  }
  }
  free(nodes);
  return g;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof(double), cmp_double);
  return v[n / 2];
}

int main(int argc, char **argv) {
  size_t max = 1000000;
  int repeat = 3;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--max") == 0 && i + 1 < argc)
      max = (size_t)strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
      repeat = (int)strtol(argv[++i], NULL, 10);
    else {
      fprintf(stderr, "usage: bench_graph [--max N] [--repeat R]\n");
      return 2;
    }
  }
  if (repeat < 1 || repeat > 99)
    repeat = 3;
  printf("%-8s %8s %8s | %9s %9s %9s %9s %9s | %8s %8s %9s\n", "shape", "nodes",
         "edges", "build", "validate", "plan", "val+plan", "total", "graph",
         "plan", "goal");
  printf("%-8s %8s %8s | %9s %9s %9s %9s %9s | %8s %8s %9s\n", "", "", "",
         "ns/node", "ns/node", "ns/node", "ms", "ms", "B/node", "B/node",
         "B/node");
  for (size_t n = 10000; n <= max; n *= 10) {
    for (int s = CHAIN; s <= GRID; s++) {
      double tb[99], tv[99], tp[99];
      size_t edges = 0, gbytes = 0, pbytes = 0;
      size_t nodes = n;
      for (int r = 0; r < repeat; r++) {
        malloc_trim(0);
        size_t h0 = resident_bytes();
        double t0 = now();
        hd_graph *g = build((shape)s, n, &edges);
        double t1 = now();
        int rc = hd_graph_validate(g);
        double t2 = now();
        if (rc != HD_OK)
          die("hd_graph_validate", rc);
        size_t h1 = resident_bytes();
        hd_plan *p;
        if ((rc = hd_plan_new(g, &p)) != HD_OK)
          die("hd_plan_new", rc);
        double t3 = now();
        nodes = hd_plan_node_count(p);
        /* hd_plan_new does not validate again a graph validated since
           its last change: t3 - t2 is the compile alone. */
        gbytes = h1 - h0;
        pbytes = hd_plan_bytes(p);
        tb[r] = t1 - t0;
        tv[r] = t2 - t1;
        tp[r] = t3 - t2;
        hd_plan_free(p);
        hd_graph_free(g);
      }
      double b = median(tb, repeat), v = median(tv, repeat),
             pl = median(tp, repeat);
      printf("%-8s %8zu %8zu | %9.0f %9.0f %9.0f %9.1f %9.1f | %8zu %8.1f "
             "%9.1f\n",
             shape_names[s], nodes, edges, b / (double)nodes * 1e9,
             v / (double)nodes * 1e9, pl / (double)nodes * 1e9, (v + pl) * 1e3,
             (b + v + pl) * 1e3, gbytes / nodes, (double)pbytes / (double)nodes,
             64.0 + 4.0 * (double)edges / (double)nodes);
      fflush(stdout);
    }
  }
  return 0;
}
