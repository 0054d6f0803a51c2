/* An ssh pool over h1 and h2 (tests/ssh/lib.sh), whose workers are this
 * program serving as its own worker there (hd_worker_main). Checks map
 * over two lists, a chunked map with a failing item, imap's order,
 * uimap's completeness (each item run on a host, in another process),
 * amap with a timeout, pipe and apipe, master connections kept from call
 * to call (and made again when one dies), terminate, and a map during which
 * h2 is killed (by running KILL_COMMAND, a shell command): every item
 * done with its right result. After each pool is freed, no ssh process
 * of this program and no worker of it on the hosts may be left.
 *
 * Usage: pool KILL_COMMAND. Prints "ok" and exits 0 when every check
 * passed; prints each failure and exits 1 otherwise. */
#define _GNU_SOURCE /* usleep */
#include <dirent.h>
#include <hodos/hodos.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *fmt, ...) {
  if (ok)
    return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "FAIL  ");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  failures++;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t int_of(const hd_value *v) {
  int64_t i = INT64_MIN;
  if (v == NULL || hd_value_get_int(v, &i) != HD_OK)
    return INT64_MIN;
  return i;
}

static int set_int(hd_task *t, int64_t i) {
  hd_value *v;
  int rc = hd_value_new_int(i, &v);
  return rc == HD_OK ? hd_task_set_output(t, v) : rc;
}

/* Sleep ms milliseconds, or less once the task is cancelled. */
static void nap_ms(hd_task *t, int ms) {
  for (int i = 0; i < ms / 10 && !hd_task_cancelled(t); i++)
    usleep(10000);
}

/* power(base, exponent), failing for a negative exponent. */
static int power(hd_task *t, void *data) {
  (void)data;
  int64_t base, exponent, result = 1;
  if (hd_value_get_int(hd_task_input(t, 0), &base) != HD_OK ||
      hd_value_get_int(hd_task_input(t, 1), &exponent) != HD_OK)
    return hd_task_fail(t, "power takes two integers");
  if (exponent < 0)
    return hd_task_fail(t, "negative exponent %lld", (long long)exponent);
  for (int64_t i = 0; i < exponent; i++)
    result *= base;
  return set_int(t, result);
}

/* n * n after a nap of (n % 4) * 30 ms, so that items end out of order. */
static int nap(hd_task *t, void *data) {
  (void)data;
  int64_t n;
  if (hd_value_get_int(hd_task_input(t, 0), &n) != HD_OK)
    return hd_task_fail(t, "nap takes an integer");
  nap_ms(t, (int)(n % 4) * 30);
  return set_int(t, n * n);
}

/* n * n after ms of its second argument. */
static int slow(hd_task *t, void *data) {
  (void)data;
  int64_t n, ms;
  if (hd_value_get_int(hd_task_input(t, 0), &n) != HD_OK ||
      hd_value_get_int(hd_task_input(t, 1), &ms) != HD_OK)
    return hd_task_fail(t, "slow takes two integers");
  nap_ms(t, (int)ms);
  return set_int(t, n * n);
}

/* n / 2 as a double. */
static int halve(hd_task *t, void *data) {
  (void)data;
  int64_t n;
  hd_value *v;
  if (hd_value_get_int(hd_task_input(t, 0), &n) != HD_OK)
    return hd_task_fail(t, "halve takes an integer");
  int rc = hd_value_new_double((double)n / 2, &v);
  return rc == HD_OK ? hd_task_set_output(t, v) : rc;
}

/* Its text argument, the address of the ssh server it runs under (the
 * host) and its process: "ARG ADDR PID"; after 150 ms, so that the
 * sessions of both hosts have started before the items are all done. */
static int where(hd_task *t, void *data) {
  (void)data;
  nap_ms(t, 150);
  const char *arg = hd_value_text(hd_task_input(t, 0));
  const char *conn = getenv("SSH_CONNECTION"); /* client port server port */
  char addr[64] = "none";
  if (conn != NULL)
    sscanf(conn, "%*s %*s %63s", addr);
  char buf[256];
  int len = snprintf(buf, sizeof(buf), "%s %s %ld", arg ? arg : "?", addr,
                     (long)getpid());
  hd_value *v;
  int rc = hd_value_new_text(buf, (size_t)len, &v);
  return rc == HD_OK ? hd_task_set_output(t, v) : rc;
}

static hd_value **ints(size_t n, int64_t (*f)(size_t)) {
  hd_value **v = calloc(n, sizeof(*v));
  for (size_t i = 0; v != NULL && i < n; i++)
    if (hd_value_new_int(f(i), &v[i]) != HD_OK)
      exit(2);
  return v;
}

static void unref_all(hd_value **v, size_t n) {
  for (size_t i = 0; v != NULL && i < n; i++)
    hd_value_unref(v[i]);
  free(v);
}

static int64_t id(size_t i) { return (int64_t)i; }
static int64_t base_of(size_t i) { return (int64_t)(i % 7); }
static int64_t exp_of(size_t i) { return i == 37 ? -1 : (int64_t)(i % 5); }
static int64_t ms_300(size_t i) {
  (void)i;
  return 300;
}
static int64_t ms_20s(size_t i) {
  (void)i;
  return 20000;
}

static char self[PATH_MAX];

/* Call seen(pid, cmd, worker, arg) for every other process with a command
 * line (its words joined by spaces in cmd; worker: it is this program
 * with --hodos-worker). */
static void scan_processes(void (*seen)(long pid, const char *cmd, int worker,
                                        void *arg),
                           void *arg) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == (long)getpid())
      continue;
    char path[64], cmd[4096];
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    size_t len = fread(cmd, 1, sizeof(cmd) - 1, f);
    fclose(f);
    if (len == 0)
      continue; /* a zombie, or a kernel thread */
    cmd[len] = '\0';
    int worker = strcmp(cmd, self) == 0 && strlen(cmd) + 1 < len &&
                 strcmp(cmd + strlen(cmd) + 1, "--hodos-worker") == 0;
    for (size_t i = 0; i < len; i++)
      if (cmd[i] == '\0')
        cmd[i] = ' ';
    seen(pid, cmd, worker, arg);
  }
  if (d != NULL)
    closedir(d);
}

/* The control folders of this program's pools: /tmp/hodos-ssh-PID.* */
static const char *control_prefix(void) {
  static char ctl[64];
  snprintf(ctl, sizeof(ctl), "/tmp/hodos-ssh-%ld.", (long)getpid());
  return ctl;
}

typedef struct found {
  char *what; /* leftovers(): each one said */
  size_t size;
  pid_t *pids; /* masters(): their pids */
  size_t cap;
  size_t n;
} found;

static void seen_leftover(long pid, const char *cmd, int worker, void *arg) {
  found *fd = arg;
  if (worker || strstr(cmd, control_prefix()) != NULL) {
    size_t at = strlen(fd->what);
    snprintf(fd->what + at, fd->size - at, "[%ld] %.120s; ", pid, cmd);
    fd->n++;
  }
}

/* The processes of this program's pools: its ssh clients (whose command
 * lines name its control folders) and its workers on the hosts (this
 * program with --hodos-worker). Says each in what, and returns how many. */
static int leftovers(char *what, size_t size) {
  found fd = {what, size, NULL, 0, 0};
  what[0] = '\0';
  scan_processes(seen_leftover, &fd);
  return (int)fd.n;
}

static void seen_master(long pid, const char *cmd, int worker, void *arg) {
  found *fd = arg;
  (void)worker;
  if (strstr(cmd, control_prefix()) != NULL &&
      strstr(cmd, "ControlMaster=yes") != NULL) {
    if (fd->n < fd->cap)
      fd->pids[fd->n] = (pid_t)pid;
    fd->n++;
  }
}

/* The master connections of this program's pools (ssh clients with
 * ControlMaster=yes naming its control folders): their pids in pids (up
 * to cap), and how many. */
static size_t masters(pid_t *pids, size_t cap) {
  found fd = {NULL, 0, pids, cap, 0};
  scan_processes(seen_master, &fd);
  return fd.n;
}

/* Whether process pid has ended (a zombie counts). */
static int ended(pid_t pid) {
  char path[64], buf[512];
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 1;
  size_t len = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[len] = '\0';
  const char *paren = strrchr(buf, ')');
  return paren == NULL || paren[1] == '\0' || paren[2] == 'Z' ||
         paren[2] == 'X';
}

static int has_pid(const pid_t *pids, size_t n, pid_t pid) {
  for (size_t i = 0; i < n; i++)
    if (pids[i] == pid)
      return 1;
  return 0;
}

/* Wait up to seconds for no process of this program's pools to be left;
 * the workers on the hosts end a moment after their sessions. */
static void check_nothing_left(const char *when, double seconds) {
  char what[4096];
  double from = now(), until = from + seconds;
  while (leftovers(what, sizeof(what)) > 0 && now() < until)
    usleep(50000);
  int n = leftovers(what, sizeof(what));
  check(n == 0, "%s: processes left: %s", when, what);
  if (n == 0)
    printf("%s: nothing left (%.2f s later)\n", when, now() - from);
}

/* The pools' warnings (a host lost, a task back in line) go to stderr,
 * with the test's output. */
static void log_line(hd_log_level level, const char *message, void *data) {
  (void)data;
  fprintf(stderr, "%s: %s\n", hd_log_level_name(level), message);
}

static atomic_int started;

static void count_started(const hd_event *ev, void *data) {
  (void)data;
  if (ev->type == HD_EVENT_STARTED)
    atomic_fetch_add(&started, 1);
}

int main(int argc, char **argv) {
  hd_fn_register("power", power, NULL);
  hd_fn_register("nap", nap, NULL);
  hd_fn_register("slow", slow, NULL);
  hd_fn_register("halve", halve, NULL);
  hd_fn_register("where", where, NULL);
  int status;
  if (hd_worker_main(argc, argv, &status))
    return status;
  if (argc != 2) {
    fprintf(stderr, "usage: pool KILL_COMMAND\n");
    return 2;
  }
  alarm(170); /* a hang fails the test instead of stalling it */
  ssize_t sn = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (sn <= 0)
    return 2;
  self[sn] = '\0';
  hd_log_set_cb(log_line, NULL, HD_LOG_WARN);

  /* The hosts' worker is this program (the default command); the array
     goes before the pool's first call: the pool keeps a copy. */
  hd_host *hosts = calloc(2, sizeof(hd_host));
  if (hosts == NULL)
    return 2;
  hosts[0] = (hd_host){.host = "h1", .slots = 2};
  hosts[1] = (hd_host){.host = "h2", .slots = 2};
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.hosts = hosts;
  o.nhosts = 2;
  o.on_event = count_started;
  hd_pool *p = NULL;
  int rc = hd_pool_new_opts("ssh", 0, &o, &p);
  free(hosts);
  if (rc != HD_OK) {
    fprintf(stderr, "FAIL  hd_pool_new_opts: %s\n", hd_strerror(rc));
    return 1;
  }
  check(hd_pool_nodes(p) == 4, "nodes: %u, not 4", hd_pool_nodes(p));
  double t0 = now();

  /* ---- map over two lists: the shortest wins ---- */
  {
    const int64_t b[] = {1, 2, 3, 4, 5, 6}, e[] = {2, 3, 2, 4, 3};
    const int64_t want[] = {1, 8, 9, 256, 125};
    hd_value *bases[6], *exps[5];
    for (int i = 0; i < 6; i++)
      hd_value_new_int(b[i], &bases[i]);
    for (int i = 0; i < 5; i++)
      hd_value_new_int(e[i], &exps[i]);
    hd_list lists[] = {{bases, 6}, {exps, 5}};
    hd_results *r = NULL;
    rc = hd_pool_map(p, "power", lists, 2, &r);
    check(rc == HD_OK, "map: %s", hd_strerror(rc));
    check(hd_results_count(r) == 5, "map: %zu results, not 5",
          hd_results_count(r));
    for (size_t i = 0; i < hd_results_count(r) && i < 5; i++)
      check(int_of(hd_results_value(r, i)) == want[i],
            "map: item %zu is %lld, not %lld (%s)", i,
            (long long)int_of(hd_results_value(r, i)), (long long)want[i],
            hd_results_error(r, i) ? hd_results_error(r, i) : "");
    hd_results_free(r);
    for (int i = 0; i < 6; i++)
      hd_value_unref(bases[i]);
    for (int i = 0; i < 5; i++)
      hd_value_unref(exps[i]);
    printf("map over two lists: %.2f s\n", now() - t0);
  }

  /* ---- a chunked map with one failing item ---- */
  {
    t0 = now();
    hd_value **bases = ints(100, base_of), **exps = ints(100, exp_of);
    hd_list lists[] = {{bases, 100}, {exps, 100}};
    hd_results *r = NULL;
    rc = hd_pool_map(p, "power", lists, 2, &r);
    check(rc == HD_ETASK, "failing map: %s, not HD_ETASK", hd_strerror(rc));
    check(hd_results_failed(r) == 1, "failing map: %zu failed, not 1",
          hd_results_failed(r));
    const char *err = hd_results_error(r, 37);
    check(hd_results_status(r, 37) == HD_ETASK && err != NULL &&
              strstr(err, "negative exponent -1") != NULL,
          "failing map: item 37: %s (%s)",
          hd_strerror(hd_results_status(r, 37)), err ? err : "no message");
    for (size_t i = 0; i < 100; i++) {
      if (i == 37)
        continue;
      int64_t want = 1;
      for (size_t k = 0; k < i % 5; k++)
        want *= (int64_t)(i % 7);
      check(hd_results_status(r, i) == HD_OK &&
                int_of(hd_results_value(r, i)) == want,
            "failing map: item %zu is %lld, not %lld", i,
            (long long)int_of(hd_results_value(r, i)), (long long)want);
    }
    hd_results_free(r);
    unref_all(bases, 100);
    unref_all(exps, 100);
    /* Doubles, packed in chunks. */
    hd_value **ns = ints(40, id);
    hd_list l = {ns, 40};
    rc = hd_pool_map(p, "halve", &l, 1, &r);
    check(rc == HD_OK, "halve: %s", hd_strerror(rc));
    for (size_t i = 0; rc == HD_OK && i < 40; i++) {
      double d = -1;
      hd_value_get_double(hd_results_value(r, i), &d);
      check(d == (double)i / 2, "halve: item %zu is %g", i, d);
    }
    hd_results_free(r);
    unref_all(ns, 40);
    printf("chunked maps: %.2f s\n", now() - t0);
  }

  /* ---- imap: in item order ---- */
  {
    t0 = now();
    hd_value **ns = ints(24, id);
    hd_list l = {ns, 24};
    hd_iter *it = NULL;
    rc = hd_pool_imap(p, "nap", &l, 1, &it);
    unref_all(ns, 24); /* imap holds its own references */
    check(rc == HD_OK, "imap: %s", hd_strerror(rc));
    size_t next = 0, index;
    hd_value *v;
    while (rc == HD_OK && (rc = hd_iter_next(it, 60, &index, &v)) == HD_OK) {
      check(index == next, "imap: item %zu came at place %zu", index, next);
      check(int_of(v) == (int64_t)(index * index), "imap: item %zu is %lld",
            index, (long long)int_of(v));
      hd_value_unref(v);
      next++;
    }
    check(rc == HD_EEND && next == 24, "imap: ended with %s after %zu items",
          hd_strerror(rc), next);
    hd_iter_free(it);
    printf("imap: %.2f s\n", now() - t0);
  }

  /* ---- uimap: every item once, each on a host, in another process ---- */
  {
    t0 = now();
    enum { N = 32 };
    hd_value *args[N];
    for (int i = 0; i < N; i++) {
      char s[16];
      int len = snprintf(s, sizeof(s), "item%d", i);
      hd_value_new_text(s, (size_t)len, &args[i]);
    }
    hd_list l = {args, N};
    hd_iter *it = NULL;
    rc = hd_pool_uimap(p, "where", &l, 1, &it);
    check(rc == HD_OK, "uimap: %s", hd_strerror(rc));
    int seen[N] = {0}, count = 0, h1 = 0, h2 = 0, here = 0;
    size_t index;
    hd_value *v;
    while (rc == HD_OK && (rc = hd_iter_next(it, 60, &index, &v)) == HD_OK) {
      char arg[32] = "", addr[64] = "";
      long pid = 0;
      sscanf(hd_value_text(v), "%31s %63s %ld", arg, addr, &pid);
      char want[16];
      snprintf(want, sizeof(want), "item%zu", index);
      check(index < N && strcmp(arg, want) == 0, "uimap: item %zu gave '%s'",
            index, hd_value_text(v));
      if (index < N)
        seen[index]++;
      h1 += strcmp(addr, "127.0.0.2") == 0;
      h2 += strcmp(addr, "127.0.0.3") == 0;
      here += pid == (long)getpid();
      hd_value_unref(v);
      count++;
    }
    check(rc == HD_EEND && count == N, "uimap: %d items, ended with %s", count,
          hd_strerror(rc));
    for (int i = 0; i < N; i++)
      check(seen[i] == 1, "uimap: item %d given %d times", i, seen[i]);
    check(h1 > 0 && h2 > 0 && h1 + h2 == N && here == 0,
          "uimap: %d items ran on h1, %d on h2, %d in this process", h1, h2,
          here);
    hd_iter_free(it);
    for (int i = 0; i < N; i++)
      hd_value_unref(args[i]);
    printf("uimap: %.2f s\n", now() - t0);
  }

  /* ---- amap, waited for with a timeout ---- */
  {
    t0 = now();
    hd_value **ns = ints(4, id), **ms = ints(4, ms_300);
    hd_list lists[] = {{ns, 4}, {ms, 4}};
    hd_future *f = NULL;
    rc = hd_pool_amap(p, "slow", lists, 2, &f);
    unref_all(ns, 4);
    unref_all(ms, 4);
    check(rc == HD_OK, "amap: %s", hd_strerror(rc));
    check(hd_future_wait(f, 0.05) == HD_ETIMEDOUT && !hd_future_ready(f),
          "amap: ready within 50 ms");
    const hd_results *r = NULL;
    check(hd_future_get(f, 0.01, &r) == HD_ETIMEDOUT && r == NULL,
          "amap: get gave results before they were ready");
    rc = hd_future_get(f, 60, &r);
    check(rc == HD_OK && hd_future_ready(f), "amap: get: %s", hd_strerror(rc));
    for (size_t i = 0; r != NULL && i < 4; i++)
      check(int_of(hd_results_value(r, i)) == (int64_t)(i * i),
            "amap: item %zu is %lld", i,
            (long long)int_of(hd_results_value(r, i)));
    hd_future_free(f);
    printf("amap: %.2f s\n", now() - t0);
  }

  /* ---- pipe and apipe ---- */
  {
    t0 = now();
    hd_value *a[2], *out = NULL;
    char *err = NULL;
    hd_value_new_int(3, &a[0]);
    hd_value_new_int(4, &a[1]);
    rc = hd_pool_pipe(p, "power", a, 2, &out, &err);
    check(rc == HD_OK && int_of(out) == 81, "pipe: %s, %lld", hd_strerror(rc),
          (long long)int_of(out));
    hd_value_unref(out);
    hd_value_unref(a[1]);
    hd_value_new_int(-2, &a[1]);
    rc = hd_pool_pipe(p, "power", a, 2, &out, &err);
    check(rc == HD_ETASK && out == NULL && err != NULL &&
              strstr(err, "negative exponent -2") != NULL,
          "failing pipe: %s (%s)", hd_strerror(rc), err ? err : "no message");
    hd_pool_string_free(err);
    hd_value_unref(a[1]);
    hd_value_new_int(10, &a[1]);
    hd_future *f = NULL;
    rc = hd_pool_apipe(p, "power", a, 2, &f);
    hd_value_unref(a[0]);
    hd_value_unref(a[1]);
    const hd_results *r = NULL;
    check(rc == HD_OK && hd_future_get(f, 60, &r) == HD_OK &&
              hd_results_count(r) == 1 &&
              int_of(hd_results_value(r, 0)) == 59049,
          "apipe: %s", hd_strerror(rc));
    hd_future_free(f);
    printf("pipe and apipe: %.2f s\n", now() - t0);
  }

  /* ---- the hosts' master connections outlive a call ---- */
  {
    t0 = now();
    pid_t before[4], after[4];
    size_t nb = masters(before, 4);
    check(nb == 2, "after a call: %zu master connections, not 2", nb);
    hd_value *a[2], *out = NULL;
    hd_value_new_int(2, &a[0]);
    hd_value_new_int(3, &a[1]);
    for (int k = 0; k < 3; k++) {
      rc = hd_pool_pipe(p, "power", a, 2, &out, NULL);
      check(rc == HD_OK && int_of(out) == 8, "pipe %d: %s", k, hd_strerror(rc));
      hd_value_unref(out);
      size_t na = masters(after, 4);
      check(na == nb && (nb == 0 || (has_pid(after, na, before[0]) &&
                                     has_pid(after, na, before[nb - 1]))),
            "call %d made new master connections (%zu)", k, na);
    }
    /* One that dies between calls (its socket left behind) is made
       again. */
    if (nb > 0) {
      kill(before[0], SIGKILL);
      double until = now() + 5;
      while (!ended(before[0]) && now() < until)
        usleep(10000);
    }
    rc = hd_pool_pipe(p, "power", a, 2, &out, NULL);
    check(rc == HD_OK && int_of(out) == 8, "pipe after a master died: %s",
          hd_strerror(rc));
    hd_value_unref(out);
    size_t na = masters(after, 4);
    check(na == 2 && !has_pid(after, na, before[0]),
          "after a master died: %zu masters, the dead one %s", na,
          has_pid(after, na, before[0]) ? "among them" : "not among them");
    hd_value_unref(a[0]);
    hd_value_unref(a[1]);
    printf("master connections kept: %.2f s\n", now() - t0);
  }

  /* ---- terminate: prompt, with nothing left running ---- */
  {
    hd_value **ns = ints(4, id), **ms = ints(4, ms_20s);
    hd_list lists[] = {{ns, 4}, {ms, 4}};
    hd_future *f = NULL;
    atomic_store(&started, 0);
    rc = hd_pool_amap(p, "slow", lists, 2, &f);
    unref_all(ns, 4);
    unref_all(ms, 4);
    check(rc == HD_OK, "amap to terminate: %s", hd_strerror(rc));
    double until = now() + 30;
    while (atomic_load(&started) < 4 && now() < until)
      usleep(10000);
    check(atomic_load(&started) == 4, "terminate: %d items started, not 4",
          atomic_load(&started));
    usleep(200000); /* into the function, on the hosts */
    t0 = now();
    rc = hd_pool_terminate(p);
    double took = now() - t0;
    check(rc == HD_OK && took < 5, "terminate: %s after %.2f s",
          hd_strerror(rc), took);
    printf("terminate: %.2f s\n", took);
    const hd_results *r = NULL;
    rc = hd_future_get(f, 0, &r);
    check(rc == HD_EINTR, "terminated amap: %s, not HD_EINTR", hd_strerror(rc));
    for (size_t i = 0; r != NULL && i < 4; i++)
      check(hd_results_status(r, i) == HD_EINTR, "terminated item %zu: %s", i,
            hd_strerror(hd_results_status(r, i)));
    hd_future_free(f);
    /* The ssh clients are reaped when terminate returns; the workers on
       the hosts end when their sessions do (at most three seconds for a
       function that does not return). */
    check_nothing_left("after terminate", 5);
    /* And the pool works again once restarted. */
    check(hd_pool_restart(p, 0) == HD_OK, "restart");
    hd_value *a[2], *out = NULL;
    hd_value_new_int(2, &a[0]);
    hd_value_new_int(5, &a[1]);
    rc = hd_pool_pipe(p, "power", a, 2, &out, NULL);
    check(rc == HD_OK && int_of(out) == 32, "pipe after restart: %s",
          hd_strerror(rc));
    hd_value_unref(out);
    hd_value_unref(a[0]);
    hd_value_unref(a[1]);
  }
  hd_pool_free(p);
  check_nothing_left("after hd_pool_free", 5);

  /* ---- nodes: fewer than the slots; slots learned; no host ---- */
  {
    t0 = now();
    hd_host two[2] = {{.host = "h1", .slots = 2}, {.host = "h2", .slots = 2}};
    o.hosts = two;
    o.on_event = NULL;
    rc = hd_pool_new_opts("ssh", 1, &o, &p);
    check(rc == HD_OK && hd_pool_nodes(p) == 1, "nodes 1: %s, %u",
          hd_strerror(rc), hd_pool_nodes(p));
    hd_value *args[3];
    for (int i = 0; i < 3; i++)
      hd_value_new_text("x", 1, &args[i]);
    hd_list l = {args, 3};
    hd_results *r = NULL;
    rc = hd_pool_map(p, "where", &l, 1, &r);
    char first[64] = "";
    for (size_t i = 0; rc == HD_OK && i < 3; i++) {
      const char *w = hd_value_text(hd_results_value(r, i));
      if (i == 0)
        snprintf(first, sizeof(first), "%s", w);
      check(strcmp(w, first) == 0,
            "nodes 1: item %zu ran at '%s', item 0 at "
            "'%s'",
            i, w, first);
    }
    check(rc == HD_OK, "nodes 1: %s", hd_strerror(rc));
    hd_results_free(r);
    hd_pool_free(p);
    /* Hosts without slots: their CPU count, learned by the first call. */
    two[0].slots = two[1].slots = 0;
    rc = hd_pool_new_opts("ssh", 0, &o, &p);
    check(rc == HD_OK && hd_pool_nodes(p) == 2, "slots 0: %s, %u nodes",
          hd_strerror(rc), hd_pool_nodes(p));
    hd_value *out = NULL;
    rc = hd_pool_pipe(p, "where", args, 1, &out, NULL);
    check(rc == HD_OK, "slots 0: pipe: %s", hd_strerror(rc));
    hd_value_unref(out);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    check(hd_pool_nodes(p) == 2 * (unsigned)cpus,
          "slots 0: %u nodes after a call, not %ld", hd_pool_nodes(p),
          2 * cpus);
    hd_pool_free(p);
    /* No host that answers: each item fails, saying why. */
    const char *port = getenv("SSHD_PORT");
    hd_host none[1] = {{.host = "127.0.0.4",
                        .port = port ? (unsigned)strtoul(port, NULL, 10) : 1,
                        .slots = 1}};
    o.hosts = none;
    o.nhosts = 1;
    rc = hd_pool_new_opts("ssh", 0, &o, &p);
    check(rc == HD_OK, "no host: %s", hd_strerror(rc));
    rc = hd_pool_map(p, "where", &l, 1, &r);
    check(rc == HD_ETASK && hd_results_failed(r) == 3, "no host: %s",
          hd_strerror(rc));
    const char *err = hd_results_error(r, 0);
    check(err != NULL &&
              strstr(err, "no host can be reached: 127.0.0.4") != NULL,
          "no host: item 0: %s", err ? err : "no message");
    hd_results_free(r);
    hd_pool_free(p);
    o.nhosts = 2;
    for (int i = 0; i < 3; i++)
      hd_value_unref(args[i]);
    check_nothing_left("after the pools of nodes and slots", 5);
    printf("nodes, learned slots, no host: %.2f s\n", now() - t0);
  }

  /* ---- h2 killed during a map, with retries ---- */
  {
    hd_host two[2] = {{.host = "h1", .slots = 2}, {.host = "h2", .slots = 2}};
    o.hosts = two;
    o.retries = 2;
    rc = hd_pool_new_opts("ssh", 0, &o, &p);
    check(rc == HD_OK, "a pool with retries: %s", hd_strerror(rc));
    enum { N = 48 };
    hd_value **ns = ints(N, id), **ms = ints(N, ms_300);
    for (size_t i = 0; i < N; i++) {
      hd_value_unref(ms[i]);
      hd_value_new_int(80, &ms[i]);
    }
    hd_list lists[] = {{ns, N}, {ms, N}};
    hd_iter *it = NULL;
    t0 = now();
    rc = hd_pool_uimap(p, "slow", lists, 2, &it);
    check(rc == HD_OK, "uimap with a host killed: %s", hd_strerror(rc));
    int seen[N] = {0}, count = 0, killed = 0;
    size_t index;
    hd_value *v;
    int irc;
    while (rc == HD_OK &&
           (irc = hd_iter_next(it, 120, &index, &v)) != HD_EEND) {
      if (irc == HD_ETIMEDOUT) {
        check(0, "killed host: no result within 120 s");
        break;
      }
      check(irc == HD_OK && int_of(v) == (int64_t)(index * index),
            "killed host: item %zu: %s %s", index, hd_strerror(irc),
            hd_iter_error(it) ? hd_iter_error(it) : "");
      hd_value_unref(v);
      if (index < N)
        seen[index]++;
      if (++count == 6 && !killed) {
        killed = 1;
        int k = system(argv[1]);
        check(k == 0, "the kill command exited with %d", k);
        printf("h2 killed after %d items, %.2f s\n", count, now() - t0);
      }
    }
    check(count == N && killed, "killed host: %d items given, not %d", count,
          N);
    for (int i = 0; i < N; i++)
      check(seen[i] == 1, "killed host: item %d given %d times", i, seen[i]);
    printf("uimap with h2 killed: %.2f s\n", now() - t0);
    hd_iter_free(it);
    unref_all(ns, N);
    unref_all(ms, N);
    hd_pool_free(p);
    check_nothing_left("after the pool with h2 killed", 5);
  }

  if (failures > 0) {
    fprintf(stderr, "pool: %d failure(s)\n", failures);
    return 1;
  }
  puts("ok");
  return 0;
}
