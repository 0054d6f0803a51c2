/* Plugins named by a workflow: found, then opened (core/plugin.c). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"

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
  hd__buf why = {0};
  int rc = hd__plugin_open(path, &why);
  if (rc == HD_ENOMEM) {
    hd__free(path);
    hd__buf_cleanup(&why);
    L->status = HD_ENOMEM;
    return 0;
  }
  if (rc == HD_ENOENT) {
    hd__wf_report(L, HD_ESCHEMA, s, "cannot load plugin '%s': %s",
                  hd__wf_scalar(s), why.data ? why.data : "unknown error");
    hd__free(path);
    hd__buf_cleanup(&why);
    return 0;
  }
  if (rc != HD_OK)
    hd__wf_report(L, HD_ESCHEMA, s, "plugin '%s' failed to start: %s",
                  hd__wf_scalar(s), why.data ? why.data : "unknown error");
  hd__buf_cleanup(&why);
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
