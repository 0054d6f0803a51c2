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
  uint64_t retry_delay_ns;
  uint32_t allow_failure; /* 1: a failure does not fail the run */
  uint32_t unused;
} hd__psettings;

/* What a command or argv node runs in and reads and writes: only nodes
 * that declare any of it have one. Lists are runs of string offsets in
 * the plan's lists array. */
typedef struct hd__pio {
  uint32_t argv, argc; /* an argv node's words */
  uint32_t env, nenv;  /* NAME=VALUE strings */
  uint32_t inputs, ninputs;
  uint32_t outputs, noutputs;
  uint32_t workdir;            /* string offset; 0: none */
  uint32_t stdin_lo, stdin_hi; /* standard input: the results of plan
                                  nodes [lo, hi); lo == hi: all inputs */
  uint32_t late;               /* 1: the command or words hold {after.X}
                                  and are rendered when the task runs */
  uint32_t unused;
  uint64_t staged; /* bit k: output k is named by a placeholder of the
                      command or words, which write it under its staged
                      name (hd__staged_path()) until the task succeeds */
} hd__pio;

/* hd__pnode.npreds when a node has this many predecessors or more: their
 * count then leads their bytes (see hd__preds). */
#define HD__PN_MANY 255u

/* One node: 32 bytes. */
typedef struct hd__pnode {
  uint32_t name;      /* offset into strings */
  uint32_t what;      /* offset of the command or the function name */
  uint32_t settings;  /* index into settings */
  uint32_t param_off; /* first key/value pair in params */
  uint32_t io;        /* index into io; 0: none */
  uint16_t nparams;
  uint8_t kind;   /* hd_node_kind */
  uint8_t npreds; /* how many predecessors, or HD__PN_MANY; the hot path
                     tests npreds > 1 without reading their bytes */
  uint32_t level; /* longest path from a source, in edges */
  float bottom;   /* cost-weighted longest path to a sink, itself included */
} hd__pnode;

typedef struct hd_plan hd__plan;
struct hd__tstate;
struct hd__runmem;

struct hd_plan {
  atomic_size_t refs;
  size_t count;
  size_t nedges;
  hd__pnode *nodes;
  uint32_t *order;   /* topological: by level, then declaration order */
  uint32_t *pred_at; /* count + 1 byte offsets into predb */
  uint8_t *predb;    /* each node's predecessors: see hd__preds */
  size_t predb_len;
  uint32_t *succ_off; /* count + 1 offsets into succs */
  uint32_t *succs;
  uint32_t *params; /* key, value string offsets */
  hd__psettings *settings;
  size_t nsettings;
  hd__pio *io; /* io[0] is the empty one */
  size_t nio;
  uint32_t *lists; /* string offsets, for hd__pio */
  size_t nlists;
  char *strings;
  size_t strings_len;
  /* Analysis. */
  uint32_t depth;        /* number of levels */
  uint32_t *level_width; /* depth entries */
  uint32_t *critical;    /* the critical path, source to sink */
  uint32_t critical_len;
  /* The nodes with more than HD__RANGE_MIN dependents that all have one
     bottom level, ascending: the threads backend may release those
     dependents as ranges, in any order, without going against the
     critical path (run.h). */
  uint32_t *ranged;
  size_t nranged;
  double critical_cost;
  /* The memory of the plan's next run, made with the plan (hd_plan_new)
     and handed from each run to the next, so that a run touches no fresh
     memory (run.h): the report's task states, zeroed, and the run's
     counters. NULL while a run or its report holds it. Not part of the
     plan's bytes (hd__plan_bytes). */
  _Atomic(struct hd__tstate *) spare_tasks;
  _Atomic(struct hd__runmem *) spare_mem;
};

#define HD__RANGE_MIN 256

/* Whether node is in p->ranged. */
static inline int hd__plan_ranged(const hd__plan *p, uint32_t node) {
  size_t lo = 0, hi = p->nranged;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (p->ranged[mid] < node)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < p->nranged && p->ranged[lo] == node;
}

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

static inline const hd__pio *hd__plan_io(const hd__plan *p, size_t i) {
  return p->nodes[i].io ? &p->io[p->nodes[i].io] : NULL;
}

static inline const char *hd__plan_list(const hd__plan *p, uint32_t off,
                                        uint32_t k) {
  return p->strings + p->lists[off + k];
}

/* A node's predecessors, in declaration (gather) order, are the bytes
 * predb[pred_at[i] .. pred_at[i + 1]): each one as its difference from the
 * one before it (from the node itself for the first), zigzag-encoded (0,
 * -1, 1, -2, ... as 0, 1, 2, 3, ...), led by their count when the node's
 * npreds is HD__PN_MANY (otherwise npreds is the count); every number is
 * a varint (7 bits a byte, low bits first, the top bit set on every byte
 * but the last). A predecessor within 64 places of the one before costs a
 * byte, within 8192 two: successors stay plain uint32 arrays for the hot
 * path, and predecessors, read once or twice per task, cost 1 or 2 bytes
 * an edge instead of 4. These readers trust the bytes: a plan from
 * elsewhere is checked before use (planwire.c). */
static inline uint32_t hd__varint(const uint8_t **at) {
  /* Unrolled: at most 5 bytes for 32 bits. Each byte's top bit, or'ed in
     with it, is cleared by the next step's mask. */
  const uint8_t *s = *at;
  uint32_t v = s[0];
  if (v >= 0x80) {
    v = (v & 0x7f) | (uint32_t)s[1] << 7;
    if (s[1] < 0x80) {
      *at = s + 2;
      return v;
    }
    v = (v & 0x3fff) | (uint32_t)s[2] << 14;
    if (s[2] < 0x80) {
      *at = s + 3;
      return v;
    }
    v = (v & 0x1fffff) | (uint32_t)s[3] << 21;
    if (s[3] < 0x80) {
      *at = s + 4;
      return v;
    }
    *at = s + 5;
    return (v & 0xfffffff) | (uint32_t)s[4] << 28;
  }
  *at = s + 1;
  return v;
}

static inline uint32_t hd__unzigzag(uint32_t z) {
  return (z >> 1) ^ (0u - (z & 1u));
}

/* A reader of one node's predecessors:
 *   hd__preds it;
 *   for (hd__preds_begin(p, i, &it); it.left > 0;) {
 *     uint32_t u = hd__preds_next(&it);
 *     ...
 *   } */
typedef struct hd__preds {
  const uint8_t *at;
  uint32_t left; /* predecessors not read yet */
  uint32_t last; /* the one read last; the node itself at first */
} hd__preds;

/* Starts reading node i's predecessors; returns their count. */
static inline uint32_t hd__preds_begin(const hd__plan *p, size_t i,
                                       hd__preds *it) {
  it->at = p->predb + p->pred_at[i];
  it->left = p->nodes[i].npreds;
  if (it->left == HD__PN_MANY)
    it->left = hd__varint(&it->at);
  it->last = (uint32_t)i;
  return it->left;
}

/* The next predecessor; only while it->left > 0. */
static inline uint32_t hd__preds_next(hd__preds *it) {
  it->last += hd__unzigzag(hd__varint(&it->at));
  it->left--;
  return it->last;
}

/* The number of node i's predecessors. */
static inline uint32_t hd__plan_npreds(const hd__plan *p, size_t i) {
  uint32_t n = p->nodes[i].npreds;
  if (n == HD__PN_MANY) {
    const uint8_t *s = p->predb + p->pred_at[i];
    n = hd__varint(&s);
  }
  return n;
}

/* Plans are shared by reference count between their owner and reports. */
HD__INTERNAL hd__plan *hd__plan_ref(hd__plan *p);
HD__INTERNAL void hd__plan_free(hd__plan *p);

/* Make the memory of p's next run where it has none (run.h; hd_plan_new
 * calls it, so that the first run finds it too); out of memory leaves
 * that to the run. hd__plan_spares_free() frees it (hd__plan_free). */
HD__INTERNAL void hd__plan_prepare(hd__plan *p);
HD__INTERNAL void hd__plan_spares_free(hd__plan *p);

/* The path of a task's file f (one of its inputs or outputs): f, or
 * WORKDIR/f when it is relative and the task has a workdir. Replaces what
 * path held. */
HD__INTERNAL int hd__io_path(hd__buf *path, const hd__plan *p,
                             const hd__pio *io, const char *f);

/* The plan's own size in bytes (arrays and strings). */
HD__INTERNAL size_t hd__plan_bytes(const hd__plan *p);

#endif
