/* The ssh backend: the processes backend's workers, started on other
 * hosts through the system ssh client instead of forked here.
 *
 * At start, one master connection per host (ControlMaster, a control
 * socket in a private folder under /tmp, BatchMode, keep-alives): a host
 * that cannot be reached is reported and left out. Then one session per
 * slot through that connection runs the host's worker command (by
 * default `hodos worker --stdio`), whose standard input and output are
 * one end of a socketpair here, and which receives the run's plan in a
 * HELLO frame before any task (with, for a pool's run, which tasks take
 * seed inputs and which run packed chunks: the worker has none of the
 * pool's memory). A session lost (the connection dropped, the worker
 * killed, the host gone silent past the keep-alives) puts its running
 * task back in line for the other sessions, and a new session takes its
 * place; a host whose sessions fail three times in a row without
 * answering is given up. At stop, the sessions end with their sockets
 * and the masters with `ssh -O exit`; a pool's run leaves the masters of
 * the hosts it kept up for its next run (hd__sshkeep in core/run.h),
 * which finds each alive by connecting to its control socket. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/cachekey.h"
#include "files.h"
#include "procs.h"

/* Sessions of a host that fail in a row, without a READY, before it is
 * given up. */
#define HOST_FAILS 3

typedef struct rhost {
  const hd_host *h;
  char *label; /* [user@]host[:port], for messages */
  char *ctl;   /* the control socket's path */
  int up;      /* its master connection was made */
  int down;    /* given up */
  unsigned fails;
  int told;       /* a session that never served was reported */
  char *error;    /* why it is down */
  char *sock;     /* with a tunnel: the local end, a socket in the folder */
  unsigned slots; /* given, or learned: its CPU count */
  int reused;     /* its master was an earlier run's (hd__sshkeep) */
} rhost;

struct hd__ssh {
  rhost *hosts;
  size_t nhosts;
  unsigned *worker_host; /* per worker */
  const char **labels;   /* per worker: its host's label, for events */
  char *dir;             /* the control folder */
  char **words;          /* the ssh command, split */
  size_t nwords;
  hd__buf hello;     /* the HELLO frame, whole */
  hd__sshkeep *keep; /* a pool's masters, kept from run to run, or NULL */
};

static void free_words(char **w) {
  for (size_t i = 0; w != NULL && w[i] != NULL; i++)
    hd__free(w[i]);
  hd__free(w);
}

/* Split s at blanks into a NULL-terminated array. */
static char **split(const char *s, size_t *n) {
  char **w = NULL;
  size_t cap = 0;
  *n = 0;
  for (;;) {
    while (*s != '\0' && isspace((unsigned char)*s))
      s++;
    if (*s == '\0')
      break;
    const char *e = s;
    while (*e != '\0' && !isspace((unsigned char)*e))
      e++;
    if (hd__grow((void **)&w, &cap, *n + 2, sizeof(char *)) != HD_OK)
      goto fail;
    if ((w[*n] = hd__strndup(s, (size_t)(e - s))) == NULL)
      goto fail;
    w[++*n] = NULL;
    s = e;
  }
  return w;
fail:
  free_words(w);
  return NULL;
}

enum { MASTER, SESSION, EXIT, FORWARD, NPROC };

/* A host's slots when none are given: its CPU count, at most this. */
#define MAX_LEARNED_SLOTS 256
#define NPROC_TIMEOUT_MS 15000

/* The words of one ssh call to host h. */
static char **ssh_argv(struct hd__ssh *s, const rhost *h, int mode) {
  char port[16] = "";
  if (h->h->port != 0)
    snprintf(port, sizeof(port), "%u", h->h->port);
  const char *cmd = h->h->command ? h->h->command : "hodos worker --stdio";
  char fwd[4200] = "";
  if (mode == FORWARD)
    snprintf(fwd, sizeof(fwd), "%s:127.0.0.1:%u", h->sock, h->h->tunnel);
  const char *extra[32];
  size_t n = 0;
  extra[n++] = "-o";
  extra[n++] = "BatchMode=yes";
  /* A host silent for three keep-alives is lost. */
  char alive[48] = "ServerAliveInterval=5";
  const char *ka = getenv("HODOS_SSH_KEEPALIVE");
  if (ka != NULL && strspn(ka, "0123456789") == strlen(ka) && ka[0] != '0' &&
      strlen(ka) < 6)
    snprintf(alive, sizeof(alive), "ServerAliveInterval=%s", ka);
  extra[n++] = "-o";
  extra[n++] = alive;
  extra[n++] = "-o";
  extra[n++] = "ServerAliveCountMax=3";
  extra[n++] = "-o";
  extra[n++] = "ConnectTimeout=10";
  extra[n++] = "-S";
  extra[n++] = h->ctl;
  if (mode == MASTER) {
    extra[n++] = "-o";
    extra[n++] = "ControlMaster=yes";
    extra[n++] = "-o";
    extra[n++] = "ControlPersist=60";
    extra[n++] = "-N";
    extra[n++] = "-f";
  } else if (mode == SESSION || mode == NPROC) {
    extra[n++] = "-o";
    extra[n++] = "ControlMaster=no";
    extra[n++] = "-T";
  } else if (mode == FORWARD) {
    extra[n++] = "-O";
    extra[n++] = "forward";
    extra[n++] = "-L";
    extra[n++] = fwd;
  } else {
    extra[n++] = "-O";
    extra[n++] = "exit";
  }
  if (h->h->no_host_key_check) {
    extra[n++] = "-o";
    extra[n++] = "StrictHostKeyChecking=no";
    extra[n++] = "-o";
    extra[n++] = "UserKnownHostsFile=/dev/null";
  }
  if (port[0] != '\0') {
    extra[n++] = "-p";
    extra[n++] = port;
  }
  if (h->h->user != NULL) {
    extra[n++] = "-l";
    extra[n++] = h->h->user;
  }
  extra[n++] = "--";
  extra[n++] = h->h->host;
  if (mode == SESSION)
    extra[n++] = cmd;
  else if (mode == NPROC)
    extra[n++] = "getconf _NPROCESSORS_ONLN 2>/dev/null || nproc";
  char **argv = hd__calloc(s->nwords + n + 1, sizeof(char *));
  if (argv == NULL)
    return NULL;
  size_t k = 0;
  for (size_t i = 0; i < s->nwords; i++)
    if ((argv[k++] = hd__strdup(s->words[i])) == NULL)
      goto fail;
  for (size_t i = 0; i < n; i++)
    if ((argv[k++] = hd__strdup(extra[i])) == NULL)
      goto fail;
  return argv;
fail:
  free_words(argv);
  return NULL;
}

/* Start argv with stdin and stdout on io (or /dev/null when -1) and
 * stderr to the file err; in a session of its own (the terminal's Ctrl-C
 * is for hodos), ended with hodos. Returns its pid, or -1. */
static pid_t launch(char **argv, int io, const char *err) {
  hd__fork_alone_begin();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    hd__fork_child();
    int in = io >= 0 ? io : open("/dev/null", O_RDWR);
    int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || e < 0 || dup2(in, 0) < 0 || dup2(in, 1) < 0 || dup2(e, 2) < 0)
      _exit(127);
    setsid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(127);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    _exit(127);
  }
  hd__fork_alone_end();
  return pid;
}

/* The last line of what file path holds, trimmed; or NULL. */
static char *last_line(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  char buf[2048];
  off_t size = lseek(fd, 0, SEEK_END);
  off_t at = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, at);
  close(fd);
  if (n <= 0)
    return NULL;
  while (n > 0 && isspace((unsigned char)buf[n - 1]))
    n--;
  buf[n] = '\0';
  char *line = strrchr(buf, '\n');
  line = line ? line + 1 : buf;
  while (*line != '\0' && *line == '\r')
    line++;
  return *line ? hd__strdup(line) : NULL;
}

static char *err_path(struct hd__ssh *s, const char *what, unsigned i) {
  hd__buf b = {0};
  if (hd__buf_appendf(&b, "%s/%s-%u.err", s->dir, what, i) != HD_OK)
    return NULL;
  return b.data;
}

/* The slots of the hosts reached: as given, or else each host's CPU
 * count, asked of all of them at once through their master connections
 * (1 where it cannot be learned in NPROC_TIMEOUT_MS). */
static void learn_slots(struct hd__ssh *s) {
  pid_t *pids = hd__calloc(s->nhosts + 1, sizeof(pid_t));
  int *fds = hd__calloc(s->nhosts + 1, sizeof(int));
  for (size_t i = 0; i < s->nhosts; i++) {
    rhost *h = &s->hosts[i];
    h->slots = h->h->slots ? h->h->slots : 1;
    if (pids == NULL || fds == NULL)
      continue;
    fds[i] = -1;
    if (!h->up || h->down || h->h->slots != 0)
      continue;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      continue;
    char *err = err_path(s, "nproc", (unsigned)i);
    char **argv = ssh_argv(s, h, NPROC);
    pids[i] = err && argv ? launch(argv, sv[1], err) : -1;
    free_words(argv);
    hd__free(err);
    close(sv[1]);
    if (pids[i] > 0)
      fds[i] = sv[0];
    else
      close(sv[0]);
  }
  uint64_t deadline = hd__now_ns() + (uint64_t)NPROC_TIMEOUT_MS * 1000000u;
  for (size_t i = 0; pids != NULL && fds != NULL && i < s->nhosts; i++) {
    if (fds[i] < 0)
      continue;
    char out[64];
    size_t len = 0;
    for (;;) {
      uint64_t now = hd__now_ns();
      struct pollfd pfd = {fds[i], POLLIN, 0};
      int left = now < deadline ? (int)((deadline - now) / 1000000u) : 0;
      if (len == sizeof(out) - 1 || poll(&pfd, 1, left) <= 0)
        break;
      ssize_t n = read(fds[i], out + len, sizeof(out) - 1 - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      len += (size_t)n;
    }
    out[len] = '\0';
    close(fds[i]);
    char *end;
    unsigned long cpus = strtoul(out, &end, 10);
    rhost *h = &s->hosts[i];
    if (end != out && (*end == '\n' || *end == '\0') && cpus > 0) {
      h->slots = cpus > MAX_LEARNED_SLOTS ? MAX_LEARNED_SLOTS : (unsigned)cpus;
      hd__log(HD_LOG_INFO, "host %s: %u slots (its CPUs)", h->label, h->slots);
    } else {
      hd__log(HD_LOG_WARN,
              "host %s did not tell its CPU count; it gets 1 slot (give "
              "slots to choose)",
              h->label);
    }
    kill(pids[i], SIGTERM);
    while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
      ;
  }
  hd__free(pids);
  hd__free(fds);
}

static int make_hello(procs *pp, struct hd__ssh *s) {
  const hd_run_opts *o = &pp->r->opts;
  hd__buf p = {0};
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == NULL)
    cwd[0] = '\0';
  int ok = hd__wire_put_u32(&p, HD__WIRE_HELLO_VERSION) == HD_OK;
  if (ok) {
    hd__buf plan = {0};
    ok = hd__plan_pack(pp->r->plan, &plan) == HD_OK &&
         hd__wire_put_bytes(&p, plan.data, plan.len) == HD_OK;
    hd__buf_cleanup(&plan);
  }
  ok = ok && hd__wire_put_u32(&p, (uint32_t)o->nplugins) == HD_OK;
  for (size_t i = 0; ok && i < o->nplugins; i++) {
    hd__key k = {0, 0};
    (void)hd__key_file(o->plugins[i], &k);
    ok =
        hd__wire_put_bytes(&p, o->plugins[i], strlen(o->plugins[i])) == HD_OK &&
        hd__wire_put_u64(&p, k.lo) == HD_OK &&
        hd__wire_put_u64(&p, k.hi) == HD_OK;
  }
  /* A pool's tasks take their items' arguments as seed inputs, and its
     chunks run packed: the worker there must know which, as a kept
     worker learns from its PLAN frame. */
  ok = ok && hd__wire_put_bytes(&p, cwd, strlen(cwd)) == HD_OK &&
       hd__procs_put_tasks(pp->r, &p) == HD_OK &&
       hd__wire_frame(&s->hello, HD__WIRE_HELLO, p.data, p.len) == HD_OK;
  hd__buf_cleanup(&p);
  return ok ? HD_OK : HD_ENOMEM;
}

static void say_hosts_down(procs *pp, const char *lead) {
  struct hd__ssh *s = pp->ssh;
  hd__buf b = {0};
  hd__buf_appendf(&b, "%s", lead);
  for (size_t i = 0; i < s->nhosts; i++)
    hd__buf_appendf(&b, "%s%s: %s", i ? "; " : " ", s->hosts[i].label,
                    s->hosts[i].error ? s->hosts[i].error : "lost");
  hd__diags_add(&pp->r->report->diags, HD_EIO, NULL, 0, 0, NULL, "%s",
                b.data ? b.data : lead);
  hd__buf_cleanup(&b);
}

/* Whether a process listens on the unix socket at path: a master
 * connection that is alive (one that died leaves its socket behind). */
static int socket_alive(const char *path) {
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof(addr.sun_path))
    return 0;
  memcpy(addr.sun_path, path, strlen(path) + 1);
  hd__fork_shared_begin();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int ok = fd >= 0 && hd__fork_track(fd) == HD_OK;
  hd__fork_shared_end();
  ok = ok && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
  if (fd >= 0) {
    hd__fork_shared_begin();
    hd__fork_close(fd);
    hd__fork_shared_end();
  }
  return ok;
}

/* The client command, split: the run's or pool's, $HODOS_SSH_COMMAND, or
 * ssh. */
static char **client_words(const char *cmd, size_t *n) {
  if (cmd == NULL)
    cmd = getenv("HODOS_SSH_COMMAND");
  if (cmd == NULL || cmd[0] == '\0')
    cmd = "ssh";
  return split(cmd, n);
}

/* End h's master: `ssh -O exit` through its control socket. */
static void exit_master(struct hd__ssh *s, rhost *h, unsigned i) {
  char **argv = ssh_argv(s, h, EXIT);
  char *err = err_path(s, "exit", i);
  pid_t pid = argv && err ? launch(argv, -1, err) : -1;
  if (pid > 0)
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
      ;
  free_words(argv);
  hd__free(err);
}

void hd__sshkeep_stop(hd__sshkeep *k, const hd_host *hosts, size_t nhosts,
                      const char *ssh_command) {
  if (k->dir == NULL)
    return;
  struct hd__ssh s;
  memset(&s, 0, sizeof(s));
  s.dir = k->dir;
  s.words = client_words(ssh_command, &s.nwords);
  for (size_t i = 0; s.words != NULL && s.nwords > 0 && i < nhosts; i++) {
    rhost h;
    memset(&h, 0, sizeof(h));
    h.h = &hosts[i];
    hd__buf b = {0};
    if (hosts[i].host != NULL &&
        hd__buf_appendf(&b, "%s/%zu", k->dir, i) == HD_OK &&
        socket_alive(b.data)) {
      h.ctl = b.data;
      exit_master(&s, &h, (unsigned)i);
    }
    hd__buf_cleanup(&b);
  }
  free_words(s.words);
  hd__remove_dir(k->dir);
  hd__sshkeep_forget(k);
}

void hd__sshkeep_forget(hd__sshkeep *k) {
  hd__free(k->dir);
  k->dir = NULL;
}

static const char *token_of(const rhost *h) {
  const char *t = h->h->token ? h->h->token : getenv("HODOS_TOKEN");
  return t != NULL && t[0] != '\0' ? t : NULL;
}

/* Have h's master forward a socket in the folder to the port where
 * `hodos serve` listens on the host's loopback. */
static int open_tunnel(struct hd__ssh *s, rhost *h, unsigned i) {
  if (token_of(h) == NULL) {
    h->error = hd__strdup("no token for its worker server (HODOS_TOKEN)");
    return HD_EINVAL;
  }
  hd__buf b = {0};
  if (hd__buf_appendf(&b, "%s/t%u.sock", s->dir, i) != HD_OK)
    return HD_ENOMEM;
  h->sock = b.data;
  /* A kept master keeps the forwarding an earlier run asked of it. */
  if (h->reused && access(h->sock, F_OK) == 0)
    return HD_OK;
  unlink(h->sock);
  char **argv = ssh_argv(s, h, FORWARD);
  char *err = err_path(s, "tunnel", i);
  pid_t pid = argv && err ? launch(argv, -1, err) : -1;
  int status = -1;
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
      ;
  free_words(argv);
  int ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (!ok) {
    char *line = err ? last_line(err) : NULL;
    hd__buf m = {0};
    hd__buf_appendf(&m, "cannot open a tunnel to port %u: %s", h->h->tunnel,
                    line ? line : "ssh -O forward failed");
    hd__free(line);
    h->error = m.data;
  }
  hd__free(err);
  return ok ? HD_OK : HD_EIO;
}

/* Connect worker i to h's tunnel, with the token first. */
static int connect_tunnel(struct hd__ssh *s, rhost *h, worker *wk) {
  (void)s;
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  if (strlen(h->sock) >= sizeof(addr.sun_path))
    return HD_EINVAL;
  memcpy(addr.sun_path, h->sock, strlen(h->sock) + 1);
  hd__fork_shared_begin();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int rc = fd >= 0 ? hd__fork_track(fd) : HD_EIO;
  hd__fork_shared_end();
  if (rc == HD_OK && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
    rc = HD_EIO;
  hd__buf p = {0};
  const char *t = token_of(h);
  if (rc == HD_OK &&
      (hd__wire_put_bytes(&p, t, strlen(t)) != HD_OK ||
       hd__wire_frame(&wk->out, HD__WIRE_AUTH, p.data, p.len) != HD_OK))
    rc = HD_ENOMEM;
  hd__buf_cleanup(&p);
  if (rc != HD_OK) {
    if (fd >= 0) {
      hd__fork_shared_begin();
      hd__fork_close(fd);
      hd__fork_shared_end();
    }
    return rc;
  }
  wk->pid = 0;
  wk->fd = fd;
  wk->spawned_ns = hd__now_ns();
  return HD_OK;
}

/* Remove the control folders (/tmp/hodos-ssh-PID.XXXXXX) of this user's
 * runs whose process is gone: a run killed by SIGKILL cannot remove its
 * own. A folder of a live process, or of another user, is left alone. */
static void remove_stale_dirs(void) {
  DIR *d = opendir("/tmp");
  if (d == NULL)
    return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *name = e->d_name;
    if (strncmp(name, "hodos-ssh-", 10) != 0)
      continue;
    char *end;
    errno = 0;
    long pid = strtol(name + 10, &end, 10);
    if (errno != 0 || end == name + 10 || *end != '.' || pid <= 0 ||
        (pid_t)pid == getpid())
      continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue; /* alive, or not ours to ask about */
    char path[300];
    struct stat st;
    snprintf(path, sizeof(path), "/tmp/%s", name);
    if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
      hd__remove_dir(path);
  }
  closedir(d);
}

/* Wait for the ssh client that makes a master connection (it exits once
 * the connection is up, or failed), watching for an interrupt meanwhile: a
 * host that accepts but never answers holds ssh up to its connect
 * timeout, and Ctrl-C must not wait for that. Interrupted, the client is
 * stopped and reaped; returns 1. */
static int wait_master(procs *pp, pid_t pid, int *status) {
  for (;;) {
    pid_t got = waitpid(pid, status, WNOHANG);
    if (got == pid || (got < 0 && errno != EINTR))
      return 0;
    if (hd__run_stopping(pp->r)) {
      kill(pid, SIGTERM);
      while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
      return 1;
    }
    struct timespec nap = {0, 10 * 1000 * 1000};
    nanosleep(&nap, NULL);
  }
}

int hd__ssh_start(procs *pp) {
  const hd_run_opts *o = &pp->r->opts;
  if (o->nhosts == 0 || o->hosts == NULL) {
    hd__diags_add(&pp->r->report->diags, HD_EINVAL, NULL, 0, 0, NULL,
                  "the ssh backend needs hosts (hodos run --hosts, or hosts: "
                  "in the workflow)");
    return HD_EINVAL;
  }
  struct hd__ssh *s = hd__calloc(1, sizeof(*s));
  if (s == NULL)
    return HD_ENOMEM;
  pp->ssh = s;
  s->keep = pp->r->ext.ssh_keep;
  s->words = client_words(o->ssh_command, &s->nwords);
  s->hosts = hd__calloc(o->nhosts, sizeof(rhost));
  char dir[64];
  snprintf(dir, sizeof(dir), "/tmp/hodos-ssh-%ld.XXXXXX", (long)getpid());
  s->dir =
      hd__strdup(s->keep != NULL && s->keep->dir != NULL ? s->keep->dir : dir);
  if (s->words == NULL || s->nwords == 0 || s->hosts == NULL || s->dir == NULL)
    return s->words != NULL && s->nwords == 0 ? HD_EINVAL : HD_ENOMEM;
  if (s->keep != NULL && s->keep->dir != NULL) {
    /* The pool's folder, made by an earlier run. */
  } else if (remove_stale_dirs(), mkdtemp(s->dir) == NULL) {
    hd__free(s->dir);
    s->dir = NULL;
    hd__diags_add(&pp->r->report->diags, HD_EIO, NULL, 0, 0, NULL,
                  "cannot make a folder for ssh's control sockets: %s",
                  strerror(errno));
    return HD_EIO;
  } else if (s->keep != NULL && (s->keep->dir = hd__strdup(s->dir)) == NULL) {
    hd__remove_dir(s->dir);
    return HD_ENOMEM;
  }
  s->nhosts = o->nhosts;
  if (make_hello(pp, s) != HD_OK)
    return HD_ENOMEM;
  /* Every master at once, then wait for each. */
  pid_t *pids = hd__calloc(s->nhosts, sizeof(pid_t));
  if (pids == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < s->nhosts; i++) {
    rhost *h = &s->hosts[i];
    h->h = &o->hosts[i];
    hd__buf b = {0};
    hd__buf_appendf(&b, "%s%s%s", h->h->user ? h->h->user : "",
                    h->h->user ? "@" : "", h->h->host ? h->h->host : "?");
    if (h->h->port != 0)
      hd__buf_appendf(&b, ":%u", h->h->port);
    h->label = b.data;
    b = (hd__buf){0};
    /* A kept master's socket is named by the host's place in the pool. */
    hd__buf_appendf(&b, "%s/%u", s->dir,
                    s->keep != NULL ? s->keep->index[i] : (unsigned)i);
    h->ctl = b.data;
    if (s->keep != NULL && h->ctl != NULL && h->h->host != NULL &&
        socket_alive(h->ctl)) {
      h->reused = 1;
      pids[i] = 0; /* up already */
      continue;
    }
    if (h->ctl != NULL)
      unlink(h->ctl); /* the socket of a master that died */
    char *err = err_path(s, "master", (unsigned)i);
    char **argv = h->h->host != NULL ? ssh_argv(s, h, MASTER) : NULL;
    pids[i] = h->label && h->ctl && err && argv ? launch(argv, -1, err) : -1;
    free_words(argv);
    hd__free(err);
  }
  size_t up = 0;
  unsigned slots = 0;
  int stopped = 0;
  for (size_t i = 0; i < s->nhosts; i++) {
    rhost *h = &s->hosts[i];
    int status = -1;
    if (h->reused) {
      h->up = 1;
      up++;
      continue;
    }
    if (pids[i] > 0 && wait_master(pp, pids[i], &status))
      stopped = 1;
    if (!stopped && pids[i] > 0 && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0) {
      h->up = 1;
      up++;
      continue;
    }
    char *err = err_path(s, "master", (unsigned)i);
    char *line = err ? last_line(err) : NULL;
    hd__free(err);
    if (line == NULL) {
      hd__buf b = {0};
      if (pids[i] <= 0)
        hd__buf_appendf(&b, "ssh could not be started");
      else
        hd__buf_appendf(&b, "ssh exited with status %d",
                        WIFEXITED(status) ? WEXITSTATUS(status) : -1);
      line = b.data;
    }
    h->error = line;
    h->down = 1;
  }
  hd__free(pids);
  if (stopped)
    return HD_EINTR; /* hd__ssh_stop() ends the masters made */
  for (size_t i = 0; i < s->nhosts; i++)
    if (s->hosts[i].up && s->hosts[i].h->tunnel != 0 &&
        open_tunnel(s, &s->hosts[i],
                    s->keep != NULL ? s->keep->index[i] : (unsigned)i) !=
            HD_OK) {
      s->hosts[i].down = 1;
      up--;
    }
  learn_slots(s);
  unsigned *told = pp->r->ext.host_slots;
  for (size_t i = 0; i < s->nhosts; i++) {
    int in = s->hosts[i].up && !s->hosts[i].down;
    if (in)
      slots += s->hosts[i].slots;
    if (told != NULL) /* a pool's: read by other threads */
      __atomic_store_n(&told[i], in ? s->hosts[i].slots : 0, __ATOMIC_RELAXED);
  }
  for (size_t i = 0; up > 0 && i < s->nhosts; i++)
    if (s->hosts[i].down)
      hd__log(HD_LOG_ERROR,
              "host %s cannot be reached: %s; the run goes on without it",
              s->hosts[i].label, s->hosts[i].error ? s->hosts[i].error : "?");
  if (up == 0) {
    say_hosts_down(pp, "no host can be reached:");
    return HD_EIO;
  }
  /* Slots in turn: the first of each host, then the second... */
  s->worker_host = hd__calloc(slots + 1, sizeof(unsigned));
  if (s->worker_host == NULL)
    return HD_ENOMEM;
  unsigned k = 0;
  for (unsigned round = 0; k < slots; round++)
    for (size_t i = 0; i < s->nhosts && k < slots; i++) {
      rhost *h = &s->hosts[i];
      if (h->up && !h->down && round < h->slots)
        s->worker_host[k++] = (unsigned)i;
    }
  pp->nworkers = slots;
  /* Slots are counted per host too. */
  pp->group_slots = hd__calloc(s->nhosts, sizeof(unsigned));
  if (pp->group_slots == NULL)
    return HD_ENOMEM;
  pp->ngroups = (unsigned)s->nhosts;
  for (size_t i = 0; i < s->nhosts; i++)
    if (s->hosts[i].up && !s->hosts[i].down)
      pp->group_slots[i] = s->hosts[i].slots;
  /* Events name the host of each worker. */
  s->labels = hd__calloc(slots + 1, sizeof(char *));
  if (s->labels == NULL)
    return HD_ENOMEM;
  for (unsigned i = 0; i < slots; i++)
    s->labels[i] = s->hosts[s->worker_host[i]].label;
  pp->r->worker_hosts = s->labels;
  return HD_OK;
}

/* h is lost for the rest of the run, for why (taken). */
static void give_up(procs *pp, rhost *h, char *why) {
  struct hd__ssh *s = pp->ssh;
  h->down = 1;
  hd__free(h->error);
  h->error = why;
  int any = 0;
  for (size_t i = 0; i < s->nhosts; i++)
    any |= !s->hosts[i].down;
  /* A task asking for more slots than any host has takes a whole host of
     the largest size: of those left. */
  unsigned max = 0;
  for (size_t i = 0; i < s->nhosts; i++)
    if (!s->hosts[i].down && pp->group_slots[i] > max)
      max = pp->group_slots[i];
  if (max > 0)
    pp->group_max = max;
  hd__log(HD_LOG_ERROR, "host %s is lost: %s%s", h->label,
          why ? why : "out of memory",
          any ? "; its tasks go to the other hosts" : "");
  if (!any)
    say_hosts_down(pp, "every host is lost:");
}

int hd__ssh_spawn(procs *pp, unsigned i) {
  struct hd__ssh *s = pp->ssh;
  worker *wk = &pp->w[i];
  wk->host = s->worker_host[i];
  rhost *h = &s->hosts[wk->host];
  if (h->down)
    return HD_EIO;
  if (h->h->tunnel != 0) {
    int trc = connect_tunnel(s, h, wk);
    if (trc == HD_OK &&
        hd__buf_append(&wk->out, s->hello.data, s->hello.len) != HD_OK)
      trc = HD_ENOMEM;
    if (trc == HD_EIO) {
      /* The tunnel does not lead anywhere: the host is given up. */
      hd__buf m = {0};
      hd__buf_appendf(&m, "cannot connect through its tunnel: %s",
                      strerror(errno));
      give_up(pp, h, m.data);
      wk->fd = -1;
    }
    return trc;
  }
  char **argv = ssh_argv(s, h, SESSION);
  char *err = err_path(s, "worker", i);
  int sv[2] = {-1, -1};
  int rc = argv && err ? HD_OK : HD_ENOMEM;
  if (rc == HD_OK &&
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    rc = HD_EIO;
  if (rc == HD_OK) {
    hd__fork_shared_begin();
    if (hd__fork_track(sv[0]) != HD_OK)
      rc = HD_ENOMEM;
    hd__fork_shared_end();
  }
  pid_t pid = -1;
  if (rc == HD_OK && (pid = launch(argv, sv[1], err)) < 0)
    rc = HD_EIO;
  if (sv[1] >= 0)
    close(sv[1]);
  if (rc == HD_OK &&
      hd__buf_append(&wk->out, s->hello.data, s->hello.len) != HD_OK)
    rc = HD_ENOMEM;
  free_words(argv);
  hd__free(err);
  if (rc != HD_OK) {
    if (sv[0] >= 0) {
      hd__fork_shared_begin();
      hd__fork_close(sv[0]);
      hd__fork_shared_end();
    }
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, NULL, 0);
    }
    return rc;
  }
  wk->pid = pid;
  wk->fd = sv[0];
  wk->spawned_ns = hd__now_ns();
  return HD_OK;
}

int hd__ssh_ready(procs *pp, worker *wk, const char *payload, size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  uint32_t version = hd__wire_u32(&rd);
  size_t n;
  (void)hd__wire_bytes(&rd, &n);
  (void)hd__wire_u64(&rd);
  uint32_t nneed = hd__wire_u32(&rd);
  const hd_run_opts *o = &pp->r->opts;
  if (rd.bad || version != HD__WIRE_HELLO_VERSION || nneed > o->nplugins ||
      rd.left != (size_t)nneed * 4) {
    wk->corrupt = "a READY frame that does not parse";
    return -1;
  }
  /* The plugins it lacks go first, before any task. */
  for (uint32_t k = 0; k < nneed; k++) {
    uint32_t i = hd__wire_u32(&rd);
    if (i >= o->nplugins) {
      wk->corrupt = "a READY frame that asks for an unknown plugin";
      return -1;
    }
    hd_value *v = NULL;
    uint32_t mode;
    char name[16];
    snprintf(name, sizeof(name), "%u", i);
    hd__buf p = {0};
    int rc = hd__file_read(o->plugins[i], &v, &mode);
    if (rc == HD_OK &&
        (hd__wire_put_u32(&p, 0) != HD_OK ||
         hd__file_put(&p, name, v, mode) != HD_OK ||
         hd__wire_frame(&wk->out, HD__WIRE_FILE, p.data, p.len) != HD_OK))
      rc = HD_ENOMEM;
    if (rc != HD_OK)
      hd__log(HD_LOG_ERROR, "cannot send plugin %s to %s: %s", o->plugins[i],
              pp->ssh->hosts[wk->host].label, hd_strerror(rc));
    hd__buf_cleanup(&p);
    hd_value_unref(v);
  }
  wk->ready = 1;
  pp->ssh->hosts[wk->host].fails = 0;
  return 0;
}

int hd__ssh_host_up(procs *pp, unsigned i) {
  return !pp->ssh->hosts[pp->ssh->worker_host[i]].down;
}

int hd__ssh_lost(procs *pp, worker *wk, hd__buf *msg) {
  struct hd__ssh *s = pp->ssh;
  rhost *h = &s->hosts[wk->host];
  char *err = err_path(s, "worker", wk->index);
  char *line = err && h->h->tunnel == 0 ? last_line(err) : NULL;
  hd__free(err);
  if (line == NULL && h->h->tunnel != 0 && !wk->ready)
    line = hd__strdup("its worker server closed the connection before "
                      "answering: a wrong token, or no server on the port");
  hd__buf_appendf(msg, "the session on %s ended (%s)", h->label,
                  line ? line : "no message from ssh");
  if (pp->finished || pp->stopping_all || h->down) {
    hd__free(line);
    return 1;
  }
  if (!wk->ready && !h->told && h->fails + 1 < HOST_FAILS) {
    /* A worker that never answered (no hodos there, a wrong path): said
       at once, though the run may end on the other hosts before this
       one is given up. */
    hd__log(HD_LOG_ERROR,
            "host %s: a session ended before its worker "
            "answered: %s",
            h->label, line ? line : "no message from ssh");
    h->told = 1;
  }
  if (++h->fails >= HOST_FAILS) {
    give_up(pp, h, line ? line : hd__strdup("its sessions keep ending"));
    line = NULL;
  }
  hd__free(line);
  return 1;
}

void hd__ssh_stop(procs *pp) {
  struct hd__ssh *s = pp->ssh;
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->nhosts; i++) {
    rhost *h = &s->hosts[i];
    /* A pool's master stays for its next run, unless its host was given
       up. */
    if (h->up && s->dir != NULL && (s->keep == NULL || h->down))
      exit_master(s, h, (unsigned)i);
    hd__free(h->label);
    hd__free(h->ctl);
    hd__free(h->error);
    hd__free(h->sock);
  }
  if (s->dir != NULL && s->keep == NULL)
    hd__remove_dir(s->dir);
  pp->r->worker_hosts = NULL;
  hd__free(s->labels);
  hd__free(s->hosts);
  hd__free(s->worker_host);
  hd__free(s->dir);
  free_words(s->words);
  hd__buf_cleanup(&s->hello);
  hd__free(s);
  pp->ssh = NULL;
}

/* ---- files ---- */

int hd__ssh_check(procs *pp, worker *wk, uint32_t task) {
  const hd__plan *p = pp->r->plan;
  const hd__pio *io = hd__plan_io(p, task);
  if (io == NULL || io->ninputs == 0)
    return HD_OK;
  hd__buf b = {0}, path = {0};
  int rc = hd__wire_put_u32(&b, task) == HD_OK &&
                   hd__wire_put_u32(&b, io->ninputs) == HD_OK
               ? HD_OK
               : HD_ENOMEM;
  for (uint32_t k = 0; rc == HD_OK && k < io->ninputs; k++) {
    path.len = 0;
    rc = hd__io_path(&path, p, io, hd__plan_list(p, io->inputs, k));
    hd__key key = {0, 0};
    if (rc == HD_OK)
      (void)hd__key_file(path.data, &key);
    if (rc == HD_OK && (hd__wire_put_bytes(&b, path.data, path.len) != HD_OK ||
                        hd__wire_put_u64(&b, key.lo) != HD_OK ||
                        hd__wire_put_u64(&b, key.hi) != HD_OK))
      rc = HD_ENOMEM;
  }
  if (rc == HD_OK &&
      hd__wire_frame(&wk->out, HD__WIRE_CHECK, b.data, b.len) != HD_OK)
    rc = HD_ENOMEM;
  hd__buf_cleanup(&b);
  hd__buf_cleanup(&path);
  return rc;
}

int hd__ssh_send_inputs(procs *pp, worker *wk, uint32_t task,
                        const char *missing) {
  const hd__plan *p = pp->r->plan;
  const hd__pio *io = hd__plan_io(p, task);
  if (io == NULL)
    return HD_ECORRUPT;
  hd__buf path = {0};
  int rc = HD_OK, sent = 0;
  /* Only the task's declared inputs are sent, whatever is asked. */
  for (uint32_t k = 0; rc == HD_OK && k < io->ninputs; k++) {
    path.len = 0;
    rc = hd__io_path(&path, p, io, hd__plan_list(p, io->inputs, k));
    if (rc != HD_OK)
      break;
    const char *at = missing;
    int asked = 0;
    while (!asked && (at = strstr(at, path.data)) != NULL) {
      asked = (at == missing || at[-1] == '\n') &&
              (at[path.len] == '\n' || at[path.len] == '\0');
      at++;
    }
    if (!asked)
      continue;
    hd_value *v = NULL;
    uint32_t mode;
    hd__buf b = {0};
    rc = hd__file_read(path.data, &v, &mode);
    if (rc == HD_OK &&
        (hd__wire_put_u32(&b, 1) != HD_OK ||
         hd__file_put(&b, path.data, v, mode) != HD_OK ||
         hd__wire_frame(&wk->out, HD__WIRE_FILE, b.data, b.len) != HD_OK))
      rc = HD_ENOMEM;
    hd__buf_cleanup(&b);
    hd_value_unref(v);
    sent++;
  }
  hd__buf_cleanup(&path);
  return rc == HD_OK && sent == 0 ? HD_ECORRUPT : rc;
}

int hd__ssh_outputs(procs *pp, worker *wk, const char *payload, size_t len) {
  const hd__plan *p = pp->r->plan;
  hd__wire_reader rd = {payload, len, 0};
  uint32_t task = hd__wire_u32(&rd), n = hd__wire_u32(&rd);
  const hd__pio *io = task < p->count ? hd__plan_io(p, task) : NULL;
  if (rd.bad || wk->n == 0 || wk->q[wk->head].task != task || io == NULL ||
      n != io->noutputs) {
    wk->corrupt = "output files of a task it was not running";
    return -1;
  }
  hd__buf want = {0};
  int bad = 0;
  for (uint32_t k = 0; k < n && !bad; k++) {
    char *name = NULL;
    hd_value *content = NULL;
    uint32_t mode;
    int rc = hd__file_get(&rd, &name, &content, &mode);
    /* Each must be output k, under its own or its staged name. */
    const char *expect =
        hd__output_path(p, io, k, &want) == HD_OK ? want.data : NULL;
    if (name == NULL || expect == NULL || strcmp(name, expect) != 0 ||
        (rc != HD_OK && rc != HD_ENOENT)) {
      bad = 1;
    } else if (rc == HD_OK &&
               !hd__file_same(name, hd_value_data(content),
                              hd_value_size(content)) &&
               hd__file_write(name, hd_value_data(content),
                              hd_value_size(content), mode) != HD_OK) {
      hd__log(HD_LOG_ERROR, "cannot write %s from %s: %s", name,
              pp->ssh->hosts[wk->host].label, strerror(errno));
    }
    hd__free(name);
    hd_value_unref(content);
  }
  hd__buf_cleanup(&want);
  if (bad || rd.bad || rd.left != 0) {
    wk->corrupt = "output files that are not the task's";
    return -1;
  }
  return 0;
}
