/* The graph model shared by the builder, validation and the plan. */
#ifndef HODOS_GRAPH_INTERNAL_H
#define HODOS_GRAPH_INTERNAL_H

#include "../core/internal.h"
#include "../core/plan.h"
#include "../core/template.h"

#define HD__NO_INDEX ((size_t)-1)

/* A dependency in 8 bytes (a graph of a million nodes has millions): its
 * node, and where a file declared it, if one did, or the name it gave
 * that is not resolved yet (hd_graph.dep_at). */
typedef struct hd__dep {
  uint32_t index; /* the dependency's node, or HD__DEP_NONE until resolved */
  uint32_t at;    /* 0, or 1 + its place in hd_graph.dep_at */
} hd__dep;
#define HD__DEP_NONE UINT32_MAX

typedef struct hd__depat {
  char *name;       /* set when declared by name (in a slab) */
  int line, column; /* where it was declared, or 0 */
} hd__depat;

/* A node's stdin: the task whose result it reads. */
typedef struct hd__depref {
  size_t index;     /* the task's node, or HD__NO_INDEX until resolved */
  char *name;       /* NULL: all inputs on standard input */
  int line, column; /* where it was declared, or 0 */
} hd__depref;

typedef struct hd__param {
  char *key;
  char *value;
} hd__param;

/* A string that may hold placeholders, and where it was written (line 0
 * when unknown), so that a problem with it is reported there. */
#define HD__SHIFT_LINES (-2)

typedef struct hd__tstr {
  char *s;
  int line, column;
  int shift; /* when >= 0, byte k of s is at column + shift + k; when
                HD__SHIFT_LINES, s is lines as written: byte k is on line
                line + (the newlines before it), at column + its offset in
                that line (column for the first byte of each line) */
  /* The file line and column are in, when not the node's (a setting
     inherited from the file that included the node's); kept by the
     graph (hd__graph_file()). NULL: the node's. */
  const char *file;
} hd__tstr;

/* A growable list of them. */
typedef struct hd__tstrs {
  hd__tstr *items;
  size_t count, cap;
} hd__tstrs;

/* A list param a template fans out over. */
typedef struct hd__listparam {
  char *key;
  char **values;
  size_t count;
  int line, column; /* where the list was declared, or 0 */
} hd__listparam;

/* What command and argv nodes, and nodes with files, have: made on first
 * use (hd__node_io_mut()) in the graph's slabs, so that a function node
 * without files, the common node of a large graph, carries none of it
 * (a million nodes touch 150 MB less). */
typedef struct hd__nodeio {
  int cmd_line, cmd_column; /* where the command was written, or 0 */
  int cmd_shift;            /* as hd__tstr's shift */
  hd__tstrs argv;           /* an argv node's words (cmd is argv[0]) */
  hd__tstrs env;            /* NAME=VALUE, in the order set */
  hd__tstrs inputs;         /* files that must exist before it starts */
  hd__tstrs outputs;        /* files it must produce */
  hd__tstr workdir;         /* s NULL: the caller's */
  hd__depref stdin_dep;     /* name NULL: all inputs on standard input */
} hd__nodeio;

/* A node's settings, made when one is first set to other than its
 * default (hd__node_settings_mut()): most nodes of a large graph keep
 * them all. */
typedef struct hd__nodeset {
  uint64_t timeout_ns;
  uint64_t mem;
  uint64_t retry_delay_ns;
  double cost;
  unsigned retries;
  unsigned cpus;
  int priority;
  int cache;
  int allow_failure;
  hd_fanout fanout;
} hd__nodeset;

/* The most expansions one node may have. */
#define HD__MAX_EXPANSIONS (1u << 24)

/* A node and its name and command (or function name) are one block:
 * 120 bytes, counts in 32 bits (a graph holds fewer than 2^31 nodes). */
struct hd_node {
  hd_graph *graph;
  const char *name;
  const char *cmd;
  const char *fn;
  hd__dep *deps; /* deps and params live in the graph's slabs */
  hd__param *params;
  hd__listparam *lists;
  hd__nodeset *set; /* NULL: the defaults (hd__node_settings()) */
  hd__nodeio *io;   /* NULL: none of it (hd__node_io()) */
  const char *file; /* owned by the graph */
  uint32_t index;
  uint32_t ndeps, capdeps;
  uint32_t nparams, capparams;
  uint32_t nlists, caplists;
  int line, column;
  uint8_t kind;      /* hd_node_kind */
  uint8_t duplicate; /* another node had this name first */
  uint8_t unchecked; /* its params were refused: its templates are not
                        checked */
};

struct hd_graph {
  hd_node **nodes;
  size_t count, cap;
  hd__idxmap names; /* name -> index of the first node with that name, */
  size_t named;     /* for nodes [0, named): the others' names go in when a
                       name is looked up (hd__graph_names()) */
  hd__diags diags;
  struct hd__slab *slabs; /* where node blocks live */
  char **files;           /* the origin files of nodes, each once */
  size_t nfiles, capfiles;
  int valid; /* set by a successful hd_graph_validate(), cleared by edits */
  const char *last_what; /* the last node's command or function (kept in a
                            slab: later nodes may share it) */
  hd__depat *dep_at;     /* see hd__dep */
  size_t ndep_at, capdep_at;
};

/* Dependency d's node (HD__NO_INDEX when not resolved), where it was
 * declared (NULL: nowhere known), and the name it was declared by (NULL:
 * by its node). */
static inline size_t hd__dep_index(const hd__dep *d) {
  return d->index == HD__DEP_NONE ? HD__NO_INDEX : d->index;
}
static inline const hd__depat *hd__dep_at(const hd_graph *g, const hd__dep *d) {
  return d->at != 0 ? &g->dep_at[d->at - 1] : NULL;
}
static inline const char *hd__dep_name(const hd_graph *g, const hd__dep *d) {
  return d->at != 0 ? g->dep_at[d->at - 1].name : NULL;
}
/* Say that n's dependency j was declared at line and column. Returns
 * HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__dep_set_at(hd_node *n, size_t j, int line, int column);

/* n's command and files: its own, or the empty ones (no command position,
 * no words, env, files, workdir nor stdin). */
HD__INTERNAL extern const hd__nodeio hd__nodeio_none;
static inline const hd__nodeio *hd__node_io(const hd_node *n) {
  return n->io != NULL ? n->io : &hd__nodeio_none;
}

/* The same to change, made if n has none; NULL when out of memory. */
HD__INTERNAL hd__nodeio *hd__node_io_mut(hd_node *n);

/* n's settings: its own, or the defaults (no timeout, memory or retries,
 * one CPU, priority 0, cached, cost 1, failure not allowed, zip). */
HD__INTERNAL extern const hd__nodeset hd__nodeset_default;
static inline const hd__nodeset *hd__node_settings(const hd_node *n) {
  return n->set != NULL ? n->set : &hd__nodeset_default;
}

/* The same to change, made if n has none; NULL when out of memory. */
HD__INTERNAL hd__nodeset *hd__node_settings_mut(hd_node *n);

/* Put the names of the nodes added since the last lookup in the name map
 * (all at once: see hd__idxmap_add_many()), marking duplicates. Every
 * lookup of a name calls it first. Returns HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__graph_names(hd_graph *g);

/* Make room for n more nodes, so that adding them grows nothing but the
 * slabs. Returns HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__graph_reserve(hd_graph *g, size_t n);

/* Whether key is a param name: [A-Za-z_][A-Za-z0-9_]*. */
HD__INTERNAL int hd__param_key_ok(const char *key);

/* The number of expansions of node n (1 for a node without list params),
 * or HD__NO_INDEX when it is too large. Valid after validation. */
HD__INTERNAL size_t hd__node_expansions(const hd_node *n);
/* The items of n's expansion j: pick[k] indexes n->lists[k].values (zip:
 * the j-th of each; product: in mixed radix, the first list slowest). */
HD__INTERNAL void hd__node_pick(const hd_node *n, size_t j, size_t *pick);
/* The name of the expansion of n with those items, NAME[key=value,...],
 * in out (from its start, NUL-terminated). HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__expansion_name(const hd_node *n, const size_t *pick,
                                    hd__buf *out);
/* Whether s holds a control character (C0, DEL, or C1 in UTF-8). */
HD__INTERNAL int hd__has_control(const char *s);

/* Append a string to a list (copied). Returns HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__tstrs_add(hd__tstrs *l, const char *s, int line,
                               int column);
HD__INTERNAL void hd__tstrs_clear(hd__tstrs *l);

/* Whether s is a task name: not empty, no control characters, and none of
 * the characters that expansion names use: [ ] , = { }. */
HD__INTERNAL int hd__task_name_ok(const char *s);

/* Whether s is an environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
#define hd__env_name_ok hd__param_key_ok

/* The position of a template string, or else of its node: the file, line
 * and column. */
HD__INTERNAL void hd__tstr_pos(const hd_node *n, const hd__tstr *t,
                               const char **file, int *line, int *column);

/* File name as the graph keeps it (once for all its nodes and strings):
 * the pointer stays valid as long as g. NULL when out of memory. */
HD__INTERNAL const char *hd__graph_file(hd_graph *g, const char *file);

/* Compile a validated graph. Returns HD_OK, HD_EGRAPH (not validated),
 * HD_ENOMEM. */
HD__INTERNAL int hd__plan_build(const hd_graph *g, hd__plan **out);

#endif
