/* Compiling a validated graph into a plan: templates are expanded, command
 * placeholders substituted, settings deduplicated, dependencies laid out
 * in CSR form both ways, and the plan analysed (levels, bottom levels, the
 * critical path). Everything is O(nodes + edges) after expansion. */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"

/* An expansion's view of its node's params, for substitution. */
typedef struct expansion {
  const hd_node *n;
  size_t *pick; /* per list param, the index of the item */
} expansion;

static const char *expansion_lookup(const char *name, size_t len, void *ctx) {
  const expansion *x = ctx;
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

/* Pick the items of expansion j: zip takes the j-th of each list; product
 * counts in mixed radix, the first list varying slowest. */
static void pick_items(const hd_node *n, size_t j, size_t *pick) {
  if (n->fanout == HD_FANOUT_ZIP) {
    for (size_t i = 0; i < n->nlists; i++)
      pick[i] = j;
    return;
  }
  for (size_t i = n->nlists; i-- > 0;) {
    pick[i] = j % n->lists[i].count;
    j /= n->lists[i].count;
  }
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
  hd__strmap settings_seen; /* settings bytes -> index */
} builder;

static int add_string(builder *b, const char *s, size_t len, uint32_t *off) {
  if (b->strings.len + len + 1 > UINT32_MAX)
    return HD_ETOOBIG;
  *off = (uint32_t)b->strings.len;
  int rc = hd__buf_append(&b->strings, s, len);
  if (rc == HD_OK)
    rc = hd__buf_append(&b->strings, "", 1);
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
  s.timeout_ns = n->timeout_ns;
  s.mem = n->mem;
  s.retries = n->retries;
  s.cpus = n->cpus;
  s.priority = n->priority;
  s.cache = (uint32_t)n->cache;
  /* Neighbours usually share their settings: no hashing then. */
  if (b->last_index != UINT32_MAX && memcmp(&s, &b->last, sizeof(s)) == 0) {
    *out = b->last_index;
    return HD_OK;
  }
  b->last = s;
  char key[64];
  snprintf(key, sizeof(key), "%llx/%llx/%x/%x/%x/%x",
           (unsigned long long)s.timeout_ns, (unsigned long long)s.mem,
           s.retries, s.cpus, (unsigned)s.priority, s.cache);
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

/* The plan nodes of graph node i: base[i] .. base[i + 1]. */
static int make_nodes(builder *b, const hd_graph *g, const uint32_t *base) {
  hd__plan *p = b->p;
  int rc = HD_OK;
  size_t maxlists = 1;
  for (size_t i = 0; i < g->count; i++)
    if (g->nodes[i]->nlists > maxlists)
      maxlists = g->nodes[i]->nlists;
  size_t *pick = hd__calloc(maxlists, sizeof(size_t));
  hd__buf tmp = {0};
  if (pick == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < g->count && rc == HD_OK; i++) {
    const hd_node *n = g->nodes[i];
    uint32_t settings;
    rc = settings_index(b, n, &settings);
    for (uint32_t j = 0; rc == HD_OK && j < base[i + 1] - base[i]; j++) {
      hd__pnode *pn = &p->nodes[base[i] + j];
      pn->kind = (uint8_t)n->kind;
      pn->settings = settings;
      pick_items(n, j, pick);
      expansion x = {n, pick};
      /* The name: NAME, or NAME[k=v,...] for an expansion. */
      tmp.len = 0;
      rc = hd__buf_append(&tmp, n->name, strlen(n->name));
      for (size_t k = 0; rc == HD_OK && k < n->nlists; k++)
        rc = hd__buf_appendf(&tmp, "%s%s=%s", k ? "," : "[", n->lists[k].key,
                             n->lists[k].values[pick[k]]);
      if (rc == HD_OK && n->nlists > 0)
        rc = hd__buf_append(&tmp, "]", 1);
      if (rc == HD_OK)
        rc = add_string(b, tmp.data, tmp.len, &pn->name);
      /* What it runs: the command with its placeholders replaced. */
      if (rc == HD_OK && n->kind == HD_NODE_CMD) {
        tmp.len = 0;
        rc = hd__template_render(&tmp, n->cmd, expansion_lookup, &x);
        if (rc == HD_OK)
          rc = add_string(b, tmp.data, tmp.len, &pn->what);
      } else if (rc == HD_OK && b->last_what != NULL &&
                 strcmp(b->last_what, n->fn) == 0) {
        pn->what = b->last_what_off; /* one copy of a repeated name */
      } else if (rc == HD_OK) {
        rc = add_string(b, n->fn, strlen(n->fn), &pn->what);
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

/* Predecessors in declaration order, a dependency on a template standing
 * for all its expansions in expansion order; duplicates collapse to their
 * first place. mark[] remembers, per graph node, the last node that listed
 * it. */
static int make_edges(hd__plan *p, const hd_graph *g, const uint32_t *base) {
  size_t n = p->count;
  uint32_t *mark = hd__malloc((g->count + 1) * sizeof(uint32_t));
  if (mark == NULL)
    return HD_ENOMEM;
  memset(mark, 0xff, (g->count + 1) * sizeof(uint32_t));
  /* First pass: count the edges of one expansion of each graph node. */
  uint64_t total = 0;
  for (size_t i = 0; i < g->count; i++) {
    const hd_node *nd = g->nodes[i];
    uint64_t per = 0;
    for (size_t j = 0; j < nd->ndeps; j++) {
      size_t d = nd->deps[j].index;
      if (mark[d] == i)
        continue;
      mark[d] = (uint32_t)i;
      per += base[d + 1] - base[d];
    }
    total += per * (base[i + 1] - base[i]);
  }
  if (total >= INT32_MAX) {
    hd__free(mark);
    return HD_ETOOBIG;
  }
  p->nedges = (size_t)total;
  p->preds = hd__malloc((p->nedges + 1) * sizeof(uint32_t));
  p->succs = hd__malloc((p->nedges + 1) * sizeof(uint32_t));
  if (p->preds == NULL || p->succs == NULL) {
    hd__free(mark);
    return HD_ENOMEM;
  }
  memset(mark, 0xff, (g->count + 1) * sizeof(uint32_t));
  size_t e = 0;
  for (size_t i = 0; i < g->count; i++) {
    const hd_node *nd = g->nodes[i];
    size_t first = e;
    for (size_t j = 0; j < nd->ndeps; j++) {
      size_t d = nd->deps[j].index;
      if (mark[d] == i)
        continue;
      mark[d] = (uint32_t)i;
      for (uint32_t k = base[d]; k < base[d + 1]; k++)
        p->preds[e++] = k;
    }
    size_t per = e - first;
    p->pred_off[base[i]] = (uint32_t)first;
    /* Every expansion has the same predecessors: copy the first's. */
    for (uint32_t x = base[i] + 1; x < base[i + 1]; x++) {
      p->pred_off[x] = (uint32_t)e;
      memcpy(p->preds + e, p->preds + first, per * sizeof(uint32_t));
      e += per;
    }
  }
  p->pred_off[n] = (uint32_t)e;
  hd__free(mark);
  /* Successors: count, prefix sums, fill in node order. */
  for (size_t i = 0; i < n; i++)
    for (uint32_t k = p->pred_off[i]; k < p->pred_off[i + 1]; k++)
      p->succ_off[p->preds[k] + 1]++;
  for (size_t i = 0; i < n; i++)
    p->succ_off[i + 1] += p->succ_off[i];
  uint32_t *cursor = hd__malloc((n + 1) * sizeof(uint32_t));
  if (cursor == NULL)
    return HD_ENOMEM;
  memcpy(cursor, p->succ_off, (n + 1) * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++)
    for (uint32_t k = p->pred_off[i]; k < p->pred_off[i + 1]; k++)
      p->succs[cursor[p->preds[k]]++] = (uint32_t)i;
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
    indeg[i] = p->pred_off[i + 1] - p->pred_off[i];
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
  uint64_t total = 0;
  for (size_t i = 0; i < g->count; i++) {
    base[i] = (uint32_t)total;
    total += hd__node_expansions(g->nodes[i]);
    if (total >= INT32_MAX) {
      rc = HD_ETOOBIG;
      goto fail;
    }
  }
  base[g->count] = (uint32_t)total;
  /* Names and commands, for one allocation of the string block in the
     common case (expansions grow it further). */
  size_t guess = 1;
  for (size_t i = 0; i < g->count; i++)
    guess +=
        strlen(g->nodes[i]->name) + 2 +
        (g->nodes[i]->kind == HD_NODE_CMD ? strlen(g->nodes[i]->cmd) + 1 : 0);
  if ((b.strings.data = hd__malloc(guess + 1)) == NULL)
    goto fail;
  b.strings.cap = guess + 1;
  b.strings.data[0] = '\0';
  size_t n = p->count = (size_t)total;
  p->nodes = hd__calloc(n + 1, sizeof(hd__pnode));
  p->order = hd__malloc((n + 1) * sizeof(uint32_t));
  p->pred_off = hd__malloc((n + 1) * sizeof(uint32_t));
  p->succ_off = hd__calloc(n + 2, sizeof(uint32_t));
  costs = hd__malloc((n + 1) * sizeof(float));
  if (!p->nodes || !p->order || !p->pred_off || !p->succ_off || !costs)
    goto fail;
  for (size_t i = 0; i < g->count; i++)
    for (uint32_t x = base[i]; x < base[i + 1]; x++)
      costs[x] = (float)g->nodes[i]->cost;
  if ((rc = make_nodes(&b, g, base)) != HD_OK ||
      (rc = make_edges(p, g, base)) != HD_OK ||
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
  hd__free(base);
  hd__free(costs);
  *out = p;
  return HD_OK;
fail:
  hd__buf_cleanup(&b.strings);
  hd__strmap_cleanup(&b.settings_seen);
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
  int rc = hd_graph_validate(g);
  if (rc != HD_OK)
    return rc;
  return hd__plan_build(g, out);
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

size_t hd_plan_node_preds(const hd_plan *p, size_t i, const uint32_t **preds) {
  if (p == NULL || i >= p->count)
    return 0;
  if (preds != NULL)
    *preds = p->preds + p->pred_off[i];
  return p->pred_off[i + 1] - p->pred_off[i];
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
