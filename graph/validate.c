/* Graph validation: every problem in one pass. Cycle detection and cycle
 * paths come from igraph, which is not thread-safe in Debian's build and
 * aborts on error by default: every call is made under one lock, with our
 * own handlers installed for its duration and the caller's restored. */
#include <igraph.h>
#include <pthread.h>
#include <string.h>

#include "graph_internal.h"

static pthread_mutex_t igraph_lock = PTHREAD_MUTEX_INITIALIZER;
static char igraph_reason[256];

static void on_igraph_error(const char *reason, const char *file, int line,
                            igraph_error_t err) {
  snprintf(igraph_reason, sizeof(igraph_reason), "%s", reason);
  /* Frees igraph's temporaries and returns the error to the caller. */
  igraph_error_handler_ignore(reason, file, line, err);
}

static void on_igraph_warning(const char *reason, const char *file, int line) {
  (void)reason;
  (void)file;
  (void)line;
}

static int diag_at(hd_graph *g, const hd_node *n, const hd__dep *d, int code,
                   const char *fmt, ...) HD_PRINTF(5, 6);

/* A diagnostic at the node's origin, or at the dependency's when known. */
static int diag_at(hd_graph *g, const hd_node *n, const hd__dep *d, int code,
                   const char *fmt, ...) {
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  if (rc == HD_OK)
    rc = hd__diags_add(&g->diags, code, n->file,
                       d != NULL && d->line > 0 ? d->line : n->line,
                       d != NULL && d->line > 0 ? d->column : n->column,
                       n->name, "%s", b.data);
  hd__buf_cleanup(&b);
  return rc;
}

/* The closest node name to an unknown one, or NULL when none is close. */
static const char *suggest(const hd_graph *g, const char *name) {
  size_t limit = strlen(name) / 3 + 1;
  if (limit > 3)
    limit = 3;
  const char *best = NULL;
  size_t best_d = limit + 1;
  for (size_t i = 0; i < g->count; i++) {
    size_t d = hd__edit_distance(name, g->nodes[i]->name, limit);
    if (d < best_d) {
      best_d = d;
      best = g->nodes[i]->name;
    }
  }
  return best;
}

static int check_names_and_deps(hd_graph *g, size_t *edges) {
  int rc = HD_OK;
  *edges = 0;
  for (size_t i = 0; i < g->count && rc == HD_OK; i++) {
    hd_node *n = g->nodes[i];
    size_t first;
    if (hd__strmap_get(&g->names, n->name, &first) && first != i) {
      const hd_node *f = g->nodes[first];
      if (f->file != NULL && f->line > 0)
        rc = diag_at(g, n, NULL, HD_EGRAPH,
                     "duplicate task name '%s' (first declared at %s:%d:%d)",
                     n->name, f->file, f->line, f->column);
      else
        rc =
            diag_at(g, n, NULL, HD_EGRAPH, "duplicate task name '%s'", n->name);
    }
    for (size_t j = 0; j < n->ndeps && rc == HD_OK; j++) {
      hd__dep *d = &n->deps[j];
      if (d->name != NULL) {
        size_t idx;
        if (hd__strmap_get(&g->names, d->name, &idx)) {
          d->index = idx;
        } else {
          d->index = HD__NO_INDEX;
          const char *s = suggest(g, d->name);
          if (s != NULL)
            rc = diag_at(g, n, d, HD_EGRAPH,
                         "task '%s' depends on unknown task '%s'; did you "
                         "mean '%s'?",
                         n->name, d->name, s);
          else
            rc = diag_at(g, n, d, HD_EGRAPH,
                         "task '%s' depends on unknown task '%s'", n->name,
                         d->name);
          continue;
        }
      }
      if (d->index == i)
        rc =
            diag_at(g, n, d, HD_EGRAPH, "task '%s' depends on itself", n->name);
      else
        (*edges)++;
    }
  }
  return rc;
}

/* Report one cycle per strongly connected component that has one, as the
 * path u -> v -> ... -> u, starting at the component's first node. */
static int report_cycles(hd_graph *g, const igraph_t *ig) {
  igraph_vector_int_t memb, csize, path;
  igraph_integer_t ncomp = 0;
  int rc = HD_ENOMEM;
  if (igraph_vector_int_init(&memb, 0))
    return HD_ENOMEM;
  if (igraph_vector_int_init(&csize, 0))
    goto fail_memb;
  if (igraph_vector_int_init(&path, 0))
    goto fail_csize;
  if (igraph_connected_components(ig, &memb, &csize, &ncomp, IGRAPH_STRONG))
    goto fail;
  char *seen = hd__calloc((size_t)ncomp + 1, 1);
  if (seen == NULL)
    goto fail;
  rc = HD_OK;
  for (size_t u = 0; u < g->count && rc == HD_OK; u++) {
    igraph_integer_t c = VECTOR(memb)[u];
    if (VECTOR(csize)[c] < 2 || seen[c])
      continue;
    seen[c] = 1;
    /* u is the first node of its component: find an edge u -> v inside it
       (a dependent v of u), then the shortest path back from v to u. */
    size_t v = HD__NO_INDEX;
    for (size_t k = 0; k < g->count && v == HD__NO_INDEX; k++) {
      const hd_node *n = g->nodes[k];
      if (VECTOR(memb)[k] != c || k == u)
        continue;
      for (size_t j = 0; j < n->ndeps; j++)
        if (n->deps[j].index == u) {
          v = k;
          break;
        }
    }
    if (v == HD__NO_INDEX ||
        igraph_get_shortest_path(ig, &path, NULL, (igraph_integer_t)v,
                                 (igraph_integer_t)u, IGRAPH_OUT)) {
      rc = HD_EINTERNAL;
      break;
    }
    hd__buf b = {0};
    rc = hd__buf_appendf(&b, "dependency cycle: %s", g->nodes[u]->name);
    for (igraph_integer_t k = 0;
         rc == HD_OK && k < igraph_vector_int_size(&path); k++)
      rc = hd__buf_appendf(&b, " -> %s", g->nodes[VECTOR(path)[k]]->name);
    if (rc == HD_OK)
      rc = diag_at(g, g->nodes[u], NULL, HD_ECYCLE, "%s", b.data);
    hd__buf_cleanup(&b);
  }
  hd__free(seen);
fail:
  igraph_vector_int_destroy(&path);
fail_csize:
  igraph_vector_int_destroy(&csize);
fail_memb:
  igraph_vector_int_destroy(&memb);
  return rc;
}

static int check_cycles(hd_graph *g, size_t nedges) {
  igraph_vector_int_t ev;
  igraph_t ig;
  int rc = HD_ENOMEM;
  if (igraph_vector_int_init(&ev, (igraph_integer_t)(2 * nedges)))
    return HD_ENOMEM;
  size_t e = 0;
  for (size_t i = 0; i < g->count; i++) {
    const hd_node *n = g->nodes[i];
    for (size_t j = 0; j < n->ndeps; j++) {
      size_t d = n->deps[j].index;
      if (d == HD__NO_INDEX || d == i)
        continue;
      /* Edges point the way data flows: dependency -> dependent. */
      VECTOR(ev)[e++] = (igraph_integer_t)d;
      VECTOR(ev)[e++] = (igraph_integer_t)i;
    }
  }
  if (igraph_create(&ig, &ev, (igraph_integer_t)g->count, IGRAPH_DIRECTED))
    goto fail_ev;
  igraph_bool_t dag = 0;
  if (igraph_is_dag(&ig, &dag))
    goto fail_graph;
  rc = dag ? HD_OK : report_cycles(g, &ig);
fail_graph:
  igraph_destroy(&ig);
fail_ev:
  igraph_vector_int_destroy(&ev);
  return rc;
}

int hd_graph_validate(hd_graph *g) {
  if (g == NULL)
    return HD_EINVAL;
  hd__diags_clear(&g->diags);
  g->valid = 0;
  size_t nedges;
  int rc = check_names_and_deps(g, &nedges);
  if (rc != HD_OK)
    return rc;
  size_t before = g->diags.count;

  pthread_mutex_lock(&igraph_lock);
  igraph_error_handler_t *old_err = igraph_set_error_handler(on_igraph_error);
  igraph_warning_handler_t *old_warn =
      igraph_set_warning_handler(on_igraph_warning);
  rc = check_cycles(g, nedges);
  igraph_set_warning_handler(old_warn);
  igraph_set_error_handler(old_err);
  if (rc == HD_EINTERNAL)
    hd__diags_add(&g->diags, HD_EINTERNAL, NULL, 0, 0, NULL,
                  "graph analysis failed: %s", igraph_reason);
  pthread_mutex_unlock(&igraph_lock);
  if (rc != HD_OK)
    return rc;

  if (g->diags.count == 0) {
    g->valid = 1;
    return HD_OK;
  }
  return before == 0 ? HD_ECYCLE : HD_EGRAPH;
}
