/* bench/threads, oneTBB: run one workload as a flow graph of
 * continue_nodes and print the nanoseconds per task of building (making
 * the nodes and edges) and of running (try_put on the sources, then
 * wait_for_all) it.
 *
 *   bench_threads_tbb WORKLOAD THREADS [--check]
 *
 * THREADS caps the parallelism with global_control (the main thread
 * included). Node bodies do nothing. Prints one line,
 * "build_ns_per_task exec_ns_per_task"; --check as in bench_hodos.c. */
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <tbb/flow_graph.h>
#include <tbb/global_control.h>

namespace {

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

using node_t = tbb::flow::continue_node<tbb::flow::continue_msg>;

struct timing {
  double build, exec;
};

/* Build the flow graph of g with one body for every node (made by
 * make_body(i)), run it, and time both. With teardown false, the graph is
 * left for the process's exit to discard. */
template <typename MakeBody>
timing run(const dag &g, MakeBody make_body, bool teardown) {
  tbb::flow::graph *fg = new tbb::flow::graph;
  node_t *nodes = static_cast<node_t *>(::operator new(g.n * sizeof(node_t)));
  timing t;
  double t0 = now_s();
  for (size_t i = 0; i < g.n; i++)
    new (&nodes[i]) node_t(*fg, make_body(i));
  for (size_t i = 0; i < g.n; i++)
    for (uint32_t e = g.off[i]; e < g.off[i + 1]; e++)
      tbb::flow::make_edge(nodes[g.pred[e]], nodes[i]);
  double t1 = now_s();
  for (size_t i = 0; i < g.n; i++)
    if (g.off[i] == g.off[i + 1])
      nodes[i].try_put(tbb::flow::continue_msg());
  fg->wait_for_all();
  double t2 = now_s();
  t.build = t1 - t0;
  t.exec = t2 - t1;
  if (teardown) {
    for (size_t i = g.n; i-- > 0;)
      nodes[i].~node_t();
    ::operator delete(nodes);
    delete fg;
  }
  return t;
}

/* What --check counts. */
struct checker {
  const dag *g;
  std::atomic<unsigned char> *done;
  std::atomic<size_t> ran{0}, bad{0};

  void task(size_t i) {
    for (uint32_t e = g->off[i]; e < g->off[i + 1]; e++)
      if (!done[g->pred[e]].load(std::memory_order_acquire))
        bad.fetch_add(1);
    if (done[i].exchange(1, std::memory_order_acq_rel))
      bad.fetch_add(1); /* ran twice */
    ran.fetch_add(1);
  }
};

} // namespace

int main(int argc, char **argv) {
  unsigned threads = argc >= 3 ? parse_threads(argv[2]) : 0;
  bool check = argc == 4 && std::strcmp(argv[3], "--check") == 0;
  dag g;
  if (argc < 3 || argc > 4 || threads == 0 || (argc == 4 && !check)) {
    std::fprintf(stderr, "usage: bench_threads_tbb "
                         "chain|fanout|tree|layered|grid THREADS [--check]\n");
    return 2;
  }
  int made = dag_make(&g, argv[1]);
  if (made != 0) {
    std::fprintf(stderr, "bench_threads_tbb: %s '%s'\n",
                 made == -1 ? "unknown workload" : "out of memory making",
                 argv[1]);
    return made == -1 ? 2 : 1;
  }
  tbb::global_control cap(tbb::global_control::max_allowed_parallelism,
                          threads);
  int status = 0;
  if (check) {
    checker c;
    c.g = &g;
    c.done = new std::atomic<unsigned char>[g.n];
    for (size_t i = 0; i < g.n; i++)
      c.done[i].store(0, std::memory_order_relaxed);
    run(
        g,
        [&c](size_t i) {
          return [&c, i](const tbb::flow::continue_msg &) {
            c.task(i);
            return tbb::flow::continue_msg();
          };
        },
        true);
    size_t ran = c.ran.load(), bad = c.bad.load();
    bool ok = ran == g.n && bad == 0;
    std::printf("check %s nodes %zu edges %zu hash %016llx ran %zu "
                "order-errors %zu: %s\n",
                argv[1], g.n, g.m, (unsigned long long)dag_hash(&g), ran, bad,
                ok ? "ok" : "FAILED");
    status = !ok;
    delete[] c.done;
  } else {
    timing t = run(
        g,
        [](size_t) {
          return [](const tbb::flow::continue_msg &) {
            return tbb::flow::continue_msg();
          };
        },
        false);
    std::printf("%.1f %.1f\n", t.build * 1e9 / (double)g.n,
                t.exec * 1e9 / (double)g.n);
    /* Tearing down is not timed; skipping it saves run.sh time. */
    std::fflush(stdout);
    std::_Exit(0);
  }
  dag_free(&g);
  return status;
}
