/* Opening plugins: shared libraries whose functions tasks call with fn:.
 * Each is opened once per process and its hodos_plugin_init() run once;
 * it stays loaded, since the functions it registered live in it. Used by
 * the workflow loader and by workers that receive a run's plugins. */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;

void hd__plugin_fork_lock(int lock) {
  if (lock)
    pthread_mutex_lock(&plugin_lock);
  else
    pthread_mutex_unlock(&plugin_lock);
}
static void **inited;
static size_t ninited, capinited;

int hd__plugin_open(const char *path, hd__buf *why) {
  /* dlopen() searches the library path for a name without '/'. */
  hd__buf open_as = {0};
  if (hd__buf_appendf(&open_as, "%s%s", strchr(path, '/') ? "" : "./", path) !=
      HD_OK)
    return HD_ENOMEM;
  int rc = HD_OK;
  pthread_mutex_lock(&plugin_lock);
  void *h = dlopen(open_as.data, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *err = dlerror();
    hd__buf_appendf(why, "%s", err ? err : "unknown error");
    rc = HD_ENOENT;
  } else {
    int seen = 0;
    for (size_t i = 0; i < ninited && !seen; i++)
      seen = inited[i] == h;
    if (!seen) {
      int (*init)(void);
      void *sym = dlsym(h, "hodos_plugin_init");
      memcpy(&init, &sym, sizeof(init));
      int got = init != NULL ? init() : 0;
      if (got != 0) {
        hd__buf_appendf(why, "hodos_plugin_init() returned %d", got);
        rc = HD_EINVAL;
      } else if (!hd__grow((void **)&inited, &capinited, ninited + 1,
                           sizeof(void *))) {
        inited[ninited++] = h;
      }
    }
  }
  pthread_mutex_unlock(&plugin_lock);
  hd__buf_cleanup(&open_as);
  return rc;
}
