/* Compiling a validated graph into a plan: templates are expanded, command
 * placeholders substituted, settings deduplicated, dependencies laid out
 * in CSR form both ways, and the plan analysed (levels, bottom levels, the
 * critical path). Everything is O(nodes + edges) after expansion. */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"

/* Pick the items of expansion j: zip takes the j-th of each list; product
 * counts in mixed radix, the first list varying slowest. */
void hd__node_pick(const hd_node *n, size_t j, size_t *pick) {
  if (hd__node_settings(n)->fanout == HD_FANOUT_ZIP) {
    for (size_t i = 0; i < n->nlists; i++)
      pick[i] = j;
    return;
  }
  for (size_t i = n->nlists; i-- > 0;) {
    pick[i] = j % n->lists[i].count;
    j /= n->lists[i].count;
  }
}

int hd__expansion_name(const hd_node *n, const size_t *pick, hd__buf *out) {
  out->len = 0;
  int rc = hd__buf_append(out, n->name, strlen(n->name));
  for (size_t k = 0; rc == HD_OK && k < n->nlists; k++)
    rc = hd__buf_appendf(out, "%s%s=%s", k ? "," : "[", n->lists[k].key,
                         n->lists[k].values[pick[k]]);
  if (rc == HD_OK)
    rc = hd__buf_append(out, "]", 1);
  return rc;
}

typedef struct builder {
  hd__plan *p;
  hd__buf strings;
  hd__psettings last;     /* the settings of the previous node, and */
  uint32_t last_index;    /* their index, or UINT32_MAX */
  const char *last_what;  /* the previous function name, and */
  uint32_t last_what_off; /* its offset */
  size_t nparams, capparams;
  size_t capsettings;
  size_t caplists, capio;
  hd__strmap settings_seen; /* settings bytes -> index */
  hd__strmap fn_seen;       /* function names -> their string's offset */
  size_t maxlists, maxdeps; /* the most of any node (at least 1) */
} builder;

/* An expansion's view of its node, for substitution: its params and
 * items, and its files (runs of p->lists, rendered already). */
typedef struct expansion {
  const hd_node *n;
  size_t *pick; /* per list param, the index of the item */
  builder *b;
  uint32_t in, nin, out, nout;
  int staging;     /* outputs are rendered under their staged names */
  uint64_t staged; /* the outputs so rendered, as bits */
} expansion;

static const char *expansion_param(const expansion *x, const char *name,
                                   size_t len) {
  const hd_node *n = x->n;
  for (size_t i = 0; i < n->nlists; i++)
    if (strlen(n->lists[i].key) == len &&
        memcmp(n->lists[i].key, name, len) == 0)
      return n->lists[i].values[x->pick[i]];
  for (size_t i = 0; i < n->nparams; i++)
    if (strlen(n->params[i].key) == len &&
        memcmp(n->params[i].key, name, len) == 0)
      return n->params[i].value;
  return NULL;
}

static int expansion_value(hd__buf *out, const hd__ph *ph, const hd__tput *how,
                           void *ctx) {
  expansion *x = ctx;
  if (ph->kind == HD__PH_PARAM) {
    const char *v = expansion_param(x, ph->name, ph->len);
    return v == NULL ? HD_ENOENT : hd__template_put(out, v, ph, how);
  }
  if (ph->kind != HD__PH_INPUTS && ph->kind != HD__PH_OUTPUTS)
    return HD_ENOENT;
  uint32_t off = ph->kind == HD__PH_INPUTS ? x->in : x->out;
  uint32_t count = ph->kind == HD__PH_INPUTS ? x->nin : x->nout;
  const char *strings = x->b->strings.data;
  const uint32_t *lists = x->b->p->lists;
  if (ph->index >= 0 && (size_t)ph->index >= count)
    return HD_ENOENT;
  uint32_t lo = ph->index >= 0 ? (uint32_t)ph->index : 0;
  uint32_t hi = ph->index >= 0 ? lo + 1 : count;
  int rc = HD_OK;
  hd__buf staged = {0};
  for (uint32_t k = lo; rc == HD_OK && k < hi; k++) {
    if (k > lo)
      rc = hd__buf_append(out, " ", 1);
    const char *path = strings + lists[off + k];
    if (rc == HD_OK && x->staging && ph->kind == HD__PH_OUTPUTS && k < 64) {
      staged.len = 0;
      rc = hd__staged_path(&staged, path);
      path = staged.data;
      x->staged |= 1ull << k;
    }
    if (rc == HD_OK)
      rc = hd__template_put(out, path, ph, how);
  }
  hd__buf_cleanup(&staged);
  return rc;
}

static int add_string(builder *b, const char *s, size_t len, uint32_t *off) {
  if (b->strings.len + len + 1 > UINT32_MAX)
    return HD_ETOOBIG;
  *off = (uint32_t)b->strings.len;
  int rc = hd__buf_append(&b->strings, s, len);
  if (rc == HD_OK)
    rc = hd__buf_append(&b->strings, "", 1);
  return rc;
}

/* A function's name: one copy per name in the plan, so that a run
 * resolves each name once (core/sched.c). */
static int add_fn_name(builder *b, const char *fn, uint32_t *off) {
  size_t seen;
  if (hd__strmap_get(&b->fn_seen, fn, &seen)) {
    *off = (uint32_t)seen;
    return HD_OK;
  }
  int rc = add_string(b, fn, strlen(fn), off);
  if (rc == HD_OK)
    rc = hd__strmap_put(&b->fn_seen, fn, *off);
  return rc;
}

static int add_param(builder *b, const char *key, const char *value) {
  uint32_t k, v;
  int rc = add_string(b, key, strlen(key), &k);
  if (rc == HD_OK)
    rc = add_string(b, value, strlen(value), &v);
  if (rc == HD_OK && hd__grow((void **)&b->p->params, &b->capparams,
                              2 * (b->nparams + 1), sizeof(uint32_t)))
    rc = HD_ENOMEM;
  if (rc == HD_OK) {
    b->p->params[2 * b->nparams] = k;
    b->p->params[2 * b->nparams + 1] = v;
    b->nparams++;
  }
  return rc;
}

static int settings_index(builder *b, const hd_node *n, uint32_t *out) {
  hd__psettings s;
  memset(&s, 0, sizeof(s));
  const hd__nodeset *ns = hd__node_settings(n);
  s.timeout_ns = ns->timeout_ns;
  s.mem = ns->mem;
  s.retries = ns->retries;
  s.cpus = ns->cpus;
  s.priority = ns->priority;
  s.cache = (uint32_t)ns->cache;
  s.retry_delay_ns = ns->retry_delay_ns;
  s.allow_failure = (uint32_t)ns->allow_failure;
  /* Neighbours usually share their settings: no hashing then. */
  if (b->last_index != UINT32_MAX && memcmp(&s, &b->last, sizeof(s)) == 0) {
    *out = b->last_index;
    return HD_OK;
  }
  b->last = s;
  char key[96];
  snprintf(key, sizeof(key), "%llx/%llx/%x/%x/%x/%x/%llx/%x",
           (unsigned long long)s.timeout_ns, (unsigned long long)s.mem,
           s.retries, s.cpus, (unsigned)s.priority, s.cache,
           (unsigned long long)s.retry_delay_ns, s.allow_failure);
  size_t idx;
  if (hd__strmap_get(&b->settings_seen, key, &idx)) {
    *out = b->last_index = (uint32_t)idx;
    return HD_OK;
  }
  hd__plan *p = b->p;
  if (hd__grow((void **)&p->settings, &b->capsettings, p->nsettings + 1,
               sizeof(hd__psettings)) ||
      hd__strmap_put(&b->settings_seen, key, p->nsettings) != HD_OK)
    return HD_ENOMEM;
  p->settings[p->nsettings] = s;
  *out = b->last_index = (uint32_t)p->nsettings++;
  return HD_OK;
}

static int push_list(builder *b, uint32_t off) {
  hd__plan *p = b->p;
  if (p->nlists >= UINT32_MAX - 1)
    return HD_ETOOBIG;
  if (hd__grow((void **)&p->lists, &b->caplists, p->nlists + 1,
               sizeof(uint32_t)))
    return HD_ENOMEM;
  p->lists[p->nlists++] = off;
  return HD_OK;
}

/* Render each string of l (never quoted) onto the plan's lists; *first
 * receives where the run starts. */
static int render_list(builder *b, const hd__tstrs *l, expansion *x,
                       int keep_after, hd__buf *tmp, uint32_t *first) {
  *first = (uint32_t)b->p->nlists;
  int rc = HD_OK;
  for (size_t k = 0; rc == HD_OK && k < l->count; k++) {
    tmp->len = 0;
    uint32_t off;
    rc = hd__template_render(tmp, l->items[k].s, 0, keep_after, expansion_value,
                             x);
    if (rc == HD_OK)
      rc = add_string(b, tmp->data ? tmp->data : "", tmp->len, &off);
    if (rc == HD_OK)
      rc = push_list(b, off);
  }
  return rc;
}

/* Whether node n's command or words hold {after.X}. */
static int node_is_late(const hd_node *n) {
  if (n->kind == HD_NODE_CMD)
    return hd__template_has_after(n->cmd);
  const hd__nodeio *io = hd__node_io(n);
  for (size_t k = 0; k < io->argv.count; k++)
    if (hd__template_has_after(io->argv.items[k].s))
      return 1;
  return 0;
}

/* Everything of an expansion that lives in its hd__pio, and what it runs;
 * pn->io is set when the node has any of it. */
static int make_io(builder *b, const hd_graph *g, const uint32_t *base,
                   const hd_node *n, hd__pnode *pn, expansion *x,
                   hd__buf *tmp) {
  const hd__nodeio *nio = hd__node_io(n);
  hd__pio io;
  memset(&io, 0, sizeof(io));
  int late = node_is_late(n);
  int rc = render_list(b, &nio->inputs, x, 0, tmp, &io.inputs);
  io.ninputs = (uint32_t)nio->inputs.count;
  x->in = io.inputs;
  x->nin = io.ninputs;
  if (rc == HD_OK)
    rc = render_list(b, &nio->outputs, x, 0, tmp, &io.outputs);
  io.noutputs = (uint32_t)nio->outputs.count;
  x->out = io.outputs;
  x->nout = io.noutputs;
  if (rc == HD_OK)
    rc = render_list(b, &nio->env, x, 0, tmp, &io.env);
  io.nenv = (uint32_t)nio->env.count;
  if (rc == HD_OK && nio->workdir.s != NULL) {
    tmp->len = 0;
    rc = hd__template_render(tmp, nio->workdir.s, 0, 0, expansion_value, x);
    if (rc == HD_OK)
      rc = add_string(b, tmp->data, tmp->len, &io.workdir);
  }
  /* The command and words write outputs under their staged names. */
  x->staging = 1;
  if (rc == HD_OK)
    rc = render_list(b, &nio->argv, x, late, tmp, &io.argv);
  io.argc = (uint32_t)nio->argv.count;
  /* What it runs: the command with its placeholders replaced, or the
     first word. */
  if (rc == HD_OK && n->kind == HD_NODE_CMD) {
    tmp->len = 0;
    rc = hd__template_render(tmp, n->cmd, 1, late, expansion_value, x);
    if (rc == HD_OK)
      rc = add_string(b, tmp->data, tmp->len, &pn->what);
  } else if (rc == HD_OK && n->kind == HD_NODE_ARGV) {
    pn->what = b->p->lists[io.argv];
  } else if (rc == HD_OK) {
    rc = add_fn_name(b, n->fn, &pn->what);
  }
  x->staging = 0;
  io.staged = x->staged;
  size_t sd = nio->stdin_dep.index;
  if (nio->stdin_dep.name != NULL && sd < g->count) {
    io.stdin_lo = base[sd];
    io.stdin_hi = base[sd + 1];
  }
  io.late = (uint32_t)late;
  hd__pio none;
  memset(&none, 0, sizeof(none));
  if (rc != HD_OK || n->kind == HD_NODE_ARGV ||
      memcmp(&io, &none, sizeof(io)) != 0) {
    /* The argv words are only kept for an argv node. */
    if (rc == HD_OK && n->kind != HD_NODE_ARGV)
      io.argc = 0;
    hd__plan *p = b->p;
    if (rc == HD_OK && p->nio >= UINT32_MAX - 1)
      rc = HD_ETOOBIG;
    if (rc == HD_OK &&
        hd__grow((void **)&p->io, &b->capio, p->nio + 1, sizeof(hd__pio)))
      rc = HD_ENOMEM;
    if (rc == HD_OK) {
      pn->io = (uint32_t)p->nio;
      p->io[p->nio++] = io;
    }
  }
  return rc;
}

/* The plan nodes of graph node i: base[i] .. base[i + 1]; their costs in
 * costs. */
static int make_nodes(builder *b, const hd_graph *g, const uint32_t *base,
                      float *costs) {
  hd__plan *p = b->p;
  int rc = HD_OK;
  size_t *pick = hd__calloc(b->maxlists, sizeof(size_t));
  hd__buf tmp = {0};
  if (pick == NULL)
    return HD_ENOMEM;
  /* io[0] stands for none. */
  if (hd__grow((void **)&p->io, &b->capio, 1, sizeof(hd__pio))) {
    hd__free(pick);
    return HD_ENOMEM;
  }
  memset(&p->io[0], 0, sizeof(hd__pio));
  p->nio = 1;
  for (size_t i = 0; i < g->count && rc == HD_OK; i++) {
    const hd_node *n = g->nodes[i];
    uint32_t settings;
    rc = settings_index(b, n, &settings);
    const hd__nodeio *nio = hd__node_io(n);
    int simple = n->kind == HD_NODE_FN && nio->inputs.count == 0 &&
                 nio->outputs.count == 0 && nio->stdin_dep.name == NULL;
    for (uint32_t j = 0; rc == HD_OK && j < base[i + 1] - base[i]; j++) {
      hd__pnode *pn = &p->nodes[base[i] + j];
      costs[base[i] + j] = (float)hd__node_settings(n)->cost;
      pn->kind = (uint8_t)n->kind;
      pn->settings = settings;
      hd__node_pick(n, j, pick);
      expansion x = {n, pick, b, 0, 0, 0, 0, 0, 0};
      /* The name: NAME (copied once), or NAME[k=v,...] for an expansion. */
      if (n->nlists == 0) {
        rc = add_string(b, n->name, strlen(n->name), &pn->name);
      } else {
        rc = hd__expansion_name(n, pick, &tmp);
        if (rc == HD_OK)
          rc = add_string(b, tmp.data, tmp.len, &pn->name);
      }
      if (rc != HD_OK)
        break;
      if (!simple) {
        rc = make_io(b, g, base, n, pn, &x, &tmp);
      } else if (b->last_what != NULL &&
                 (b->last_what == n->fn || strcmp(b->last_what, n->fn) == 0)) {
        pn->what = b->last_what_off; /* one copy of a repeated name */
      } else {
        rc = add_fn_name(b, n->fn, &pn->what);
        b->last_what = n->fn;
        b->last_what_off = pn->what;
      }
      /* Params: the node's values, then this expansion's items. */
      pn->param_off = (uint32_t)b->nparams;
      for (size_t k = 0; rc == HD_OK && k < n->nparams; k++)
        rc = add_param(b, n->params[k].key, n->params[k].value);
      for (size_t k = 0; rc == HD_OK && k < n->nlists; k++)
        rc = add_param(b, n->lists[k].key, n->lists[k].values[pick[k]]);
      if (n->nparams + n->nlists > UINT16_MAX)
        rc = HD_ETOOBIG;
      pn->nparams = (uint16_t)(n->nparams + n->nlists);
    }
  }
  hd__free(pick);
  hd__buf_cleanup(&tmp);
  return rc;
}

/* One dependency of a graph node, as its expansions see it: all of the
 * dependency's expansions, or, when both fan out over keys of the same
 * names, those that agree on every shared key. */
typedef struct depview {
  size_t index;   /* the graph node depended on */
  size_t *shared; /* pairs: key index in the dependent, in the dependency */
  size_t nshared;
  hd__strmap keys; /* shared values -> first matching expansion */
  uint32_t *next;  /* the next expansion with the same values */
} depview;

/* The values of the shared keys, each as LENGTH:VALUE, in one string
 * (the key of a string map: no NUL inside, and no two lists of values
 * alike). */
static int shared_key(hd__buf *k, const hd_node *n, const size_t *pick,
                      const depview *v, int side) {
  k->len = 0;
  int rc = HD_OK;
  for (size_t s = 0; rc == HD_OK && s < v->nshared; s++) {
    size_t li = v->shared[2 * s + (size_t)side];
    const char *val = n->lists[li].values[pick[li]];
    rc = hd__buf_appendf(k, "%zu:%s", strlen(val), val);
  }
  if (rc == HD_OK)
    rc = hd__buf_append(k, "", 1);
  return rc;
}

static void depview_cleanup(depview *v) {
  hd__free(v->shared);
  hd__strmap_cleanup(&v->keys);
  hd__free(v->next);
  memset(v, 0, sizeof(*v));
}

/* Index the expansions of dependency d of n by their shared values. */
static int depview_make(depview *v, const hd_node *n, const hd_node *d,
                        const uint32_t *base, size_t *pick, hd__buf *k) {
  v->shared = hd__malloc(2 * (n->nlists + 1) * sizeof(size_t));
  if (v->shared == NULL)
    return HD_ENOMEM;
  for (size_t a = 0; a < n->nlists; a++)
    for (size_t c = 0; c < d->nlists; c++)
      if (strcmp(n->lists[a].key, d->lists[c].key) == 0) {
        v->shared[2 * v->nshared] = a;
        v->shared[2 * v->nshared + 1] = c;
        v->nshared++;
      }
  if (v->nshared == 0)
    return HD_OK;
  size_t count = base[v->index + 1] - base[v->index];
  if ((v->next = hd__malloc((count + 1) * sizeof(uint32_t))) == NULL)
    return HD_ENOMEM;
  /* In reverse, so that each chain runs in expansion order. */
  for (size_t j = count; j-- > 0;) {
    hd__node_pick(d, j, pick);
    int rc = shared_key(k, d, pick, v, 1);
    size_t first;
    if (rc != HD_OK)
      return rc;
    v->next[j] = hd__strmap_get(&v->keys, k->data, &first) ? (uint32_t)first
                                                           : UINT32_MAX;
    if (hd__strmap_put(&v->keys, k->data, j) != HD_OK)
      return HD_ENOMEM;
  }
  return HD_OK;
}

static int push_pred(uint32_t **preds, size_t *np, size_t *cap, uint32_t v) {
  if (*np >= *cap && hd__grow((void **)preds, cap, *np + 1, sizeof(uint32_t)))
    return HD_ENOMEM;
  (*preds)[(*np)++] = v;
  return HD_OK;
}

static uint8_t *put_varint(uint8_t *s, uint32_t v) {
  while (v >= 0x80) {
    *s++ = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  *s++ = (uint8_t)v;
  return s;
}

static uint32_t zigzag(uint32_t from, uint32_t to) {
  int64_t d = (int64_t)to - (int64_t)from; /* both below INT32_MAX */
  return d < 0 ? (uint32_t)(-2 * d - 1) : (uint32_t)(2 * d);
}

/* Append plan node x's predecessors preds[0..np) to the plan's byte
 * stream (plan.h), and count x as a successor of each. */
static int encode_preds(hd__plan *p, size_t *cap, uint32_t x,
                        const uint32_t *preds, size_t np) {
  if (p->predb_len + 5 * (np + 1) > UINT32_MAX)
    return HD_ETOOBIG;
  if (hd__grow((void **)&p->predb, cap, p->predb_len + 5 * (np + 1), 1))
    return HD_ENOMEM;
  p->pred_at[x] = (uint32_t)p->predb_len;
  uint8_t *s = p->predb + p->predb_len;
  if (np >= HD__PN_MANY)
    s = put_varint(s, (uint32_t)np);
  p->nodes[x].npreds = (uint8_t)(np < HD__PN_MANY ? np : HD__PN_MANY);
  uint32_t last = x;
  for (size_t k = 0; k < np; k++) {
    s = put_varint(s, zigzag(last, preds[k]));
    last = preds[k];
    p->succ_off[preds[k] + 1]++;
  }
  p->predb_len = (size_t)(s - p->predb);
  return HD_OK;
}

/* Predecessors in declaration order, a dependency on a template standing
 * for its matching expansions in expansion order; duplicates collapse to
 * their first place. */
static int make_edges(const builder *b, const hd_graph *g,
                      const uint32_t *base) {
  hd__plan *p = b->p;
  size_t n = p->count, capb = 0, cap = 0, np = 0;
  uint32_t *preds = NULL; /* plan node x's, while they are gathered */
  uint32_t *mark = hd__malloc((g->count + 1) * sizeof(uint32_t));
  size_t *pick = hd__calloc(b->maxlists, sizeof(size_t));
  depview *views = hd__calloc(b->maxdeps, sizeof(depview));
  hd__buf k = {0};
  int rc = mark && pick && views ? HD_OK : HD_ENOMEM;
  if (rc == HD_OK)
    memset(mark, 0xff, (g->count + 1) * sizeof(uint32_t));
  p->nedges = 0;
  p->predb_len = 0;
  for (size_t i = 0; i < g->count && rc == HD_OK; i++) {
    const hd_node *nd = g->nodes[i];
    size_t nv = 0;
    for (size_t j = 0; j < nd->ndeps && rc == HD_OK; j++) {
      size_t d = nd->deps[j].index;
      if (mark[d] == i)
        continue;
      mark[d] = (uint32_t)i;
      depview *v = &views[nv++];
      v->index = d;
      if (nd->nlists > 0 && g->nodes[d]->nlists > 0)
        rc = depview_make(v, nd, g->nodes[d], base, pick, &k);
    }
    for (uint32_t x = base[i]; x < base[i + 1] && rc == HD_OK; x++) {
      np = 0;
      hd__node_pick(nd, x - base[i], pick);
      for (size_t j = 0; j < nv && rc == HD_OK; j++) {
        const depview *v = &views[j];
        if (v->nshared == 0) {
          for (uint32_t e = base[v->index];
               rc == HD_OK && e < base[v->index + 1]; e++)
            rc = push_pred(&preds, &np, &cap, e);
          continue;
        }
        size_t first;
        rc = shared_key(&k, nd, pick, v, 0);
        if (rc != HD_OK || !hd__strmap_get(&v->keys, k.data, &first))
          continue;
        for (uint32_t e = (uint32_t)first; rc == HD_OK && e != UINT32_MAX;
             e = v->next[e])
          rc = push_pred(&preds, &np, &cap, base[v->index] + e);
      }
      if (rc == HD_OK && p->nedges + np >= INT32_MAX)
        rc = HD_ETOOBIG;
      if (rc == HD_OK)
        rc = encode_preds(p, &capb, x, preds, np);
      p->nedges += np;
    }
    for (size_t j = 0; j < nv; j++)
      if (views[j].shared != NULL) /* one was made (depview_make()) */
        depview_cleanup(&views[j]);
  }
  hd__free(mark);
  hd__free(pick);
  hd__free(views);
  hd__free(preds);
  hd__buf_cleanup(&k);
  if (rc != HD_OK)
    return rc;
  p->pred_at[n] = (uint32_t)p->predb_len;
  if (capb > p->predb_len + 1) {
    uint8_t *t = hd__realloc(p->predb, p->predb_len + 1);
    if (t != NULL)
      p->predb = t;
  }
  if (p->predb == NULL && (p->predb = hd__malloc(1)) == NULL)
    return HD_ENOMEM;
  if ((p->succs = hd__malloc((p->nedges + 1) * sizeof(uint32_t))) == NULL)
    return HD_ENOMEM;
  /* Successors: counted above; prefix sums, fill in node order. */
  for (size_t i = 0; i < n; i++)
    p->succ_off[i + 1] += p->succ_off[i];
  uint32_t *cursor = hd__malloc((n + 1) * sizeof(uint32_t));
  if (cursor == NULL)
    return HD_ENOMEM;
  memcpy(cursor, p->succ_off, (n + 1) * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++) {
    hd__preds it;
    for (hd__preds_begin(p, i, &it); it.left > 0;)
      p->succs[cursor[hd__preds_next(&it)]++] = (uint32_t)i;
  }
  hd__free(cursor);
  return HD_OK;
}

/* Levels (longest path from a source), the order by level, bottom levels
 * and the critical path. costs[] holds each plan node's cost. */
static int analyse(hd__plan *p, const float *costs) {
  size_t n = p->count;
  uint32_t *indeg = hd__malloc((n + 1) * sizeof(uint32_t));
  uint32_t *queue = hd__malloc((n + 1) * sizeof(uint32_t));
  if (indeg == NULL || queue == NULL)
    goto nomem;
  size_t head = 0, tail = 0;
  for (size_t i = 0; i < n; i++) {
    indeg[i] = hd__plan_npreds(p, i);
    p->nodes[i].level = 0;
    if (indeg[i] == 0)
      queue[tail++] = (uint32_t)i;
  }
  uint32_t depth = 0;
  while (head < tail) {
    uint32_t u = queue[head++];
    uint32_t lu = p->nodes[u].level;
    if (lu + 1 > depth)
      depth = lu + 1;
    for (uint32_t k = p->succ_off[u]; k < p->succ_off[u + 1]; k++) {
      uint32_t v = p->succs[k];
      if (p->nodes[v].level < lu + 1)
        p->nodes[v].level = lu + 1;
      if (--indeg[v] == 0)
        queue[tail++] = v;
    }
  }
  if (tail != n) {
    hd__free(indeg);
    hd__free(queue);
    return HD_EGRAPH; /* cannot happen on a validated graph */
  }
  /* Bottom levels, in reverse topological order. */
  for (size_t k = n; k-- > 0;) {
    uint32_t u = queue[k];
    float best = 0;
    for (uint32_t e = p->succ_off[u]; e < p->succ_off[u + 1]; e++)
      if (p->nodes[p->succs[e]].bottom > best)
        best = p->nodes[p->succs[e]].bottom;
    p->nodes[u].bottom = best + costs[u];
  }
  /* Wide nodes whose dependents all have one bottom level (plan.h). */
  size_t cap_ranged = 0;
  for (uint32_t u = 0; u < n; u++) {
    uint32_t e0 = p->succ_off[u], e1 = p->succ_off[u + 1];
    if (e1 - e0 <= HD__RANGE_MIN)
      continue;
    float b = p->nodes[p->succs[e0]].bottom;
    uint32_t e = e0 + 1;
    while (e < e1 && p->nodes[p->succs[e]].bottom == b)
      e++;
    if (e == e1) {
      if (hd__grow((void **)&p->ranged, &cap_ranged, p->nranged + 1,
                   sizeof(uint32_t)) != HD_OK)
        goto nomem;
      p->ranged[p->nranged++] = u;
    }
  }
  /* The order: counting sort by level, stable in node index. */
  p->depth = depth;
  p->level_width = hd__calloc(depth + 1, sizeof(uint32_t));
  if (p->level_width == NULL)
    goto nomem;
  for (size_t i = 0; i < n; i++)
    p->level_width[p->nodes[i].level]++;
  memset(indeg, 0, (n + 1) * sizeof(uint32_t));
  for (uint32_t l = 1; l < depth; l++)
    indeg[l] = indeg[l - 1] + p->level_width[l - 1];
  for (size_t i = 0; i < n; i++)
    p->order[indeg[p->nodes[i].level]++] = (uint32_t)i;
  /* The critical path: from the source with the highest bottom level,
     follow the successor with the highest bottom level. */
  p->critical = hd__malloc((depth + 1) * sizeof(uint32_t));
  if (p->critical == NULL)
    goto nomem;
  p->critical_len = 0;
  p->critical_cost = 0;
  if (n > 0) {
    uint32_t u = UINT32_MAX;
    for (size_t i = 0; i < n; i++)
      if (p->nodes[i].level == 0 &&
          (u == UINT32_MAX || p->nodes[i].bottom > p->nodes[u].bottom))
        u = (uint32_t)i;
    while (u != UINT32_MAX) {
      p->critical[p->critical_len++] = u;
      p->critical_cost += costs[u];
      uint32_t next = UINT32_MAX;
      for (uint32_t e = p->succ_off[u]; e < p->succ_off[u + 1]; e++) {
        uint32_t v = p->succs[e];
        if (next == UINT32_MAX || p->nodes[v].bottom > p->nodes[next].bottom)
          next = v;
      }
      u = next;
    }
  }
  hd__free(indeg);
  hd__free(queue);
  return HD_OK;
nomem:
  hd__free(indeg);
  hd__free(queue);
  return HD_ENOMEM;
}

int hd__plan_build(const hd_graph *g, hd__plan **out) {
  if (g == NULL || out == NULL)
    return HD_EINVAL;
  if (!g->valid)
    return HD_EGRAPH;
  int rc = HD_ENOMEM;
  builder b;
  memset(&b, 0, sizeof(b));
  b.last_index = UINT32_MAX;
  uint32_t *base = hd__malloc((g->count + 1) * sizeof(uint32_t));
  float *costs = NULL;
  hd__plan *p = hd__calloc(1, sizeof(*p));
  if (p != NULL)
    atomic_init(&p->refs, 1);
  if (base == NULL || p == NULL)
    goto fail;
  b.p = p;
  /* One pass over the nodes for what the others need to know first (a
     million nodes are a million cache misses per pass): where each one's
     expansions start, the size of the names and commands (for one
     allocation of the string block in the common case; expansions grow
     it further), the most list params and dependencies of a node. */
  uint64_t total = 0;
  size_t guess = 1;
  b.maxlists = b.maxdeps = 1;
  for (size_t i = 0; i < g->count; i++) {
    const hd_node *nd = g->nodes[i];
    base[i] = (uint32_t)total;
    total += hd__node_expansions(nd);
    if (total >= INT32_MAX) {
      rc = HD_ETOOBIG;
      goto fail;
    }
    guess += strlen(nd->name) + 2 +
             (nd->kind == HD_NODE_CMD ? strlen(nd->cmd) + 1 : 0);
    if (nd->nlists > b.maxlists)
      b.maxlists = nd->nlists;
    if (nd->ndeps > b.maxdeps)
      b.maxdeps = nd->ndeps;
  }
  base[g->count] = (uint32_t)total;
  if ((b.strings.data = hd__malloc(guess + 1)) == NULL)
    goto fail;
  b.strings.cap = guess + 1;
  b.strings.data[0] = '\0';
  size_t n = p->count = (size_t)total;
  p->nodes = hd__calloc(n + 1, sizeof(hd__pnode));
  p->order = hd__malloc((n + 1) * sizeof(uint32_t));
  p->pred_at = hd__malloc((n + 1) * sizeof(uint32_t));
  p->succ_off = hd__calloc(n + 2, sizeof(uint32_t));
  costs = hd__malloc((n + 1) * sizeof(float));
  if (!p->nodes || !p->order || !p->pred_at || !p->succ_off || !costs)
    goto fail;
  if ((rc = make_nodes(&b, g, base, costs)) != HD_OK ||
      (rc = make_edges(&b, g, base)) != HD_OK ||
      (rc = analyse(p, costs)) != HD_OK)
    goto fail;
  p->strings = b.strings.data;
  p->strings_len = b.strings.len;
  b.strings.data = NULL;
  if (p->strings == NULL && (p->strings = hd__calloc(1, 1)) == NULL) {
    rc = HD_ENOMEM;
    goto fail;
  }
  hd__strmap_cleanup(&b.settings_seen);
  hd__strmap_cleanup(&b.fn_seen);
  hd__free(base);
  hd__free(costs);
  *out = p;
  return HD_OK;
fail:
  hd__buf_cleanup(&b.strings);
  hd__strmap_cleanup(&b.settings_seen);
  hd__strmap_cleanup(&b.fn_seen);
  hd__free(base);
  hd__free(costs);
  hd__plan_free(p);
  return rc;
}

/* ---- the public face of plans ---- */

int hd_plan_new(hd_graph *g, hd_plan **out) {
  if (out != NULL)
    *out = NULL;
  if (g == NULL || out == NULL)
    return HD_EINVAL;
  /* A graph validated since its last change need not be again. */
  int rc = g->valid ? HD_OK : hd_graph_validate(g);
  if (rc != HD_OK)
    return rc;
  if ((rc = hd__plan_build(g, out)) == HD_OK)
    hd__plan_prepare(*out);
  return rc;
}

void hd_plan_free(hd_plan *p) { hd__plan_free(p); }

size_t hd_plan_node_count(const hd_plan *p) { return p ? p->count : 0; }
size_t hd_plan_edge_count(const hd_plan *p) { return p ? p->nedges : 0; }
size_t hd_plan_depth(const hd_plan *p) { return p ? p->depth : 0; }
size_t hd_plan_bytes(const hd_plan *p) { return p ? hd__plan_bytes(p) : 0; }

const char *hd_plan_node_name(const hd_plan *p, size_t i) {
  return p != NULL && i < p->count ? hd__plan_name(p, i) : NULL;
}

const char *hd_plan_node_cmd(const hd_plan *p, size_t i) {
  return p != NULL && i < p->count && p->nodes[i].kind == HD_NODE_CMD
             ? hd__plan_what(p, i)
             : NULL;
}

const char *hd_plan_node_fn(const hd_plan *p, size_t i) {
  return p != NULL && i < p->count && p->nodes[i].kind == HD_NODE_FN
             ? hd__plan_what(p, i)
             : NULL;
}

hd_node_kind hd_plan_node_kind(const hd_plan *p, size_t i) {
  return p != NULL && i < p->count ? (hd_node_kind)p->nodes[i].kind
                                   : (hd_node_kind)0;
}

size_t hd_plan_node_argv(const hd_plan *p, size_t i, const char **words,
                         size_t cap) {
  if (p == NULL || i >= p->count || p->nodes[i].kind != HD_NODE_ARGV)
    return 0;
  const hd__pio *io = hd__plan_io(p, i);
  if (io == NULL)
    return 0;
  for (uint32_t k = 0; words != NULL && k < io->argc && k < cap; k++)
    words[k] = hd__plan_list(p, io->argv, k);
  return io->argc;
}

size_t hd_plan_node_preds(const hd_plan *p, size_t i, uint32_t *preds,
                          size_t cap) {
  if (p == NULL || i >= p->count)
    return 0;
  hd__preds it;
  size_t n = hd__preds_begin(p, i, &it);
  for (size_t k = 0; preds != NULL && k < cap && it.left > 0; k++)
    preds[k] = hd__preds_next(&it);
  return n;
}

size_t hd_plan_node_succs(const hd_plan *p, size_t i, const uint32_t **succs) {
  if (p == NULL || i >= p->count)
    return 0;
  if (succs != NULL)
    *succs = p->succs + p->succ_off[i];
  return p->succ_off[i + 1] - p->succ_off[i];
}

size_t hd_plan_node_level(const hd_plan *p, size_t i) {
  return p != NULL && i < p->count ? p->nodes[i].level : 0;
}

double hd_plan_node_bottom_level(const hd_plan *p, size_t i) {
  return p != NULL && i < p->count ? p->nodes[i].bottom : 0;
}

size_t hd_plan_level_width(const hd_plan *p, size_t level) {
  return p != NULL && level < p->depth ? p->level_width[level] : 0;
}

const uint32_t *hd_plan_order(const hd_plan *p) { return p ? p->order : NULL; }

size_t hd_plan_critical_path(const hd_plan *p, const uint32_t **path) {
  if (p == NULL)
    return 0;
  if (path != NULL)
    *path = p->critical;
  return p->critical_len;
}

double hd_plan_critical_cost(const hd_plan *p) {
  return p ? p->critical_cost : 0;
}
