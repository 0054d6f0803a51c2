/* Compiling a validated graph into a plan of contiguous arrays. */
#include <string.h>

#include "graph_internal.h"

/* A binary min-heap of node indices, so that among ready nodes the one
 * declared first comes first and the order is stable. */
static void heap_push(uint32_t *h, size_t *n, uint32_t v) {
  size_t i = (*n)++;
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (h[parent] <= v)
      break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = v;
}

static uint32_t heap_pop(uint32_t *h, size_t *n) {
  uint32_t top = h[0], last = h[--(*n)];
  size_t i = 0;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= *n)
      break;
    if (c + 1 < *n && h[c + 1] < h[c])
      c++;
    if (last <= h[c])
      break;
    h[i] = h[c];
    i = c;
  }
  if (*n > 0)
    h[i] = last;
  return top;
}

static const char *copy_str(char **sp, const char *s) {
  size_t len = strlen(s) + 1;
  char *d = *sp;
  memcpy(d, s, len);
  *sp += len;
  return d;
}

int hd__plan_build(const hd_graph *g, hd__plan **out) {
  if (g == NULL || out == NULL || !g->valid)
    return HD_EGRAPH;
  size_t n = g->count;
  if (n >= UINT32_MAX)
    return HD_ENOMEM;
  size_t nedges = 0;
  for (size_t i = 0; i < n; i++)
    nedges += g->nodes[i]->ndeps;
  if (nedges >= UINT32_MAX)
    return HD_ENOMEM;
  size_t nparams = 0, nbytes = 0;
  for (size_t i = 0; i < n; i++) {
    const hd_node *nd = g->nodes[i];
    nbytes += strlen(nd->name) + 1;
    nbytes += strlen(nd->kind == HD_NODE_CMD ? nd->cmd : nd->fn) + 1;
    nparams += nd->nparams;
    for (size_t j = 0; j < nd->nparams; j++)
      nbytes += strlen(nd->params[j].key) + strlen(nd->params[j].value) + 2;
  }

  int rc = HD_ENOMEM;
  hd__plan *p = hd__calloc(1, sizeof(*p));
  uint32_t *indeg = hd__calloc(n + 1, sizeof(uint32_t));
  uint32_t *heap = hd__calloc(n + 1, sizeof(uint32_t));
  if (p == NULL || indeg == NULL || heap == NULL)
    goto fail;
  p->count = n;
  p->order = hd__calloc(n + 1, sizeof(uint32_t));
  p->pred_off = hd__calloc(n + 1, sizeof(uint32_t));
  p->preds = hd__calloc(nedges + 1, sizeof(uint32_t));
  p->succ_off = hd__calloc(n + 1, sizeof(uint32_t));
  p->succs = hd__calloc(nedges + 1, sizeof(uint32_t));
  p->nodes = hd__calloc(n + 1, sizeof(hd__pnode));
  p->params = hd__calloc(2 * nparams + 1, sizeof(char *));
  p->strings = hd__malloc(nbytes + 1);
  if (!p->order || !p->pred_off || !p->preds || !p->succ_off || !p->succs ||
      !p->nodes || !p->params || !p->strings)
    goto fail;

  char *sp = p->strings;
  size_t pi = 0;
  for (size_t i = 0; i < n; i++) {
    const hd_node *nd = g->nodes[i];
    hd__pnode *pn = &p->nodes[i];
    pn->kind = nd->kind;
    pn->name = copy_str(&sp, nd->name);
    if (nd->kind == HD_NODE_CMD)
      pn->cmd = copy_str(&sp, nd->cmd);
    else
      pn->fn = copy_str(&sp, nd->fn);
    pn->param_off = (uint32_t)pi;
    pn->nparams = (uint32_t)nd->nparams;
    for (size_t j = 0; j < nd->nparams; j++) {
      p->params[2 * pi] = copy_str(&sp, nd->params[j].key);
      p->params[2 * pi + 1] = copy_str(&sp, nd->params[j].value);
      pi++;
    }
  }

  /* Predecessors in declaration order; successors counted per node. */
  size_t e = 0;
  for (size_t i = 0; i < n; i++) {
    const hd_node *nd = g->nodes[i];
    p->pred_off[i] = (uint32_t)e;
    for (size_t j = 0; j < nd->ndeps; j++) {
      size_t d = nd->deps[j].index;
      /* Two names can resolve to the same node: keep one edge. */
      int dup = 0;
      for (size_t k = p->pred_off[i]; k < e; k++)
        if (p->preds[k] == d)
          dup = 1;
      if (dup)
        continue;
      p->preds[e++] = (uint32_t)d;
      p->succ_off[d + 1]++;
    }
    indeg[i] = (uint32_t)(e - p->pred_off[i]);
  }
  p->pred_off[n] = (uint32_t)e;
  for (size_t i = 0; i < n; i++)
    p->succ_off[i + 1] += p->succ_off[i];
  /* Fill successors in node order using indeg-free cursors. */
  uint32_t *cursor = heap; /* reused as scratch before the sort */
  memcpy(cursor, p->succ_off, n * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++)
    for (uint32_t k = p->pred_off[i]; k < p->pred_off[i + 1]; k++)
      p->succs[cursor[p->preds[k]]++] = (uint32_t)i;

  size_t hn = 0, done = 0;
  for (size_t i = 0; i < n; i++)
    if (indeg[i] == 0)
      heap_push(heap, &hn, (uint32_t)i);
  while (hn > 0) {
    uint32_t v = heap_pop(heap, &hn);
    p->order[done++] = v;
    for (uint32_t k = p->succ_off[v]; k < p->succ_off[v + 1]; k++)
      if (--indeg[p->succs[k]] == 0)
        heap_push(heap, &hn, p->succs[k]);
  }
  if (done != n) {
    rc = HD_EGRAPH; /* cannot happen on a validated graph */
    goto fail;
  }
  hd__free(indeg);
  hd__free(heap);
  *out = p;
  return HD_OK;
fail:
  hd__free(indeg);
  hd__free(heap);
  hd__plan_free(p);
  return rc;
}
