/* The task context handed to registered functions, and running them. */
#include <stdio.h>
#include <string.h>

#include "exec.h"
#include "run.h"

const char *hd_task_name(const hd_task *t) {
  return t != NULL ? hd__plan_name(t->x->plan, t->x->node) : NULL;
}

size_t hd_task_input_count(const hd_task *t) {
  return t != NULL ? t->x->ninputs : 0;
}

void hd__lazy_init(hd__lazy *l,
                   int (*fill)(void *, uint32_t, hd_value ***, hd__buf *),
                   void *ctx) {
  atomic_init(&l->state, 0);
  pthread_mutex_init(&l->lock, NULL);
  l->fill = fill;
  l->ctx = ctx;
  l->inputs = NULL;
  l->why = (hd__buf){0};
}

void hd__lazy_done(hd__lazy *l, size_t n) {
  if (atomic_load(&l->state) == 1)
    hd__inputs_free(l->inputs, n, NULL);
  hd__buf_cleanup(&l->why);
  pthread_mutex_destroy(&l->lock);
}

/* x's inputs, gathered now if they are lazy and not yet; NULL when they
 * cannot be (the attempt then fails: see hd__exec_fn()). */
static hd_value **inputs_of(hd__exec *x) {
  hd__lazy *l = x->lazy;
  if (x->inputs != NULL || l == NULL)
    return x->inputs;
  int state = atomic_load_explicit(&l->state, memory_order_acquire);
  if (state == 0) {
    pthread_mutex_lock(&l->lock);
    state = atomic_load_explicit(&l->state, memory_order_relaxed);
    if (state == 0) {
      state = l->fill(l->ctx, x->node, &l->inputs, &l->why) == HD_OK ? 1 : 2;
      atomic_store_explicit(&l->state, state, memory_order_release);
    }
    pthread_mutex_unlock(&l->lock);
  }
  return state == 1 ? l->inputs : NULL;
}

/* Input i of x, whose inputs are lent (hd__lent). */
static hd_value *lent_input(const hd__exec *x, size_t i) {
  hd__lent *l = x->lent;
  hd_value *v = atomic_load_explicit(&l->slot[i], memory_order_relaxed);
  if (v == HD__LENT_UNSET) {
    hd_value *all[HD__LENT_MAX];
    l->fill(l->ctx, x->node, all);
    for (size_t k = 0; k < x->ninputs; k++)
      atomic_store_explicit(&l->slot[k], all[k], memory_order_relaxed);
    v = all[i];
  }
  return v;
}

hd_value *hd_task_input(const hd_task *t, size_t i) {
  if (t == NULL || i >= t->x->ninputs)
    return NULL;
  hd_value *v;
  if (t->x->inputs == NULL && t->x->lent != NULL) {
    v = lent_input(t->x, i);
  } else {
    hd_value **in = inputs_of(t->x);
    v = in != NULL ? in[i] : NULL;
  }
  /* A task without output passes on an empty value; so does an input
     that cannot be read back, whose task fails when its function
     returns. */
  return v != NULL ? v : hd__value_empty();
}

/* Whether x's lazy inputs could not be gathered. */
static int lazy_failed(const hd__exec *x) {
  return x->inputs == NULL && x->lazy != NULL &&
         atomic_load_explicit(&x->lazy->state, memory_order_acquire) == 2;
}

const char *hd_task_param(const hd_task *t, const char *key) {
  if (t == NULL || key == NULL)
    return NULL;
  const hd__plan *p = t->x->plan;
  const hd__pnode *n = &p->nodes[t->x->node];
  for (uint32_t i = 0; i < n->nparams; i++)
    if (strcmp(p->strings + p->params[2 * (n->param_off + i)], key) == 0)
      return p->strings + p->params[2 * (n->param_off + i) + 1];
  return NULL;
}

int hd_task_set_output(hd_task *t, hd_value *v) {
  if (t == NULL || v == NULL) {
    hd_value_unref(v);
    return HD_EINVAL;
  }
  hd_value_unref(t->output);
  t->output = v;
  return HD_OK;
}

int hd_task_fail(hd_task *t, const char *fmt, ...) {
  if (t == NULL || fmt == NULL)
    return HD_ETASK;
  hd__buf_cleanup(&t->message);
  va_list ap;
  va_start(ap, fmt);
  hd__buf_vappendf(&t->message, fmt, ap);
  va_end(ap);
  return HD_ETASK;
}

int hd_task_cancelled(const hd_task *t) {
  if (t == NULL)
    return 0;
  if (lazy_failed(t->x))
    return 1; /* it fails anyway */
  if (t->x->interrupt != NULL && hd__flag(t->x->interrupt) != 0)
    return 1;
  return t->x->timeout_ns != 0 &&
         hd__now_ns() - t->x->start_ns > t->x->timeout_ns;
}

unsigned hd_task_attempt(const hd_task *t) { return t ? t->x->attempt : 0; }

int hd__exec_fn(hd__exec *x) {
  x->exit_status = -1;
  hd_fn_cb fn = x->fn;
  void *data = x->fn_data;
  if (fn == NULL &&
      hd_fn_lookup(hd__plan_what(x->plan, x->node), &fn, &data) != HD_OK) {
    hd__buf_appendf(&x->message, "no function named '%s' is registered",
                    hd__plan_what(x->plan, x->node));
    return HD_ETASK;
  }
  hd_task t = {x, NULL, {0}};
  return hd__exec_fn_after(x, &t, fn(&t, data));
}

int hd__exec_fn_after(hd__exec *x, hd_task *t, int rc) {
  if (lazy_failed(x)) {
    hd__lazy *l = x->lazy;
    hd__buf_appendf(&x->message, "its inputs cannot be gathered: %s",
                    l->why.data != NULL ? l->why.data : "out of memory");
    /* The next attempt, if any, tries again. */
    hd__buf_cleanup(&l->why);
    atomic_store(&l->state, 0);
    hd__buf_cleanup(&t->message);
    hd_value_unref(t->output);
    return HD_ETASK;
  }
  if (x->timeout_ns != 0 && hd__now_ns() - x->start_ns > x->timeout_ns) {
    x->timed_out = 1;
    hd__buf_appendf(&x->message,
                    "timed out after %.3g s (the function "
                    "returned after %.3g s)",
                    (double)x->timeout_ns / 1e9,
                    (double)(hd__now_ns() - x->start_ns) / 1e9);
    hd__buf_cleanup(&t->message);
    hd_value_unref(t->output);
    return HD_ETASK;
  }
  if (rc == HD_ECANCELED && hd_task_cancelled(t)) {
    /* It stopped because the run was interrupted: said as for the other
       tasks the interrupt stopped. */
    hd__buf_appendf(&x->message, "interrupted");
    hd__buf_cleanup(&t->message);
    hd_value_unref(t->output);
    return HD_EINTR;
  }
  if (rc != HD_OK) {
    if (t->message.len > 0)
      hd__buf_append(&x->message, t->message.data, t->message.len);
    else if (strcmp(hd_err_name(rc), "UNKNOWN") == 0)
      hd__buf_appendf(&x->message,
                      "function '%s' returned %d (not one of hodos's error "
                      "codes)",
                      hd__plan_what(x->plan, x->node), rc);
    else /* the number too: -1, C's usual failure, is HD_ENOMEM */
      hd__buf_appendf(&x->message, "function '%s' returned %d (%s: %s)",
                      hd__plan_what(x->plan, x->node), rc, hd_err_name(rc),
                      hd_strerror(rc));
    hd__buf_cleanup(&t->message);
    hd_value_unref(t->output);
    return HD_ETASK;
  }
  if (t->message.data != NULL)
    hd__buf_cleanup(&t->message);
  /* No output is stored as NULL and read as the shared empty value: a tiny
     task allocates nothing. */
  x->output = t->output;
  return HD_OK;
}

void hd__exec_cleanup(hd__exec *x) {
  /* Each test saves a call for every tiny task, which has none of them. */
  if (x->output != NULL)
    hd_value_unref(x->output);
  x->output = NULL;
  if (x->message.data != NULL)
    hd__buf_cleanup(&x->message);
  if (x->err_tail.data != NULL)
    hd__buf_cleanup(&x->err_tail);
}

const char *hd__signal_name(int sig, char *buf, size_t len) {
  static const struct {
    int sig;
    const char *name;
  } names[] = {
      {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"},
      {SIGILL, "SIGILL"},   {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"},
      {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},   {SIGKILL, "SIGKILL"},
      {SIGUSR1, "SIGUSR1"}, {SIGSEGV, "SIGSEGV"}, {SIGUSR2, "SIGUSR2"},
      {SIGPIPE, "SIGPIPE"}, {SIGALRM, "SIGALRM"}, {SIGTERM, "SIGTERM"},
      {SIGCHLD, "SIGCHLD"}, {SIGCONT, "SIGCONT"}, {SIGSTOP, "SIGSTOP"},
      {SIGTSTP, "SIGTSTP"}, {SIGTTIN, "SIGTTIN"}, {SIGTTOU, "SIGTTOU"},
      {SIGXCPU, "SIGXCPU"}, {SIGXFSZ, "SIGXFSZ"}, {SIGSYS, "SIGSYS"},
  };
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (names[i].sig == sig)
      return names[i].name;
  snprintf(buf, len, "signal %d", sig);
  return buf;
}

uint32_t hd__task_node(const hd_task *t) { return t->x->node; }

const char *hd__task_what(const hd_task *t) {
  return hd__plan_what(t->x->plan, t->x->node);
}

int hd__task_with(hd__exec *x, int (*cb)(hd_task *t, void *arg), void *arg) {
  hd_task t = {x, NULL, {0}};
  int rc = cb(&t, arg);
  hd_value_unref(t.output);
  hd__buf_cleanup(&t.message);
  return rc;
}

unsigned hd__task_retries(const hd_task *t) {
  return hd__plan_settings(t->x->plan, t->x->node)->retries;
}

int hd__task_call(hd_task *t, hd_fn_cb fn, void *data, hd_value **inputs,
                  size_t n, unsigned attempt, hd_value **out,
                  hd__buf *message) {
  /* The chunk's own inputs and attempt are set aside while the item's
     stand in for them: cheaper than a copy of the attempt per item. */
  hd__exec *x = t->x;
  hd_value **saved = x->inputs;
  size_t nsaved = x->ninputs;
  hd__lazy *lazy = x->lazy;
  hd__lent *lent = x->lent;
  unsigned saved_attempt = x->attempt;
  x->inputs = inputs;
  x->ninputs = n;
  x->lazy = NULL;
  x->lent = NULL;
  if (attempt != 0)
    x->attempt = attempt;
  hd_task inner = {x, NULL, {0}};
  int rc = fn(&inner, data);
  x->inputs = saved;
  x->ninputs = nsaved;
  x->lazy = lazy;
  x->lent = lent;
  x->attempt = saved_attempt;
  if (rc == HD_OK) {
    *out = inner.output;
  } else {
    *out = NULL;
    hd_value_unref(inner.output);
    if (inner.message.len > 0)
      rc = hd__buf_append(message, inner.message.data, inner.message.len) ==
                   HD_OK
               ? rc
               : HD_ENOMEM;
  }
  hd__buf_cleanup(&inner.message);
  return rc;
}
