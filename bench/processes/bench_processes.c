/* bench/processes: the processes backend's costs, one measurement per
 * call, each printed as one line of numbers for run.sh to gather.
 *
 *   bench_processes tiny [N [JOBS [BACKEND]]]
 *       N independent function tasks (default 100000) on JOBS workers
 *       (default 2) of BACKEND (default processes); each task makes the
 *       integer 1 its result. Prints: build_us_per_task exec_us_per_task.
 *   bench_processes chain [N [JOBS]]
 *       N function tasks (default 10000), each after the one before, each
 *       adding 1 to its input. Prints: exec_us_per_hop.
 *   bench_processes pingpong [N [WINDOW]]
 *       A forked child and its parent send one byte each way over a
 *       socketpair, N times (default 10000), with up to WINDOW bytes in
 *       flight (default 1: each a round trip). Prints: us_per_message.
 *   bench_processes big [N [BYTES [JOBS]]]
 *       N function tasks (default 200), each returning BYTES (default
 *       1 MiB) of text that compresses, on processes and then on threads.
 *       Prints: processes_MBps threads_MBps raw_bytes frame_bytes
 *       wire_bytes, where frame_bytes adds up hd_value_encode() at level 1
 *       of every result (what a worker sends) and wire_bytes adds the wire
 *       protocol's framing of every task and result.
 *   bench_processes time CMD [ARG...]
 *       Runs CMD with its standard output on /dev/null. Prints: ms.
 *
 * exec is hd_plan_run() alone: the graph is built and compiled into a
 * plan first (build), and the report is freed after the clock stops.
 * exec includes what each run does: forking the workers and reaping them,
 * and making the report. Every mode checks its results and exits 1 when
 * one is wrong. MB is 10^6 bytes. */
#include <errno.h>
#include <hodos/hodos.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_processes: %s: %s\n", what, hd_strerror(rc));
  exit(1);
}

static void check(int rc, const char *what) {
  if (rc != HD_OK)
    die(what, rc);
}

static size_t arg_size(int argc, char **argv, int i, size_t def) {
  if (i >= argc)
    return def;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(argv[i], &end, 10);
  if (errno != 0 || *end != '\0' || end == argv[i] || v == 0) {
    fprintf(stderr, "bench_processes: bad number '%s'\n", argv[i]);
    exit(2);
  }
  return (size_t)v;
}

/* ---- the task functions ---- */

static int fn_one(hd_task *t, void *data) {
  (void)data;
  hd_value *v;
  int rc = hd_value_new_int(1, &v);
  return rc != HD_OK ? rc : hd_task_set_output(t, v);
}

static int fn_inc(hd_task *t, void *data) {
  (void)data;
  int64_t i = 0;
  if (hd_task_input_count(t) > 0 &&
      hd_value_get_int(hd_task_input(t, 0), &i) != HD_OK)
    return hd_task_fail(t, "input is not an integer");
  hd_value *v;
  int rc = hd_value_new_int(i + 1, &v);
  return rc != HD_OK ? rc : hd_task_set_output(t, v);
}

static size_t big_bytes = 1u << 20;

/* Write v as width decimal digits, zero-padded, ending at p + width. */
static void put_digits(char *p, int width, uint64_t v) {
  for (int i = width; i-- > 0; v /= 10)
    p[i] = (char)('0' + v % 10);
}

/* Log-like lines: the same words on every line, and numbers that differ
 * (a counter, pseudo-random fields), so that zstd finds repeats but not
 * only repeats. The text is written into a buffer each process keeps, so
 * that the value's copy of it is the only new memory a task touches. */
static int fn_big(hd_task *t, void *data) {
  (void)data;
  static const char line[] = "2026-01-01T00:00:00.000000 info  worker=00 "
                             "task=000000 step=0000000 value=00000 ok\n";
  static const char *const level[] = {"info ", "debug", "warn ", "info "};
  static _Thread_local char *buf;
  static _Thread_local size_t cap;
  const size_t ll = sizeof(line) - 1;
  if (cap < big_bytes + ll) {
    free(buf);
    cap = 0;
    if ((buf = malloc(big_bytes + ll)) == NULL)
      return HD_ENOMEM;
    cap = big_bytes + ll;
  }
  const char *is = hd_task_param(t, "i");
  uint64_t task = strtoull(is ? is : "0", NULL, 10);
  uint64_t s = 0x9e3779b97f4a7c15u ^ task;
  for (size_t off = 0, k = 0; off < big_bytes; off += ll, k++) {
    char *p = buf + off;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    memcpy(p, line, ll);
    put_digits(p + 17, 2, k % 60);
    put_digits(p + 20, 6, k);
    memcpy(p + 27, level[s & 3], 5);
    put_digits(p + 40, 2, (s >> 8) % 16);
    put_digits(p + 48, 6, task);
    put_digits(p + 60, 7, k);
    put_digits(p + 74, 5, (s >> 20) % 100000);
  }
  hd_value *v;
  int rc = hd_value_new_text(buf, big_bytes, &v);
  return rc != HD_OK ? rc : hd_task_set_output(t, v);
}

/* ---- graphs ---- */

static hd_plan *make_plan(size_t n, const char *fn, int chain, int param) {
  hd_graph *g;
  check(hd_graph_new(&g), "hd_graph_new");
  hd_node *prev = NULL;
  char name[32], num[24];
  for (size_t i = 0; i < n; i++) {
    hd_node *node;
    snprintf(name, sizeof(name), "t%zu", i);
    check(hd_graph_add_fn(g, name, fn, &node), "hd_graph_add_fn");
    if (chain && prev != NULL)
      check(hd_node_after(node, prev), "hd_node_after");
    if (param) {
      snprintf(num, sizeof(num), "%zu", i);
      check(hd_node_set_param(node, "i", num), "hd_node_set_param");
    }
    prev = node;
  }
  hd_plan *p;
  check(hd_plan_new(g, &p), "hd_plan_new");
  hd_graph_free(g);
  return p;
}

/* Run p, check that every task is done, return the seconds taken. */
static double timed_run(hd_plan *p, const char *backend, unsigned jobs,
                        hd_report **out) {
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backend;
  o.jobs = jobs;
  hd_report *r = NULL;
  double t0 = now_s();
  int rc = hd_plan_run(p, &o, &r);
  double t = now_s() - t0;
  size_t n = hd_plan_node_count(p);
  if (rc != HD_OK || r == NULL || hd_report_count(r, HD_STATE_DONE) != n) {
    fprintf(stderr, "bench_processes: run on %s: %s, %zu of %zu done\n",
            backend, hd_strerror(rc), r ? hd_report_count(r, HD_STATE_DONE) : 0,
            n);
    exit(1);
  }
  if (out != NULL)
    *out = r;
  else
    hd_report_free(r);
  return t;
}

static int mode_tiny(int argc, char **argv) {
  size_t n = arg_size(argc, argv, 2, 100000);
  unsigned jobs = (unsigned)arg_size(argc, argv, 3, 2);
  const char *backend = argc > 4 ? argv[4] : "processes";
  double t0 = now_s();
  hd_plan *p = make_plan(n, "one", 0, 0);
  double build = now_s() - t0;
  hd_report *r;
  double exec = timed_run(p, backend, jobs, &r);
  int64_t v = 0;
  for (size_t i = 0; i < n; i++)
    if (hd_value_get_int(hd_report_result(r, i), &v) != HD_OK || v != 1) {
      fprintf(stderr, "bench_processes: task %zu: wrong result\n", i);
      return 1;
    }
  hd_report_free(r);
  hd_plan_free(p);
  printf("%.3f %.3f\n", build * 1e6 / (double)n, exec * 1e6 / (double)n);
  return 0;
}

static int mode_chain(int argc, char **argv) {
  size_t n = arg_size(argc, argv, 2, 10000);
  unsigned jobs = (unsigned)arg_size(argc, argv, 3, 2);
  hd_plan *p = make_plan(n, "inc", 1, 0);
  hd_report *r;
  double exec = timed_run(p, "processes", jobs, &r);
  int64_t v = 0;
  if (hd_value_get_int(hd_report_result(r, n - 1), &v) != HD_OK ||
      v != (int64_t)n) {
    fprintf(stderr, "bench_processes: the chain ended at %lld, not %zu\n",
            (long long)v, n);
    return 1;
  }
  hd_report_free(r);
  hd_plan_free(p);
  printf("%.3f\n", exec * 1e6 / (double)n);
  return 0;
}

static int write_all(int fd, const char *p, size_t len) {
  while (len > 0) {
    ssize_t k = write(fd, p, len);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      return -1;
    p += k;
    len -= (size_t)k;
  }
  return 0;
}

/* The parent sends one byte per message and the child sends each back
 * as it reads it. With a window of 1 each message is a round trip; with
 * a larger window up to that many are in flight, as a backend that sent
 * tasks ahead to its workers would have them. */
static int mode_pingpong(int argc, char **argv) {
  size_t n = arg_size(argc, argv, 2, 10000);
  size_t window = arg_size(argc, argv, 3, 1);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror("bench_processes: socketpair");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_processes: fork");
    return 1;
  }
  if (pid == 0) {
    close(sv[0]);
    char b[256];
    for (;;) {
      ssize_t k = read(sv[1], b, sizeof(b));
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0 || write_all(sv[1], b, (size_t)k) != 0)
        _exit(k == 0 ? 0 : 1);
    }
  }
  close(sv[1]);
  char b[256];
  /* One round trip first, so that the child is running. */
  int bad = write_all(sv[0], "x", 1) != 0 || read(sv[0], b, 1) != 1;
  size_t sent = 0, got = 0;
  double t0 = now_s();
  while (got < n && !bad) {
    while (sent < n && sent - got < window && !bad) {
      char c = (char)sent++;
      bad = write_all(sv[0], &c, 1) != 0;
    }
    ssize_t k = read(sv[0], b, sizeof(b));
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0)
      bad = 1;
    for (ssize_t i = 0; i < k && !bad; i++)
      bad = b[i] != (char)got++;
  }
  double t = now_s() - t0;
  close(sv[0]);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (bad) {
    fprintf(stderr, "bench_processes: the ping-pong broke off\n");
    return 1;
  }
  printf("%.3f\n", t * 1e6 / (double)n);
  return 0;
}

/* The wire protocol's framing around one task without inputs and its
 * result (backends/wire.h): a 20-byte header on each frame; a TASK payload
 * of node, attempt, timeout and input count (20 bytes); a RESULT payload
 * of six 32-bit fields and three 64-bit lengths (48 bytes) before the
 * value's frame. */
#define WIRE_PER_TASK (20 + 20 + 20 + 48)

static int mode_big(int argc, char **argv) {
  size_t n = arg_size(argc, argv, 2, 200);
  big_bytes = arg_size(argc, argv, 3, 1u << 20);
  unsigned jobs = (unsigned)arg_size(argc, argv, 4, 2);
  hd_plan *p = make_plan(n, "big", 0, 1);
  hd_report *r;
  double tp = timed_run(p, "processes", jobs, &r);
  double raw = 0, framed = 0;
  for (size_t i = 0; i < n; i++) {
    hd_value *v = hd_report_result(r, i), *f;
    if (v == NULL || hd_value_size(v) != big_bytes) {
      fprintf(stderr, "bench_processes: task %zu: wrong result size\n", i);
      return 1;
    }
    check(hd_value_encode(v, 1, &f), "hd_value_encode");
    raw += (double)hd_value_size(v);
    framed += (double)hd_value_size(f);
    hd_value_unref(f);
  }
  hd_report_free(r);
  double tt = timed_run(p, "threads", jobs, NULL);
  hd_plan_free(p);
  printf("%.1f %.1f %.0f %.0f %.0f\n", raw / tp / 1e6, raw / tt / 1e6, raw,
         framed, framed + (double)n * WIRE_PER_TASK);
  return 0;
}

static int mode_time(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "bench_processes: time needs a command\n");
    return 2;
  }
  fflush(NULL);
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_processes: fork");
    return 1;
  }
  if (pid == 0) {
    FILE *null = freopen("/dev/null", "w", stdout);
    (void)null;
    execvp(argv[2], argv + 2);
    fprintf(stderr, "bench_processes: cannot run %s: %s\n", argv[2],
            strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  double t = now_s() - t0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_processes: %s failed (status %d)\n", argv[2],
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 1;
  }
  printf("%.1f\n", t * 1e3);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_processes tiny|chain|pingpong|big|time "
                    "[ARGS]\n");
    return 2;
  }
  check(hd_fn_register("one", fn_one, NULL), "hd_fn_register");
  check(hd_fn_register("inc", fn_inc, NULL), "hd_fn_register");
  check(hd_fn_register("big", fn_big, NULL), "hd_fn_register");
  const char *m = argv[1];
  if (strcmp(m, "tiny") == 0)
    return mode_tiny(argc, argv);
  if (strcmp(m, "chain") == 0)
    return mode_chain(argc, argv);
  if (strcmp(m, "pingpong") == 0)
    return mode_pingpong(argc, argv);
  if (strcmp(m, "big") == 0)
    return mode_big(argc, argv);
  if (strcmp(m, "time") == 0)
    return mode_time(argc, argv);
  fprintf(stderr, "bench_processes: unknown mode '%s'\n", m);
  return 2;
}
