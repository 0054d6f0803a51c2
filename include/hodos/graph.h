/* Graphs: nodes that run a shell command or a registered function, and the
 * dependencies between them.
 *
 * A graph is built by one thread; it is not safe to change it from several
 * threads at once. Nodes belong to their graph and are freed with it.
 * Strings passed in are copied. Building never checks the whole graph:
 * hd_graph_validate() does, and reports every problem in one pass. */
#ifndef HODOS_GRAPH_H
#define HODOS_GRAPH_H

#include <stddef.h>

#include "common.h"
#include "error.h"

HD_BEGIN_DECLS

typedef struct hd_graph hd_graph;
typedef struct hd_node hd_node;

/* What a node runs. */
typedef enum hd_node_kind {
  HD_NODE_CMD = 1, /* a shell command, run by /bin/sh -c */
  HD_NODE_FN = 2,  /* a registered function */
} hd_node_kind;

/* Create an empty graph. Errors: HD_EINVAL, HD_ENOMEM. */
HD_API int hd_graph_new(hd_graph **out);

/* Free a graph and its nodes. NULL does nothing. */
HD_API void hd_graph_free(hd_graph *g);

/* Add a node that runs cmd with /bin/sh -c. Its standard input receives the
 * results of its predecessors, concatenated in the order the dependencies
 * were declared; its standard output becomes its result. *out (which may be
 * NULL) receives the node. Names should be unique; a duplicate is reported
 * by hd_graph_validate(). Errors: HD_EINVAL (NULL or empty name or cmd,
 * a name with control characters), HD_ENOMEM. */
HD_API int hd_graph_add_cmd(hd_graph *g, const char *name, const char *cmd,
                            hd_node **out);

/* Add a node that calls the function registered as fn (see task.h). The
 * function need not be registered yet. Errors as hd_graph_add_cmd(). */
HD_API int hd_graph_add_fn(hd_graph *g, const char *name, const char *fn,
                           hd_node **out);

/* Make n run after dep (dep's result becomes one of n's inputs). Declaring
 * the same dependency twice keeps the first. Errors: HD_EINVAL (NULL, or
 * nodes of different graphs), HD_ENOMEM. */
HD_API int hd_node_after(hd_node *n, hd_node *dep);

/* Make n run before succ: the same as hd_node_after(succ, n). */
HD_API int hd_node_before(hd_node *n, hd_node *succ);

/* Make n run after the node named name, which may be added later; an
 * unknown name is reported by hd_graph_validate(). Errors: HD_EINVAL,
 * HD_ENOMEM. */
HD_API int hd_node_after_name(hd_node *n, const char *name);

/* The same, recording where the dependency was declared (in the node's
 * origin file; line and column 1-based) so that a problem with it is
 * reported there. */
HD_API int hd_node_after_name_at(hd_node *n, const char *name, int line,
                                 int column);

/* Set a param (both strings copied); setting a key again replaces its
 * value. Errors: HD_EINVAL, HD_ENOMEM. */
HD_API int hd_node_set_param(hd_node *n, const char *key, const char *value);

/* Record where the node was declared, for diagnostics (file copied; line
 * and column 1-based, 0 when unknown). Errors: HD_EINVAL, HD_ENOMEM. */
HD_API int hd_node_set_origin(hd_node *n, const char *file, int line,
                              int column);

/* Find the first node with this name, or NULL. */
HD_API hd_node *hd_graph_find(const hd_graph *g, const char *name);

/* The number of nodes, and node i in the order they were added (NULL when
 * out of range). */
HD_API size_t hd_graph_node_count(const hd_graph *g);
HD_API hd_node *hd_graph_node(const hd_graph *g, size_t i);

/* A node's name, kind, command (NULL for a function node) and function
 * name (NULL for a command node). */
HD_API const char *hd_node_name(const hd_node *n);
HD_API hd_node_kind hd_node_kind_of(const hd_node *n);
HD_API const char *hd_node_cmd(const hd_node *n);
HD_API const char *hd_node_fn(const hd_node *n);

/* The number of dependencies declared on n, and the name of dependency i. */
HD_API size_t hd_node_dep_count(const hd_node *n);
HD_API const char *hd_node_dep_name(const hd_node *n, size_t i);

/* Check the whole graph: duplicate names, dependencies on unknown names
 * (with a suggestion), self-dependencies and cycles (each reported as its
 * path, a -> b -> a). Every problem found is recorded as a diagnostic,
 * replacing those of an earlier call. Returns HD_OK, HD_EGRAPH (or
 * HD_ECYCLE when cycles are the only problem), or HD_ENOMEM. Call it from
 * one thread at a time. */
HD_API int hd_graph_validate(hd_graph *g);

/* The diagnostics of the last hd_graph_validate(); they live until the next
 * call or until the graph is freed. */
HD_API size_t hd_graph_diag_count(const hd_graph *g);
HD_API const hd_diag *hd_graph_diag(const hd_graph *g, size_t i);

HD_END_DECLS

#endif
