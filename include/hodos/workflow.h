/* Workflow files: YAML documents that declare tasks and their
 * dependencies, loaded into a graph.
 *
 *   name: example
 *   tasks:
 *     - name: greet
 *       run: echo hello
 *     - name: shout
 *       run: tr a-z A-Z
 *       after: greet        # or a list: [greet, other]
 *
 * Every problem found is reported with its file, line and column. The
 * whole language is described in docs/workflow.md.
 *
 * Loading a workflow opens the plugins it names (dlopen) and runs their
 * hodos_plugin_init(); functions that tasks call with fn: must be
 * registered by then (by a plugin, or by the program before it loads the
 * file). */
#ifndef HODOS_WORKFLOW_H
#define HODOS_WORKFLOW_H

#include <stddef.h>

#include "common.h"
#include "error.h"
#include "graph.h"

HD_BEGIN_DECLS

typedef struct hd_workflow hd_workflow;

/* Load the workflow file at path and build its graph. *out receives the
 * workflow whenever it could be made, also on error, so that its
 * diagnostics can be read; free it with hd_workflow_free().
 * Returns HD_OK, HD_EIO (the file or one it includes cannot be read),
 * HD_ESYNTAX (not valid YAML), HD_ESCHEMA (valid YAML, but not a valid
 * workflow), HD_EGRAPH or HD_ECYCLE (the tasks do not form a valid graph),
 * HD_ENOMEM. Loading is thread-safe for different workflows. */
HD_API int hd_workflow_load(const char *path, hd_workflow **out);

/* Load a workflow from len bytes of YAML text; name is used in
 * diagnostics as the file name. Same results as hd_workflow_load(). */
HD_API int hd_workflow_load_string(const char *yaml, size_t len,
                                   const char *name, hd_workflow **out);

/* Free a workflow and its graph. NULL does nothing. */
HD_API void hd_workflow_free(hd_workflow *wf);

/* The workflow's name (from its name: field, or NULL) and description. */
HD_API const char *hd_workflow_name(const hd_workflow *wf);
HD_API const char *hd_workflow_description(const hd_workflow *wf);

/* The backend and the number of jobs the workflow asks for (backend:,
 * jobs:), or NULL and 0 when it does not say. */
HD_API const char *hd_workflow_backend(const hd_workflow *wf);
HD_API unsigned hd_workflow_jobs(const hd_workflow *wf);

/* The hosts of its hosts: list, for the ssh backend. */
typedef struct hd_workflow_host {
  const char *host;
  const char *user;   /* NULL: ssh's default */
  unsigned port;      /* 0: ssh's default */
  unsigned slots;     /* 0: not said */
  const char *hodos;  /* the path of hodos on the host, or NULL */
  unsigned tunnel;    /* the port of its `hodos serve`, or 0 */
  int check_host_key; /* 0: the workflow turned host-key checking off */
} hd_workflow_host;

HD_API size_t hd_workflow_host_count(const hd_workflow *wf);
HD_API const hd_workflow_host *hd_workflow_host_at(const hd_workflow *wf,
                                                   size_t i);

/* The plugins it loaded (their paths as opened), in order. */
HD_API size_t hd_workflow_plugin_count(const hd_workflow *wf);
HD_API const char *hd_workflow_plugin(const hd_workflow *wf, size_t i);

/* The graph (owned by the workflow), or NULL when loading failed before
 * one was made. */
HD_API hd_graph *hd_workflow_graph(const hd_workflow *wf);

/* The problems found while loading, in the order of the file. */
HD_API size_t hd_workflow_diag_count(const hd_workflow *wf);
HD_API const hd_diag *hd_workflow_diag(const hd_workflow *wf, size_t i);

HD_END_DECLS

#endif
