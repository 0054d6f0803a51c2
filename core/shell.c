/* Shell tasks: /bin/sh -c CMD in a session of its own, with the
 * predecessors' results on its standard input, its standard output
 * captured as the result and its standard error kept (a tail in memory, the
 * whole in the task's log). A private libuv loop drives the pipes, the
 * child's end and a timer that watches for an interrupt.
 *
 * The child is started with posix_spawn, which shares the parent's memory
 * until the exec instead of copying its page tables as fork does: on a
 * virtual machine that copy is most of what starting a process costs, and
 * it grows with the parent (a run of a million tasks, a threads backend
 * with its deques). Its end is seen on a pidfd; where the kernel has none
 * (before Linux 5.3) the timer asks waitpid. */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np, pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "exec.h"
#include "template.h"

extern char **environ;

#define POLL_MS 20
#define KILL_GRACE_NS (2000000000ull)
/* After the SIGKILL that follows a task's end, how long its output pipes
 * may stay open before they are no longer read. */
#define LEFT_GRACE_NS (1000000000ull)
#define READ_CHUNK (64 * 1024)

typedef struct shell {
  hd__exec *x;
  uv_loop_t loop;
  pid_t pid;       /* the task, or 0 before it starts */
  int pidfd;       /* a pidfd of it (closed at the end), or -1 */
  int watched;     /* its end is seen on the pidfd, not asked by the timer */
  uv_poll_t exitw; /* watches the pidfd */
  uv_pipe_t out, err;
  uv_poll_t in;   /* our end of the task's standard input */
  int in_fd;      /* that end, or -1 */
  uv_buf_t *bufs; /* what is left to write to it */
  size_t nbufs, cur, off;
  uv_timer_t timer;
  hd__buf outbuf;
  int exited;
  int open_handles;
  int nomem;
  int log_failed; /* a write to x->log_fd failed: with log_errno, after
                     log_bytes bytes */
  int log_errno;
  size_t log_bytes;
  uint64_t term_sent; /* when SIGTERM was sent to the group, or 0 */
  uint64_t kill_sent; /* after its exit: when SIGKILL was sent, or 0 */
  int killed;
  atomic_int *noted; /* where its group is noted for hodos, or NULL */
  char scratch[READ_CHUNK];
} shell;

/* A worker of the processes backend notes, in memory it shares with hodos,
 * the process group of each shell task it runs, from its start until
 * hd__exec_shell() returns: a task runs in a session of its own, which
 * nothing would stop if the worker died (SIGKILL, a crash), so hodos
 * kills the groups of a worker it loses (backends/processes.c). Set once
 * in the worker, before it has other threads; NULL elsewhere. */
static atomic_int *groups_at;
static unsigned groups_n;

void hd__shell_groups_at(atomic_int *at, unsigned n) {
  groups_at = at;
  groups_n = at != NULL ? n : 0;
}

/* Note group pgid in a free entry; NULL when none is left (more shell
 * tasks at once than entries: a function running a run of its own). */
static atomic_int *group_note(pid_t pgid) {
  for (unsigned i = 0; i < groups_n; i++) {
    int none = 0;
    if (atomic_compare_exchange_strong(&groups_at[i], &none, (int)pgid))
      return &groups_at[i];
  }
  return NULL;
}

static void on_close(uv_handle_t *h) {
  shell *s = h->data;
  s->open_handles--;
}

static void close_handle(shell *s, uv_handle_t *h) {
  if (uv_is_closing(h))
    return;
  uv_os_fd_t fd;
  if ((h == (uv_handle_t *)&s->out || h == (uv_handle_t *)&s->err) &&
      uv_fileno(h, &fd) == 0) {
    /* Our ends of the task's output are listed in fork.c: taken off as
       they close. */
    hd__fork_shared_begin();
    hd__fork_untrack(fd);
    uv_close(h, on_close);
    hd__fork_shared_end();
    return;
  }
  uv_close(h, on_close);
}

static void maybe_stop_timer(shell *s) {
  if (s->exited && uv_is_closing((uv_handle_t *)&s->out) &&
      uv_is_closing((uv_handle_t *)&s->err))
    close_handle(s, (uv_handle_t *)&s->timer);
}

static void alloc_out(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  shell *s = h->data;
  hd__buf *b = &s->outbuf;
  if (b->cap - b->len < READ_CHUNK + 1) {
    size_t need = b->len + READ_CHUNK + 1;
    size_t ncap = b->cap ? b->cap : READ_CHUNK * 2;
    while (ncap < need)
      ncap *= 2;
    char *p = hd__realloc(b->data, ncap);
    if (p == NULL) {
      s->nomem = 1;
      *buf = uv_buf_init(s->scratch, sizeof(s->scratch));
      return;
    }
    b->data = p;
    b->cap = ncap;
  }
  *buf = uv_buf_init(b->data + b->len, (unsigned)(b->cap - b->len - 1));
}

static void alloc_err(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  (void)hint;
  shell *s = h->data;
  *buf = uv_buf_init(s->scratch, sizeof(s->scratch));
}

static void on_read_out(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  shell *s = st->data;
  if (n > 0 && buf->base != s->scratch) {
    s->outbuf.len += (size_t)n;
    s->outbuf.data[s->outbuf.len] = '\0';
  } else if (n < 0) {
    close_handle(s, (uv_handle_t *)st);
    maybe_stop_timer(s);
  }
}

static void keep_tail(hd__buf *t, const char *data, size_t n) {
  if (n >= HD__STDERR_TAIL) {
    t->len = 0;
    data += n - HD__STDERR_TAIL;
    n = HD__STDERR_TAIL;
  } else if (t->len + n > HD__STDERR_TAIL) {
    size_t drop = t->len + n - HD__STDERR_TAIL;
    memmove(t->data, t->data + drop, t->len - drop);
    t->len -= drop;
  }
  hd__buf_append(t, data, n);
}

static void on_read_err(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
  shell *s = st->data;
  if (n > 0) {
    keep_tail(&s->x->err_tail, buf->base, (size_t)n);
    if (s->x->log_fd >= 0 && !s->log_failed) {
      size_t off = 0;
      while (off < (size_t)n) {
        ssize_t w = write(s->x->log_fd, buf->base + off, (size_t)n - off);
        if (w < 0 && errno == EINTR)
          continue;
        if (w <= 0) {
          s->log_failed = 1;
          s->log_errno = w < 0 ? errno : ENOSPC;
          break;
        }
        off += (size_t)w;
        s->log_bytes += (size_t)w;
      }
    }
  } else if (n < 0) {
    close_handle(s, (uv_handle_t *)st);
    maybe_stop_timer(s);
  }
}

/* The task's standard input is a socket, written with MSG_NOSIGNAL: a task
 * that exits without reading it costs an EPIPE here, never a SIGPIPE that
 * would kill the process (and no signal mask games, which sanitizers and
 * applications may not share). */
static void close_input(shell *s) {
  if (s->in_fd < 0)
    return;
  close_handle(s, (uv_handle_t *)&s->in);
  hd__fork_close(s->in_fd);
  s->in_fd = -1;
}

static void on_writable(uv_poll_t *h, int status, int events) {
  shell *s = h->data;
  (void)events;
  if (status < 0) {
    close_input(s);
    return;
  }
  while (s->cur < s->nbufs) {
    uv_buf_t *b = &s->bufs[s->cur];
    if (s->off == b->len) {
      s->cur++;
      s->off = 0;
      continue;
    }
    ssize_t n = send(s->in_fd, b->base + s->off, b->len - s->off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      s->off += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return; /* wait until the task reads */
    break;    /* EPIPE and the like: the task does not want the rest */
  }
  close_input(s);
}

/* Reaps the task if it has ended (without waiting when nowait). */
static void reap(shell *s, int nowait) {
  if (s->exited)
    return;
  int status;
  pid_t got;
  while ((got = waitpid(s->pid, &status, nowait ? WNOHANG : 0)) < 0 &&
         errno == EINTR)
    ;
  if (got == 0)
    return;
  s->exited = 1;
  if (got < 0) { /* reaped by someone else: its status is lost */
    s->x->exit_status = -1;
    s->x->term_signal = 0;
  } else if (WIFSIGNALED(status)) {
    s->x->exit_status = -1;
    s->x->term_signal = WTERMSIG(status);
  } else {
    s->x->exit_status = WEXITSTATUS(status);
    s->x->term_signal = 0;
  }
  /* Whatever the task left running in its session goes with it, so that
     nothing outlives the run and the output pipes reach end of file. */
  kill(-s->pid, SIGTERM);
  if (s->watched)
    close_handle(s, (uv_handle_t *)&s->exitw);
  maybe_stop_timer(s);
}

static void on_exited(uv_poll_t *h, int status, int events) {
  (void)status;
  (void)events;
  reap(h->data, 0);
}

static void on_tick(uv_timer_t *t) {
  shell *s = t->data;
  if (!s->watched)
    reap(s, 1);
  if (s->exited) {
    /* Background processes that ignored SIGTERM still hold the pipes. */
    uint64_t now = hd__now_ns();
    if (s->term_sent == 0) {
      s->term_sent = now;
    } else if (s->kill_sent == 0 && now - s->term_sent > KILL_GRACE_NS) {
      kill(-s->pid, SIGKILL);
      s->kill_sent = now;
    } else if (s->kill_sent != 0 && now - s->kill_sent > LEFT_GRACE_NS) {
      /* Still open: a process that left the task's session (setsid)
         holds them, out of reach. The task ended; what it wrote is
         kept, and the rest is not waited for. */
      close_handle(s, (uv_handle_t *)&s->out);
      close_handle(s, (uv_handle_t *)&s->err);
      maybe_stop_timer(s);
    }
    return;
  }
  int interrupted = s->x->interrupt != NULL && hd__flag(s->x->interrupt) != 0;
  int late =
      s->x->timeout_ns != 0 && hd__now_ns() - s->x->start_ns > s->x->timeout_ns;
  if (!interrupted && !late && s->term_sent == 0)
    return;
  if (s->term_sent == 0) {
    s->term_sent = hd__now_ns();
    if (interrupted)
      s->killed = 1;
    else
      s->x->timed_out = 1;
    kill(-s->pid, SIGTERM);
  } else if (hd__now_ns() - s->term_sent > KILL_GRACE_NS) {
    kill(-s->pid, SIGKILL);
  }
}

/* The results that go to the task's standard input: all its inputs, or
 * those of the task named by stdin (plan nodes [lo, hi)). */
static size_t stdin_inputs(const hd__exec *x, hd_value **sel) {
  const hd__plan *p = x->plan;
  const hd__pio *io = hd__plan_io(p, x->node);
  size_t n = 0;
  hd__preds it;
  hd__preds_begin(p, x->node, &it);
  for (size_t i = 0; i < x->ninputs && it.left > 0; i++) {
    uint32_t from = hd__preds_next(&it);
    if (io == NULL || io->stdin_lo == io->stdin_hi ||
        (from >= io->stdin_lo && from < io->stdin_hi))
      sel[n++] = x->inputs[i];
  }
  return n;
}

/* Results as buffers for one write. Integers and doubles are written as
 * decimal text. */
static int stdin_bufs(hd_value **vals, size_t count, uv_buf_t **bufs,
                      char (**nums)[32]) {
  *bufs = hd__calloc(count + 1, sizeof(uv_buf_t));
  *nums = hd__calloc(count + 1, sizeof(**nums));
  if (*bufs == NULL || *nums == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < count; i++) {
    hd_value *v = vals[i];
    if (v == NULL) {
      (*bufs)[i] = uv_buf_init((*nums)[i], 0);
      continue;
    }
    int64_t iv;
    double dv;
    if (hd_value_get_int(v, &iv) == HD_OK) {
      int n = snprintf((*nums)[i], 32, "%" PRId64, iv);
      (*bufs)[i] = uv_buf_init((*nums)[i], (unsigned)n);
    } else if (hd_value_get_double(v, &dv) == HD_OK) {
      int n = snprintf((*nums)[i], 32, "%.17g", dv);
      (*bufs)[i] = uv_buf_init((*nums)[i], (unsigned)n);
    } else {
      (*bufs)[i] =
          uv_buf_init((char *)hd_value_data(v), (unsigned)hd_value_size(v));
    }
  }
  return HD_OK;
}

/* {after.TASK} at run time: the file holding the result of the
 * predecessor named TASK (or its one matching expansion, TASK[...]). */
static int after_value(hd__buf *b, const hd__ph *ph, const hd__tput *how,
                       void *ctx) {
  const hd__exec *x = ctx;
  const hd__plan *p = x->plan;
  if (ph->kind != HD__PH_AFTER || x->results_dir == NULL)
    return HD_ENOENT;
  hd__preds it;
  for (hd__preds_begin(p, x->node, &it); it.left > 0;) {
    const char *name = hd__plan_name(p, hd__preds_next(&it));
    if (strncmp(name, ph->name, ph->len) != 0 ||
        (name[ph->len] != '\0' && name[ph->len] != '['))
      continue;
    hd__buf path = {0};
    int rc = hd__file_name(&path, x->results_dir, name, "");
    if (rc == HD_OK)
      rc = hd__template_put(b, path.data, ph, how);
    hd__buf_cleanup(&path);
    return rc;
  }
  return HD_ENOENT;
}

/* What the task runs: sh -c CMD, or its words; rendered again when they
 * name upstream files. The strings live in words (and the plan). */
static int make_args(hd__exec *x, hd__buf *words, char ***argsp) {
  const hd__plan *p = x->plan;
  const hd__pio *io = hd__plan_io(p, x->node);
  int late = io != NULL && io->late;
  int is_argv = p->nodes[x->node].kind == HD_NODE_ARGV;
  size_t argc = is_argv ? io->argc : 3;
  char **args = hd__calloc(argc + 1, sizeof(char *));
  size_t *offs = hd__calloc(argc + 1, sizeof(size_t));
  int rc = args && offs ? HD_OK : HD_ENOMEM;
  for (size_t i = 0; rc == HD_OK && i < argc; i++) {
    const char *w = is_argv  ? hd__plan_list(p, io->argv, (uint32_t)i)
                    : i == 0 ? "sh"
                    : i == 1 ? "-c"
                             : hd__plan_what(p, x->node);
    offs[i] = words->len;
    if (late && (is_argv || i == 2))
      rc = hd__template_render(words, w, !is_argv, 0, after_value, x);
    else
      rc = hd__buf_append(words, w, strlen(w));
    if (rc == HD_OK)
      rc = hd__buf_append(words, "", 1);
  }
  if (rc == HD_ENOENT)
    hd__buf_appendf(&x->message, "an upstream result file is missing");
  for (size_t i = 0; rc == HD_OK && i < argc; i++)
    args[i] = words->data + offs[i];
  hd__free(offs);
  if (rc != HD_OK) {
    hd__free(args);
    return rc;
  }
  *argsp = args;
  return HD_OK;
}

/* The environment with the task's own NAME=VALUE over the inherited. */
static char **make_env(const hd__plan *p, const hd__pio *io) {
  size_t n = 0;
  while (environ != NULL && environ[n] != NULL)
    n++;
  char **env = hd__calloc(n + io->nenv + 1, sizeof(char *));
  if (env == NULL)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(environ[i], '=');
    size_t len = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
    int replaced = 0;
    for (uint32_t j = 0; j < io->nenv && !replaced; j++) {
      const char *mine = hd__plan_list(p, io->env, j);
      replaced = strncmp(mine, environ[i], len) == 0 && mine[len] == '=';
    }
    if (!replaced)
      env[k++] = environ[i];
  }
  for (uint32_t j = 0; j < io->nenv; j++)
    env[k++] = (char *)hd__plan_list(p, io->env, j);
  env[k] = NULL;
  return env;
}

/* A descriptor listed for forked workers to close (none for -1). */
static int track(int fd) { return fd < 0 ? HD_OK : hd__fork_track(fd); }

/* Where execvp would find file: itself when it names a path, else the
 * first executable of that name on the PATH of env (the task's own
 * environment, else ours). Returns file when nothing is found, so that
 * the spawn reports why. */
static const char *find_program(const char *file, char **env, char *buf,
                                size_t cap) {
  if (strchr(file, '/') != NULL || file[0] == '\0')
    return file;
  const char *path = NULL;
  for (char **e = env != NULL ? env : environ; e != NULL && *e != NULL; e++)
    if (strncmp(*e, "PATH=", 5) == 0)
      path = *e + 5;
  if (path == NULL)
    path = "/usr/local/bin:/usr/bin:/bin";
  const char *denied = NULL; /* the first one found not executable */
  size_t denied_len = 0;
  for (const char *dir = path;; dir++) {
    const char *end = strchr(dir, ':');
    size_t len = end != NULL ? (size_t)(end - dir) : strlen(dir);
    int n = len == 0 ? snprintf(buf, cap, "%s", file)
                     : snprintf(buf, cap, "%.*s/%s", (int)len, dir, file);
    struct stat st;
    if (n > 0 && (size_t)n < cap && stat(buf, &st) == 0 &&
        S_ISREG(st.st_mode)) {
      if (access(buf, X_OK) == 0)
        return buf;
      if (denied == NULL) {
        denied = dir;
        denied_len = len;
      }
    }
    if (end == NULL)
      break;
    dir = end;
  }
  /* As execvp: permission denied when that is all there is. */
  if (denied != NULL && denied_len > 0 &&
      snprintf(buf, cap, "%.*s/%s", (int)denied_len, denied, file) > 0)
    return buf;
  return file;
}

/* Starts the task: file with args and env, in a session of its own, in
 * cwd (or here), with in (or /dev/null), out and err as its standard
 * streams and the signals as a new process has them. Returns 0 or an
 * errno value; sets s->pid. */
static int spawn(shell *s, const char *file, char **args, char **env,
                 const char *cwd, int in, int out, int err) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc != 0)
    return rc;
  if ((rc = posix_spawnattr_init(&at)) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return rc;
  }
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  rc = in >= 0
           ? posix_spawn_file_actions_adddup2(&fa, in, 0)
           : posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&fa, out, 1);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&fa, err, 2);
#if defined(__GLIBC__) &&                                                      \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  /* The task gets its standard input, output and error, and no other
     descriptor: not one hodos (or whatever started hodos) left open
     without close-on-exec. */
  if (rc == 0)
    rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
  if (rc == 0 && cwd != NULL)
    rc = posix_spawn_file_actions_addchdir_np(&fa, cwd);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID |
                                           POSIX_SPAWN_SETSIGMASK |
                                           POSIX_SPAWN_SETSIGDEF);
  if (rc == 0)
    rc = posix_spawnattr_setsigmask(&at, &none);
  if (rc == 0)
    rc = posix_spawnattr_setsigdefault(&at, &all);
  pid_t pid = 0;
  if (rc == 0)
    rc = posix_spawn(&pid, file, &fa, &at, args, env);
  posix_spawnattr_destroy(&at);
  posix_spawn_file_actions_destroy(&fa);
  if (rc == 0)
    s->pid = pid;
  return rc;
}

/* The task's end is watched on a pidfd when the kernel has them; else
 * (s->pidfd < 0) the timer asks waitpid. */
static void watch_exit(shell *s) {
  s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
  if (s->pidfd < 0)
    return;
  if (uv_poll_init(&s->loop, &s->exitw, s->pidfd) != 0) {
    close(s->pidfd);
    s->pidfd = -1;
    return;
  }
  s->open_handles++;
  if (uv_poll_start(&s->exitw, UV_READABLE, on_exited) != 0) {
    close_handle(s, (uv_handle_t *)&s->exitw);
    s->watched = 0;
    return;
  }
  s->watched = 1;
}

static int run_loop(shell *s) { return uv_run(&s->loop, UV_RUN_DEFAULT); }

int hd__exec_shell(hd__exec *x) {
  x->exit_status = -1;
  x->term_signal = 0;
  shell *s = hd__calloc(1, sizeof(*s));
  uv_buf_t *bufs = NULL;
  char(*nums)[32] = NULL;
  int rc = HD_ENOMEM;
  if (s == NULL)
    return HD_ENOMEM;
  s->x = x;
  const hd__plan *plan = x->plan;
  const hd__pio *io = hd__plan_io(plan, x->node);
  hd__buf words = {0};
  char **args = NULL, **env = NULL;
  hd_value *small[8], **sel = x->ninputs <= 8
                                  ? small
                                  : hd__calloc(x->ninputs, sizeof(hd_value *));
  if (sel == NULL)
    goto done;
  size_t nin = stdin_inputs(x, sel);
  if (nin > 0 && stdin_bufs(sel, nin, &bufs, &nums) != HD_OK)
    goto done;
  if ((rc = make_args(x, &words, &args)) != HD_OK) {
    rc = rc == HD_ENOENT ? HD_ETASK : rc;
    goto done;
  }
  rc = HD_ENOMEM;
  if (io != NULL && io->nenv > 0 && (env = make_env(plan, io)) == NULL)
    goto done;
  if (uv_loop_init(&s->loop) != 0) {
    hd__buf_appendf(&x->message, "cannot start an event loop");
    rc = HD_ETASK;
    goto done;
  }
  int sv[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1};
  s->in_fd = -1;
  s->pidfd = -1;
  /* Our ends of the task's input and output are listed for workers forked
     without exec to close (core/fork.c): a copy there would keep the task
     from ever reading the end of its input. The task's ends are closed
     here before any fork may copy them. */
  const char *what = "cannot make the task's input";
  hd__fork_shared_begin();
  int err =
      nin > 0 ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) : 0;
  if (err == 0) {
    what = "cannot make the task's output";
    err = pipe2(outp, O_CLOEXEC);
  }
  if (err == 0)
    err = pipe2(errp, O_CLOEXEC);
  err = err == 0 ? 0 : errno;
  if (err == 0 && (track(sv[0]) != HD_OK || track(outp[0]) != HD_OK ||
                   track(errp[0]) != HD_OK))
    err = ENOMEM;
  int is_argv = plan->nodes[x->node].kind == HD_NODE_ARGV;
  const char *file = is_argv ? args[0] : "/bin/sh";
  const char *cwd =
      io != NULL && io->workdir != 0 ? plan->strings + io->workdir : NULL;
  char found[PATH_MAX];
  if (err == 0) {
    what = NULL;
    err = spawn(s, find_program(file, env, found, sizeof(found)), args,
                env != NULL ? env : environ, cwd, sv[1], outp[1], errp[1]);
  }
  int fds[] = {sv[1], outp[1], errp[1]};
  for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
    if (fds[i] >= 0)
      close(fds[i]); /* the task has its copies */
  if (err != 0) {
    int mine[] = {sv[0], outp[0], errp[0]};
    for (size_t i = 0; i < sizeof(mine) / sizeof(mine[0]); i++)
      if (mine[i] >= 0) {
        hd__fork_untrack(mine[i]);
        close(mine[i]);
      }
  }
  hd__fork_shared_end();
  if (err == 0)
    s->noted = group_note(s->pid);
  if (err != 0) {
    if (what != NULL)
      hd__buf_appendf(&x->message, "%s: %s", what, strerror(err));
    else if (cwd != NULL && err == ENOENT && access(cwd, X_OK) != 0)
      hd__buf_appendf(&x->message, "cannot enter its workdir '%s': %s", cwd,
                      strerror(errno));
    else
      hd__buf_appendf(&x->message, "cannot start '%s': %s", file,
                      uv_strerror(uv_translate_sys_error(err)));
    uv_loop_close(&s->loop);
    rc = err == ENOMEM ? HD_ENOMEM : HD_ETASK;
    goto done;
  }
  uv_pipe_init(&s->loop, &s->out, 0);
  uv_pipe_init(&s->loop, &s->err, 0);
  uv_timer_init(&s->loop, &s->timer);
  s->out.data = s->err.data = s->timer.data = s->exitw.data = s;
  s->open_handles = 3;
  watch_exit(s);
  int out_ok = uv_pipe_open(&s->out, outp[0]) == 0;
  int err_ok = uv_pipe_open(&s->err, errp[0]) == 0;
  if (!out_ok || !err_ok) {
    /* Not seen: the descriptors were just made. A task that cannot be
       heard is stopped. */
    if (!out_ok)
      hd__fork_close(outp[0]);
    if (!err_ok)
      hd__fork_close(errp[0]);
    kill(-s->pid, SIGKILL);
    reap(s, 0);
    close_handle(s, (uv_handle_t *)&s->out);
    close_handle(s, (uv_handle_t *)&s->err);
    close_handle(s, (uv_handle_t *)&s->timer);
    run_loop(s);
    uv_loop_close(&s->loop);
    if (s->pidfd >= 0)
      close(s->pidfd);
    hd__buf_appendf(&x->message, "cannot watch the task's output");
    rc = HD_ETASK;
    goto done;
  }
  uv_read_start((uv_stream_t *)&s->out, alloc_out, on_read_out);
  uv_read_start((uv_stream_t *)&s->err, alloc_err, on_read_err);
  if (nin > 0) {
    s->in_fd = sv[0];
    s->bufs = bufs;
    s->nbufs = nin;
    if (uv_poll_init(&s->loop, &s->in, s->in_fd) == 0) {
      s->in.data = s;
      s->open_handles++;
      if (uv_poll_start(&s->in, UV_WRITABLE, on_writable) != 0)
        close_input(s);
    } else {
      hd__fork_close(s->in_fd);
      s->in_fd = -1;
    }
  }
  uv_timer_start(&s->timer, on_tick, POLL_MS, POLL_MS);
  run_loop(s);
  uv_loop_close(&s->loop);
  if (s->pidfd >= 0)
    close(s->pidfd);

  if (s->nomem) {
    rc = HD_ENOMEM;
  } else if (s->killed) {
    hd__buf_appendf(&x->message, "interrupted");
    rc = HD_EINTR;
  } else if (x->timed_out) {
    hd__buf_appendf(&x->message, "timed out after %.3g s",
                    (double)x->timeout_ns / 1e9);
    rc = HD_ETASK;
  } else if (x->term_signal != 0) {
    char nb[32];
    hd__buf_appendf(&x->message, "command killed by %s",
                    hd__signal_name(x->term_signal, nb, sizeof(nb)));
    rc = HD_ETASK;
  } else if (x->exit_status != 0) {
    hd__buf_appendf(&x->message, "command exited with status %d%s",
                    x->exit_status,
                    x->exit_status == 127   ? " (command not found)"
                    : x->exit_status == 126 ? " (command not executable)"
                                            : "");
    rc = HD_ETASK;
  } else if (hd_value_new_bytes(s->outbuf.data, s->outbuf.len, &x->output) !=
             HD_OK) {
    rc = HD_ENOMEM;
  } else {
    rc = HD_OK;
  }
done:
  /* The task and whatever of its group held its output are gone. */
  if (s->noted != NULL)
    atomic_store(s->noted, 0);
  if (s->log_failed)
    /* Its log would pass for the whole of it (hodos logs, report). */
    hd__log(HD_LOG_WARN,
            "task '%s': its standard error log is cut short after %zu "
            "bytes: %s (the summary keeps its last lines)",
            hd__plan_name(plan, x->node), s->log_bytes, strerror(s->log_errno));
  if (sel != small)
    hd__free(sel);
  hd__free(args);
  hd__free(env);
  hd__buf_cleanup(&words);
  hd__buf_cleanup(&s->outbuf);
  hd__free(bufs);
  hd__free(nums);
  hd__free(s);
  return rc;
}
