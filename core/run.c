/* Running a plan: the shared part of every backend (task states, events,
 * results on disk) and the report. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

extern const hd__backend hd__backend_serial;

static const hd__backend *const backends[] = {&hd__backend_serial};

const hd__backend *hd__backend_find(const char *name) {
  if (name == NULL)
    name = "serial";
  for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
    if (strcmp(backends[i]->name, name) == 0)
      return backends[i];
  return NULL;
}

void hd_run_opts_init(hd_run_opts *o) {
  if (o == NULL)
    return;
  memset(o, 0, sizeof(*o));
  o->backend = "serial";
}

const char *hd_state_name(hd_state s) {
  switch (s) {
  case HD_STATE_PENDING:
    return "pending";
  case HD_STATE_READY:
    return "ready";
  case HD_STATE_RUNNING:
    return "running";
  case HD_STATE_DONE:
    return "done";
  case HD_STATE_FAILED:
    return "failed";
  case HD_STATE_SKIPPED:
    return "skipped";
  case HD_STATE_CANCELLED:
    return "cancelled";
  }
  return "unknown";
}

const char *hd_event_type_name(hd_event_type t) {
  switch (t) {
  case HD_EVENT_STARTED:
    return "started";
  case HD_EVENT_DONE:
    return "done";
  case HD_EVENT_FAILED:
    return "failed";
  case HD_EVENT_SKIPPED:
    return "skipped";
  case HD_EVENT_CANCELLED:
    return "cancelled";
  }
  return "unknown";
}

/* ---- the report ---- */

int hd__report_new(hd__plan *plan, hd_report **out) {
  hd_report *r = hd__calloc(1, sizeof(*r));
  if (r == NULL)
    return HD_ENOMEM;
  r->plan = plan;
  if (plan != NULL) {
    r->tasks = hd__calloc(plan->count + 1, sizeof(hd__tstate));
    if (r->tasks == NULL) {
      hd__free(r);
      return HD_ENOMEM;
    }
    for (size_t i = 0; i < plan->count; i++)
      r->tasks[i].exit_status = -1;
    hd__plan_ref(plan);
  }
  *out = r;
  return HD_OK;
}

void hd_report_free(hd_report *r) {
  if (r == NULL)
    return;
  if (r->plan != NULL) {
    for (size_t i = 0; i < r->plan->count; i++) {
      hd__free(r->tasks[i].message);
      hd__free(r->tasks[i].stderr_tail);
      hd_value_unref(r->tasks[i].result);
    }
  }
  hd__free(r->tasks);
  hd__plan_free(r->plan);
  hd__diags_clear(&r->diags);
  hd__free(r);
}

int hd_report_status(const hd_report *r) { return r ? r->status : HD_EINVAL; }

size_t hd_report_task_count(const hd_report *r) {
  return r != NULL && r->plan != NULL ? r->plan->count : 0;
}

int hd_report_task(const hd_report *r, size_t i, hd_task_info *info) {
  if (r == NULL || info == NULL || i >= hd_report_task_count(r))
    return HD_EINVAL;
  const hd__tstate *t = &r->tasks[i];
  info->name = hd__plan_name(r->plan, i);
  info->state = t->state;
  info->attempts = t->attempts;
  info->exit_status = t->exit_status;
  info->term_signal = t->term_signal;
  info->worker = t->worker;
  info->start_ns = t->start_ns;
  info->end_ns = t->end_ns;
  info->message = t->message;
  info->stderr_tail = t->stderr_tail;
  return HD_OK;
}

size_t hd_report_count(const hd_report *r, hd_state s) {
  size_t n = 0;
  for (size_t i = 0; i < hd_report_task_count(r); i++)
    n += r->tasks[i].state == s;
  return n;
}

hd_value *hd_report_result(const hd_report *r, size_t i) {
  return i < hd_report_task_count(r) ? r->tasks[i].result : NULL;
}

hd_value *hd_report_result_by_name(const hd_report *r, const char *name) {
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < hd_report_task_count(r); i++)
    if (strcmp(hd__plan_name(r->plan, i), name) == 0)
      return r->tasks[i].result;
  return NULL;
}

int hd_report_is_sink(const hd_report *r, size_t i) {
  if (i >= hd_report_task_count(r))
    return 0;
  return r->plan->succ_off[i] == r->plan->succ_off[i + 1];
}

size_t hd_report_diag_count(const hd_report *r) {
  return r ? r->diags.count : 0;
}

const hd_diag *hd_report_diag(const hd_report *r, size_t i) {
  return r != NULL && i < r->diags.count ? &r->diags.items[i] : NULL;
}

uint64_t hd_report_elapsed_ns(const hd_report *r) {
  return r != NULL && r->end_ns > r->start_ns ? r->end_ns - r->start_ns : 0;
}

/* ---- results on disk ---- */

/* A task name as a file name: '/' and '%' are percent-encoded, and so is a
 * leading '.', so that no name escapes its folder or hides. */
static int file_name(hd__buf *b, const char *dir, const char *name,
                     const char *suffix) {
  int rc = hd__buf_appendf(b, "%s/", dir);
  for (const char *p = name; rc == HD_OK && *p; p++) {
    if (*p == '/' || *p == '%' || (p == name && *p == '.'))
      rc = hd__buf_appendf(b, "%%%02X", (unsigned char)*p);
    else
      rc = hd__buf_append(b, p, 1);
  }
  if (rc == HD_OK)
    rc = hd__buf_appendf(b, "%s", suffix);
  return rc;
}

static int make_dir(const char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST)
    return HD_OK;
  return HD_EIO;
}

/* mkdir -p */
static int make_dirs(const char *path) {
  char *p = hd__strdup(path);
  if (p == NULL)
    return HD_ENOMEM;
  int rc = HD_OK;
  for (char *s = p + 1; *s && rc == HD_OK; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    rc = make_dir(p);
    *s = '/';
  }
  if (rc == HD_OK)
    rc = make_dir(p);
  hd__free(p);
  return rc;
}

/* Write a result under a temporary name and rename it into place, so that
 * no crash leaves a half-written result. */
static int write_result(hd__run *r, const char *name, const hd_value *v) {
  hd__buf path = {0}, tmp = {0};
  int rc = file_name(&path, r->results_dir, name, "");
  if (rc == HD_OK)
    rc = hd__buf_appendf(&tmp, "%s.tmp.%ld", path.data, (long)getpid());
  int fd = -1;
  if (rc == HD_OK &&
      (fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
    rc = HD_EIO;
  const char *data = hd_value_data(v);
  size_t len = hd_value_size(v), off = 0;
  char num[32];
  int64_t iv;
  double dv;
  if (hd_value_get_int(v, &iv) == HD_OK) {
    len = (size_t)snprintf(num, sizeof(num), "%lld\n", (long long)iv);
    data = num;
  } else if (hd_value_get_double(v, &dv) == HD_OK) {
    len = (size_t)snprintf(num, sizeof(num), "%.17g\n", dv);
    data = num;
  }
  while (rc == HD_OK && off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      rc = HD_EIO;
    else
      off += (size_t)w;
  }
  if (fd >= 0 && close(fd) != 0)
    rc = HD_EIO;
  if (rc == HD_OK && rename(tmp.data, path.data) != 0)
    rc = HD_EIO;
  if (rc != HD_OK && tmp.data != NULL)
    unlink(tmp.data);
  hd__buf_cleanup(&path);
  hd__buf_cleanup(&tmp);
  return rc;
}

static int open_log(hd__run *r, const char *name) {
  if (r->logs_dir == NULL)
    return -1;
  hd__buf path = {0};
  int fd = -1;
  if (file_name(&path, r->logs_dir, name, ".stderr") == HD_OK)
    fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  hd__buf_cleanup(&path);
  return fd;
}

/* ---- task states and events ---- */

static void emit(hd__run *r, hd_event_type type, uint32_t node,
                 const char *message) {
  if (r->opts.on_event == NULL)
    return;
  const hd__tstate *t = &r->report->tasks[node];
  hd_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  ev.task = hd__plan_name(r->plan, node);
  ev.index = node;
  ev.time_ns = hd__now_ns();
  if (type == HD_EVENT_DONE || type == HD_EVENT_FAILED)
    ev.elapsed_ns = t->end_ns - t->start_ns;
  ev.attempt = t->attempts;
  ev.worker = t->worker;
  ev.message = message;
  ev.done = r->report->finished;
  ev.total = r->plan->count;
  r->opts.on_event(&ev, r->opts.event_data);
}

int hd__run_stopping(hd__run *r) {
  if (r->opts.interrupt != NULL && *r->opts.interrupt != 0)
    r->interrupted = 1;
  return r->interrupted || (r->failed && !r->opts.keep_going);
}

void hd__run_not_run(hd__run *r, uint32_t node, hd_state s, const char *fmt,
                     ...) {
  hd__tstate *t = &r->report->tasks[node];
  t->state = s;
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  if (hd__buf_vappendf(&b, fmt, ap) == HD_OK)
    t->message = b.data;
  else
    hd__buf_cleanup(&b);
  va_end(ap);
  r->report->finished++;
  emit(r, s == HD_STATE_SKIPPED ? HD_EVENT_SKIPPED : HD_EVENT_CANCELLED, node,
       t->message);
}

hd_state hd__run_task(hd__run *r, uint32_t node, unsigned w) {
  const hd__plan *p = r->plan;
  hd__tstate *t = &r->report->tasks[node];
  const hd__pnode *pn = &p->nodes[node];
  hd__exec x;
  memset(&x, 0, sizeof(x));
  x.plan = p;
  x.node = node;
  x.interrupt = r->opts.interrupt;
  x.log_fd = -1;

  uint32_t npred = p->pred_off[node + 1] - p->pred_off[node];
  hd_value *small[8];
  hd_value **inputs = npred <= 8 ? small : hd__calloc(npred, sizeof(*inputs));
  if (inputs == NULL) {
    r->failed = 1;
    t->state = HD_STATE_FAILED;
    t->message = hd__strdup("out of memory gathering inputs");
    r->report->finished++;
    emit(r, HD_EVENT_FAILED, node, t->message);
    return t->state;
  }
  for (uint32_t k = 0; k < npred; k++)
    inputs[k] = r->report->tasks[p->preds[p->pred_off[node] + k]].result;
  x.inputs = inputs;
  x.ninputs = npred;

  t->state = HD_STATE_RUNNING;
  t->attempts++;
  t->worker = w;
  x.attempt = t->attempts;
  t->start_ns = hd__now_ns();
  emit(r, HD_EVENT_STARTED, node, NULL);

  int rc;
  if (pn->kind == HD_NODE_CMD) {
    x.log_fd = open_log(r, hd__plan_name(p, node));
    rc = hd__exec_shell(&x);
    if (x.log_fd >= 0)
      close(x.log_fd);
  } else {
    rc = hd__exec_fn(&x);
  }
  t->end_ns = hd__now_ns();
  t->exit_status = x.exit_status;
  t->term_signal = x.term_signal;
  if (x.err_tail.len > 0) {
    t->stderr_tail = x.err_tail.data;
    x.err_tail.data = NULL;
  }

  if (rc == HD_OK && r->results_dir != NULL &&
      write_result(r, hd__plan_name(p, node), x.output) != HD_OK) {
    hd__buf_cleanup(&x.message);
    hd__buf_appendf(&x.message, "cannot write its result under %s",
                    r->results_dir);
    rc = HD_ETASK;
  }
  if (rc == HD_OK) {
    t->state = HD_STATE_DONE;
    t->result = x.output;
    x.output = NULL;
  } else {
    if (rc == HD_ENOMEM && x.message.len == 0)
      hd__buf_appendf(&x.message, "out of memory");
    t->state = rc == HD_EINTR ? HD_STATE_CANCELLED : HD_STATE_FAILED;
    if (rc == HD_EINTR)
      r->interrupted = 1;
    else
      r->failed = 1;
    t->message = x.message.data;
    x.message.data = NULL;
  }
  r->report->finished++;
  emit(r,
       t->state == HD_STATE_DONE     ? HD_EVENT_DONE
       : t->state == HD_STATE_FAILED ? HD_EVENT_FAILED
                                     : HD_EVENT_CANCELLED,
       node, t->message);
  hd__exec_cleanup(&x);
  if (inputs != small)
    hd__free(inputs);
  return t->state;
}

int hd_plan_run(hd_plan *p, const hd_run_opts *o, hd_report **report) {
  if (report != NULL)
    *report = NULL;
  if (p == NULL)
    return HD_EINVAL;
  hd_report *r;
  int rc = hd__report_new(p, &r);
  if (rc != HD_OK)
    return rc;
  rc = hd__run_plan(r, o);
  if (report != NULL)
    *report = r;
  else
    hd_report_free(r);
  return rc;
}

int hd__run_plan(hd_report *report, const hd_run_opts *o) {
  hd__run r;
  memset(&r, 0, sizeof(r));
  r.plan = report->plan;
  r.report = report;
  if (o != NULL)
    r.opts = *o;
  else
    hd_run_opts_init(&r.opts);
  report->start_ns = hd__now_ns();

  const hd__backend *b = hd__backend_find(r.opts.backend);
  if (b == NULL) {
    hd__diags_add(&report->diags, HD_ENOTSUP, NULL, 0, 0, NULL,
                  "unknown backend '%s' (available: serial)", r.opts.backend);
    report->status = HD_ENOTSUP;
    goto out;
  }
  if (r.opts.run_dir != NULL) {
    hd__buf res = {0}, logs = {0};
    if (hd__buf_appendf(&res, "%s/results", r.opts.run_dir) != HD_OK ||
        hd__buf_appendf(&logs, "%s/logs", r.opts.run_dir) != HD_OK) {
      hd__buf_cleanup(&res);
      hd__buf_cleanup(&logs);
      report->status = HD_ENOMEM;
      goto out;
    }
    r.results_dir = res.data;
    r.logs_dir = logs.data;
    if (make_dirs(r.results_dir) != HD_OK || make_dirs(r.logs_dir) != HD_OK) {
      hd__diags_add(&report->diags, HD_EIO, r.opts.run_dir, 0, 0, NULL,
                    "cannot create the run folder: %s", strerror(errno));
      report->status = HD_EIO;
      goto out;
    }
  }
  int rc = b->run(&r);
  if (rc != HD_OK)
    report->status = rc;
  else if (r.interrupted)
    report->status = HD_EINTR;
  else if (r.failed)
    report->status = HD_ETASK;
  else
    report->status = HD_OK;
out:
  report->end_ns = hd__now_ns();
  hd__free(r.results_dir);
  hd__free(r.logs_dir);
  return report->status;
}
