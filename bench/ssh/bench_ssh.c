/* bench/ssh: the helpers of run.sh, which times hodos over ssh beside
 * the processes backend and counts the bytes that cross.
 *
 *   bench_ssh tiny N BACKEND [HOSTS]
 *       Runs, with hd_plan_run() and no store or run folder, a graph of
 *       one function task and then a graph of N independent function
 *       tasks (each makes the integer 1 its result). BACKEND is
 *       "processes" (4 workers) or "ssh" on HOSTS (default h1:2,h2:2:
 *       host:slots,...), where the worker is this program started as
 *       `bench_ssh --hodos-worker` (hd_worker_main()), so that it knows
 *       the function; the ssh client is $HODOS_SSH_COMMAND. Graphs are
 *       built and planned outside the clock. Prints: ms_one ms_n.
 *   bench_ssh time CMD [ARG...]
 *       Runs CMD with its standard output on /dev/null. Prints: ms.
 *   bench_ssh relay FILE HOST PORT
 *       An ssh ProxyCommand: connects to HOST:PORT and copies its standard
 *       input to the connection and the connection to its standard output.
 *       At the end (either side closed, or SIGHUP or SIGTERM, which ssh
 *       sends its proxy when it exits) appends "SENT RECEIVED\n" to FILE:
 *       the bytes of the TCP stream in each direction, that is, what ssh
 *       puts on the wire (encrypted packets, the key exchange included)
 *       less the TCP/IP headers.
 *   bench_ssh pipe FILE CMD [ARG...]
 *       Runs CMD with its standard input and output through pipes, copies
 *       its own standard input to CMD's and CMD's output to its own, and
 *       at the end appends "IN OUT\n" to FILE: the bytes CMD read and
 *       wrote. Given as `hodos run --worker`, it counts the wire protocol
 *       of one session. Exits with CMD's status.
 *
 * Each line goes to FILE in one write() with O_APPEND, so that concurrent
 * connections and sessions can share a file. */
#include <errno.h>
#include <fcntl.h>
#include <hodos/hodos.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
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

static volatile sig_atomic_t stop;

static void on_stop(int sig) {
  (void)sig;
  stop = 1;
}

/* One direction of a copy: bytes read from `in` wait in buf until `out`
 * takes them. */
typedef struct flow {
  int in, out;
  int sock; /* out is a socket: end it with shutdown(), not close() */
  int eof;  /* in has ended */
  int done; /* out is closed: nothing more will go this way */
  char buf[65536];
  size_t len, off;
  uint64_t bytes;
} flow;

static void flow_end(flow *f) {
  if (f->done)
    return;
  f->done = 1;
  if (f->sock)
    shutdown(f->out, SHUT_WR);
  else
    close(f->out);
}

static void nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Copy both flows until both are done or a stop signal came. Descriptors
 * are non-blocking, so that neither direction waits on the other: a peer
 * that writes a large frame before it reads must not stall. */
static void pump(flow *f) {
  for (int i = 0; i < 2; i++) {
    nonblock(f[i].in);
    nonblock(f[i].out);
  }
  while (!stop && !(f[0].done && f[1].done)) {
    struct pollfd p[4];
    int np = 0, at[2][2] = {{-1, -1}, {-1, -1}};
    for (int i = 0; i < 2; i++) {
      if (f[i].done)
        continue;
      if (f[i].len == 0 && !f[i].eof) {
        p[np] = (struct pollfd){f[i].in, POLLIN, 0};
        at[i][0] = np++;
      }
      if (f[i].len > 0) {
        p[np] = (struct pollfd){f[i].out, POLLOUT, 0};
        at[i][1] = np++;
      }
    }
    if (poll(p, (nfds_t)np, -1) < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    for (int i = 0; i < 2; i++) {
      flow *g = &f[i];
      if (at[i][0] >= 0 && p[at[i][0]].revents != 0) {
        ssize_t n = read(g->in, g->buf, sizeof(g->buf));
        if (n > 0) {
          g->len = (size_t)n;
          g->off = 0;
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          g->eof = 1;
        }
      }
      if (at[i][1] >= 0 && p[at[i][1]].revents != 0) {
        ssize_t n = write(g->out, g->buf + g->off, g->len);
        if (n > 0) {
          g->off += (size_t)n;
          g->len -= (size_t)n;
          g->bytes += (uint64_t)n;
        } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
          g->len = 0;
          g->eof = 1; /* the reader is gone: stop this way */
        }
      }
      if (g->eof && g->len == 0)
        flow_end(g);
    }
  }
}

static void append(const char *file, uint64_t a, uint64_t b) {
  char line[64];
  int n = snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long)a,
                   (unsigned long long)b);
  int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0 || write(fd, line, (size_t)n) != n)
    fprintf(stderr, "bench_ssh: cannot write %s: %s\n", file, strerror(errno));
  if (fd >= 0)
    close(fd);
}

static void on_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_stop; /* no SA_RESTART: poll() returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
}

static int mode_relay(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: bench_ssh relay FILE HOST PORT\n");
    return 2;
  }
  struct addrinfo hints, *ai;
  memset(&hints, 0, sizeof(hints));
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(argv[3], argv[4], &hints, &ai);
  if (rc != 0) {
    fprintf(stderr, "bench_ssh: %s: %s\n", argv[3], gai_strerror(rc));
    return 1;
  }
  int s = -1;
  for (struct addrinfo *a = ai; a != NULL && s < 0; a = a->ai_next) {
    s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (s >= 0 && connect(s, a->ai_addr, a->ai_addrlen) != 0) {
      close(s);
      s = -1;
    }
  }
  freeaddrinfo(ai);
  if (s < 0) {
    fprintf(stderr, "bench_ssh: cannot connect to %s:%s: %s\n", argv[3],
            argv[4], strerror(errno));
    return 1;
  }
  on_signals();
  static flow f[2];
  f[0].in = 0;
  f[0].out = s;
  f[0].sock = 1;
  f[1].in = s;
  f[1].out = 1;
  pump(f);
  append(argv[2], f[0].bytes, f[1].bytes);
  return 0;
}

static int mode_pipe(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: bench_ssh pipe FILE CMD [ARG...]\n");
    return 2;
  }
  int to[2], from[2];
  if (pipe(to) != 0 || pipe(from) != 0) {
    perror("bench_ssh: pipe");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_ssh: fork");
    return 1;
  }
  if (pid == 0) {
    dup2(to[0], 0);
    dup2(from[1], 1);
    close(to[0]);
    close(to[1]);
    close(from[0]);
    close(from[1]);
    execvp(argv[3], argv + 3);
    fprintf(stderr, "bench_ssh: cannot run %s: %s\n", argv[3], strerror(errno));
    _exit(127);
  }
  close(to[0]);
  close(from[1]);
  on_signals();
  static flow f[2];
  f[0].in = 0;
  f[0].out = to[1];
  f[1].in = from[0];
  f[1].out = 1;
  pump(f);
  append(argv[2], f[0].bytes, f[1].bytes);
  flow_end(&f[0]); /* stopped by a signal: CMD sees its input end */
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

/* ---- tiny: the backend's own cost per task ---- */

static int fn_one(hd_task *t, void *data) {
  (void)data;
  hd_value *v;
  int rc = hd_value_new_int(1, &v);
  return rc != HD_OK ? rc : hd_task_set_output(t, v);
}

static void check(int rc, const char *what) {
  if (rc != HD_OK) {
    fprintf(stderr, "bench_ssh: %s: %s\n", what, hd_strerror(rc));
    exit(1);
  }
}

static hd_plan *make_plan(size_t n) {
  hd_graph *g;
  check(hd_graph_new(&g), "hd_graph_new");
  char name[32];
  for (size_t i = 0; i < n; i++) {
    hd_node *node;
    snprintf(name, sizeof(name), "t%zu", i);
    check(hd_graph_add_fn(g, name, "one", &node), "hd_graph_add_fn");
  }
  hd_plan *p;
  check(hd_plan_new(g, &p), "hd_plan_new");
  hd_graph_free(g);
  return p;
}

/* Run p, check every result, return the milliseconds taken. */
static double timed_run(hd_plan *p, const hd_run_opts *o) {
  hd_report *r = NULL;
  double t0 = now_s();
  int rc = hd_plan_run(p, o, &r);
  double t = now_s() - t0;
  size_t n = hd_plan_node_count(p);
  int64_t v = 0;
  for (size_t i = 0; rc == HD_OK && i < n; i++)
    if (hd_value_get_int(hd_report_result(r, i), &v) != HD_OK || v != 1)
      rc = HD_ETASK;
  if (rc != HD_OK) {
    fprintf(stderr, "bench_ssh: run on %s: %s, %zu of %zu done\n", o->backend,
            hd_strerror(rc), r ? hd_report_count(r, HD_STATE_DONE) : 0, n);
    exit(1);
  }
  hd_report_free(r);
  return t * 1e3;
}

static int mode_tiny(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: bench_ssh tiny N BACKEND [HOSTS]\n");
    return 2;
  }
  char *end;
  errno = 0;
  unsigned long long n = strtoull(argv[2], &end, 10);
  if (errno != 0 || *end != '\0' || n == 0) {
    fprintf(stderr, "bench_ssh: bad number '%s'\n", argv[2]);
    return 2;
  }
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = argv[3];
  o.jobs = 4;
  hd_host hosts[16];
  char spec[256], self[PATH_MAX], cmd[PATH_MAX + 32];
  if (strcmp(argv[3], "ssh") == 0) {
    ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (k <= 0) {
      perror("bench_ssh: /proc/self/exe");
      return 1;
    }
    self[k] = '\0';
    snprintf(cmd, sizeof(cmd), "%s --hodos-worker", self);
    snprintf(spec, sizeof(spec), "%s", argc > 4 ? argv[4] : "h1:2,h2:2");
    size_t nh = 0;
    char *save = NULL;
    for (char *h = strtok_r(spec, ",", &save); h != NULL;
         h = strtok_r(NULL, ",", &save)) {
      if (nh == sizeof(hosts) / sizeof(hosts[0])) {
        fprintf(stderr, "bench_ssh: too many hosts\n");
        return 2;
      }
      memset(&hosts[nh], 0, sizeof(hosts[nh]));
      char *colon = strchr(h, ':');
      if (colon != NULL) {
        *colon = '\0';
        hosts[nh].slots = (unsigned)strtoul(colon + 1, NULL, 10);
      }
      hosts[nh].host = h;
      hosts[nh].command = cmd;
      nh++;
    }
    o.hosts = hosts;
    o.nhosts = nh;
  }
  hd_plan *one = make_plan(1), *many = make_plan((size_t)n);
  double t1 = timed_run(one, &o);
  double tn = timed_run(many, &o);
  hd_plan_free(one);
  hd_plan_free(many);
  printf("%.1f %.1f\n", t1, tn);
  return 0;
}

/* ---- the other modes ---- */

static int mode_time(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "bench_ssh: time needs a command\n");
    return 2;
  }
  fflush(NULL);
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_ssh: fork");
    return 1;
  }
  if (pid == 0) {
    FILE *null = freopen("/dev/null", "w", stdout);
    (void)null;
    execvp(argv[2], argv + 2);
    fprintf(stderr, "bench_ssh: cannot run %s: %s\n", argv[2], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  double t = now_s() - t0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_ssh: %s failed (status %d)\n", argv[2],
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 1;
  }
  printf("%.1f\n", t * 1e3);
  return 0;
}

int main(int argc, char **argv) {
  check(hd_fn_register("one", fn_one, NULL), "hd_fn_register");
  int status;
  if (hd_worker_main(argc, argv, &status))
    return status;
  const char *m = argc >= 2 ? argv[1] : "";
  if (strcmp(m, "tiny") == 0)
    return mode_tiny(argc, argv);
  if (strcmp(m, "time") == 0)
    return mode_time(argc, argv);
  if (strcmp(m, "relay") == 0)
    return mode_relay(argc, argv);
  if (strcmp(m, "pipe") == 0)
    return mode_pipe(argc, argv);
  fprintf(stderr, "usage: bench_ssh tiny|time|relay|pipe ARGS\n");
  return 2;
}
