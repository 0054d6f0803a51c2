/* The registry of backends: the built-in ones, then those registered by
 * the application. */
#include <pthread.h>
#include <string.h>

#include "run.h"

#define MAX_BACKENDS 32

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

void hd__backend_fork_lock(int take) {
  if (take)
    pthread_mutex_lock(&lock);
  else
    pthread_mutex_unlock(&lock);
}
static const struct hd_backend_ops *extra[MAX_BACKENDS];
static size_t nextra;

static const struct hd_backend_ops *const builtin[] = {
    &hd__backend_serial,
    &hd__backend_threads,
    &hd__backend_processes,
    &hd__backend_ssh,
};
#define NBUILTIN (sizeof(builtin) / sizeof(builtin[0]))

size_t hd_backend_count(void) {
  pthread_mutex_lock(&lock);
  size_t n = NBUILTIN + nextra;
  pthread_mutex_unlock(&lock);
  return n;
}

const struct hd_backend_ops *hd_backend_at(size_t i) {
  if (i < NBUILTIN)
    return builtin[i];
  pthread_mutex_lock(&lock);
  const struct hd_backend_ops *b =
      i - NBUILTIN < nextra ? extra[i - NBUILTIN] : NULL;
  pthread_mutex_unlock(&lock);
  return b;
}

const struct hd_backend_ops *hd_backend_find(const char *name) {
  if (name == NULL)
    return NULL;
  for (size_t i = 0; i < hd_backend_count(); i++) {
    const struct hd_backend_ops *b = hd_backend_at(i);
    if (b != NULL && strcmp(b->name, name) == 0)
      return b;
  }
  return NULL;
}

int hd_backend_register(const struct hd_backend_ops *ops) {
  if (ops == NULL || ops->version < 1 ||
      ops->version > HD_BACKEND_OPS_VERSION || ops->name == NULL ||
      ops->name[0] == '\0' || ops->start == NULL || ops->submit == NULL ||
      ops->finish == NULL || ops->wait == NULL || ops->capacity == NULL ||
      ops->stop == NULL)
    return HD_EINVAL;
  if (hd_backend_find(ops->name) != NULL)
    return HD_EEXIST;
  int rc = HD_OK;
  pthread_mutex_lock(&lock);
  if (nextra == MAX_BACKENDS)
    rc = HD_ENOMEM;
  else
    extra[nextra++] = ops;
  pthread_mutex_unlock(&lock);
  return rc;
}
