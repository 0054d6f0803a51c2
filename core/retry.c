/* Retries that wait out their delay while the run goes on (the threads
 * backend): a worker whose task failed with attempts left hands it here
 * instead of sleeping, and this queue's thread gives it back to the
 * backend (hd_backend_ops.submit, from outside the workers) when its
 * delay is over, or at once when the run stops, so that its last failure
 * stands without waiting (sched.c's run_task() takes it from there). */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "run.h"

typedef struct delayed {
  uint64_t due; /* on hd__now_ns()'s clock */
  uint32_t node;
} delayed;

struct hd__retryq {
  hd__run *r;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* on CLOCK_MONOTONIC: an item came, or quit */
  pthread_t thread;
  int quit;
  delayed *items; /* unordered: a run has few at a time */
  size_t n, cap;
};

/* How often a queue with items looks whether the run is stopping (an
 * interrupt is a flag that nobody signals). */
#define POLL_NS 20000000u

/* Hand the items due by now (every one when the run is stopping) back to
 * the backend; returns when the next is due (UINT64_MAX: none left). Under
 * q->lock, which it lets go while it submits. */
static uint64_t release_due(hd__retryq *q) {
  hd__run *r = q->r;
  int stopping = hd__run_stopping(r);
  uint64_t now = hd__now_ns(), next = UINT64_MAX;
  for (size_t i = 0; i < q->n;) {
    delayed d = q->items[i];
    if (!stopping && d.due > now) {
      if (d.due < next)
        next = d.due;
      i++;
      continue;
    }
    /* Left in place while it is submitted (others may only be added
       meanwhile, after it): a submit that fails (no memory for the
       backend's inbox) is tried again later rather than lost, which
       would leave the run waiting for the task for good. */
    pthread_mutex_unlock(&q->lock);
    int rc = r->backend->submit(r->backend_state, d.node);
    pthread_mutex_lock(&q->lock);
    now = hd__now_ns();
    if (rc != HD_OK)
      return now + POLL_NS; /* a while later, stopping or not */
    q->items[i] = q->items[--q->n];
    i = 0; /* items were added meanwhile, maybe due already */
    next = UINT64_MAX;
  }
  return next;
}

static void *retry_main(void *arg) {
  hd__retryq *q = arg;
  pthread_mutex_lock(&q->lock);
  while (!q->quit) {
    uint64_t next = release_due(q);
    if (q->quit)
      break;
    if (q->n == 0) {
      pthread_cond_wait(&q->cond, &q->lock);
      continue;
    }
    uint64_t now = hd__now_ns();
    if (next <= now)
      continue;
    uint64_t wait = next - now < POLL_NS ? next - now : POLL_NS;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t at =
        (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + wait;
    ts.tv_sec = (time_t)(at / 1000000000u);
    ts.tv_nsec = (long)(at % 1000000000u);
    pthread_cond_timedwait(&q->cond, &q->lock, &ts);
  }
  pthread_mutex_unlock(&q->lock);
  return NULL;
}

int hd__retryq_start(hd__run *r, hd__retryq **out) {
  *out = NULL;
  hd__retryq *q = hd__calloc(1, sizeof(*q));
  if (q == NULL)
    return HD_ENOMEM;
  q->r = r;
  pthread_condattr_t ca;
  int rc = HD_ENOMEM;
  if (pthread_condattr_init(&ca) != 0) {
    hd__free(q);
    return rc;
  }
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  if (pthread_mutex_init(&q->lock, NULL) == 0) {
    if (pthread_cond_init(&q->cond, &ca) == 0) {
      if (pthread_create(&q->thread, NULL, retry_main, q) == 0) {
        pthread_condattr_destroy(&ca);
        *out = q;
        return HD_OK;
      }
      pthread_cond_destroy(&q->cond);
    }
    pthread_mutex_destroy(&q->lock);
  }
  pthread_condattr_destroy(&ca);
  hd__free(q);
  return rc;
}

int hd__retryq_add(hd__retryq *q, uint32_t node, uint64_t due) {
  pthread_mutex_lock(&q->lock);
  int rc = HD_OK;
  if (hd__grow((void **)&q->items, &q->cap, q->n + 1, sizeof(delayed)))
    rc = HD_ENOMEM;
  else
    q->items[q->n++] = (delayed){due, node};
  pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->lock);
  return rc;
}

void hd__retryq_stop(hd__retryq *q) {
  if (q == NULL)
    return;
  pthread_mutex_lock(&q->lock);
  q->quit = 1;
  pthread_cond_signal(&q->cond);
  pthread_mutex_unlock(&q->lock);
  pthread_join(q->thread, NULL);
  pthread_cond_destroy(&q->cond);
  pthread_mutex_destroy(&q->lock);
  hd__free(q->items);
  hd__free(q);
}
