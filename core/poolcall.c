/* A pool's calls, their results, and the iterators and futures that hand
 * them out. A call is shared by the pool's dispatcher, which fills it as
 * items end, and by its user, who reads it; whichever lets go last frees
 * it. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "poolcall.h"

/* ---- calls ---- */

static void results_free(hd_results *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++) {
    hd_value_unref(r->values[i]);
    hd__free(r->errors[i]);
  }
  hd__free(r->values);
  hd__free(r->status);
  hd__free(r->errors);
  hd__free(r);
}

static hd_results *results_new(size_t n) {
  hd_results *r = hd__calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->n = n;
  r->values = hd__calloc(n + 1, sizeof(*r->values));
  r->status = hd__calloc(n + 1, sizeof(*r->status));
  r->errors = hd__calloc(n + 1, sizeof(*r->errors));
  if (r->values == NULL || r->status == NULL || r->errors == NULL) {
    r->n = 0;
    results_free(r);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    r->status[i] = HD__ITEM_PENDING;
  return r;
}

static void release_args(hd__call *c) {
  if (c->args == NULL)
    return;
  for (size_t i = 0; i < c->n * c->nargs; i++)
    hd_value_unref(c->args[i]);
  hd__free(c->args);
  c->args = NULL;
}

int hd__call_new(hd__call_kind kind, const char *fn, const hd_list *lists,
                 size_t nlists, hd__call **out) {
  *out = NULL;
  if (fn == NULL || fn[0] == '\0' || (nlists > 0 && lists == NULL))
    return HD_EINVAL;
  for (const char *s = fn; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return HD_EINVAL;
  size_t n = nlists > 0 ? SIZE_MAX : 1;
  for (size_t l = 0; l < nlists; l++) {
    if (lists[l].count > 0 && lists[l].items == NULL)
      return HD_EINVAL;
    if (lists[l].count < n)
      n = lists[l].count;
  }
  if (n > UINT32_MAX / 2)
    return HD_EINVAL;
  for (size_t l = 0; l < nlists; l++)
    for (size_t i = 0; i < n; i++)
      if (lists[l].items[i] == NULL)
        return HD_EINVAL;
  hd__call *c = hd__calloc(1, sizeof(*c));
  if (c == NULL)
    return HD_ENOMEM;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, &ca);
  pthread_condattr_destroy(&ca);
  c->refs = 1;
  c->kind = kind;
  c->n = n;
  c->nargs = nlists;
  c->fn = hd__strdup(fn);
  c->res = results_new(n);
  c->order = hd__calloc(n + 1, sizeof(uint32_t));
  c->args = hd__calloc(n * nlists + 1, sizeof(hd_value *));
  if (c->fn == NULL || c->res == NULL || c->order == NULL || c->args == NULL) {
    hd__call_unref(c);
    return HD_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t l = 0; l < nlists; l++)
      c->args[i * nlists + l] = hd_value_ref(lists[l].items[i]);
  c->ended = n == 0;
  *out = c;
  return HD_OK;
}

void hd__call_ref(hd__call *c) {
  pthread_mutex_lock(&c->lock);
  c->refs++;
  pthread_mutex_unlock(&c->lock);
}

void hd__call_unref(hd__call *c) {
  if (c == NULL)
    return;
  pthread_mutex_lock(&c->lock);
  unsigned left = --c->refs;
  pthread_mutex_unlock(&c->lock);
  if (left > 0)
    return;
  release_args(c);
  results_free(c->res);
  hd__free(c->order);
  hd__free(c->fn);
  pthread_cond_destroy(&c->cond);
  pthread_mutex_destroy(&c->lock);
  hd__free(c);
}

/* Under c->lock. */
static void settle_locked(hd__call *c, size_t item, int status, hd_value *value,
                          const char *error) {
  hd_results *r = c->res;
  if (r == NULL || item >= r->n || r->status[item] != HD__ITEM_PENDING)
    return;
  r->status[item] = status;
  if (status == HD_OK) {
    r->values[item] = hd_value_ref(value ? value : hd__value_empty());
  } else {
    r->failed++;
    if (error != NULL)
      r->errors[item] = hd__strdup(error);
  }
  c->order[c->settled++] = (uint32_t)item;
  if (c->settled == c->n) {
    c->ended = 1;
    release_args(c);
  }
}

void hd__call_settle(hd__call *c, size_t item, int status, hd_value *value,
                     const char *error) {
  pthread_mutex_lock(&c->lock);
  settle_locked(c, item, status, value, error);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

void hd__call_settle_many(hd__call *c, size_t first, size_t n,
                          const int *status, hd_value *const *values,
                          char *const *errors) {
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; i < n; i++)
    settle_locked(c, first + i, status[i], values[i], errors[i]);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

void hd__call_abort(hd__call *c, int status, const char *error) {
  pthread_mutex_lock(&c->lock);
  for (size_t i = 0; c->res != NULL && i < c->n; i++)
    settle_locked(c, i, status, NULL, error);
  pthread_cond_broadcast(&c->cond);
  pthread_mutex_unlock(&c->lock);
}

/* now + seconds on CLOCK_MONOTONIC. */
static struct timespec deadline(double seconds) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  if (seconds > 1e9)
    seconds = 1e9;
  time_t whole = (time_t)seconds;
  long ns = (long)((seconds - (double)whole) * 1e9);
  ts.tv_sec += whole;
  ts.tv_nsec += ns;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

/* Wait on c->cond (held) until ready(c) or the deadline; returns
 * ready(c). */
static int wait_for(hd__call *c, double timeout, int (*ready)(hd__call *)) {
  struct timespec until = deadline(timeout > 0 ? timeout : 0);
  while (!ready(c)) {
    if (timeout < 0) {
      pthread_cond_wait(&c->cond, &c->lock);
    } else if (pthread_cond_timedwait(&c->cond, &c->lock, &until) ==
               ETIMEDOUT) {
      return ready(c);
    }
  }
  return 1;
}

static int is_ended(hd__call *c) { return c->ended; }

int hd__call_wait(hd__call *c, double timeout) {
  pthread_mutex_lock(&c->lock);
  int ok = wait_for(c, timeout, is_ended);
  pthread_mutex_unlock(&c->lock);
  return ok;
}

int hd__call_status(hd__call *c) {
  pthread_mutex_lock(&c->lock);
  int rc = HD_OK;
  for (size_t i = 0; c->res != NULL && i < c->n; i++) {
    if (c->res->status[i] == HD_EINTR)
      rc = HD_EINTR;
    else if (c->res->status[i] != HD_OK && rc == HD_OK)
      rc = HD_ETASK;
  }
  pthread_mutex_unlock(&c->lock);
  return rc;
}

/* ---- results ---- */

size_t hd_results_count(const hd_results *r) { return r ? r->n : 0; }

size_t hd_results_failed(const hd_results *r) { return r ? r->failed : 0; }

hd_value *hd_results_value(const hd_results *r, size_t i) {
  return r != NULL && i < r->n ? r->values[i] : NULL;
}

int hd_results_status(const hd_results *r, size_t i) {
  if (r == NULL || i >= r->n)
    return HD_EINVAL;
  return r->status[i];
}

const char *hd_results_error(const hd_results *r, size_t i) {
  return r != NULL && i < r->n ? r->errors[i] : NULL;
}

void hd_results_free(hd_results *r) { results_free(r); }

hd_results *hd__call_take_results(hd__call *c) {
  pthread_mutex_lock(&c->lock);
  hd_results *r = c->res;
  c->res = NULL;
  pthread_mutex_unlock(&c->lock);
  return r;
}

/* ---- iterators ---- */

struct hd_iter {
  hd__call *call;
  const char *error; /* the last failed item's message, in the call */
};

int hd__iter_new(hd__call *c, hd_iter **out) {
  hd_iter *it = hd__calloc(1, sizeof(*it));
  if (it == NULL) {
    hd__call_unref(c);
    return HD_ENOMEM;
  }
  it->call = c;
  *out = it;
  return HD_OK;
}

/* Whether the iterator's next item is there, or all have been given. */
static int next_ready(hd__call *c) {
  if (c->next >= c->n)
    return 1;
  if (c->kind == HD__CALL_UIMAP)
    return c->next < c->settled;
  return c->res->status[c->next] != HD__ITEM_PENDING;
}

int hd_iter_next(hd_iter *it, double timeout, size_t *index, hd_value **value) {
  if (value != NULL)
    *value = NULL;
  if (it == NULL)
    return HD_EINVAL;
  hd__call *c = it->call;
  pthread_mutex_lock(&c->lock);
  if (!wait_for(c, timeout, next_ready)) {
    pthread_mutex_unlock(&c->lock);
    return HD_ETIMEDOUT;
  }
  if (c->next >= c->n) {
    pthread_mutex_unlock(&c->lock);
    return HD_EEND;
  }
  size_t item = c->kind == HD__CALL_UIMAP ? c->order[c->next] : c->next;
  c->next++;
  hd_results *r = c->res;
  int rc = r->status[item];
  it->error = r->errors[item];
  if (index != NULL)
    *index = item;
  if (rc == HD_OK && value != NULL)
    *value = hd_value_ref(r->values[item]);
  pthread_mutex_unlock(&c->lock);
  return rc;
}

const char *hd_iter_error(const hd_iter *it) { return it ? it->error : NULL; }

size_t hd_iter_count(const hd_iter *it) { return it ? it->call->n : 0; }

void hd_iter_free(hd_iter *it) {
  if (it == NULL)
    return;
  hd__call_unref(it->call);
  hd__free(it);
}

/* ---- futures ---- */

struct hd_future {
  hd__call *call;
};

int hd__future_new(hd__call *c, hd_future **out) {
  hd_future *f = hd__calloc(1, sizeof(*f));
  if (f == NULL) {
    hd__call_unref(c);
    return HD_ENOMEM;
  }
  f->call = c;
  *out = f;
  return HD_OK;
}

int hd_future_ready(const hd_future *f) {
  if (f == NULL)
    return 0;
  pthread_mutex_lock(&f->call->lock);
  int ended = f->call->ended;
  pthread_mutex_unlock(&f->call->lock);
  return ended;
}

int hd_future_wait(hd_future *f, double timeout) {
  if (f == NULL)
    return HD_EINVAL;
  return hd__call_wait(f->call, timeout) ? HD_OK : HD_ETIMEDOUT;
}

int hd_future_get(hd_future *f, double timeout, const hd_results **out) {
  if (out != NULL)
    *out = NULL;
  if (f == NULL || out == NULL)
    return HD_EINVAL;
  if (!hd__call_wait(f->call, timeout))
    return HD_ETIMEDOUT;
  *out = f->call->res;
  return hd__call_status(f->call);
}

void hd_future_free(hd_future *f) {
  if (f == NULL)
    return;
  hd__call_unref(f->call);
  hd__free(f);
}
