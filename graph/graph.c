/* The graph builder. */
#include <string.h>

#include "graph_internal.h"

static const char *name_at(void *ctx, size_t i) {
  const hd_graph *g = ctx;
  return g->nodes[i]->name;
}

int hd_graph_new(hd_graph **out) {
  if (out == NULL)
    return HD_EINVAL;
  hd_graph *g = hd__calloc(1, sizeof(*g));
  if (g == NULL)
    return HD_ENOMEM;
  /* Names live in their nodes: the index reads them there. */
  g->names.name = name_at;
  g->names.ctx = g;
  *out = g;
  return HD_OK;
}

/* Node blocks, their strings and their small arrays come from slabs: a
 * graph of a million nodes would otherwise fault its pages in one by one,
 * which costs more here than building it. Each slab is twice the size of
 * the last, from 1 MiB up to 64 MiB, reserved in address space and its
 * pages populated (on huge pages, see hd__big_reserve) a step ahead of
 * use, so that a large graph lives in few mappings and no more than a
 * step of it is populated and unused. */
#define SLAB_MIN (1u << 20)
#define SLAB_MAX (64u << 20)
#define SLAB_STEP (2u << 20)

typedef struct hd__slab {
  struct hd__slab *next;
  size_t size, used;
  size_t done; /* bytes populated */
} hd__slab;

static hd__slab *slab_new(size_t size) {
  hd__slab *n = hd__big_reserve(1, size);
  size_t done = size < SLAB_STEP ? size : SLAB_STEP;
  if (n != NULL)
    hd__big_populate(n, 0, done);
  else if ((n = hd__big_calloc(1, size)) != NULL)
    done = size;
  if (n != NULL) {
    n->size = size;
    n->done = done;
  }
  return n;
}

static void *slab_alloc(hd_graph *g, size_t bytes) {
  bytes = (bytes + 15) & ~(size_t)15;
  hd__slab *s = g->slabs;
  size_t head = (sizeof(hd__slab) + 15) & ~(size_t)15;
  if (s == NULL || s->size - s->used < bytes) {
    size_t size = s == NULL ? SLAB_MIN : s->size * 2;
    if (size > SLAB_MAX)
      size = SLAB_MAX;
    if (size < head + bytes)
      size = head + bytes;
    hd__slab *n = slab_new(size);
    if (n == NULL)
      return NULL;
    n->used = head;
    n->next = g->slabs;
    g->slabs = s = n;
  }
  void *p = (char *)s + s->used;
  s->used += bytes;
  if (s->used > s->done) {
    size_t to = s->used + SLAB_STEP < s->size ? s->used + SLAB_STEP : s->size;
    hd__big_populate(s, s->done, to);
    s->done = to;
  }
  return p;
}

/* Grow an array that lives in the slabs (as hd__grow does on the heap):
 * the old copy stays behind until the graph is freed, which doubling
 * bounds to the size of the array itself. first: the first capacity. */
static int slab_grow(hd_graph *g, void **items, uint32_t *cap, size_t used,
                     size_t need, size_t elem, size_t first) {
  if (need <= *cap)
    return HD_OK;
  size_t ncap = *cap ? *cap : first;
  while (ncap < need) {
    if (ncap > UINT32_MAX / 2 || ncap > SIZE_MAX / 2 / elem)
      return HD_ENOMEM;
    ncap *= 2;
  }
  void *p = slab_alloc(g, ncap * elem);
  if (p == NULL)
    return HD_ENOMEM;
  if (used > 0)
    memcpy(p, *items, used * elem);
  *items = p;
  *cap = (uint32_t)ncap;
  return HD_OK;
}

/* A copy of s in the graph's slabs, freed with the graph. */
static char *slab_strdup(hd_graph *g, const char *s) {
  size_t len = strlen(s) + 1;
  char *p = slab_alloc(g, len);
  if (p != NULL)
    memcpy(p, s, len);
  return p;
}

/* A node's deps and params live in the slabs. */
static void node_free(hd_node *n) {
  for (size_t i = 0; i < n->nlists; i++) {
    hd__free(n->lists[i].key);
    for (size_t j = 0; j < n->lists[i].count; j++)
      hd__free(n->lists[i].values[j]);
    hd__free(n->lists[i].values);
  }
  hd__free(n->lists);
  hd__nodeio *io = n->io;
  if (io != NULL) {
    hd__tstrs_clear(&io->argv);
    hd__tstrs_clear(&io->env);
    hd__tstrs_clear(&io->inputs);
    hd__tstrs_clear(&io->outputs);
    hd__free(io->workdir.s);
    hd__free(io->stdin_dep.name);
  }
}

const hd__nodeio hd__nodeio_none = {0,
                                    0,
                                    -1,
                                    {NULL, 0, 0},
                                    {NULL, 0, 0},
                                    {NULL, 0, 0},
                                    {NULL, 0, 0},
                                    {NULL, 0, 0, -1},
                                    {0, NULL, 0, 0}};

const hd__nodeset hd__nodeset_default = {0, 0, 0, 1.0, 0,
                                         1, 0, 1, 0,   HD_FANOUT_ZIP};

hd__nodeset *hd__node_settings_mut(hd_node *n) {
  if (n->set == NULL) {
    hd__nodeset *set = slab_alloc(n->graph, sizeof(*set));
    if (set == NULL)
      return NULL;
    *set = hd__nodeset_default;
    n->set = set;
  }
  return n->set;
}

/* Set field of n's settings to value: a node that keeps the default is
 * given no settings of its own. */
#define SET_SETTING(n, field, value)                                           \
  do {                                                                         \
    if ((n)->set == NULL && (value) == hd__nodeset_default.field)              \
      return HD_OK;                                                            \
    hd__nodeset *set_ = hd__node_settings_mut(n);                              \
    if (set_ == NULL)                                                          \
      return HD_ENOMEM;                                                        \
    set_->field = (value);                                                     \
  } while (0)

hd__nodeio *hd__node_io_mut(hd_node *n) {
  if (n->io == NULL) {
    hd__nodeio *io = slab_alloc(n->graph, sizeof(*io));
    if (io == NULL)
      return NULL;
    *io = hd__nodeio_none;
    n->io = io;
  }
  return n->io;
}

void hd_graph_free(hd_graph *g) {
  if (g == NULL)
    return;
  for (size_t i = 0; i < g->count; i++)
    node_free(g->nodes[i]);
  hd__free(g->nodes);
  for (size_t i = 0; i < g->nfiles; i++)
    hd__free(g->files[i]);
  for (hd__slab *sl = g->slabs, *next; sl != NULL; sl = next) {
    next = sl->next;
    hd__big_free(sl, 1, sl->size);
  }
  hd__free(g->files);
  hd__free(g->dep_at);
  hd__idxmap_cleanup(&g->names);
  hd__diags_clear(&g->diags);
  hd__free(g);
}

int hd__has_control(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f ||
        (p[0] == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0))
      return 1;
  return 0;
}

static int name_ok(const char *name) {
  return name != NULL && name[0] != '\0' && !hd__has_control(name);
}

static int add_node(hd_graph *g, const char *name, hd_node_kind kind,
                    const char *what, hd_node **out) {
  if (g == NULL || !name_ok(name) || what == NULL || what[0] == '\0')
    return HD_EINVAL;
  if (g->count >= INT32_MAX) /* as many as a plan holds */
    return HD_ETOOBIG;
  if (hd__grow((void **)&g->nodes, &g->cap, g->count + 1, sizeof(hd_node *)))
    return HD_ENOMEM;
  /* A command or function the same as the last node's is kept once:
     most graphs run one function, or a few commands, many times. */
  const char *same = g->last_what != NULL && strcmp(g->last_what, what) == 0
                         ? g->last_what
                         : NULL;
  size_t nlen = strlen(name) + 1, wlen = same != NULL ? 0 : strlen(what) + 1;
  hd_node *n = slab_alloc(g, sizeof(*n) + nlen + wlen);
  if (n == NULL)
    return HD_ENOMEM;
  char *text = (char *)(n + 1);
  memcpy(text, name, nlen);
  if (same == NULL)
    memcpy(text + nlen, what, wlen);
  const char *w = same != NULL ? same : text + nlen;
  g->last_what = w;
  n->graph = g;
  n->index = g->count;
  n->kind = kind;
  n->name = text;
  if (kind != HD_NODE_FN)
    n->cmd = w;
  else
    n->fn = w;
  /* Its name goes in the name map with the others added before the next
     lookup (hd__graph_names()). */
  g->nodes[g->count++] = n;
  g->valid = 0;
  if (out != NULL)
    *out = n;
  return HD_OK;
}

static void name_taken(void *ctx, size_t i) {
  hd_graph *g = ctx;
  g->nodes[i]->duplicate = 1;
}

int hd__graph_names(hd_graph *g) {
  if (g->named == g->count)
    return HD_OK;
  int rc =
      hd__idxmap_add_many(&g->names, g->named, g->count - g->named, name_taken);
  if (rc == HD_OK)
    g->named = g->count;
  return rc;
}

int hd__graph_reserve(hd_graph *g, size_t n) {
  if (n > SIZE_MAX - g->count ||
      hd__grow((void **)&g->nodes, &g->cap, g->count + n, sizeof(hd_node *)) ||
      hd__idxmap_reserve(&g->names, g->names.count + n) != HD_OK)
    return HD_ENOMEM;
  return HD_OK;
}

int hd_graph_add_cmd(hd_graph *g, const char *name, const char *cmd,
                     hd_node **out) {
  return add_node(g, name, HD_NODE_CMD, cmd, out);
}

int hd_graph_add_fn(hd_graph *g, const char *name, const char *fn,
                    hd_node **out) {
  return add_node(g, name, HD_NODE_FN, fn, out);
}

int hd_graph_add_argv(hd_graph *g, const char *name, const char *const *argv,
                      size_t argc, hd_node **out) {
  if (argv == NULL || argc == 0)
    return HD_EINVAL;
  for (size_t i = 0; i < argc; i++)
    if (argv[i] == NULL)
      return HD_EINVAL;
  hd_node *n = NULL;
  int rc = add_node(g, name, HD_NODE_ARGV, argv[0], &n);
  hd__nodeio *io = rc == HD_OK ? hd__node_io_mut(n) : NULL;
  if (rc == HD_OK && io == NULL)
    rc = HD_ENOMEM;
  for (size_t i = 0; rc == HD_OK && i < argc; i++)
    rc = hd__tstrs_add(&io->argv, argv[i], 0, 0);
  if (rc != HD_OK && n != NULL && g->count > 0 && g->nodes[g->count - 1] == n) {
    /* Take the half-made node back out (its name is in the map only
       when a lookup came after it). */
    if (g->named == g->count) {
      if (!n->duplicate)
        hd__idxmap_del(&g->names, n->name);
      g->named--;
    }
    g->count--;
    node_free(n);
    return rc;
  }
  if (rc == HD_OK && out != NULL)
    *out = n;
  return rc;
}

int hd__tstrs_add(hd__tstrs *l, const char *s, int line, int column) {
  char *c = hd__strdup(s);
  if (c == NULL ||
      hd__grow((void **)&l->items, &l->cap, l->count + 1, sizeof(hd__tstr))) {
    hd__free(c);
    return HD_ENOMEM;
  }
  l->items[l->count++] = (hd__tstr){c, line, column, -1};
  return HD_OK;
}

void hd__tstrs_clear(hd__tstrs *l) {
  for (size_t i = 0; i < l->count; i++)
    hd__free(l->items[i].s);
  hd__free(l->items);
  memset(l, 0, sizeof(*l));
}

int hd__task_name_ok(const char *s) {
  return name_ok(s) && strpbrk(s, "[],={}") == NULL;
}

void hd__tstr_pos(const hd_node *n, const hd__tstr *t, const char **file,
                  int *line, int *column) {
  int has = t != NULL && t->line > 0;
  *file = has && t->file != NULL ? t->file : n->file;
  *line = has ? t->line : n->line;
  *column = has ? t->column : n->column;
}

int hd_node_set_env(hd_node *n, const char *name, const char *value) {
  if (n == NULL || !hd__env_name_ok(name) || value == NULL)
    return HD_EINVAL;
  hd__nodeio *io = hd__node_io_mut(n);
  hd__buf b = {0};
  if (io == NULL || hd__buf_appendf(&b, "%s=%s", name, value) != HD_OK)
    return HD_ENOMEM;
  size_t nlen = strlen(name);
  for (size_t i = 0; i < io->env.count; i++) {
    char *e = io->env.items[i].s;
    if (strncmp(e, name, nlen) == 0 && e[nlen] == '=') {
      hd__free(e);
      io->env.items[i].s = b.data;
      n->graph->valid = 0;
      return HD_OK;
    }
  }
  int rc = hd__tstrs_add(&io->env, b.data, 0, 0);
  hd__buf_cleanup(&b);
  n->graph->valid = 0;
  return rc;
}

static int set_tstr(hd_node *n, hd__tstr *t, const char *s) {
  if (n == NULL || s == NULL || s[0] == '\0')
    return HD_EINVAL;
  char *c = hd__strdup(s);
  if (c == NULL)
    return HD_ENOMEM;
  hd__free(t->s);
  *t = (hd__tstr){c, 0, 0, -1};
  n->graph->valid = 0;
  return HD_OK;
}

int hd_node_set_workdir(hd_node *n, const char *dir) {
  if (n == NULL || dir == NULL || dir[0] == '\0')
    return HD_EINVAL;
  hd__nodeio *io = hd__node_io_mut(n);
  return io == NULL ? HD_ENOMEM : set_tstr(n, &io->workdir, dir);
}

int hd_node_add_input(hd_node *n, const char *path) {
  if (n == NULL || path == NULL || path[0] == '\0')
    return HD_EINVAL;
  hd__nodeio *io = hd__node_io_mut(n);
  if (io == NULL)
    return HD_ENOMEM;
  n->graph->valid = 0;
  return hd__tstrs_add(&io->inputs, path, 0, 0);
}

int hd_node_add_output(hd_node *n, const char *path) {
  if (n == NULL || path == NULL || path[0] == '\0')
    return HD_EINVAL;
  hd__nodeio *io = hd__node_io_mut(n);
  if (io == NULL)
    return HD_ENOMEM;
  n->graph->valid = 0;
  return hd__tstrs_add(&io->outputs, path, 0, 0);
}

int hd_node_set_stdin(hd_node *n, const char *task) {
  if (n == NULL || task == NULL || task[0] == '\0')
    return HD_EINVAL;
  hd__nodeio *io = hd__node_io_mut(n);
  char *c = io != NULL ? hd__strdup(task) : NULL;
  if (c == NULL)
    return HD_ENOMEM;
  hd__free(io->stdin_dep.name);
  io->stdin_dep = (hd__depref){HD__NO_INDEX, c, 0, 0};
  int rc = hd_node_after_name(n, task);
  n->graph->valid = 0;
  return rc;
}

/* Seconds (checked: 0 to 1e9) in whole nanoseconds, at least 1 when above
 * 0: a tiny timeout is not none. */
static uint64_t to_ns(double seconds) {
  uint64_t ns = (uint64_t)(seconds * 1e9);
  return ns == 0 && seconds > 0 ? 1 : ns;
}

int hd_node_set_retry_delay(hd_node *n, double seconds) {
  if (n == NULL || !(seconds >= 0) || seconds > 1e9)
    return HD_EINVAL;
  SET_SETTING(n, retry_delay_ns, to_ns(seconds));
  return HD_OK;
}

int hd_node_set_allow_failure(hd_node *n, int allowed) {
  if (n == NULL)
    return HD_EINVAL;
  SET_SETTING(n, allow_failure, allowed != 0);
  return HD_OK;
}

/* A new entry of g's dep_at table: its number (1 + its place), or 0 when
 * out of memory. */
static uint32_t new_dep_at(hd_graph *g, const char *name, int line,
                           int column) {
  if (g->ndep_at >= UINT32_MAX - 1 ||
      hd__grow((void **)&g->dep_at, &g->capdep_at, g->ndep_at + 1,
               sizeof(hd__depat)) != HD_OK)
    return 0;
  hd__depat a = {NULL, line, column};
  if (name != NULL && (a.name = slab_strdup(g, name)) == NULL)
    return 0;
  g->dep_at[g->ndep_at++] = a;
  return (uint32_t)g->ndep_at;
}

/* Duplicates are kept here and collapsed when the graph is compiled, so
 * that adding a dependency costs the same however many a node has. */
static int add_dep(hd_node *n, size_t index, const char *name, int line,
                   int column) {
  /* Most nodes have few dependencies: start small. */
  if (slab_grow(n->graph, (void **)&n->deps, &n->capdeps, n->ndeps,
                n->ndeps + 1, sizeof(hd__dep), 2) != HD_OK)
    return HD_ENOMEM;
  hd__dep d = {index == HD__NO_INDEX ? HD__DEP_NONE : (uint32_t)index, 0};
  if ((name != NULL || line > 0) &&
      (d.at = new_dep_at(n->graph, name, line, column)) == 0)
    return HD_ENOMEM;
  n->deps[n->ndeps++] = d;
  n->graph->valid = 0;
  return HD_OK;
}

int hd__dep_set_at(hd_node *n, size_t j, int line, int column) {
  hd__dep *d = &n->deps[j];
  if (d->at == 0)
    return (d->at = new_dep_at(n->graph, NULL, line, column)) != 0 ? HD_OK
                                                                   : HD_ENOMEM;
  n->graph->dep_at[d->at - 1].line = line;
  n->graph->dep_at[d->at - 1].column = column;
  return HD_OK;
}

int hd_node_after(hd_node *n, hd_node *dep) {
  if (n == NULL || dep == NULL || n->graph != dep->graph)
    return HD_EINVAL;
  return add_dep(n, dep->index, NULL, 0, 0);
}

int hd_node_before(hd_node *n, hd_node *succ) { return hd_node_after(succ, n); }

int hd_node_after_all(hd_node *n, hd_node *const *deps, size_t count) {
  if (n == NULL || (deps == NULL && count > 0))
    return HD_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (deps[i] == NULL || deps[i]->graph != n->graph)
      return HD_EINVAL;
  if (count > INT32_MAX - (size_t)n->ndeps)
    return HD_ETOOBIG;
  if (slab_grow(n->graph, (void **)&n->deps, &n->capdeps, n->ndeps,
                n->ndeps + count, sizeof(hd__dep), 2) != HD_OK)
    return HD_ENOMEM;
  for (size_t i = 0; i < count; i++)
    n->deps[n->ndeps++] = (hd__dep){(uint32_t)deps[i]->index, 0};
  n->graph->valid = 0;
  return HD_OK;
}

int hd_node_before_all(hd_node *n, hd_node *const *succs, size_t count) {
  if (n == NULL || (succs == NULL && count > 0))
    return HD_EINVAL;
  for (size_t i = 0; i < count; i++) {
    int rc = hd_node_after(succs[i], n);
    if (rc != HD_OK)
      return rc;
  }
  return HD_OK;
}

int hd_node_after_name(hd_node *n, const char *name) {
  return hd_node_after_name_at(n, name, 0, 0);
}

int hd_node_after_name_at(hd_node *n, const char *name, int line, int column) {
  if (n == NULL || name == NULL || name[0] == '\0' || line < 0 || column < 0)
    return HD_EINVAL;
  /* A name already in the graph resolves now, as validation would, and
     costs no copy. */
  size_t idx;
  if (hd__graph_names(n->graph) != HD_OK)
    return HD_ENOMEM;
  if (hd__idxmap_get(&n->graph->names, name, &idx))
    return add_dep(n, idx, NULL, line, column);
  return add_dep(n, HD__NO_INDEX, name, line, column);
}

int hd__param_key_ok(const char *key) {
  if (key == NULL || !((*key >= 'a' && *key <= 'z') ||
                       (*key >= 'A' && *key <= 'Z') || *key == '_'))
    return 0;
  for (const char *p = key; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return 1;
}

const char *hd_node_param(const hd_node *n, const char *key) {
  if (n == NULL || key == NULL)
    return NULL;
  for (size_t i = 0; i < n->nparams; i++)
    if (strcmp(n->params[i].key, key) == 0)
      return n->params[i].value;
  return NULL;
}

int hd_node_map_param(hd_node *n, const char *key, const char *const *values,
                      size_t count) {
  if (n == NULL || !hd__param_key_ok(key) || (values == NULL && count > 0))
    return HD_EINVAL;
  for (size_t i = 0; i < count; i++)
    if (values[i] == NULL)
      return HD_EINVAL;
  hd__listparam l = {hd__strdup(key), hd__calloc(count + 1, sizeof(char *)), 0,
                     0, 0};
  if (l.key == NULL || l.values == NULL)
    goto fail;
  for (; l.count < count; l.count++)
    if ((l.values[l.count] = hd__strdup(values[l.count])) == NULL)
      goto fail;
  for (size_t i = 0; i < n->nlists; i++) {
    if (strcmp(n->lists[i].key, key) == 0) {
      hd__listparam old = n->lists[i];
      n->lists[i] = l;
      l = old;
      goto replaced;
    }
  }
  size_t cap = n->caplists;
  if (n->nlists >= UINT32_MAX - 1 ||
      hd__grow((void **)&n->lists, &cap, n->nlists + 1, sizeof(hd__listparam)))
    goto fail;
  n->caplists = (uint32_t)cap;
  n->lists[n->nlists++] = l;
  n->graph->valid = 0;
  return HD_OK;
replaced:
  n->graph->valid = 0;
  hd__free(l.key);
  for (size_t j = 0; j < l.count; j++)
    hd__free(l.values[j]);
  hd__free(l.values);
  return HD_OK;
fail:
  hd__free(l.key);
  for (size_t j = 0; l.values != NULL && j < l.count; j++)
    hd__free(l.values[j]);
  hd__free(l.values);
  return HD_ENOMEM;
}

int hd_node_set_fanout(hd_node *n, hd_fanout mode) {
  if (n == NULL || (mode != HD_FANOUT_ZIP && mode != HD_FANOUT_PRODUCT))
    return HD_EINVAL;
  n->graph->valid = 0;
  SET_SETTING(n, fanout, mode);
  return HD_OK;
}

int hd_node_set_retries(hd_node *n, unsigned retries) {
  if (n == NULL)
    return HD_EINVAL;
  SET_SETTING(n, retries, retries);
  return HD_OK;
}

int hd_node_set_timeout(hd_node *n, double seconds) {
  if (n == NULL || !(seconds >= 0) || seconds > 1e9)
    return HD_EINVAL;
  SET_SETTING(n, timeout_ns, to_ns(seconds));
  return HD_OK;
}

int hd_node_set_cpus(hd_node *n, unsigned cpus) {
  if (n == NULL || cpus == 0)
    return HD_EINVAL;
  SET_SETTING(n, cpus, cpus);
  return HD_OK;
}

int hd_node_set_mem(hd_node *n, uint64_t bytes) {
  if (n == NULL)
    return HD_EINVAL;
  SET_SETTING(n, mem, bytes);
  return HD_OK;
}

int hd_node_set_priority(hd_node *n, int priority) {
  if (n == NULL)
    return HD_EINVAL;
  SET_SETTING(n, priority, priority);
  return HD_OK;
}

int hd_node_set_cache(hd_node *n, int enabled) {
  if (n == NULL)
    return HD_EINVAL;
  SET_SETTING(n, cache, enabled != 0);
  return HD_OK;
}

int hd_node_set_cost(hd_node *n, double cost) {
  if (n == NULL || !(cost > 0) || cost > 1e30)
    return HD_EINVAL;
  n->graph->valid = 0;
  SET_SETTING(n, cost, cost);
  return HD_OK;
}

int hd_node_set_param(hd_node *n, const char *key, const char *value) {
  if (n == NULL || !hd__param_key_ok(key) || value == NULL)
    return HD_EINVAL;
  /* Keys and values live in the graph's slabs: a value replaced stays
     there until the graph is freed. */
  char *v = slab_strdup(n->graph, value);
  if (v == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < n->nparams; i++) {
    if (strcmp(n->params[i].key, key) == 0) {
      n->params[i].value = v;
      n->graph->valid = 0;
      return HD_OK;
    }
  }
  char *k = slab_strdup(n->graph, key);
  if (k == NULL ||
      slab_grow(n->graph, (void **)&n->params, &n->capparams, n->nparams,
                n->nparams + 1, sizeof(hd__param), 2) != HD_OK)
    return HD_ENOMEM;
  n->params[n->nparams++] = (hd__param){k, v};
  n->graph->valid = 0;
  return HD_OK;
}

const char *hd__graph_file(hd_graph *g, const char *file) {
  /* Kept once per graph: most nodes share a few. */
  for (size_t i = g->nfiles; i-- > 0;)
    if (strcmp(g->files[i], file) == 0)
      return g->files[i];
  char *f = hd__strdup(file);
  if (f == NULL || hd__grow((void **)&g->files, &g->capfiles, g->nfiles + 1,
                            sizeof(char *))) {
    hd__free(f);
    return NULL;
  }
  g->files[g->nfiles++] = f;
  return f;
}

int hd_node_set_origin(hd_node *n, const char *file, int line, int column) {
  if (n == NULL || line < 0 || column < 0)
    return HD_EINVAL;
  const char *f = NULL;
  if (file != NULL && (f = hd__graph_file(n->graph, file)) == NULL)
    return HD_ENOMEM;
  n->file = f;
  n->line = line;
  n->column = column;
  return HD_OK;
}

hd_node *hd_graph_find(const hd_graph *g, const char *name) {
  size_t i;
  if (g == NULL || name == NULL)
    return NULL;
  /* The name map is the graph's index, brought up to date here (a graph
     is used by one thread at a time). Out of memory, the nodes it lacks
     are looked through one by one. */
  int synced = hd__graph_names((hd_graph *)g) == HD_OK;
  if (hd__idxmap_get(&g->names, name, &i))
    return g->nodes[i];
  for (i = g->named; !synced && i < g->count; i++)
    if (strcmp(g->nodes[i]->name, name) == 0)
      return g->nodes[i];
  return NULL;
}

size_t hd_graph_node_count(const hd_graph *g) { return g ? g->count : 0; }

hd_node *hd_graph_node(const hd_graph *g, size_t i) {
  return g != NULL && i < g->count ? g->nodes[i] : NULL;
}

const char *hd_node_name(const hd_node *n) { return n ? n->name : NULL; }
hd_node_kind hd_node_kind_of(const hd_node *n) {
  return n ? (hd_node_kind)n->kind : (hd_node_kind)0;
}
const char *hd_node_cmd(const hd_node *n) { return n ? n->cmd : NULL; }
const char *hd_node_fn(const hd_node *n) { return n ? n->fn : NULL; }
size_t hd_node_dep_count(const hd_node *n) { return n ? n->ndeps : 0; }

const char *hd_node_dep_name(const hd_node *n, size_t i) {
  if (n == NULL || i >= n->ndeps)
    return NULL;
  const hd__dep *d = &n->deps[i];
  const char *name = hd__dep_name(n->graph, d);
  if (name != NULL)
    return name;
  return n->graph->nodes[d->index]->name;
}

size_t hd_graph_diag_count(const hd_graph *g) { return g ? g->diags.count : 0; }

const hd_diag *hd_graph_diag(const hd_graph *g, size_t i) {
  return g != NULL && i < g->diags.count ? &g->diags.items[i] : NULL;
}
