/* The execution plan: what graph/ compiles a graph into and what the
 * scheduler and every backend run. It is immutable once made and holds
 * copies of everything it needs, so the graph may change or be freed while
 * a plan runs. Arrays are contiguous; strings live in one block and are
 * referred to by 32-bit offsets; settings that most nodes share (retries,
 * timeout, resources) live in a small deduplicated table. */
#ifndef HODOS_CORE_PLAN_H
#define HODOS_CORE_PLAN_H

#include <stdatomic.h>

#include "internal.h"

/* Per-node settings, shared by every node that has the same ones. */
typedef struct hd__psettings {
  uint64_t timeout_ns; /* 0: none */
  uint64_t mem;        /* bytes; 0: not declared */
  uint32_t retries;
  uint32_t cpus;
  int32_t priority; /* the user's; higher runs first */
  uint32_t cache;   /* 1: results may be reused */
} hd__psettings;

/* One node: 28 bytes. */
typedef struct hd__pnode {
  uint32_t name;      /* offset into strings */
  uint32_t what;      /* offset of the command or the function name */
  uint32_t settings;  /* index into settings */
  uint32_t param_off; /* first key/value pair in params */
  uint16_t nparams;
  uint8_t kind; /* hd_node_kind */
  uint8_t flags;
  uint32_t level; /* longest path from a source, in edges */
  float bottom;   /* cost-weighted longest path to a sink, itself included */
} hd__pnode;

typedef struct hd_plan hd__plan;

struct hd_plan {
  atomic_size_t refs;
  size_t count;
  size_t nedges;
  hd__pnode *nodes;
  uint32_t *order;    /* topological: by level, then declaration order */
  uint32_t *pred_off; /* count + 1 offsets into preds */
  uint32_t *preds;    /* predecessors in declaration (gather) order */
  uint32_t *succ_off; /* count + 1 offsets into succs */
  uint32_t *succs;
  uint32_t *params; /* key, value string offsets */
  hd__psettings *settings;
  size_t nsettings;
  char *strings;
  size_t strings_len;
  /* Analysis. */
  uint32_t depth;        /* number of levels */
  uint32_t *level_width; /* depth entries */
  uint32_t *critical;    /* the critical path, source to sink */
  uint32_t critical_len;
  double critical_cost;
};

static inline const char *hd__plan_name(const hd__plan *p, size_t i) {
  return p->strings + p->nodes[i].name;
}

static inline const char *hd__plan_what(const hd__plan *p, size_t i) {
  return p->strings + p->nodes[i].what;
}

static inline const hd__psettings *hd__plan_settings(const hd__plan *p,
                                                     size_t i) {
  return &p->settings[p->nodes[i].settings];
}

/* Plans are shared by reference count between their owner and reports. */
HD__INTERNAL hd__plan *hd__plan_ref(hd__plan *p);
HD__INTERNAL void hd__plan_free(hd__plan *p);

/* The plan's own size in bytes (arrays and strings). */
HD__INTERNAL size_t hd__plan_bytes(const hd__plan *p);

#endif
