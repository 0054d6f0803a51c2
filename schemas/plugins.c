/* Plugins: shared libraries whose functions tasks call with fn:. Each is
 * opened once per process and its hodos_plugin_init() run once; it stays
 * loaded, since the functions it registered live in it. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

static pthread_mutex_t plugin_lock = PTHREAD_MUTEX_INITIALIZER;
static void **inited;
static size_t ninited, capinited;

/* Where a plugin named without a '/' is found: the folders of
 * HODOS_PLUGIN_PATH, then the workflow's own folder. */
static char *find_plugin(hd__wf_loader *L, const char *name) {
  if (strchr(name, '/') != NULL)
    return hd__wf_resolve(L, name, 0);
  const char *path = getenv("HODOS_PLUGIN_PATH");
  hd__buf b = {0};
  while (path != NULL && *path != '\0') {
    const char *end = strchr(path, ':');
    size_t len = end ? (size_t)(end - path) : strlen(path);
    if (len > 0) {
      b.len = 0;
      if (hd__buf_appendf(&b, "%.*s/%s", (int)len, path, name) != HD_OK)
        break;
      if (access(b.data, F_OK) == 0)
        return b.data;
    }
    path = end ? end + 1 : NULL;
  }
  hd__buf_cleanup(&b);
  return hd__wf_resolve(L, name, 0);
}

static int load_plugin(hd__wf_loader *L, hd__ynode *s, void *ctx) {
  (void)ctx;
  hd_workflow *wf = L->wf;
  char *path = find_plugin(L, hd__wf_scalar(s));
  if (path == NULL) {
    L->status = HD_ENOMEM;
    return 0;
  }
  /* dlopen() searches the library path for a name without '/'. */
  hd__buf open_as = {0};
  if (hd__buf_appendf(&open_as, "%s%s", strchr(path, '/') ? "" : "./", path) !=
      HD_OK) {
    hd__free(path);
    L->status = HD_ENOMEM;
    return 0;
  }
  pthread_mutex_lock(&plugin_lock);
  void *h = dlopen(open_as.data, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char *why = dlerror();
    hd__wf_report(L, HD_ESCHEMA, s, "cannot load plugin '%s': %s",
                  hd__wf_scalar(s), why ? why : "unknown error");
    pthread_mutex_unlock(&plugin_lock);
    hd__free(path);
    hd__buf_cleanup(&open_as);
    return 0;
  }
  int seen = 0;
  for (size_t i = 0; i < ninited && !seen; i++)
    seen = inited[i] == h;
  if (!seen) {
    int (*init)(void);
    void *sym = dlsym(h, "hodos_plugin_init");
    memcpy(&init, &sym, sizeof(init));
    int rc = init != NULL ? init() : 0;
    if (rc != 0)
      hd__wf_report(L, HD_ESCHEMA, s,
                    "plugin '%s' failed to start: hodos_plugin_init() "
                    "returned %d",
                    hd__wf_scalar(s), rc);
    else if (!hd__grow((void **)&inited, &capinited, ninited + 1,
                       sizeof(void *)))
      inited[ninited++] = h;
  }
  pthread_mutex_unlock(&plugin_lock);
  hd__buf_cleanup(&open_as);
  if (hd__grow((void **)&wf->plugins, &wf->capplugins, wf->nplugins + 1,
               sizeof(char *))) {
    hd__free(path);
    L->status = HD_ENOMEM;
    return 0;
  }
  wf->plugins[wf->nplugins++] = path;
  return 0;
}

void hd__wf_plugins(hd__wf_loader *L, hd__ynode *v, const char *what) {
  hd__wf_strings(L, v, "plugins", what, load_plugin, NULL);
}
