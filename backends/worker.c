/* The worker's side of the wire protocol: a process that runs the tasks
 * hodos sends and answers with their results. The processes backend's
 * workers are forked and share hodos's run; a worker reached over ssh
 * (hodos worker --stdio, or a program's hd_worker_main()) first receives
 * the run's plan in a HELLO frame. */
#define _GNU_SOURCE /* POLLRDHUP */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/cachekey.h"
#include "../core/run.h"
#include "files.h"
#include "wire.h"

/* Results larger than this are refused (a value frame carries its own
   limit as well). */
#define MAX_VALUE (1ull << 32)

static volatile sig_atomic_t worker_stop;

/* Shared with hodos (processes.c): HD__STOP_* (wire.h). NULL on other
 * hosts. */
static atomic_int *stop_flag;

void hd__worker_stop_at(atomic_int *flag) { stop_flag = flag; }
pid_t hd__worker_parent;
/* A task is running (for watch_peer()). */
static atomic_int task_busy;
/* The session hd_worker_serve() is serving, numbered (0: none). */
static atomic_uint serving;
static atomic_uint sessions;

/* SIGTERM: from hodos, to stop the running task (hodos kills the worker
 * two seconds later if need be, and the process group of its shell task
 * with it: see processes.c); or, set up with PR_SET_PDEATHSIG, for
 * the death of hodos itself (killed, even with SIGKILL): then nobody is
 * left to finish the job, so the worker ends itself three seconds later,
 * after its shell task's process group has had SIGTERM and SIGKILL. A
 * worker never outlives hodos by more, so a resumed run does not meet
 * the task still running. */
static void on_worker_term(int sig) {
  (void)sig;
  worker_stop = 1;
  if (getppid() != hd__worker_parent)
    alarm(3); /* SIGALRM's default action ends the process */
}

/* Write all of p; a descriptor in non-blocking mode (hodos's end, which
 * the event loop watches) waits until it can take more. */
int hd__write_full(int fd, const void *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(fd, (const char *)p + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == ENOTSOCK) /* a pipe: standard output */
      n = write(fd, (const char *)p + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
        return -1;
      continue;
    }
    if (n <= 0)
      return -1;
    off += (size_t)n;
  }
  return 0;
}

/* A worker on another host has no run folder: the files {after.TASK}
 * names are written from the task's inputs into a folder of its own,
 * made when first needed (forked workers share hodos's). */
static int remote;

/* Set in a forked worker kept from run to run (a pool's): it takes PLAN
 * frames, and sends its results raw. */
static int kept;

static int after_files(hd__run *r, uint32_t node, hd_value **inputs, size_t n,
                       hd__buf *message) {
  const hd__plan *p = r->plan;
  const hd__pio *io = hd__plan_io(p, node);
  if (!remote || io == NULL || !io->late)
    return HD_OK;
  if (r->tmp_dir == NULL) {
    const char *tmp = getenv("TMPDIR");
    hd__buf dir = {0};
    if (hd__buf_appendf(&dir, "%s/hodos-worker.XXXXXX",
                        tmp && *tmp ? tmp : "/tmp") != HD_OK)
      return HD_ENOMEM;
    if (mkdtemp(dir.data) == NULL) {
      hd__buf_appendf(message,
                      "cannot make a folder for {after.TASK} files "
                      "on this host: %s",
                      strerror(errno));
      hd__buf_cleanup(&dir);
      return HD_ETASK;
    }
    r->tmp_dir = r->results_dir = dir.data;
  }
  hd__preds it;
  uint32_t np = hd__preds_begin(p, node, &it);
  for (size_t k = n - np; it.left > 0; k++) {
    const char *name = hd__plan_name(p, hd__preds_next(&it));
    hd_value *v = inputs[k] ? inputs[k] : hd__value_empty();
    if (hd__write_result(r, name, v) != HD_OK) {
      hd__buf_appendf(message, "cannot write the result of '%s' under %s: %s",
                      name, r->results_dir, strerror(errno));
      return HD_ETASK;
    }
  }
  return HD_OK;
}

/* Remove the folder after_files() made. */
static void remove_after_files(hd__run *r) {
  if (r->tmp_dir == NULL)
    return;
  hd__remove_dir(r->tmp_dir);
  hd__free(r->tmp_dir);
  r->tmp_dir = r->results_dir = NULL;
}

/* The last attempt this worker ran: a NEXT frame runs on its result. */
static struct {
  uint32_t node;
  int ok;
  hd_value *result;
} last = {UINT32_MAX, 0, NULL};

static void forget_last(void) {
  hd_value_unref(last.result);
  last.result = NULL;
  last.node = UINT32_MAX;
  last.ok = 0;
}

static int run_attempt(hd__run *r, hd__buf *out, uint32_t node,
                       uint32_t attempt, uint64_t timeout, hd_value **inputs,
                       uint32_t n, int bad);

/* Append the RESULT frame of an attempt of node that ended with rc (x:
 * how, or NULL for an attempt that did not run; frame: its result as a
 * value frame, or NULL). Returns HD_OK or HD_ENOMEM. */
static int put_result(hd__buf *out, uint64_t started, uint64_t ended,
                      uint32_t node, uint32_t attempt, int rc,
                      const hd__exec *x, const hd_value *frame) {
  hd__buf p = {0};
  int ok = hd__wire_put_u64(&p, started) == HD_OK &&
           hd__wire_put_u64(&p, ended) == HD_OK &&
           hd__wire_put_u32(&p, node) == HD_OK &&
           hd__wire_put_u32(&p, attempt) == HD_OK &&
           hd__wire_put_u32(&p, (uint32_t)rc) == HD_OK &&
           hd__wire_put_u32(&p, x ? (uint32_t)x->exit_status : UINT32_MAX) ==
               HD_OK &&
           hd__wire_put_u32(&p, x ? (uint32_t)x->term_signal : 0) == HD_OK &&
           hd__wire_put_u32(&p, x ? (uint32_t)x->timed_out : 0) == HD_OK &&
           hd__wire_put_bytes(&p, x ? x->message.data : NULL,
                              x ? x->message.len : 0) == HD_OK &&
           hd__wire_put_bytes(&p, x ? x->err_tail.data : NULL,
                              x ? x->err_tail.len : 0) == HD_OK &&
           hd__wire_put_bytes(&p, frame ? hd_value_data(frame) : NULL,
                              frame ? hd_value_size(frame) : 0) == HD_OK &&
           hd__wire_frame(out, HD__WIRE_RESULT, p.data, p.len) == HD_OK;
  hd__buf_cleanup(&p);
  return ok ? HD_OK : HD_ENOMEM;
}

/* Run one TASK frame's attempt and append its RESULT frame to out. */
static int worker_task(hd__run *r, hd__buf *out, const char *payload,
                       size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  uint32_t node = hd__wire_u32(&rd);
  uint32_t attempt = hd__wire_u32(&rd);
  uint64_t timeout = hd__wire_u64(&rd);
  uint32_t n = hd__wire_u32(&rd);
  if (rd.bad || node >= r->plan->count || n != hd__input_count(r, node))
    return -1;
  hd_value **inputs = hd__calloc(n + 1, sizeof(hd_value *));
  if (inputs == NULL)
    return -1;
  int bad = 0;
  for (uint32_t i = 0; i < n && !bad; i++) {
    size_t flen;
    const char *f = hd__wire_bytes(&rd, &flen);
    if (rd.bad)
      bad = 1;
    else if (flen > 0 && hd_value_decode(f, flen, MAX_VALUE, &inputs[i]) != 0)
      bad = 1;
  }
  return run_attempt(r, out, node, attempt, timeout, inputs, n, bad);
}

/* A NEXT frame: run node on the result of the attempt before it, after,
 * if that one succeeded; otherwise answer that it did not run. */
static int worker_next(hd__run *r, hd__buf *out, const char *payload,
                       size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  uint32_t node = hd__wire_u32(&rd);
  uint32_t attempt = hd__wire_u32(&rd);
  uint32_t after = hd__wire_u32(&rd);
  const hd__plan *p = r->plan;
  if (rd.bad || rd.left != 0 || node >= p->count || after >= p->count ||
      hd__input_count(r, node) != 1 || p->nodes[node].kind != HD_NODE_FN)
    return -1;
  hd__preds it;
  if (hd__preds_begin(p, node, &it) != 1 || hd__preds_next(&it) != after)
    return -1; /* not a task that runs on after's result alone */
  if (last.node != after || !last.ok) {
    forget_last();
    return put_result(out, 0, 0, node, attempt, HD_ECANCELED, NULL, NULL) ==
                   HD_OK
               ? 0
               : -1;
  }
  hd_value **inputs = hd__calloc(2, sizeof(hd_value *));
  if (inputs == NULL)
    return -1;
  inputs[0] = hd_value_ref(last.result);
  return run_attempt(r, out, node, attempt, 0, inputs, 1, 0);
}

/* Run an attempt of node on inputs (n of them, which it releases) and
 * append its RESULT frame to out. bad: the TASK frame's inputs did not
 * decode. */
static int run_attempt(hd__run *r, hd__buf *out, uint32_t node,
                       uint32_t attempt, uint64_t timeout, hd_value **inputs,
                       uint32_t n, int bad) {
  hd__exec x;
  memset(&x, 0, sizeof(x));
  x.plan = r->plan;
  x.node = node;
  x.inputs = inputs;
  x.ninputs = n;
  x.interrupt = &worker_stop;
  x.attempt = attempt;
  x.log_fd = -1;
  x.timeout_ns = timeout;
  x.results_dir = r->results_dir;
  x.start_ns = hd__now_ns();
  x.exit_status = -1;
  if (r->plan->nodes[node].kind == HD_NODE_FN) {
    hd__fnref f = hd__run_fn(r, node);
    x.fn = f.fn;
    x.fn_data = f.data;
  }
  uint64_t started = x.start_ns;
  int rc;
  atomic_store(&task_busy, 1);
  if (bad) {
    rc = HD_ECORRUPT;
  } else if (stop_flag != NULL && atomic_load(stop_flag) == HD__STOP_NOW) {
    /* Sent before the run stopped: it does not start now. */
    rc = HD_EINTR;
    hd__buf_appendf(&x.message, "%s", HD__NOT_STARTED);
  } else if (remote && hd__files_missing(node, &x.message) > 0) {
    /* hodos sends what is missing, then the task again. */
    rc = HD_ENOENT;
  } else if (r->plan->nodes[node].kind != HD_NODE_FN) {
    x.log_fd = hd__open_log(r, hd__plan_name(r->plan, node));
    rc = after_files(r, node, inputs, n, &x.message);
    x.results_dir = r->results_dir;
    if (rc == HD_OK)
      rc = hd__exec_shell(&x);
    if (x.log_fd >= 0)
      close(x.log_fd);
  } else {
    rc = hd__exec_fn(&x);
  }
  atomic_store(&task_busy, 0);
  const hd__psettings *set = hd__plan_settings(r->plan, node);
  if (stop_flag != NULL && rc != HD_OK && rc != HD_ENOENT &&
      attempt > set->retries && !set->allow_failure) {
    /* Failed for good, and the run does not keep going: the tasks this
       worker holds do not start, even before hodos reads this. */
    int at_failure = HD__STOP_AT_FAILURE;
    atomic_compare_exchange_strong(stop_flag, &at_failure, HD__STOP_NOW);
  }
  for (uint32_t i = 0; i < n; i++)
    hd_value_unref(inputs[i]);
  hd__free(inputs);
  if (bad)
    return -1;
  uint64_t ended = hd__now_ns();
  forget_last();
  last.node = node;
  last.ok = rc == HD_OK;
  last.result = rc == HD_OK ? hd_value_ref(x.output) : NULL;
  /* On a host, the output files go first; when they cannot, the task is
     reported failed instead. */
  size_t files_at = out->len;
  if (remote && rc == HD_OK && hd__files_outputs(r->plan, node, out) != HD_OK) {
    out->len = files_at;
    rc = HD_ETASK;
    hd__buf_appendf(&x.message, "its output files cannot be sent back");
  }
  hd_value *frame = NULL;
  /* The result travels as a value frame: one that cannot be made fails
     the attempt (it is not sent as an empty result). */
  if (rc == HD_OK && x.output != NULL &&
      hd__value_encode_level(x.output, kept ? -1 : 1, &frame) != HD_OK) {
    rc = HD_ENOMEM;
    hd__buf_cleanup(&x.message);
    hd__buf_appendf(&x.message, "out of memory sending its result");
  }
  if (rc != HD_OK && last.node == node)
    forget_last(); /* what follows it in a chain does not run */
  int ok =
      put_result(out, started, ended, node, attempt, rc, &x, frame) == HD_OK;
  hd_value_unref(frame);
  hd__exec_cleanup(&x);
  return ok ? 0 : -1;
}

static int receive_file(const char *payload, size_t len);

/* Read from a local worker's socket right after answering: hodos often
 * sends the next task within microseconds (a chain of short tasks), sooner
 * than a sleep and a wake-up take, so poll for up to SPIN_NS first (as
 * hodos's loop does for results, backends/processes.c), then block. */
#define SPIN_NS 50000ull
/* After this many spins in a row that saw nothing (a busy machine, or
   tasks that come seldom), spin once in SPIN_PROBE chances. */
#define SPIN_MISSES 2
#define SPIN_PROBE 64
static unsigned spin_misses, spin_skipped;
static ssize_t spin_read(int fd, char *p, size_t len) {
  if (spin_misses >= SPIN_MISSES && ++spin_skipped < SPIN_PROBE)
    return read(fd, p, len);
  spin_skipped = 0;
  uint64_t until = hd__now_ns() + SPIN_NS;
  do {
    ssize_t n = recv(fd, p, len, MSG_DONTWAIT);
    if (n >= 0) {
      spin_misses = 0;
      return n;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
      break; /* not a socket, say: read() tells */
    sched_yield();
  } while (hd__now_ns() < until);
  spin_misses++;
  return read(fd, p, len);
}

/* The run's plan, as a HELLO or PLAN frame carries it; a plan that does
 * not unpack is said why in the worker's log. */
static int take_plan(const char *bytes, size_t len, hd__plan **out) {
  const char *why = NULL;
  int rc = hd__plan_unpack(bytes, len, out, &why);
  if (rc != HD_OK)
    hd__log(HD_LOG_ERROR, "worker: the run's plan is refused: %s",
            why ? why : hd_strerror(rc));
  return rc;
}

/* ---- a forked worker kept from run to run (a pool's) ---- */

static void kept_clear(hd__run *r) {
  hd__plan_free((hd__plan *)r->plan);
  r->plan = NULL;
  hd__free((hd__fnref *)r->ext.fns);
  r->ext.fns = NULL;
  forget_last(); /* a new run: the last result was another plan's */
  hd__free((size_t *)r->ext.seed_off);
  r->ext.seed_off = NULL;
}

/* The run's tasks, as the end of a PLAN or HELLO frame lists them
 * (wire.h): each one's number of seed inputs, and which are a pool's
 * packed chunks, run by hd__pool_packed_chunk(). A count of 0 lists none
 * (a graph's run: no seeds, no chunks). r->plan is set. */
static int take_tasks(hd__run *r, hd__wire_reader *rd) {
  uint32_t n = hd__wire_u32(rd);
  if (rd->bad || (n != 0 && n != r->plan->count) || rd->left != (size_t)n * 5)
    return HD_ECORRUPT;
  if (n == 0)
    return HD_OK;
  size_t *off = hd__calloc((size_t)n + 1, sizeof(size_t));
  hd__fnref *fns = hd__calloc((size_t)n + 1, sizeof(hd__fnref));
  if (off == NULL || fns == NULL) {
    hd__free(off);
    hd__free(fns);
    return HD_ENOMEM;
  }
  for (uint32_t i = 0; i < n; i++) {
    off[i + 1] = off[i] + hd__wire_u32(rd);
    if (rd->left > 0 && (unsigned char)*rd->p != 0)
      fns[i].fn = hd__pool_packed_chunk;
    rd->p++;
    rd->left--;
  }
  r->ext.seed_off = off;
  r->ext.fns = fns;
  return rd->bad ? HD_ECORRUPT : HD_OK;
}

/* A PLAN frame: the next run's plan and its tasks. */
static int kept_plan(hd__run *r, const char *payload, size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  size_t plen;
  const char *packed = hd__wire_bytes(&rd, &plen);
  if (rd.bad)
    return HD_ECORRUPT;
  hd__plan *p = NULL;
  int rc = take_plan(packed, plen, &p);
  if (rc != HD_OK)
    return rc;
  kept_clear(r);
  r->plan = p;
  return take_tasks(r, &rd);
}

int hd__worker_kept(int fd) {
  hd__run r;
  memset(&r, 0, sizeof(r));
  kept = 1;
  int status = hd__worker_loop(&r, fd, fd, NULL, NULL);
  kept_clear(&r);
  return status;
}

/* The worker's loop: read what hodos sent (several frames at a time when
 * it sends several) and run each task, sending its result before the
 * next starts. A HELLO frame, when hello is set, comes first and makes
 * the run the tasks belong to. Returns the worker's exit status: 0 when
 * hodos said bye or went away, 3 for a frame it should not have sent, 4
 * when out of memory. */
int hd__worker_loop(hd__run *r, int in_fd, int out_fd, hd__worker_hello hello,
                    void *ctx) {
  signal(SIGINT, SIG_IGN); /* the terminal's Ctrl-C is for hodos */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_worker_term;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  worker_stop = 0;
  /* A worker forked by a task of another run's worker (a pool inside a
     task) starts with that worker's memory: nothing of it counts here. */
  last.result = NULL;
  forget_last();
  hd__buf in = {0}, out = {0};
  size_t off = 0;
  int status = 0, answered = 0;
  for (;;) {
    hd__wire_type type;
    const char *payload, *why;
    size_t plen, used;
    int rc = hd__wire_parse(in.data ? in.data + off : "", in.len - off, &type,
                            &payload, &plen, &used, &why);
    if (rc == HD_ETRUNC) {
      /* Nothing whole left: answer, then wait for more. */
      if (out.len > 0 && hd__write_full(out_fd, out.data, out.len) != 0)
        break;
      answered = out.len > 0;
      out.len = 0;
      if (worker_stop)
        break;
      if (off > 0) {
        memmove(in.data, in.data + off, in.len - off);
        in.len -= off;
        off = 0;
      }
      if (in.cap - in.len < 65536 + 1) {
        size_t ncap = in.cap ? 2 * in.cap : 131072;
        char *np = hd__realloc(in.data, ncap);
        if (np == NULL) {
          status = 4;
          break;
        }
        in.data = np;
        in.cap = ncap;
      }
      ssize_t n = answered && !remote
                      ? spin_read(in_fd, in.data + in.len, in.cap - in.len - 1)
                      : read(in_fd, in.data + in.len, in.cap - in.len - 1);
      answered = 0;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break; /* hodos is gone or done */
      in.len += (size_t)n;
      continue;
    }
    if (rc != HD_OK || type == HD__WIRE_RESULT || type == HD__WIRE_READY ||
        type == HD__WIRE_AUTH) {
      hd__log(HD_LOG_ERROR, "worker: a frame from hodos is refused: %s",
              rc != HD_OK ? why : "a frame only workers send");
      status = 3;
      break;
    }
    if (type == HD__WIRE_BYE)
      break;
    if (type == HD__WIRE_PLAN) {
      /* Not a task: nothing is answered. */
      if (!kept || kept_plan(r, payload, plen) != HD_OK) {
        status = 3;
        break;
      }
      off += used;
      continue;
    }
    if (type == HD__WIRE_HELLO) {
      if (hello == NULL || r->plan != NULL ||
          hello(ctx, r, payload, plen, &out) != HD_OK) {
        status = 3;
        break;
      }
    } else if (type == HD__WIRE_CHECK || type == HD__WIRE_FILE) {
      int frc = !remote || r->plan == NULL ? HD_ECORRUPT
                : type == HD__WIRE_CHECK   ? hd__files_expect(payload, plen)
                                           : receive_file(payload, plen);
      if (frc != HD_OK) {
        hd__log(HD_LOG_ERROR, "worker: a file from hodos is refused: %s",
                hd_strerror(frc));
        status = 3;
        break;
      }
      off += used;
      continue;
    } else if (r->plan == NULL ||
               (type == HD__WIRE_NEXT
                    ? worker_next(r, &out, payload, plen)
                    : worker_task(r, &out, payload, plen)) != 0) {
      /* Said here, so that hodos can name the reason (a worker on a host
         is heard only through its standard error). */
      hd__log(HD_LOG_ERROR, "worker: a task from hodos is refused: %s",
              r->plan == NULL ? "no run was started"
                              : "it does not fit the run's plan, or memory "
                                "ran out");
      status = 3;
      break;
    }
    /* Each result leaves before the next task starts: if that one
       crashes, hodos still has every result before it, and knows which
       task was running. */
    if (hd__write_full(out_fd, out.data, out.len) != 0)
      break;
    out.len = 0;
    off += used;
  }
  forget_last();
  hd__buf_cleanup(&in);
  hd__buf_cleanup(&out);
  return status;
}

/* ---- a worker reached over a byte stream (ssh) ---- */

/* The plugins HELLO named: those not here as they are there wait for
 * their FILE frame. */
typedef struct plugin {
  char *path;
  hd__key hash;
  int open;
} plugin;
static plugin *plugins;
static uint32_t nplugins;

/* Where a plugin sent here is kept: ~/.cache/hodos/plugins/HASH-NAME. */
static int plugin_cache_path(const plugin *pl, hd__buf *b) {
  const char *home = getenv("XDG_CACHE_HOME");
  const char *base = strrchr(pl->path, '/');
  base = base ? base + 1 : pl->path;
  if (home != NULL && home[0] == '/')
    return hd__buf_appendf(b, "%s/hodos/plugins/%016llx%016llx-%s", home,
                           (unsigned long long)pl->hash.hi,
                           (unsigned long long)pl->hash.lo, base);
  home = getenv("HOME");
  return hd__buf_appendf(b, "%s/.cache/hodos/plugins/%016llx%016llx-%s",
                         home && *home ? home : "/tmp",
                         (unsigned long long)pl->hash.hi,
                         (unsigned long long)pl->hash.lo, base);
}

static int receive_file(const char *payload, size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  uint32_t kind = hd__wire_u32(&rd);
  char *name = NULL;
  hd_value *content = NULL;
  uint32_t mode;
  int rc = hd__file_get(&rd, &name, &content, &mode);
  if (rc == HD_OK && (rd.bad || rd.left != 0 || kind > 1))
    rc = HD_ECORRUPT;
  if (rc == HD_OK && kind == 1 &&
      !hd__file_same(name, hd_value_data(content), hd_value_size(content)))
    rc = hd__file_write(name, hd_value_data(content), hd_value_size(content),
                        mode);
  if (rc == HD_OK && kind == 0) {
    char *end;
    unsigned long i = strtoul(name, &end, 10);
    if (*end != '\0' || i >= nplugins || plugins[i].open) {
      rc = HD_ECORRUPT;
    } else {
      hd__buf path = {0}, err = {0};
      rc = plugin_cache_path(&plugins[i], &path);
      if (rc == HD_OK)
        rc = hd__file_write(path.data, hd_value_data(content),
                            hd_value_size(content), 0700);
      if (rc == HD_OK && hd__plugin_open(path.data, &err) != HD_OK)
        hd__log(HD_LOG_ERROR, "worker: cannot load plugin %s (sent as %s): %s",
                plugins[i].path, path.data, err.data ? err.data : "?");
      plugins[i].open = 1;
      hd__buf_cleanup(&path);
      hd__buf_cleanup(&err);
    }
  }
  if (rc != HD_OK && name != NULL)
    hd__log(HD_LOG_ERROR, "worker: cannot write %s: %s", name, hd_strerror(rc));
  hd__free(name);
  hd_value_unref(content);
  return rc == HD_ECORRUPT ? rc : HD_OK;
}

static int remote_hello(void *ctx, hd__run *r, const char *payload, size_t len,
                        hd__buf *out) {
  (void)ctx;
  hd__wire_reader rd = {payload, len, 0};
  uint32_t version = hd__wire_u32(&rd);
  size_t plen;
  const char *plan = hd__wire_bytes(&rd, &plen);
  if (rd.bad || version != HD__WIRE_HELLO_VERSION)
    return HD_ECORRUPT;
  hd__plan *p = NULL;
  int rc = take_plan(plan, plen, &p);
  if (rc != HD_OK)
    return rc;
  r->plan = p;
  /* The plugins that are here as they are there open now; the others
     are asked for in READY. */
  uint32_t n = hd__wire_u32(&rd);
  if (rd.bad || n > rd.left / 20)
    return HD_ECORRUPT;
  plugins = hd__calloc(n + 1, sizeof(plugin));
  if (plugins == NULL)
    return HD_ENOMEM;
  nplugins = n;
  hd__buf need = {0};
  uint32_t nneed = 0;
  for (uint32_t i = 0; i < n && !rd.bad; i++) {
    size_t pathlen;
    const char *path = hd__wire_bytes(&rd, &pathlen);
    plugin *pl = &plugins[i];
    pl->hash.lo = hd__wire_u64(&rd);
    pl->hash.hi = hd__wire_u64(&rd);
    if (rd.bad || (pl->path = hd__strndup(path, pathlen)) == NULL)
      break;
    hd__key have;
    hd__buf err = {0};
    if (hd__key_file(pl->path, &have) == HD_OK && have.lo == pl->hash.lo &&
        have.hi == pl->hash.hi) {
      if (hd__plugin_open(pl->path, &err) != HD_OK)
        hd__log(HD_LOG_ERROR, "worker: cannot load plugin %s: %s", pl->path,
                err.data ? err.data : "out of memory");
      pl->open = 1;
    } else {
      /* One sent before, kept in the cache? */
      hd__buf cached = {0};
      if (plugin_cache_path(pl, &cached) == HD_OK &&
          hd__key_file(cached.data, &have) == HD_OK && have.lo == pl->hash.lo &&
          have.hi == pl->hash.hi) {
        if (hd__plugin_open(cached.data, &err) != HD_OK)
          hd__log(HD_LOG_ERROR, "worker: cannot load plugin %s: %s",
                  cached.data, err.data ? err.data : "out of memory");
        pl->open = 1;
      } else if (hd__wire_put_u32(&need, i) == HD_OK) {
        nneed++;
      }
      hd__buf_cleanup(&cached);
    }
    hd__buf_cleanup(&err);
  }
  size_t dlen;
  const char *dir = hd__wire_bytes(&rd, &dlen);
  /* A pool's run: its tasks' seed inputs (the items' arguments, sent
     with each task) and its packed chunks. */
  if (rd.bad || (rc = take_tasks(r, &rd)) != HD_OK) {
    hd__buf_cleanup(&need);
    return rd.bad ? HD_ECORRUPT : rc;
  }
  char *cwd = hd__strndup(dir, dlen);
  const char *root = getenv("HODOS_WORKER_ROOT");
  if (root != NULL && root[0] != '\0') {
    /* Tasks run there instead, as on a host that shares no files. */
    hd__free(cwd);
    cwd = hd__strdup(root);
    if (cwd != NULL)
      hd__make_dirs(cwd);
  }
  if (cwd != NULL && cwd[0] != '\0' && chdir(cwd) != 0)
    hd__log(HD_LOG_WARN,
            "worker: cannot enter %s (%s); tasks run in the login folder", cwd,
            strerror(errno));
  hd__free(cwd);
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  hd__buf b = {0};
  int ok = hd__wire_put_u32(&b, HD__WIRE_HELLO_VERSION) == HD_OK &&
           hd__wire_put_bytes(&b, host, strlen(host)) == HD_OK &&
           hd__wire_put_u64(&b, (uint64_t)getpid()) == HD_OK &&
           hd__wire_put_u32(&b, nneed) == HD_OK &&
           hd__buf_append(&b, need.data ? need.data : "", need.len) == HD_OK &&
           hd__wire_frame(out, HD__WIRE_READY, b.data, b.len) == HD_OK;
  hd__buf_cleanup(&b);
  hd__buf_cleanup(&need);
  return ok ? HD_OK : HD_ENOMEM;
}

static void start_watch(int fd, unsigned session);

int hd_worker_serve(int in_fd, int out_fd) {
  if (in_fd < 0 || out_fd < 0)
    return HD_EINVAL;
  /* Frames own out_fd; what a task prints on standard output goes to
     standard error instead of into them. */
  int frames = out_fd;
  if (out_fd == STDOUT_FILENO) {
    /* Close-on-exec: a task that inherited it could write into the
       frames, and would hold the session open after this worker died. */
    frames = fcntl(out_fd, F_DUPFD_CLOEXEC, 3);
    if (frames < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
      return HD_EIO;
  }
  /* The ssh session that started this worker ending (the connection
     lost) ends it too, after its task's process group is stopped. */
  hd__worker_parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  signal(SIGALRM, SIG_DFL);
  hd__run r;
  memset(&r, 0, sizeof(r));
  remote = 1;
  unsigned session = atomic_fetch_add(&sessions, 1) + 1;
  atomic_store(&serving, session);
  start_watch(in_fd, session);
  int status = hd__worker_loop(&r, in_fd, frames, remote_hello, NULL);
  atomic_store(&serving, 0);
  remove_after_files(&r);
  hd__plan_free((hd__plan *)r.plan);
  hd__free((size_t *)r.ext.seed_off);
  hd__free((hd__fnref *)r.ext.fns);
  for (uint32_t i = 0; i < nplugins; i++)
    hd__free(plugins[i].path);
  hd__free(plugins);
  plugins = NULL;
  nplugins = 0;
  if (frames != out_fd)
    close(frames);
  return status == 0 ? HD_OK : status == 4 ? HD_ENOMEM : HD_ECORRUPT;
}

/* A program started as a worker is heard by hodos only through its
 * standard error (hodos shows its end when a session fails): unless the
 * program set a log callback of its own, errors and warnings go there. */
static void worker_log(hd_log_level level, const char *msg, void *data) {
  (void)data;
  hd__buf b = {0};
  if (hd__buf_appendf(&b, "%s: %s\n", hd_log_level_name(level), msg) == HD_OK)
    (void)hd__write_full(STDERR_FILENO, b.data, b.len);
  hd__buf_cleanup(&b);
}

int hd_worker_main(int argc, char **argv, int *status) {
  if (argc < 2 || argv == NULL || argv[1] == NULL ||
      strcmp(argv[1], "--hodos-worker") != 0)
    return 0;
  if (!hd__log_is_set())
    hd_log_set_cb(worker_log, NULL, HD_LOG_WARN);
  int rc = hd_worker_serve(STDIN_FILENO, STDOUT_FILENO);
  if (status != NULL)
    *status = rc == HD_OK ? 0 : 1;
  return 1;
}

/* Read exactly len bytes of fd, waiting at most until deadline (ns). */
static int read_exact(int fd, char *p, size_t len, uint64_t deadline) {
  while (len > 0) {
    uint64_t now = hd__now_ns();
    if (now >= deadline)
      return HD_ETIMEDOUT;
    struct pollfd pfd = {fd, POLLIN, 0};
    int ready = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return ready == 0 ? HD_ETIMEDOUT : HD_EIO;
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return HD_EIO;
    p += n;
    len -= (size_t)n;
  }
  return HD_OK;
}

/* The peer of session `session` (hodos, or the ssh session that started
 * this worker) going away while a task runs is something the loop cannot
 * see until the task returns; nor is the death of the parent always
 * there to tell (an sshd session waits for its command, and a socket
 * session has no parent of its own to lose). This thread watches fd for
 * the peer's end: from then on, a task running (or one started from
 * frames read before) is stopped as on SIGTERM, and the process ends if
 * it has not returned three seconds later (a function cannot be stopped
 * otherwise). A session that ends as it should has no task running. */
typedef struct watch {
  int fd;
  unsigned session;
} watch;

static void *watch_peer(void *arg) {
  watch w = *(watch *)arg;
  hd__free(arg);
  struct pollfd pfd = {w.fd, POLLRDHUP, 0};
  while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
    ;
  while (atomic_load(&serving) == w.session) {
    if (atomic_load(&task_busy)) {
      kill(getpid(), SIGTERM);
      for (int i = 0; i < 60 && atomic_load(&task_busy); i++)
        usleep(50000);
      if (atomic_load(&task_busy) && atomic_load(&serving) == w.session)
        _exit(1);
    }
    usleep(50000);
  }
  return NULL;
}

/* Start watch_peer() on fd for session. */
static void start_watch(int fd, unsigned session) {
  watch *w = hd__malloc(sizeof(*w));
  pthread_t watcher;
  pthread_attr_t attr;
  int started = 0;
  if (w != NULL && pthread_attr_init(&attr) == 0) {
    *w = (watch){fd, session};
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    started = pthread_create(&watcher, &attr, watch_peer, w) == 0;
    pthread_attr_destroy(&attr);
  }
  if (!started) {
    hd__free(w);
    hd__log(HD_LOG_WARN,
            "no watch on the connection: a stuck task will outlive it");
  }
}

int hd_worker_serve_token(int fd, const char *token) {
  if (fd < 0 || token == NULL || token[0] == '\0')
    return HD_EINVAL;
  /* The first frame, whole, within ten seconds: AUTH with the token. Only
     its bytes are read, so that the HELLO after it is left for the
     worker's loop. */
  uint64_t deadline = hd__now_ns() + 10000000000ull;
  char head[HD__WIRE_HEADER];
  int rc = read_exact(fd, head, sizeof(head), deadline);
  if (rc != HD_OK)
    return rc == HD_ETIMEDOUT ? HD_EACCES : rc;
  size_t tlen = strlen(token);
  uint32_t len = (uint32_t)(unsigned char)head[8] |
                 (uint32_t)(unsigned char)head[9] << 8 |
                 (uint32_t)(unsigned char)head[10] << 16 |
                 (uint32_t)(unsigned char)head[11] << 24;
  if (len > 4096 + 8)
    return HD_EACCES;
  char frame[HD__WIRE_HEADER + 4096 + 8];
  memcpy(frame, head, sizeof(head));
  if (read_exact(fd, frame + HD__WIRE_HEADER, len, deadline) != HD_OK)
    return HD_EACCES;
  hd__wire_type type;
  const char *payload, *why;
  size_t plen, used;
  if (hd__wire_parse(frame, HD__WIRE_HEADER + len, &type, &payload, &plen,
                     &used, &why) != HD_OK ||
      type != HD__WIRE_AUTH)
    return HD_EACCES;
  hd__wire_reader rd = {payload, plen, 0};
  size_t glen;
  const char *given = hd__wire_bytes(&rd, &glen);
  if (rd.bad || rd.left != 0)
    return HD_EACCES;
  /* Compared in time that does not depend on where they differ. */
  unsigned diff = (unsigned)(glen ^ tlen);
  for (size_t i = 0; i < tlen; i++)
    diff |= (unsigned char)token[i] ^ (unsigned char)(i < glen ? given[i] : 0);
  if (diff != 0)
    return HD_EACCES;
  return hd_worker_serve(fd, fd);
}
