/* bench/ssh: the helpers of run.sh, which times `hodos run` over ssh and
 * counts the bytes that cross. It needs no part of hodos.
 *
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
  int sock;  /* out is a socket: end it with shutdown(), not close() */
  int eof;   /* in has ended */
  int done;  /* out is closed: nothing more will go this way */
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
    fprintf(stderr, "bench_ssh: cannot write %s: %s\n", file,
            strerror(errno));
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
    fprintf(stderr, "bench_ssh: cannot run %s: %s\n", argv[3],
            strerror(errno));
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
    fprintf(stderr, "bench_ssh: cannot run %s: %s\n", argv[2],
            strerror(errno));
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
  const char *m = argc >= 2 ? argv[1] : "";
  if (strcmp(m, "time") == 0)
    return mode_time(argc, argv);
  if (strcmp(m, "relay") == 0)
    return mode_relay(argc, argv);
  if (strcmp(m, "pipe") == 0)
    return mode_pipe(argc, argv);
  fprintf(stderr, "usage: bench_ssh time|relay|pipe ARGS\n");
  return 2;
}
