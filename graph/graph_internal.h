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

struct hd_node {
  hd_graph *graph;
  size_t index;
  char *name;
  hd_node_kind kind;
  char *cmd;
  char *fn;
  hd__dep *deps;
  size_t ndeps, capdeps;
  hd__param *params;
  size_t nparams, capparams;
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

/* Compile a validated graph. Returns HD_OK, HD_EGRAPH (not validated),
 * HD_ENOMEM. */
HD__INTERNAL int hd__plan_build(const hd_graph *g, hd__plan **out);

#endif
