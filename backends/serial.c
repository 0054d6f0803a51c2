/* The serial backend: every task on the calling thread, one at a time, in
 * the plan's topological order (a ready set ordered by rank). The
 * reference every other backend must agree with. */
#include "../core/run.h"

typedef struct serial {
  hd_backend_host host;
  uint32_t *heap; /* ready tasks, a min-heap by rank */
  size_t count;
} serial;

static int serial_start(void **state, unsigned jobs,
                        const hd_backend_host *host) {
  (void)jobs;
  serial *s = hd__calloc(1, sizeof(*s));
  if (s == NULL)
    return HD_ENOMEM;
  s->host = *host;
  s->heap = hd__malloc((host->ntasks + 1) * sizeof(uint32_t));
  if (s->heap == NULL) {
    hd__free(s);
    return HD_ENOMEM;
  }
  *state = s;
  return HD_OK;
}

static int serial_submit(void *state, uint32_t task) {
  serial *s = state;
  const uint32_t *rank = s->host.rank;
  size_t i = s->count++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (rank[s->heap[parent]] <= rank[task])
      break;
    s->heap[i] = s->heap[parent];
    i = parent;
  }
  s->heap[i] = task;
  return HD_OK;
}

static uint32_t pop(serial *s) {
  const uint32_t *rank = s->host.rank;
  uint32_t top = s->heap[0], last = s->heap[--s->count];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= s->count)
      break;
    if (c + 1 < s->count && rank[s->heap[c + 1]] < rank[s->heap[c]])
      c++;
    if (rank[last] <= rank[s->heap[c]])
      break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  if (s->count > 0)
    s->heap[i] = last;
  return top;
}

static void serial_finish(void *state) { (void)state; }

static int serial_wait(void *state) {
  serial *s = state;
  /* The continuation run() offers goes back into the ready set, so that
     the order stays the plan's. */
  int first = 1; /* each task after the first starts as the last ends */
  while (s->count > 0) {
    uint32_t task = pop(s);
    uint32_t next = !first && s->host.run_at_once != NULL
                        ? s->host.run_at_once(s->host.ctx, task, 0, 1)
                        : s->host.run(s->host.ctx, task, 0);
    first = 0;
    if (next != HD_TASK_NONE)
      serial_submit(s, next);
  }
  return HD_OK;
}

static unsigned serial_capacity(void *state) {
  (void)state;
  return 1;
}

static void serial_stop(void *state) {
  serial *s = state;
  hd__free(s->heap);
  hd__free(s);
}

const struct hd_backend_ops hd__backend_serial = {
    .version = HD_BACKEND_OPS_VERSION,
    .name = "serial",
    .description = "every task on the calling thread, one at a time",
    .start = serial_start,
    .submit = serial_submit,
    .finish = serial_finish,
    .wait = serial_wait,
    .capacity = serial_capacity,
    .stop = serial_stop,
};
