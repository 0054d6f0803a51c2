/* Running a plan: the shared part of every backend (task states, events,
 * results on disk) and the report. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "run.h"

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
  case HD_EVENT_CACHED:
    return "cached";
  case HD_EVENT_CANCELLED:
    return "cancelled";
  case HD_EVENT_QUEUED:
    return "queued";
  case HD_EVENT_RETRIED:
    return "retried";
  }
  return "unknown";
}

/* ---- the report ---- */

hd__tstate *hd__tasks_take(hd__plan *p) {
  hd__tstate *t = atomic_exchange(&p->spare_tasks, NULL);
  return t != NULL ? t : hd__big_calloc(p->count + 1, sizeof(hd__tstate));
}

void hd__tasks_give(hd__plan *p, hd__tstate *tasks) {
  if (tasks == NULL)
    return;
  /* Not worth zeroing for a plan about to be freed (the report holds the
     last reference): at worst a race makes it kept or freed needlessly. */
  hd__tstate *none = NULL;
  if (atomic_load(&p->refs) > 1 && atomic_load(&p->spare_tasks) == NULL) {
    memset(tasks, 0, (p->count + 1) * sizeof(hd__tstate));
    if (atomic_compare_exchange_strong(&p->spare_tasks, &none, tasks))
      return;
  }
  hd__big_free(tasks, p->count + 1, sizeof(hd__tstate));
}

int hd__report_new(hd__plan *plan, hd_report **out) {
  hd_report *r = hd__calloc(1, sizeof(*r));
  if (r == NULL)
    return HD_ENOMEM;
  r->plan = plan;
  if (plan != NULL) {
    r->tasks = hd__tasks_take(plan);
    if (r->tasks == NULL) {
      hd__free(r);
      return HD_ENOMEM;
    }
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
      hd__textra *x = r->tasks[i].extra;
      if (x != NULL) {
        hd__free(x->message);
        hd__free(x->stderr_tail);
        hd__free(x);
      }
      hd_value_unref(r->tasks[i].result);
    }
  }
  hd__hold_free(r->hold);
  if (r->plan != NULL)
    hd__tasks_give(r->plan, r->tasks);
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
  info->state = (hd_state)t->state;
  info->attempts = t->attempts;
  info->exit_status = t->extra ? t->extra->exit_status : -1;
  info->term_signal = t->extra ? t->extra->term_signal : 0;
  info->worker = t->worker;
  info->start_ns = t->start_ns;
  info->end_ns = t->end_ns;
  info->message = hd__tstate_message(t);
  info->stderr_tail = t->extra ? t->extra->stderr_tail : NULL;
  info->failure_allowed = t->state == HD_STATE_FAILED &&
                          hd__plan_settings(r->plan, i)->allow_failure;
  info->cached = (t->flags & HD__T_CACHED) != 0;
  info->held = t->flags & HD__T_SPILLED  ? HD_HELD_SPILLED
               : t->flags & HD__T_PACKED ? HD_HELD_COMPRESSED
                                         : HD_HELD_MEMORY;
  return HD_OK;
}

size_t hd_report_count(const hd_report *r, hd_state s) {
  size_t n = 0;
  for (size_t i = 0; i < hd_report_task_count(r); i++)
    n += r->tasks[i].state == s;
  return n;
}

hd_value *hd_report_result(const hd_report *r, size_t i) {
  if (i >= hd_report_task_count(r) || r->tasks[i].state != HD_STATE_DONE)
    return NULL;
  if (r->hold != NULL ? hd__hold_restore(r->hold, (uint32_t)i,
                                         (hd__tstate *)&r->tasks[i]) != HD_OK
                      : (r->tasks[i].flags & HD__T_RELEASED) != 0)
    return NULL;
  return r->tasks[i].result ? r->tasks[i].result : hd__value_empty();
}

hd_value *hd_report_result_by_name(const hd_report *r, const char *name) {
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < hd_report_task_count(r); i++)
    if (strcmp(hd__plan_name(r->plan, i), name) == 0)
      return hd_report_result(r, i);
  return NULL;
}

int hd_report_held(const hd_report *r, hd_held_info *info) {
  if (r == NULL || info == NULL)
    return HD_EINVAL;
  hd__hold_totals(r->hold, &info->compressed, &info->spilled, &info->raw_bytes,
                  &info->frame_bytes);
  return HD_OK;
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

/* Encoded names longer than this are shortened (see hd__file_name()):
 * with ".tmp.PID" or ".stderr" after them they stay under the 255 bytes
 * a file name may have. */
#define FILE_NAME_MAX 200
#define FILE_NAME_KEEP 180

/* A task name as a file name: '/' and '%' are percent-encoded, and so is a
 * leading '.', so that no name escapes its folder or hides. A name whose
 * encoding is longer than FILE_NAME_MAX bytes keeps its first
 * FILE_NAME_KEEP or so (whole characters) followed by "%~" and 16 hex
 * digits of its hash: no encoded name holds "%~" (a '%' is "%25"). */
int hd__file_name(hd__buf *b, const char *dir, const char *name,
                  const char *suffix) {
  int rc = hd__buf_appendf(b, "%s/", dir);
  size_t from = b->len, cut = 0;
  for (const char *p = name; rc == HD_OK && *p; p++) {
    /* The last character boundary within FILE_NAME_KEEP bytes. */
    if (((unsigned char)*p & 0xc0) != 0x80 && b->len - from <= FILE_NAME_KEEP)
      cut = b->len;
    if (*p == '/' || *p == '%' || (p == name && *p == '.'))
      rc = hd__buf_appendf(b, "%%%02X", (unsigned char)*p);
    else
      rc = hd__buf_append(b, p, 1);
  }
  if (rc == HD_OK && b->len - from > FILE_NAME_MAX) {
    b->len = cut;
    rc = hd__buf_appendf(b, "%%~%016llx",
                         (unsigned long long)XXH3_64bits(name, strlen(name)));
  }
  if (rc == HD_OK)
    rc = hd__buf_appendf(b, "%s", suffix);
  return rc;
}

int hd_task_file_name(const char *task, char *buf, size_t size) {
  if (task == NULL || buf == NULL)
    return HD_EINVAL;
  hd__buf b = {0};
  int rc = hd__file_name(&b, ".", task, "");
  if (rc == HD_OK && b.len - 2 + 1 > size)
    rc = HD_ETOOBIG;
  if (rc == HD_OK)
    memcpy(buf, b.data + 2, b.len - 2 + 1);
  hd__buf_cleanup(&b);
  return rc;
}

static int make_dir(const char *path) {
  if (mkdir(path, 0777) == 0 || errno == EEXIST)
    return HD_OK;
  return HD_EIO;
}

/* mkdir -p */
int hd__make_dirs(const char *path) {
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
 * no crash leaves a half-written result among the results: the temporary
 * file is hidden (.NAME.tmp.PID: no task's file name starts with a dot),
 * and only a kill in the middle of a write leaves one. */
int hd__write_result(hd__run *r, const char *name, const hd_value *v) {
  if (v == NULL)
    v = hd__value_empty();
  if (v == NULL)
    return HD_ENOMEM;
  hd__buf path = {0}, tmp = {0};
  int rc = hd__file_name(&path, r->results_dir, name, "");
  if (rc == HD_OK) {
    const char *base = strrchr(path.data, '/');
    base = base != NULL ? base + 1 : path.data;
    rc = hd__buf_appendf(&tmp, "%.*s.%s.tmp.%ld", (int)(base - path.data),
                         path.data, base, (long)getpid());
  }
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

int hd__open_log(hd__run *r, const char *name) {
  if (r->logs_dir == NULL)
    return -1;
  hd__buf path = {0};
  int fd = -1;
  if (hd__file_name(&path, r->logs_dir, name, ".stderr") == HD_OK)
    fd = open(path.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  hd__buf_cleanup(&path);
  return fd;
}

void hd__log_tail(hd__run *r, const char *name, hd__buf *out) {
  if (r->logs_dir == NULL)
    return;
  hd__buf path = {0};
  int fd = -1;
  if (hd__file_name(&path, r->logs_dir, name, ".stderr") == HD_OK)
    fd = open(path.data, O_RDONLY | O_CLOEXEC);
  hd__buf_cleanup(&path);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
    if (fd >= 0)
      close(fd);
    return;
  }
  size_t n =
      st.st_size > HD__STDERR_TAIL ? HD__STDERR_TAIL : (size_t)st.st_size;
  char *buf = hd__malloc(n);
  ssize_t got = buf != NULL ? pread(fd, buf, n, st.st_size - (off_t)n) : -1;
  if (got > 0)
    (void)hd__buf_append(out, buf, (size_t)got);
  hd__free(buf);
  close(fd);
}

hd__textra *hd__tstate_extra(hd__tstate *t) {
  if (t->extra == NULL && (t->extra = hd__calloc(1, sizeof(hd__textra))))
    t->extra->exit_status = -1;
  return t->extra;
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
