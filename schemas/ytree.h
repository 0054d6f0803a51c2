/* A YAML document as a compact tree, built from libyaml's events: a node
 * is 24 bytes and the whole tree lives in three arrays. (libyaml's own
 * document loader makes a 96-byte node and several allocations per node:
 * on a workflow of 100,000 tasks it took five times as long as parsing.)
 *
 * Node ids start at 1, as libyaml's do; aliases make a node the child of
 * several others. */
#ifndef HODOS_SCHEMAS_YTREE_H
#define HODOS_SCHEMAS_YTREE_H

#include <yaml.h>

#include "../core/internal.h"

typedef struct hd__ynode {
  union {
    const char *value; /* a scalar's text (NUL-terminated) */
    uint32_t first;    /* a collection's children: kids[first..] */
  };
  uint32_t count;        /* a scalar's length in bytes; a collection's
                            children (a mapping counts its pairs, which are
                            key, value, key, value...) */
  uint32_t line, column; /* where it starts, from 0 */
  uint8_t type;          /* YAML_SCALAR_NODE, _SEQUENCE_ or _MAPPING_ */
  uint8_t style;         /* a scalar's yaml_scalar_style_t */
  uint8_t multiline;     /* it ends on a later line */
  uint8_t verbatim;      /* a quoted scalar whose value is the text between
                            its quotes, byte for byte (no escapes) */
} hd__ynode;

/* A literal block scalar (|) whose value is its lines as written: line k
 * of the value is line `line` + k of the text, from byte `column` of that
 * line (both from 0). */
typedef struct hd__yblock {
  uint32_t id, line, column;
} hd__yblock;

typedef struct hd__ytree {
  hd__ynode *nodes;
  size_t count, cap;
  size_t big_nodes, big_kids, big_text;    /* sizes of arrays made by
                                              hd__big_reserve, or 0 */
  size_t done_nodes, done_kids, done_text; /* their bytes populated */
  uint32_t *kids;
  size_t nkids, capkids;
  char *text; /* scalar values, one after another */
  size_t len, captext;
  hd__yblock *blocks; /* by id */
  size_t nblocks, capblocks;
  uint32_t root;                /* 0: an empty document */
  int extra_line, extra_column; /* where a second document starts, or -1 */
} hd__ytree;

/* How deep collections may nest in a file (a workflow needs a handful of
 * levels); deeper is a syntax error at the first collection past it. */
#define HD__YAML_MAX_DEPTH 1000

/* A problem found while parsing: libyaml's words and marks. */
typedef struct hd__yerror {
  const char *problem;
  const char *context;
  yaml_mark_t problem_mark, context_mark;
  int nomem;
  int reader;    /* an encoding error: only the offset is known */
  size_t offset; /* its byte offset */
} hd__yerror;

/* Parse len bytes of YAML into t. Returns HD_OK, HD_ESYNTAX (err says
 * why and where) or HD_ENOMEM. err's strings are static. */
HD__INTERNAL int hd__ytree_parse(hd__ytree *t, const char *text, size_t len,
                                 hd__yerror *err);

HD__INTERNAL void hd__ytree_free(hd__ytree *t);

/* Node id's lines, when it is a literal block scalar whose value is its
 * lines as written; NULL otherwise. */
HD__INTERNAL const hd__yblock *hd__ytree_block(const hd__ytree *t, uint32_t id);

static inline hd__ynode *hd__ytree_node(const hd__ytree *t, uint32_t id) {
  return id >= 1 && id <= t->count ? &t->nodes[id - 1] : NULL;
}

#endif
