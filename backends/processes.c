/* The processes backend: tasks run in worker processes forked when the run
 * starts (fork without exec, so that the program's registered functions
 * are there, as in pathos's ProcessPool), each joined to hodos by a
 * socketpair that carries frames of the wire protocol (wire.h).
 *
 * The calling thread keeps the scheduler: an event loop (libuv) reads
 * results, hands ready tasks to idle workers as their slots allow, and
 * watches the clock. A worker that dies (a crash, a signal, an exit) is
 * noticed when its socket closes: its task fails with the reason, or is
 * tried again under its retries, and the worker is replaced. A function
 * task past its timeout has its worker killed; a shell task's worker stops
 * it itself (SIGTERM, then SIGKILL, to its process group).
 *
 * Interrupts: once *interrupt is 1 no task starts and running ones finish;
 * at 2 they are stopped (SIGTERM to their workers, which stop their shell
 * tasks; SIGKILL two seconds later for those still running).
 *
 * Workers are forked from the thread that calls hd_run(): a program with
 * other threads should not hold locks the workers would need (malloc's
 * are safe with glibc). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "../core/run.h"
#include "wire.h"

#define TICK_MS 10
#define STOP_GRACE_NS 2000000000ull
/* A shell task stops itself at its timeout; its worker is killed if it
   has not answered this long after. */
#define SHELL_BACKSTOP_NS 5000000000ull
/* Results larger than this are refused (a value frame carries its own
   limit as well). */
#define MAX_VALUE (1ull << 32)

typedef struct worker {
  struct procs *pp;
  unsigned index;
  pid_t pid;
  int fd;              /* the parent's end of the socketpair, or -1 */
  uv_poll_t *poll;     /* watching fd, or NULL */
  hd__buf in;          /* bytes received and not yet used */
  uint32_t task;       /* the task in flight, or HD_TASK_NONE */
  unsigned slots;      /* the slots it holds */
  uint64_t deadline;   /* kill it past this time; 0: never */
  uint64_t term_sent;  /* when it was asked to stop, or 0 */
  int killed_late;     /* killed for running past its timeout */
  const char *corrupt; /* why its last frame was refused */
  hd__exec x;          /* the attempt in flight */
  hd_value **inputs;
  hd_value *small[8];
  size_t ninputs;
} worker;

typedef struct delayed {
  uint32_t task;
  uint64_t due;
} delayed;

typedef struct procs {
  hd__run *r;
  hd_backend_host host;
  unsigned slots, free_slots, nworkers;
  worker *w;
  uint32_t *heap; /* ready tasks, a min-heap by rank */
  size_t count;
  uint8_t *retrying; /* per task: the next dispatch is a retry */
  delayed *later;    /* retries waiting for their delay */
  size_t nlater, caplater;
  int finished; /* finish() was called */
  int stopping_all;
  uv_loop_t loop;
  uv_timer_t tick;
  int loop_ready;
  int error; /* a failure of the backend itself */
} procs;

/* ---- the worker's side ---- */

static volatile sig_atomic_t worker_stop;

static void on_worker_term(int sig) {
  (void)sig;
  worker_stop = 1;
}

static int read_full(int fd, void *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = read(fd, (char *)p + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    off += (size_t)n;
  }
  return 0;
}

/* Write all of p; a descriptor in non-blocking mode (hodos's end, which
 * the event loop watches) waits until it can take more. */
static int write_full(int fd, const void *p, size_t len) {
  size_t off = 0;
  while (off < len) {
    ssize_t n = send(fd, (const char *)p + off, len - off, MSG_NOSIGNAL);
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

/* Run one TASK frame's attempt and answer with its RESULT. */
static int worker_task(hd__run *r, int fd, const char *payload, size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  uint32_t node = hd__wire_u32(&rd);
  uint32_t attempt = hd__wire_u32(&rd);
  uint64_t timeout = hd__wire_u64(&rd);
  uint32_t n = hd__wire_u32(&rd);
  if (rd.bad || node >= r->plan->count || n > r->plan->nedges + 1)
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
  if (r->fns != NULL) {
    x.fn = r->fns[node].fn;
    x.fn_data = r->fns[node].data;
  }
  int rc;
  if (bad) {
    rc = HD_ECORRUPT;
  } else if (r->plan->nodes[node].kind != HD_NODE_FN) {
    x.log_fd = hd__open_log(r, hd__plan_name(r->plan, node));
    rc = hd__exec_shell(&x);
    if (x.log_fd >= 0)
      close(x.log_fd);
  } else {
    rc = hd__exec_fn(&x);
  }
  for (uint32_t i = 0; i < n; i++)
    hd_value_unref(inputs[i]);
  hd__free(inputs);
  if (bad)
    return -1;
  hd__buf p = {0}, out = {0};
  hd_value *frame = NULL;
  int ok = hd__wire_put_u32(&p, node) == HD_OK &&
           hd__wire_put_u32(&p, attempt) == HD_OK &&
           hd__wire_put_u32(&p, (uint32_t)rc) == HD_OK &&
           hd__wire_put_u32(&p, (uint32_t)x.exit_status) == HD_OK &&
           hd__wire_put_u32(&p, (uint32_t)x.term_signal) == HD_OK &&
           hd__wire_put_u32(&p, (uint32_t)x.timed_out) == HD_OK &&
           hd__wire_put_bytes(&p, x.message.data, x.message.len) == HD_OK &&
           hd__wire_put_bytes(&p, x.err_tail.data, x.err_tail.len) == HD_OK;
  if (ok && rc == HD_OK && x.output != NULL &&
      hd_value_encode(x.output, 1, &frame) == HD_OK)
    ok = hd__wire_put_bytes(&p, hd_value_data(frame), hd_value_size(frame)) ==
         HD_OK;
  else if (ok)
    ok = hd__wire_put_bytes(&p, NULL, 0) == HD_OK;
  ok = ok && hd__wire_frame(&out, HD__WIRE_RESULT, p.data, p.len) == HD_OK &&
       write_full(fd, out.data, out.len) == 0;
  hd_value_unref(frame);
  hd__exec_cleanup(&x);
  hd__buf_cleanup(&p);
  hd__buf_cleanup(&out);
  return ok ? 0 : -1;
}

static void worker_main(hd__run *r, int fd) {
  signal(SIGINT, SIG_IGN); /* the terminal's Ctrl-C is for hodos */
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_worker_term;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  worker_stop = 0;
  for (;;) {
    unsigned char h[HD__WIRE_HEADER];
    if (read_full(fd, h, sizeof(h)) != 0)
      _exit(0); /* hodos is gone or done */
    uint32_t len = (uint32_t)h[8] | (uint32_t)h[9] << 8 |
                   (uint32_t)h[10] << 16 | (uint32_t)h[11] << 24;
    if (len > HD__WIRE_MAX)
      _exit(3);
    char *buf = hd__malloc(HD__WIRE_HEADER + (size_t)len + 1);
    if (buf == NULL)
      _exit(4);
    memcpy(buf, h, sizeof(h));
    if (read_full(fd, buf + HD__WIRE_HEADER, len) != 0)
      _exit(0);
    hd__wire_type type;
    const char *payload, *why;
    size_t plen, used;
    if (hd__wire_parse(buf, HD__WIRE_HEADER + (size_t)len, &type, &payload,
                       &plen, &used, &why) != HD_OK ||
        type == HD__WIRE_RESULT)
      _exit(3);
    if (type == HD__WIRE_BYE)
      _exit(0);
    int rc = worker_task(r, fd, payload, plen);
    hd__free(buf);
    if (rc != 0)
      _exit(3);
    if (worker_stop)
      _exit(0);
  }
}

/* ---- hodos's side ---- */

static void on_readable(uv_poll_t *h, int status, int events);

static void free_handle(uv_handle_t *h) { hd__free(h); }

/* Watch wk's socket in the loop. */
static int watch(procs *pp, worker *wk) {
  uv_poll_t *h = hd__calloc(1, sizeof(*h));
  if (h == NULL)
    return HD_ENOMEM;
  if (uv_poll_init(&pp->loop, h, wk->fd) != 0) {
    hd__free(h);
    return HD_EIO;
  }
  h->data = wk;
  wk->poll = h;
  uv_poll_start(h, UV_READABLE, on_readable);
  return HD_OK;
}

/* Fork worker i. */
static int spawn(procs *pp, unsigned i) {
  worker *wk = &pp->w[i];
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return HD_EIO;
  fflush(NULL); /* buffered output would be written again by the worker */
  pid_t pid = fork();
  if (pid < 0) {
    close(sv[0]);
    close(sv[1]);
    return HD_EIO;
  }
  if (pid == 0) {
    close(sv[0]);
    for (unsigned j = 0; j < pp->nworkers; j++)
      if (pp->w[j].fd >= 0)
        close(pp->w[j].fd);
    worker_main(pp->r, sv[1]);
    _exit(0);
  }
  close(sv[1]);
  wk->pid = pid;
  wk->fd = sv[0];
  wk->task = HD_TASK_NONE;
  wk->term_sent = 0;
  wk->killed_late = 0;
  wk->corrupt = NULL;
  wk->in.len = 0;
  return pp->loop_ready ? watch(pp, wk) : HD_OK;
}

static void heap_push(procs *pp, uint32_t task) {
  const uint32_t *rank = pp->host.rank;
  size_t i = pp->count++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (rank[pp->heap[parent]] <= rank[task])
      break;
    pp->heap[i] = pp->heap[parent];
    i = parent;
  }
  pp->heap[i] = task;
}

static uint32_t heap_pop(procs *pp) {
  const uint32_t *rank = pp->host.rank;
  uint32_t top = pp->heap[0];
  uint32_t last = pp->heap[--pp->count];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= pp->count)
      break;
    if (c + 1 < pp->count && rank[pp->heap[c + 1]] < rank[pp->heap[c]])
      c++;
    if (rank[last] <= rank[pp->heap[c]])
      break;
    pp->heap[i] = pp->heap[c];
    i = c;
  }
  if (pp->count > 0)
    pp->heap[i] = last;
  return top;
}

static unsigned task_slots(procs *pp, uint32_t task) {
  unsigned c = hd__plan_settings(pp->r->plan, task)->cpus;
  return c == 0 ? 1 : c > pp->slots ? pp->slots : c;
}

static void settle(procs *pp, worker *wk, uint32_t task);

/* An attempt of wk's task ended with rc: record it, then retry or settle
 * the task. */
static void attempt_done(procs *pp, worker *wk, int rc) {
  hd__run *r = pp->r;
  uint32_t task = wk->task;
  wk->task = HD_TASK_NONE;
  wk->deadline = 0;
  pp->free_slots += wk->slots;
  wk->slots = 0;
  if (hd__attempt_end(r, task, wk->index, &wk->x, rc)) {
    uint64_t delay = hd__plan_settings(r->plan, task)->retry_delay_ns;
    pp->retrying[task] = 1;
    if (delay == 0) {
      heap_push(pp, task);
    } else if (!hd__grow((void **)&pp->later, &pp->caplater, pp->nlater + 1,
                         sizeof(delayed))) {
      pp->later[pp->nlater++] = (delayed){task, hd__now_ns() + delay};
    } else {
      heap_push(pp, task);
    }
  } else {
    settle(pp, wk, task);
  }
  if (wk->inputs != NULL && wk->inputs != wk->small)
    hd__free(wk->inputs);
  wk->inputs = NULL;
}

static void settle(procs *pp, worker *wk, uint32_t task) {
  unsigned w = wk ? wk->index : 0;
  pp->retrying[task] = 0;
  uint32_t next = hd__task_settle(pp->r, task, w);
  /* No task follows on the same worker here: each start is its own. */
  pp->r->workers[w].chained = 0;
  if (next != HD_TASK_NONE)
    heap_push(pp, next);
}

/* Send task to the idle worker wk. */
static void dispatch(procs *pp, worker *wk, uint32_t task) {
  hd__run *r = pp->r;
  wk->inputs = hd__gather_inputs(r, task, wk->small, 8, &wk->ninputs);
  wk->task = task;
  wk->slots = task_slots(pp, task);
  pp->free_slots -= wk->slots;
  if (wk->inputs == NULL) {
    memset(&wk->x, 0, sizeof(wk->x));
    hd__attempt_begin(r, task, wk->index, NULL, 0, &wk->x);
    hd__buf_appendf(&wk->x.message, "out of memory gathering its inputs");
    attempt_done(pp, wk, HD_ENOMEM);
    return;
  }
  int rc =
      hd__attempt_begin(r, task, wk->index, wk->inputs, wk->ninputs, &wk->x);
  if (rc != HD_OK) {
    attempt_done(pp, wk, rc);
    return;
  }
  hd__buf p = {0}, out = {0};
  int ok = hd__wire_put_u32(&p, task) == HD_OK &&
           hd__wire_put_u32(&p, wk->x.attempt) == HD_OK &&
           hd__wire_put_u64(&p, wk->x.timeout_ns) == HD_OK &&
           hd__wire_put_u32(&p, (uint32_t)wk->ninputs) == HD_OK;
  for (size_t i = 0; ok && i < wk->ninputs; i++) {
    hd_value *frame = NULL;
    if (wk->inputs[i] == NULL) {
      ok = hd__wire_put_bytes(&p, NULL, 0) == HD_OK;
      continue;
    }
    ok = hd_value_encode(wk->inputs[i], 1, &frame) == HD_OK &&
         hd__wire_put_bytes(&p, hd_value_data(frame), hd_value_size(frame)) ==
             HD_OK;
    hd_value_unref(frame);
  }
  ok = ok && hd__wire_frame(&out, HD__WIRE_TASK, p.data, p.len) == HD_OK;
  hd__buf_cleanup(&p);
  if (!ok) {
    hd__buf_cleanup(&out);
    hd__buf_appendf(&wk->x.message, "out of memory sending it to a worker");
    attempt_done(pp, wk, HD_ENOMEM);
    return;
  }
  uint64_t t = wk->x.timeout_ns;
  int fn = r->plan->nodes[task].kind == HD_NODE_FN;
  wk->deadline = t == 0 ? 0 : wk->x.start_ns + t + (fn ? 0 : SHELL_BACKSTOP_NS);
  /* The worker is idle and reads whole frames before it writes: a
     blocking write cannot deadlock. A dead worker shows as an error
     here, and as end of file on its socket. */
  if (write_full(wk->fd, out.data, out.len) != 0)
    kill(wk->pid, SIGKILL);
  hd__buf_cleanup(&out);
}

/* Hand ready tasks to idle workers while slots allow. */
static void pump(procs *pp) {
  hd__run *r = pp->r;
  uint64_t now = 0;
  for (size_t i = 0; i < pp->nlater;) {
    if (now == 0)
      now = hd__now_ns();
    if (pp->later[i].due <= now || hd__run_stopping(r)) {
      heap_push(pp, pp->later[i].task);
      pp->later[i] = pp->later[--pp->nlater];
    } else {
      i++;
    }
  }
  while (pp->count > 0) {
    uint32_t task = pp->heap[0];
    int retry = pp->retrying[task];
    if (!retry || hd__run_stopping(r)) {
      /* Settled here when it does not run. */
      if (!retry) {
        if (!hd__task_gate(r, task)) {
          heap_pop(pp);
          settle(pp, NULL, task);
          continue;
        }
      } else {
        /* A retry while stopping: its last failure stands. */
        heap_pop(pp);
        if (!hd__plan_settings(r->plan, task)->allow_failure)
          atomic_store(&r->failed, 1);
        settle(pp, NULL, task);
        continue;
      }
    }
    unsigned need = task_slots(pp, task);
    if (pp->free_slots < need)
      break;
    worker *idle = NULL;
    for (unsigned i = 0; i < pp->nworkers && idle == NULL; i++)
      if (pp->w[i].task == HD_TASK_NONE && pp->w[i].fd >= 0)
        idle = &pp->w[i];
    if (idle == NULL)
      break;
    heap_pop(pp);
    /* The gate has passed: from here the task runs (or retries). */
    pp->retrying[task] = 1;
    dispatch(pp, idle, task);
  }
}

static void close_worker(worker *wk) {
  if (wk->poll != NULL) {
    uv_poll_stop(wk->poll);
    uv_close((uv_handle_t *)wk->poll, free_handle);
    wk->poll = NULL;
  }
  if (wk->fd >= 0)
    close(wk->fd);
  wk->fd = -1;
}

/* wk's socket closed or carried garbage: reap it, fail its task, replace
 * it. */
static void worker_lost(procs *pp, worker *wk) {
  hd__run *r = pp->r;
  close_worker(wk);
  int status = 0;
  if (wk->corrupt != NULL)
    kill(wk->pid, SIGKILL);
  while (waitpid(wk->pid, &status, 0) < 0 && errno == EINTR)
    ;
  if (wk->task != HD_TASK_NONE) {
    hd__exec *x = &wk->x;
    char sig[32];
    int rc = HD_ETASK;
    hd__buf_cleanup(&x->message);
    if (wk->killed_late) {
      x->timed_out = 1;
      hd__buf_appendf(&x->message,
                      "timed out after %.3g s (its worker was killed)",
                      (double)x->timeout_ns / 1e9);
    } else if (wk->term_sent != 0) {
      hd__buf_appendf(&x->message, "interrupted");
      rc = HD_EINTR;
    } else if (wk->corrupt != NULL) {
      hd__buf_appendf(&x->message,
                      "worker %u (pid %ld) sent a malformed frame (%s)",
                      wk->index, (long)wk->pid, wk->corrupt);
    } else if (WIFSIGNALED(status)) {
      hd__buf_appendf(&x->message, "worker %u (pid %ld) died: killed by %s",
                      wk->index, (long)wk->pid,
                      hd__signal_name(WTERMSIG(status), sig, sizeof(sig)));
      x->term_signal = WTERMSIG(status);
    } else {
      hd__buf_appendf(&x->message,
                      "worker %u (pid %ld) exited with status %d during the "
                      "task",
                      wk->index, (long)wk->pid,
                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    attempt_done(pp, wk, rc);
  }
  wk->pid = 0;
  /* A new worker in its place, unless the run is over. */
  if (!pp->finished && !pp->stopping_all && spawn(pp, wk->index) != HD_OK) {
    wk->fd = -1;
    hd__log(HD_LOG_ERROR, "cannot start a worker in place of worker %u",
            wk->index);
  }
  (void)r;
}

/* A RESULT frame from wk. Returns 0, or -1 when it is malformed. */
static int on_result(procs *pp, worker *wk, const char *payload, size_t len) {
  hd__wire_reader rd = {payload, len, 0};
  uint32_t node = hd__wire_u32(&rd);
  uint32_t attempt = hd__wire_u32(&rd);
  int rc = (int)hd__wire_u32(&rd);
  int exit_status = (int)hd__wire_u32(&rd);
  int term_signal = (int)hd__wire_u32(&rd);
  int timed_out = (int)hd__wire_u32(&rd);
  size_t mlen, tlen, olen;
  const char *msg = hd__wire_bytes(&rd, &mlen);
  const char *tail = hd__wire_bytes(&rd, &tlen);
  const char *out = hd__wire_bytes(&rd, &olen);
  if (rd.bad || rd.left != 0) {
    wk->corrupt = "a result that does not parse";
    return -1;
  }
  if (wk->task == HD_TASK_NONE || node != wk->task ||
      attempt != wk->x.attempt) {
    wk->corrupt = "a result for a task it was not running";
    return -1;
  }
  if (rc != HD_OK && rc != HD_ETASK && rc != HD_EINTR && rc != HD_ENOMEM) {
    wk->corrupt = "an unknown result code";
    return -1;
  }
  hd__exec *x = &wk->x;
  x->exit_status = exit_status;
  x->term_signal = term_signal;
  x->timed_out = timed_out;
  if ((mlen > 0 && hd__buf_append(&x->message, msg, mlen) != HD_OK) ||
      (tlen > 0 && hd__buf_append(&x->err_tail, tail, tlen) != HD_OK))
    rc = HD_ENOMEM;
  if (rc == HD_OK && olen > 0) {
    int drc = hd_value_decode(out, olen, MAX_VALUE, &x->output);
    if (drc != HD_OK) {
      wk->corrupt = "a result value that does not decode";
      return -1;
    }
  }
  attempt_done(pp, wk, rc);
  return 0;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  worker *wk = h->data;
  procs *pp = wk->pp;
  (void)events;
  int eof = status < 0;
  while (!eof) {
    if (wk->in.cap - wk->in.len < 65536 + 1) {
      size_t ncap = wk->in.cap ? 2 * wk->in.cap : 131072;
      char *p = hd__realloc(wk->in.data, ncap);
      if (p == NULL) {
        eof = 1;
        break;
      }
      wk->in.data = p;
      wk->in.cap = ncap;
    }
    ssize_t n = recv(wk->fd, wk->in.data + wk->in.len,
                     wk->in.cap - wk->in.len - 1, MSG_DONTWAIT);
    if (n > 0) {
      wk->in.len += (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    eof = 1;
  }
  /* Every whole frame received. */
  size_t off = 0;
  while (wk->corrupt == NULL && off < wk->in.len) {
    hd__wire_type type;
    const char *payload, *why;
    size_t len, used;
    int rc = hd__wire_parse(wk->in.data + off, wk->in.len - off, &type,
                            &payload, &len, &used, &why);
    if (rc == HD_ETRUNC)
      break;
    if (rc != HD_OK) {
      wk->corrupt = why;
      break;
    }
    if (type != HD__WIRE_RESULT) {
      wk->corrupt = "a frame a worker does not send";
      break;
    }
    if (on_result(pp, wk, payload, len) != 0)
      break;
    off += used;
  }
  if (off > 0) {
    memmove(wk->in.data, wk->in.data + off, wk->in.len - off);
    wk->in.len -= off;
  }
  if (eof || wk->corrupt != NULL)
    worker_lost(pp, wk);
  pump(pp);
  if (pp->finished) {
    int busy = 0;
    for (unsigned i = 0; i < pp->nworkers; i++)
      busy |= pp->w[i].task != HD_TASK_NONE;
    if (!busy)
      uv_stop(&pp->loop);
  }
}

static void on_tick(uv_timer_t *t) {
  procs *pp = t->data;
  hd__run *r = pp->r;
  uint64_t now = hd__now_ns();
  int second = r->opts.interrupt != NULL && hd__flag(r->opts.interrupt) >= 2;
  if (second)
    pp->stopping_all = 1;
  for (unsigned i = 0; i < pp->nworkers; i++) {
    worker *wk = &pp->w[i];
    if (wk->task == HD_TASK_NONE || wk->fd < 0)
      continue;
    if (second && wk->term_sent == 0) {
      wk->term_sent = now;
      kill(wk->pid, SIGTERM);
    } else if (wk->term_sent != 0 && now - wk->term_sent > STOP_GRACE_NS) {
      kill(wk->pid, SIGKILL);
    } else if (wk->deadline != 0 && now > wk->deadline && !wk->killed_late) {
      wk->killed_late = 1;
      kill(wk->pid, SIGKILL);
    }
  }
  hd__run_stopping(r); /* notes an interrupt */
  pump(pp);
  int busy = 0;
  for (unsigned i = 0; i < pp->nworkers; i++)
    busy |= pp->w[i].task != HD_TASK_NONE;
  if (pp->finished && !busy)
    uv_stop(&pp->loop);
  else if (!busy && pp->count == 0 && pp->nlater == 0 && !pp->finished) {
    /* Nothing to run and nothing running, yet tasks are left: a worker
       could not be started. */
    int alive = 0;
    for (unsigned i = 0; i < pp->nworkers; i++)
      alive |= pp->w[i].fd >= 0;
    if (!alive) {
      pp->error = HD_EIO;
      uv_stop(&pp->loop);
    }
  }
}

static int procs_start(void **state, unsigned jobs,
                       const hd_backend_host *host) {
  procs *pp = hd__calloc(1, sizeof(*pp));
  if (pp == NULL)
    return HD_ENOMEM;
  pp->r = host->ctx;
  pp->host = *host;
  if (jobs == 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    jobs = cpus > 0 ? (unsigned)cpus : 1;
  }
  pp->slots = pp->free_slots = pp->nworkers = jobs;
  pp->w = hd__calloc(jobs, sizeof(worker));
  pp->heap = hd__malloc((host->ntasks + 1) * sizeof(uint32_t));
  pp->retrying = hd__calloc(host->ntasks + 1, 1);
  if (pp->w == NULL || pp->heap == NULL || pp->retrying == NULL) {
    hd__free(pp->w);
    hd__free(pp->heap);
    hd__free(pp->retrying);
    hd__free(pp);
    return HD_ENOMEM;
  }
  for (unsigned i = 0; i < jobs; i++) {
    pp->w[i].pp = pp;
    pp->w[i].index = i;
    pp->w[i].fd = -1;
    pp->w[i].task = HD_TASK_NONE;
  }
  int rc = HD_OK;
  for (unsigned i = 0; i < jobs && rc == HD_OK; i++)
    rc = spawn(pp, i);
  if (rc != HD_OK) {
    for (unsigned i = 0; i < jobs; i++)
      if (pp->w[i].fd >= 0) {
        close(pp->w[i].fd);
        waitpid(pp->w[i].pid, NULL, 0);
      }
    hd__free(pp->w);
    hd__free(pp->heap);
    hd__free(pp->retrying);
    hd__free(pp);
    return rc;
  }
  *state = pp;
  return HD_OK;
}

static int procs_submit(void *state, uint32_t task) {
  heap_push(state, task);
  return HD_OK;
}

static void procs_finish(void *state) {
  procs *pp = state;
  pp->finished = 1;
}

static int procs_wait(void *state) {
  procs *pp = state;
  if (uv_loop_init(&pp->loop) != 0)
    return HD_ENOMEM;
  pp->loop_ready = 1;
  for (unsigned i = 0; i < pp->nworkers; i++)
    if (watch(pp, &pp->w[i]) != HD_OK)
      return HD_EIO;
  uv_timer_init(&pp->loop, &pp->tick);
  pp->tick.data = pp;
  uv_timer_start(&pp->tick, on_tick, TICK_MS, TICK_MS);
  pump(pp);
  if (!pp->finished)
    uv_run(&pp->loop, UV_RUN_DEFAULT);
  uv_timer_stop(&pp->tick);
  uv_close((uv_handle_t *)&pp->tick, NULL);
  return pp->error;
}

static unsigned procs_capacity(void *state) {
  return ((procs *)state)->nworkers;
}

static void procs_stop(void *state) {
  procs *pp = state;
  pp->stopping_all = 1;
  /* Closing a worker's socket ends it; one that does not end in time is
     killed, and every one is reaped. */
  for (unsigned i = 0; i < pp->nworkers; i++)
    close_worker(&pp->w[i]);
  if (pp->loop_ready) {
    uv_run(&pp->loop, UV_RUN_DEFAULT); /* close the handles */
    uv_loop_close(&pp->loop);
  }
  uint64_t until = hd__now_ns() + STOP_GRACE_NS;
  for (unsigned i = 0; i < pp->nworkers; i++) {
    worker *wk = &pp->w[i];
    if (wk->pid <= 0)
      continue;
    for (;;) {
      pid_t got = waitpid(wk->pid, NULL, WNOHANG);
      if (got == wk->pid || (got < 0 && errno != EINTR))
        break;
      if (hd__now_ns() > until)
        kill(wk->pid, SIGKILL);
      usleep(1000);
    }
    if (wk->inputs != NULL && wk->inputs != wk->small)
      hd__free(wk->inputs);
    hd__exec_cleanup(&wk->x);
    hd__buf_cleanup(&wk->in);
  }
  for (unsigned i = 0; i < pp->nworkers; i++)
    hd__buf_cleanup(&pp->w[i].in);
  hd__free(pp->w);
  hd__free(pp->heap);
  hd__free(pp->retrying);
  hd__free(pp->later);
  hd__free(pp);
}

const struct hd_backend_ops hd__backend_processes = {
    HD_BACKEND_OPS_VERSION,
    "processes",
    "tasks in worker processes forked at start: crashes are contained",
    procs_start,
    procs_submit,
    procs_finish,
    procs_wait,
    procs_capacity,
    procs_stop,
};
