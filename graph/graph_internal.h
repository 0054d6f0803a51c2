/* The graph model shared by the builder, validation and the plan. */
#ifndef HODOS_GRAPH_INTERNAL_H
#define HODOS_GRAPH_INTERNAL_H

#include "../core/internal.h"
#include "../core/plan.h"

#define HD__NO_INDEX ((size_t)-1)

typedef struct hd__dep {
  size_t index;     /* the dependency's node, or HD__NO_INDEX until resolved */
  char *name;       /* set when declared by name */
  int line, column; /* where it was declared, or 0 */
} hd__dep;

typedef struct hd__param {
  char *key;
  char *value;
} hd__param;

/* A list param a template fans out over. */
typedef struct hd__listparam {
  char *key;
  char **values;
  size_t count;
} hd__listparam;

/* A node and its name and command (or function name) are one block. */
struct hd_node {
  hd_graph *graph;
  size_t index;
  const char *name;
  hd_node_kind kind;
  int duplicate; /* another node had this name first */
  const char *cmd;
  const char *fn;
  hd__dep *deps;
  size_t ndeps, capdeps;
  hd__param *params;
  size_t nparams, capparams;
  hd__listparam *lists;
  size_t nlists, caplists;
  hd_fanout fanout;
  unsigned retries;
  unsigned cpus;
  int priority;
  int cache;
  uint64_t timeout_ns;
  uint64_t mem;
  double cost;
  char *file;
  int line, column;
};

struct hd_graph {
  hd_node **nodes;
  size_t count, cap;
  hd__strmap names; /* name -> index of the first node with that name */
  hd__diags diags;
  int valid; /* set by a successful hd_graph_validate(), cleared by edits */
};

/* Whether key is a param name: [A-Za-z_][A-Za-z0-9_]*. */
HD__INTERNAL int hd__param_key_ok(const char *key);

/* The number of expansions of node n (1 for a node without list params),
 * or HD__NO_INDEX when it is too large. Valid after validation. */
HD__INTERNAL size_t hd__node_expansions(const hd_node *n);

/* Find the placeholders of a command: calls cb for each {name} (name and
 * its length), skipping {{, }} and ${...}. Stops and returns the first
 * nonzero value cb returns. */
HD__INTERNAL int hd__template_each(const char *cmd,
                                   int (*cb)(const char *name, size_t len,
                                             void *ctx),
                                   void *ctx);

/* Append v to b as one shell word, quoted when it needs to be. */
HD__INTERNAL int hd__shell_quote(hd__buf *b, const char *v);

/* Append cmd to b with each placeholder replaced by lookup()'s value,
 * shell-quoted. Returns HD_OK, HD_ENOENT (lookup returned NULL), or
 * HD_ENOMEM. */
HD__INTERNAL int hd__template_render(
    hd__buf *b, const char *cmd,
    const char *(*lookup)(const char *name, size_t len, void *ctx), void *ctx);

/* Compile a validated graph. Returns HD_OK, HD_EGRAPH (not validated),
 * HD_ENOMEM. */
HD__INTERNAL int hd__plan_build(const hd_graph *g, hd__plan **out);

#endif
