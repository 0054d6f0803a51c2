/* The process-wide registry of named functions. Lookups happen when a run
 * is prepared, not per task, so one mutex is enough. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct entry {
  hd_fn_cb fn;
  void *data;
} entry;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static hd__strmap reg_map;
/* Bumped by every change: a pool's kept workers, forked with the
   registry as it was, are replaced when it has changed since. */
static unsigned long reg_gen;

void hd__registry_fork_lock(int lock) {
  if (lock)
    pthread_mutex_lock(&reg_lock);
  else
    pthread_mutex_unlock(&reg_lock);
}

unsigned long hd__fn_generation(void) {
  pthread_mutex_lock(&reg_lock);
  unsigned long gen = reg_gen;
  pthread_mutex_unlock(&reg_lock);
  return gen;
}

/* Entries live until exit; free them then so leak checkers stay quiet. */
static void free_entry(const char *key, size_t value, void *data) {
  (void)key;
  (void)data;
  hd__free((entry *)(uintptr_t)value);
}

__attribute__((destructor)) static void registry_atexit(void) {
  pthread_mutex_lock(&reg_lock);
  hd__strmap_each(&reg_map, free_entry, NULL);
  hd__strmap_cleanup(&reg_map);
  pthread_mutex_unlock(&reg_lock);
}

int hd_fn_register(const char *name, hd_fn_cb fn, void *data) {
  if (name == NULL || name[0] == '\0' || fn == NULL)
    return HD_EINVAL;
  entry *e = hd__malloc(sizeof(*e));
  if (e == NULL)
    return HD_ENOMEM;
  e->fn = fn;
  e->data = data;
  pthread_mutex_lock(&reg_lock);
  int rc = hd__strmap_add(&reg_map, name, (size_t)(uintptr_t)e);
  reg_gen++;
  pthread_mutex_unlock(&reg_lock);
  if (rc != HD_OK)
    hd__free(e);
  return rc;
}

int hd_fn_unregister(const char *name) {
  if (name == NULL)
    return HD_EINVAL;
  size_t v;
  int rc = HD_ENOENT;
  pthread_mutex_lock(&reg_lock);
  if (hd__strmap_get(&reg_map, name, &v)) {
    hd__strmap_del(&reg_map, name);
    hd__free((entry *)(uintptr_t)v);
    reg_gen++;
    rc = HD_OK;
  }
  pthread_mutex_unlock(&reg_lock);
  return rc;
}

int hd_fn_lookup(const char *name, hd_fn_cb *fn, void **data) {
  if (name == NULL)
    return HD_EINVAL;
  size_t v;
  int rc = HD_ENOENT;
  pthread_mutex_lock(&reg_lock);
  if (hd__strmap_get(&reg_map, name, &v)) {
    entry *e = (entry *)(uintptr_t)v;
    if (fn != NULL)
      *fn = e->fn;
    if (data != NULL)
      *data = e->data;
    rc = HD_OK;
  }
  pthread_mutex_unlock(&reg_lock);
  return rc;
}

typedef struct lister {
  char **names;
  size_t count;
  int failed;
} lister;

static void list_one(const char *key, size_t value, void *data) {
  (void)value;
  lister *l = data;
  if (l->failed)
    return;
  char *copy = hd__strdup(key);
  if (copy == NULL) {
    l->failed = 1;
    return;
  }
  l->names[l->count++] = copy;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int hd_fn_list(char ***names, size_t *count) {
  if (names == NULL || count == NULL)
    return HD_EINVAL;
  pthread_mutex_lock(&reg_lock);
  lister l = {hd__calloc(reg_map.count + 1, sizeof(char *)), 0, 0};
  if (l.names != NULL)
    hd__strmap_each(&reg_map, list_one, &l);
  pthread_mutex_unlock(&reg_lock);
  if (l.names == NULL || l.failed) {
    hd_fn_list_free(l.names, l.count);
    return HD_ENOMEM;
  }
  qsort(l.names, l.count, sizeof(char *), cmp_names);
  *names = l.names;
  *count = l.count;
  return HD_OK;
}

void hd_fn_list_free(char **names, size_t count) {
  if (names == NULL)
    return;
  for (size_t i = 0; i < count; i++)
    hd__free(names[i]);
  hd__free(names);
}
