/* The execution plan: what graph/ compiles a graph into and what the
 * scheduler and every backend run. It is immutable once made and holds
 * copies of everything it needs, so the graph may change or be freed while
 * a plan runs. All arrays are contiguous; strings live in one block. */
#ifndef HODOS_CORE_PLAN_H
#define HODOS_CORE_PLAN_H

#include "internal.h"

typedef struct hd__pnode {
  const char *name;
  const char *cmd; /* HD_NODE_CMD */
  const char *fn;  /* HD_NODE_FN */
  uint32_t param_off, nparams;
  hd_node_kind kind;
} hd__pnode;

typedef struct hd__plan {
  size_t count;
  hd__pnode *nodes;   /* in graph node order */
  uint32_t *order;    /* a topological order, declaration order first */
  uint32_t *pred_off; /* count + 1 offsets into preds */
  uint32_t *preds;    /* predecessors in declaration order */
  uint32_t *succ_off; /* count + 1 offsets into succs */
  uint32_t *succs;
  const char **params; /* key, value pairs: 2 * param_off ... */
  char *strings;       /* the block every string points into */
} hd__plan;

HD__INTERNAL void hd__plan_free(hd__plan *p);

#endif
