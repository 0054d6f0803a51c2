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
#include <stdint.h>

#include "common.h"
#include "error.h"

HD_BEGIN_DECLS

typedef struct hd_graph hd_graph;
typedef struct hd_node hd_node;

/* What a node runs. */
typedef enum hd_node_kind {
  HD_NODE_CMD = 1,  /* a shell command, run by /bin/sh -c */
  HD_NODE_FN = 2,   /* a registered function */
  HD_NODE_ARGV = 3, /* a program and its arguments, run without a shell */
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
 * a name with control characters), HD_ENOMEM, HD_ETOOBIG (the graph has
 * 2^31 nodes already). */
HD_API int hd_graph_add_cmd(hd_graph *g, const char *name, const char *cmd,
                            hd_node **out);

/* Add a node that calls the function registered as fn (see task.h). The
 * function need not be registered yet. Errors as hd_graph_add_cmd(). */
HD_API int hd_graph_add_fn(hd_graph *g, const char *name, const char *fn,
                           hd_node **out);

/* Add a node that runs argv[0] (looked up in PATH when it holds no '/')
 * with the arguments argv[1..argc-1], without a shell. Placeholders in
 * the words are replaced as in commands, but never quoted. Its standard
 * input and output are those of a command node. Errors as
 * hd_graph_add_cmd(), and HD_EINVAL when argc is 0. */
HD_API int hd_graph_add_argv(hd_graph *g, const char *name,
                             const char *const *argv, size_t argc,
                             hd_node **out);

/* Make n run after dep (dep's result becomes one of n's inputs). A
 * dependency declared twice counts once, at its first place, when the graph
 * is compiled. Errors: HD_EINVAL (NULL, or nodes of different graphs),
 * HD_ENOMEM. */
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

/* Make n run after each of the count nodes in deps, in that order (their
 * results become n's inputs in that order). Errors as hd_node_after(); on
 * error none of them is added. */
HD_API int hd_node_after_all(hd_node *n, hd_node *const *deps, size_t count);

/* Make n run before each of the count nodes in succs. Errors as
 * hd_node_after(); on error some may have been added. */
HD_API int hd_node_before_all(hd_node *n, hd_node *const *succs, size_t count);

/* Set a param (both strings copied); setting a key again replaces its
 * value. A function reads it with hd_task_param(); a command refers to it
 * as {key}, replaced by the value quoted for the shell ({{ and }} stand for
 * literal braces; ${...} is left to the shell). Errors: HD_EINVAL (NULL, or
 * a key that is not a name: letters, digits and '_', not starting with a
 * digit), HD_ENOMEM. */
HD_API int hd_node_set_param(hd_node *n, const char *key, const char *value);

/* A param's value, or NULL. */
HD_API const char *hd_node_param(const hd_node *n, const char *key);

/* How a node with list params fans out. */
typedef enum hd_fanout {
  HD_FANOUT_ZIP = 1,     /* the i-th items of every list together */
  HD_FANOUT_PRODUCT = 2, /* every combination: a parameter sweep */
} hd_fanout;

/* Make n a template expanded over a list param: one node per item (zip, the
 * default) or per combination of items (product). Expansions are named
 * NAME[key=value,...], keys in the order they were declared, and each sees
 * its own items as params. A node that runs after a template runs after all
 * its expansions and receives their results in expansion order; in product
 * mode the first key varies slowest. A template after another template
 * with keys of the same name is expanded alongside it instead: each of its
 * expansions runs after, and receives the results of, only the expansions
 * with the same values of those keys (see docs/c-api.md). Zipped lists must
 * have equal lengths (hd_graph_validate() reports them otherwise). Declaring
 * the key again replaces its list. Errors: HD_EINVAL (bad key, values NULL with
 * count > 0), HD_ENOMEM. */
HD_API int hd_node_map_param(hd_node *n, const char *key,
                             const char *const *values, size_t count);
HD_API int hd_node_set_fanout(hd_node *n, hd_fanout mode);

/* What a command or argv node runs in, and the files it reads and writes.
 * Placeholders ({param}) in these strings are replaced, never quoted.
 * Function nodes run inside the calling process and ignore env and
 * workdir.
 *
 * env: set NAME=VALUE in the task's environment (over the inherited one;
 * setting a name again replaces its value). workdir: the directory it
 * runs in (default: the caller's). input: a file that must exist before
 * the task starts; output: a file it must have produced when it succeeds,
 * or it fails; relative paths are taken from the workdir. A command refers
 * to them as {inputs.N} and {outputs.N}, or all at once as {inputs} and
 * {outputs}.
 *
 * stdin: only the result of the named task (or of all its expansions) goes
 * to the node's standard input, instead of all its inputs; the dependency
 * is added when not declared. Errors: HD_EINVAL (NULL, empty, a bad
 * environment name), HD_ENOMEM. */
HD_API int hd_node_set_env(hd_node *n, const char *name, const char *value);
HD_API int hd_node_set_workdir(hd_node *n, const char *dir);
HD_API int hd_node_add_input(hd_node *n, const char *path);
HD_API int hd_node_add_output(hd_node *n, const char *path);
HD_API int hd_node_set_stdin(hd_node *n, const char *task);

/* Per-node settings. Errors: HD_EINVAL (NULL, timeout or retry_delay
 * negative, not finite or over 1e9 s, cost negative or not finite, cpus
 * 0), HD_ENOMEM (a node's settings are made when the first is set to
 * other than its default). Durations are kept in whole nanoseconds: one
 * above 0 but under a nanosecond counts as one.
 *
 * retries: extra attempts after a failure (default 0). retry_delay:
 * seconds to wait before each retry (default 0). Other tasks run
 * meanwhile, except on the serial backend, which waits out the delay;
 * the run stopping (a failure without keep_going, an interrupt) ends the
 * wait at once, the task's last failure standing.
 *
 * allow_failure: nonzero lets the node fail without failing the run: its
 * dependents run (with no result from it) and the run succeeds; the report
 * still shows it failed.
 *
 * timeout: seconds, 0 for none (the default). A shell task past its
 * timeout gets SIGTERM, then SIGKILL two seconds later, and fails. A
 * function cannot be stopped from outside its thread: past its timeout
 * hd_task_cancelled() turns true, and the task fails when the function
 * returns, however it returns; a function that never looks may run on well
 * past its limit (the processes backend will enforce hard limits).
 *
 * cpus: slots the task takes (default 1, at least 1). mem: bytes the task
 * needs, 0 when not declared.
 *
 * priority: among ready tasks, higher goes first (default 0). With the
 * processes, ssh and serial backends, for every ready task; with threads,
 * for the tasks ready when the run starts, after which its workers favour
 * the longest path ahead (the bottom level).
 *
 * cache: zero to never reuse a stored result (default on).
 *
 * cost: the estimated cost used to find the critical path (default 1, must
 * be positive). */
HD_API int hd_node_set_retries(hd_node *n, unsigned retries);
HD_API int hd_node_set_retry_delay(hd_node *n, double seconds);
HD_API int hd_node_set_allow_failure(hd_node *n, int allowed);
HD_API int hd_node_set_timeout(hd_node *n, double seconds);
HD_API int hd_node_set_cpus(hd_node *n, unsigned cpus);
HD_API int hd_node_set_mem(hd_node *n, uint64_t bytes);
HD_API int hd_node_set_priority(hd_node *n, int priority);
HD_API int hd_node_set_cache(hd_node *n, int enabled);
HD_API int hd_node_set_cost(hd_node *n, double cost);

/* Record where the node was declared, for diagnostics (file copied; line
 * and column 1-based, 0 when unknown). Errors: HD_EINVAL, HD_ENOMEM. */
HD_API int hd_node_set_origin(hd_node *n, const char *file, int line,
                              int column);

/* Find the first node with this name, or NULL. It brings the graph's name
 * index up to date with the nodes added since the last lookup (names are
 * indexed in bulk, at the first lookup or validation after they are
 * added): like the calls that change a graph, one thread at a time. */
HD_API hd_node *hd_graph_find(const hd_graph *g, const char *name);

/* The number of nodes, and node i in the order they were added (NULL when
 * out of range). */
HD_API size_t hd_graph_node_count(const hd_graph *g);
HD_API hd_node *hd_graph_node(const hd_graph *g, size_t i);

/* A node's name, kind, command (NULL for a function node) and function
 * name (NULL for a command node); NULL, 0 for a NULL node. */
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

/* ---- the compiled plan ----
 *
 * A plan is the graph validated, expanded (every template becomes its
 * expansions) and compiled into contiguous arrays. It is immutable: it may
 * be run any number of times, from several threads at once, and outlives
 * changes to its graph. Plan nodes are numbered from 0 in graph order, the
 * expansions of a template together in expansion order. */

typedef struct hd_plan hd_plan;

/* Validate g and compile it. On a validation error, returns its code
 * (HD_EGRAPH or HD_ECYCLE; the diagnostics are on the graph) and sets *out
 * to NULL. Errors also: HD_EINVAL, HD_ENOMEM, HD_ETOOBIG (more than 2^31
 * nodes or edges after expansion).
 *
 * The plan also makes the memory of its first run (about 52 bytes per
 * node: the report's task states, the join counters, the sources in the
 * order they start), so that hd_plan_run() touches no fresh memory. A run
 * takes it and its report hands it back to the plan when freed, for the
 * next run; a run that finds none (another run or report holds it) makes
 * its own. hd_plan_bytes() does not count it. */
HD_API int hd_plan_new(hd_graph *g, hd_plan **out);

/* Release the caller's hold on the plan. Reports made from it keep it
 * alive until they are freed. NULL does nothing. Thread-safe. */
HD_API void hd_plan_free(hd_plan *p);

/* Sizes: nodes, edges, levels (the depth), and bytes held by the plan. */
HD_API size_t hd_plan_node_count(const hd_plan *p);
HD_API size_t hd_plan_edge_count(const hd_plan *p);
HD_API size_t hd_plan_depth(const hd_plan *p);
HD_API size_t hd_plan_bytes(const hd_plan *p);

/* Node i: its name, its kind (0 when p is NULL or i out of range), its
 * command after substitution (NULL unless a command node) and its
 * function name (NULL unless a function node). */
HD_API const char *hd_plan_node_name(const hd_plan *p, size_t i);
HD_API hd_node_kind hd_plan_node_kind(const hd_plan *p, size_t i);
HD_API const char *hd_plan_node_cmd(const hd_plan *p, size_t i);
HD_API const char *hd_plan_node_fn(const hd_plan *p, size_t i);

/* An argv node's words after substitution, the program first: the first
 * min(count, cap) are stored in words (none when words is NULL), as
 * strings that live as long as the plan. Returns their count; 0 for
 * another kind of node, a NULL p or i out of range. */
HD_API size_t hd_plan_node_argv(const hd_plan *p, size_t i, const char **words,
                                size_t cap);

/* Node i's predecessors, as node indices in input (gather) order: the
 * first min(count, cap) are copied into preds (none when preds is NULL).
 * Returns their count, 0 when p is NULL or i is out of range: call with
 * NULL, 0 to learn it. The plan keeps predecessors compressed, hence a
 * copy. Thread-safe, like every reader of a plan. */
HD_API size_t hd_plan_node_preds(const hd_plan *p, size_t i, uint32_t *preds,
                                 size_t cap);

/* Node i's successors, as node indices in increasing order; *succs (when
 * succs is not NULL) receives an array that lives as long as the plan.
 * Returns their count. */
HD_API size_t hd_plan_node_succs(const hd_plan *p, size_t i,
                                 const uint32_t **succs);

/* Analysis. A node's level is the length of the longest path from a node
 * without dependencies (0 for those). Its bottom level is the cost of the
 * most costly path from it to a node without dependents, itself included:
 * the scheduler runs higher bottom levels first. The order is topological:
 * by level, then by node index. The critical path is the most costly path
 * of the plan, from source to sink; its cost is the sum of its nodes'
 * costs. */
HD_API size_t hd_plan_node_level(const hd_plan *p, size_t i);
HD_API double hd_plan_node_bottom_level(const hd_plan *p, size_t i);
HD_API size_t hd_plan_level_width(const hd_plan *p, size_t level);
HD_API const uint32_t *hd_plan_order(const hd_plan *p);
HD_API size_t hd_plan_critical_path(const hd_plan *p, const uint32_t **path);
HD_API double hd_plan_critical_cost(const hd_plan *p);

/* Receives output in pieces; returns 0 to go on, anything else to stop. */
typedef int (*hd_write_cb)(const char *data, size_t len, void *ctx);

/* Write the plan as Graphviz DOT (nodes labelled with their names, edges
 * pointing from a dependency to its dependent) or as JSON
 * ({"nodes": [{"id", "name", "kind" ("cmd", "fn" or "argv"), "cmd"|"fn"|
 * "argv" (a list of words), "level", "bottom_level",
 * "after": [ids]}], "edges", "depth", "critical_path": [ids],
 * "critical_cost"}). Returns HD_OK, HD_EIO when out returned nonzero, or
 * HD_ENOMEM. */
HD_API int hd_plan_write_dot(const hd_plan *p, hd_write_cb out, void *ctx);
HD_API int hd_plan_write_json(const hd_plan *p, hd_write_cb out, void *ctx);

HD_END_DECLS

#endif
