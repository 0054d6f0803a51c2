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

static int diag_at(hd_graph *g, const hd_node *n, const hd__depat *d, int code,
                   const char *fmt, ...) HD_PRINTF(5, 6);

/* A diagnostic at the node's origin, or at the dependency's when known. */
static int diag_at(hd_graph *g, const hd_node *n, const hd__depat *d, int code,
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

/* Names and dependencies resolved and checked; *edges counts the
 * dependencies, and *forward is set when one points to a node added after
 * its own (otherwise the graph is in a topological order already: no
 * cycle is possible). */
static int check_names_and_deps(hd_graph *g, size_t *edges, int *forward) {
  int rc = hd__graph_names(g);
  *edges = 0;
  *forward = 0;
  for (size_t i = 0; i < g->count && rc == HD_OK; i++) {
    hd_node *n = g->nodes[i];
    size_t first;
    if (n->duplicate && hd__idxmap_get(&g->names, n->name, &first) &&
        first != i) {
      const hd_node *f = g->nodes[first];
      if (f->file != NULL && f->line > 0)
        rc = diag_at(g, n, NULL, HD_EGRAPH,
                     "duplicate task name '%s' (first declared at %s:%d:%d)",
                     n->name, f->file, f->line, f->column);
      else
        rc =
            diag_at(g, n, NULL, HD_EGRAPH, "duplicate task name '%s'", n->name);
    }
    if (n->io != NULL && n->io->stdin_dep.name != NULL) {
      size_t idx;
      n->io->stdin_dep.index =
          hd__idxmap_get(&g->names, n->io->stdin_dep.name, &idx) ? idx
                                                                 : HD__NO_INDEX;
    }
    for (size_t j = 0; j < n->ndeps && rc == HD_OK; j++) {
      hd__dep *d = &n->deps[j];
      const char *dname = hd__dep_name(g, d);
      if (dname != NULL) {
        size_t idx;
        if (hd__idxmap_get(&g->names, dname, &idx)) {
          d->index = (uint32_t)idx;
        } else {
          d->index = HD__DEP_NONE;
          const char *s = suggest(g, dname);
          if (s != NULL)
            rc = diag_at(g, n, hd__dep_at(g, d), HD_EGRAPH,
                         "task '%s' depends on unknown task '%s'; did you "
                         "mean '%s'?",
                         n->name, dname, s);
          else
            rc = diag_at(g, n, hd__dep_at(g, d), HD_EGRAPH,
                         "task '%s' depends on unknown task '%s'", n->name,
                         dname);
          continue;
        }
      }
      if (d->index == i)
        rc = diag_at(g, n, hd__dep_at(g, d), HD_EGRAPH,
                     "task '%s' depends on itself", n->name);
      else
        (*edges)++;
      if (d->index > i)
        *forward = 1;
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
        if (hd__dep_index(&n->deps[j]) == u) {
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

/* The expansions of n, saturating at UINT64_MAX. */
static uint64_t expansions64(const hd_node *n) {
  if (n->nlists == 0)
    return 1;
  if (hd__node_settings(n)->fanout == HD_FANOUT_ZIP)
    return n->lists[0].count;
  uint64_t total = 1;
  for (size_t i = 0; i < n->nlists; i++) {
    uint64_t c = n->lists[i].count;
    if (c != 0 && total > UINT64_MAX / c)
      return UINT64_MAX;
    total *= c;
  }
  return total;
}

size_t hd__node_expansions(const hd_node *n) {
  uint64_t e = expansions64(n);
  return e > HD__MAX_EXPANSIONS ? HD__NO_INDEX : (size_t)e;
}

typedef struct tmpl_check {
  hd_graph *g;
  const hd_node *n;
  const hd__tstr *where; /* the string checked */
  const char *field;     /* its name in messages */
  int files;             /* {inputs}, {outputs} and {after.X} allowed */
  size_t at;             /* the offset of the placeholder checked */
  int rc;
} tmpl_check;

static int has_key(const hd_node *n, const char *name, size_t len) {
  for (size_t i = 0; i < n->nparams; i++)
    if (strlen(n->params[i].key) == len &&
        memcmp(n->params[i].key, name, len) == 0)
      return 1;
  for (size_t i = 0; i < n->nlists; i++)
    if (strlen(n->lists[i].key) == len &&
        memcmp(n->lists[i].key, name, len) == 0)
      return 1;
  return 0;
}

static int list_has_key(const hd_node *n, const char *key) {
  for (size_t i = 0; i < n->nlists; i++)
    if (strcmp(n->lists[i].key, key) == 0)
      return 1;
  return 0;
}

static void tmpl_diag(tmpl_check *c, const char *fmt, ...) HD_PRINTF(2, 3);
static void tmpl_diag(tmpl_check *c, const char *fmt, ...) {
  if (c->rc != HD_OK)
    return;
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  const char *file;
  int line, column;
  hd__tstr_pos(c->n, c->where, &file, &line, &column);
  if (c->where->line > 0 && c->where->shift >= 0) {
    column += c->where->shift + (int)c->at;
  } else if (c->where->line > 0 && c->where->shift == HD__SHIFT_LINES) {
    size_t from = 0;
    for (size_t k = 0; k < c->at; k++)
      if (c->where->s[k] == '\n') {
        line++;
        from = k + 1;
      }
    column += (int)(c->at - from);
  }
  if (rc == HD_OK)
    rc = hd__diags_add(&c->g->diags, HD_EGRAPH, file, line, column, c->n->name,
                       "%s", b.data);
  hd__buf_cleanup(&b);
  c->rc = rc;
}

static const char *closest_key(const hd_node *n, const char *key) {
  const char *best = NULL;
  size_t best_d = 3;
  for (size_t i = 0; i < n->nparams + n->nlists; i++) {
    const char *k =
        i < n->nparams ? n->params[i].key : n->lists[i - n->nparams].key;
    size_t d = hd__edit_distance(key, k, 2);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

/* The dependency of n named name (len bytes), or NULL. */
static const hd_node *dep_named(const hd_graph *g, const hd_node *n,
                                const char *name, size_t len) {
  for (size_t j = 0; j < n->ndeps; j++) {
    size_t d = hd__dep_index(&n->deps[j]);
    if (d == HD__NO_INDEX || d >= g->count)
      continue;
    const hd_node *dn = g->nodes[d];
    if (strlen(dn->name) == len && memcmp(dn->name, name, len) == 0)
      return dn;
  }
  return NULL;
}

/* The values of d's keys in one expansion of node x (its items pick),
 * each as LENGTH:VALUE, in d's order of keys. */
static int after_tuple(hd__buf *b, const hd_node *d, const hd_node *x,
                       const size_t *pick) {
  b->len = 0;
  int rc = HD_OK;
  for (size_t k = 0; k < d->nlists && rc == HD_OK; k++)
    for (size_t i = 0; i < x->nlists; i++)
      if (strcmp(x->lists[i].key, d->lists[k].key) == 0) {
        const char *v = x->lists[i].values[pick[i]];
        rc = hd__buf_appendf(b, "%zu:%s", strlen(v), v);
        break;
      }
  return rc == HD_OK ? hd__buf_append(b, "", 1) : rc;
}

/* {after.D} of a fanned-out D names one file per expansion of n: each
 * must have one expansion of D with its values (found at run time, it
 * failed there: "an upstream result file is missing"). */
static void check_after_matches(tmpl_check *c, const hd_node *d,
                                const char *text) {
  const hd_node *n = c->n;
  size_t nd = hd__node_expansions(d), nn = hd__node_expansions(n);
  if (nd == HD__NO_INDEX || nn == HD__NO_INDEX)
    return; /* reported elsewhere */
  size_t most = d->nlists > n->nlists ? d->nlists : n->nlists;
  size_t *pick = hd__calloc(most + 1, sizeof(size_t));
  hd__strmap have = {0};
  hd__buf key = {0};
  int rc = pick != NULL ? HD_OK : HD_ENOMEM;
  for (size_t j = 0; j < nd && rc == HD_OK; j++) {
    hd__node_pick(d, j, pick);
    if ((rc = after_tuple(&key, d, d, pick)) == HD_OK)
      rc = hd__strmap_put(&have, key.data, j);
  }
  for (size_t j = 0; j < nn && rc == HD_OK; j++) {
    size_t at;
    hd__node_pick(n, j, pick);
    if ((rc = after_tuple(&key, d, n, pick)) != HD_OK ||
        hd__strmap_get(&have, key.data, &at))
      continue;
    hd__buf name = {0};
    if ((rc = hd__expansion_name(n, pick, &name)) == HD_OK)
      tmpl_diag(c,
                "task '%s' uses {%s} in its %s, but its expansion '%s' "
                "matches no expansion of '%s' (none has its values)",
                n->name, text, c->field, name.data, d->name);
    hd__buf_cleanup(&name);
    break;
  }
  if (rc == HD_ENOMEM && c->rc == HD_OK)
    c->rc = HD_ENOMEM;
  hd__free(pick);
  hd__strmap_cleanup(&have);
  hd__buf_cleanup(&key);
}

static void check_after(tmpl_check *c, const hd__ph *ph, const char *text) {
  const hd_node *n = c->n;
  const hd_node *d = dep_named(c->g, n, ph->name, ph->len);
  if (d == NULL) {
    tmpl_diag(c,
              "task '%s' uses {%s} in its %s, but '%.*s' is not among its "
              "dependencies ('after')",
              n->name, text, c->field, (int)ph->len, ph->name);
    return;
  }
  /* A fanned-out dependency has one file per expansion: the expansions
     of n must each match exactly one, by sharing every key. */
  for (size_t k = 0; k < d->nlists; k++)
    if (!list_has_key(n, d->lists[k].key)) {
      tmpl_diag(c,
                "task '%s' uses {%s} in its %s, but '%s' fans out over "
                "'%s' into several tasks; name a file per expansion only "
                "when '%s' fans out over '%s' too",
                n->name, text, c->field, d->name, d->lists[k].key, n->name,
                d->lists[k].key);
      return;
    }
  if (d->nlists > 0)
    check_after_matches(c, d, text);
}

static int check_placeholder(const hd__ph *ph, void *ctx) {
  tmpl_check *c = ctx;
  const hd_node *n = c->n;
  c->at = ph->start;
  char text[160];
  snprintf(text, sizeof(text), "%.*s",
           (int)(ph->end - ph->start - 2 < 150 ? ph->end - ph->start - 2 : 150),
           c->where->s + ph->start + 1);
  if (ph->mod != NULL) {
    tmpl_diag(c,
              "task '%s' uses {%s} in its %s: unknown modifier ':%.*s' (the "
              "only one is ':raw')",
              n->name, text, c->field, (int)ph->modlen, ph->mod);
    return 0;
  }
  switch (ph->kind) {
  case HD__PH_PARAM: {
    if (has_key(n, ph->name, ph->len))
      return 0;
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(ph->len < 100 ? ph->len : 100),
             ph->name);
    const char *best = closest_key(n, key);
    if (best != NULL)
      tmpl_diag(c,
                "task '%s' uses {%s} in its %s but has no param '%s'; did "
                "you mean '%s'?",
                n->name, text, c->field, key, best);
    else
      tmpl_diag(c,
                "task '%s' uses {%s} in its %s but has no param '%s' (write "
                "{{%s}} for a literal {%s})",
                n->name, text, c->field, key, key, key);
    return 0;
  }
  case HD__PH_INPUTS:
  case HD__PH_OUTPUTS: {
    const hd__nodeio *io = hd__node_io(n);
    const hd__tstrs *l = ph->kind == HD__PH_INPUTS ? &io->inputs : &io->outputs;
    const char *what = ph->kind == HD__PH_INPUTS ? "inputs" : "outputs";
    if (!c->files)
      tmpl_diag(c, "{%s} cannot be used in the %s of task '%s'", text, c->field,
                n->name);
    else if (l->count == 0)
      tmpl_diag(c, "task '%s' uses {%s} in its %s but declares no %s", n->name,
                text, c->field, what);
    else if (ph->index >= 0 && (size_t)ph->index >= l->count)
      tmpl_diag(c,
                "task '%s' uses {%s} in its %s but has %zu %s (numbered "
                "from 0)",
                n->name, text, c->field, l->count, what);
    return 0;
  }
  case HD__PH_AFTER:
    if (!c->files)
      tmpl_diag(c, "{%s} cannot be used in the %s of task '%s'", text, c->field,
                n->name);
    else
      check_after(c, ph, text);
    return 0;
  default:
    tmpl_diag(c,
              "task '%s' uses {%s} in its %s: unknown placeholder (write "
              "{{%s}} for literal braces)",
              n->name, text, c->field, text);
    return 0;
  }
}

static int check_tstr(hd_graph *g, const hd_node *n, const hd__tstr *t,
                      const char *field, int files) {
  tmpl_check c = {g, n, t, field, files, 0, HD_OK};
  hd__template_each(t->s, check_placeholder, &c);
  return c.rc;
}

static int check_templates(hd_graph *g, const hd_node *n) {
  int rc = HD_OK;
  if (n->unchecked)
    return HD_OK;
  const hd__nodeio *io = hd__node_io(n);
  if (n->kind == HD_NODE_CMD) {
    hd__tstr cmd = {(char *)n->cmd, io->cmd_line, io->cmd_column,
                    io->cmd_shift};
    rc = check_tstr(g, n, &cmd, "command", 1);
  }
  for (size_t i = 0; rc == HD_OK && i < io->argv.count; i++)
    rc = check_tstr(g, n, &io->argv.items[i], "argv", 1);
  for (size_t i = 0; rc == HD_OK && i < io->env.count; i++)
    rc = check_tstr(g, n, &io->env.items[i], "env", 0);
  if (rc == HD_OK && io->workdir.s != NULL)
    rc = check_tstr(g, n, &io->workdir, "workdir", 0);
  for (size_t i = 0; rc == HD_OK && i < io->inputs.count; i++)
    rc = check_tstr(g, n, &io->inputs.items[i], "inputs", 0);
  for (size_t i = 0; rc == HD_OK && i < io->outputs.count; i++)
    rc = check_tstr(g, n, &io->outputs.items[i], "outputs", 0);
  return rc;
}

/* Expansions are named after their values: a value with a control
 * character would make a name no line can show, and values holding ','
 * or '=' (or the same value twice in a list) can make two expansions of
 * one name, whose results and logs would overwrite each other. */
static int check_expansion_names(hd_graph *g, const hd_node *n) {
  for (size_t k = 0; k < n->nlists; k++)
    for (size_t i = 0; i < n->lists[k].count; i++)
      if (hd__has_control(n->lists[k].values[i]))
        return diag_at(
            g, n, &(hd__depat){NULL, n->lists[k].line, n->lists[k].column},
            HD_EGRAPH,
            "item %zu of list '%s' of task '%s' holds a control character "
            "(expansions are named after their items)",
            i + 1, n->lists[k].key, n->name);
  size_t count = hd__node_expansions(n);
  if (count == HD__NO_INDEX)
    return HD_OK; /* reported above */
  hd__strmap seen = {0};
  hd__buf name = {0};
  size_t *pick = hd__calloc(n->nlists, sizeof(size_t));
  int rc = pick == NULL || hd__strmap_reserve(&seen, count) != HD_OK ? HD_ENOMEM
                                                                     : HD_OK;
  for (size_t j = 0; rc == HD_OK && j < count; j++) {
    hd__node_pick(n, j, pick);
    size_t first;
    if ((rc = hd__expansion_name(n, pick, &name)) != HD_OK)
      break;
    rc = hd__strmap_add(&seen, name.data, j);
    if (rc == HD_EEXIST && hd__strmap_get(&seen, name.data, &first)) {
      rc = diag_at(
          g, n, &(hd__depat){NULL, n->lists[0].line, n->lists[0].column},
          HD_EGRAPH,
          "task '%s' expands into two tasks named '%s' (expansions %zu and "
          "%zu): each expansion needs a name of its own",
          n->name, name.data, first + 1, j + 1);
      break;
    }
  }
  hd__free(pick);
  hd__buf_cleanup(&name);
  hd__strmap_cleanup(&seen);
  return rc;
}

static int check_params(hd_graph *g) {
  int rc = HD_OK;
  for (size_t i = 0; i < g->count && rc == HD_OK; i++) {
    const hd_node *n = g->nodes[i];
    for (size_t k = 0; k < n->nlists && rc == HD_OK; k++)
      if (hd_node_param(n, n->lists[k].key) != NULL)
        rc = diag_at(
            g, n, &(hd__depat){NULL, n->lists[k].line, n->lists[k].column},
            HD_EGRAPH, "param '%s' of task '%s' is both a value and a list",
            n->lists[k].key, n->name);
    if (hd__node_settings(n)->fanout == HD_FANOUT_ZIP && n->nlists > 1) {
      int equal = 1;
      for (size_t k = 1; k < n->nlists; k++)
        equal &= n->lists[k].count == n->lists[0].count;
      if (!equal && rc == HD_OK) {
        hd__buf b = {0};
        rc = hd__buf_appendf(
            &b, "task '%s' zips lists of different lengths:", n->name);
        for (size_t k = 0; k < n->nlists && rc == HD_OK; k++)
          rc = hd__buf_appendf(&b, "%s %s has %zu", k ? "," : "",
                               n->lists[k].key, n->lists[k].count);
        hd__depat at = {NULL, n->lists[0].line, n->lists[0].column};
        if (rc == HD_OK)
          rc = diag_at(g, n, &at, HD_EGRAPH, "%s", b.data);
        hd__buf_cleanup(&b);
      }
    } else if (hd__node_expansions(n) == HD__NO_INDEX && rc == HD_OK) {
      uint64_t e = expansions64(n);
      hd__depat at = {NULL, n->lists[0].line, n->lists[0].column};
      if (e == UINT64_MAX)
        rc = diag_at(g, n, &at, HD_EGRAPH,
                     "task '%s' expands into more tasks than hodos plans (at "
                     "most %u per task)",
                     n->name, HD__MAX_EXPANSIONS);
      else
        rc = diag_at(g, n, &at, HD_EGRAPH,
                     "task '%s' expands into %llu tasks, more than hodos "
                     "plans (at most %u per task)",
                     n->name, (unsigned long long)e, HD__MAX_EXPANSIONS);
    }
    if (rc == HD_OK && n->nlists > 0)
      rc = check_expansion_names(g, n);
    if (rc == HD_OK)
      rc = check_templates(g, n);
  }
  return rc;
}

/* Kahn's algorithm over the resolved dependencies: fast, and enough to
 * know whether the graph is acyclic. Returns HD_OK (acyclic), HD_ECYCLE or
 * HD_ENOMEM. */
static int is_acyclic(const hd_graph *g, size_t nedges) {
  size_t n = g->count;
  uint32_t *off = hd__calloc(n + 2, sizeof(uint32_t));
  uint32_t *succ = hd__calloc(nedges + 1, sizeof(uint32_t));
  uint32_t *indeg = hd__calloc(n + 1, sizeof(uint32_t));
  uint32_t *queue = hd__calloc(n + 1, sizeof(uint32_t));
  int rc = HD_ENOMEM;
  if (off == NULL || succ == NULL || indeg == NULL || queue == NULL)
    goto out;
  for (size_t i = 0; i < n; i++) {
    const hd_node *nd = g->nodes[i];
    for (size_t j = 0; j < nd->ndeps; j++) {
      size_t d = hd__dep_index(&nd->deps[j]);
      if (d == HD__NO_INDEX || d == i)
        continue;
      off[d + 2]++;
      indeg[i]++;
    }
  }
  for (size_t i = 0; i < n; i++)
    off[i + 2] += off[i + 1];
  for (size_t i = 0; i < n; i++) {
    const hd_node *nd = g->nodes[i];
    for (size_t j = 0; j < nd->ndeps; j++) {
      size_t d = hd__dep_index(&nd->deps[j]);
      if (d != HD__NO_INDEX && d != i)
        succ[off[d + 1]++] = (uint32_t)i;
    }
  }
  size_t head = 0, tail = 0;
  for (size_t i = 0; i < n; i++)
    if (indeg[i] == 0)
      queue[tail++] = (uint32_t)i;
  while (head < tail) {
    uint32_t u = queue[head++];
    for (uint32_t k = off[u]; k < off[u + 1]; k++)
      if (--indeg[succ[k]] == 0)
        queue[tail++] = succ[k];
  }
  rc = tail == n ? HD_OK : HD_ECYCLE;
out:
  hd__free(off);
  hd__free(succ);
  hd__free(indeg);
  hd__free(queue);
  return rc;
}

static int find_cycles(hd_graph *g, size_t nedges) {
  igraph_vector_int_t ev;
  igraph_t ig;
  int rc = HD_ENOMEM;
  if (igraph_vector_int_init(&ev, (igraph_integer_t)(2 * nedges)))
    return HD_ENOMEM;
  size_t e = 0;
  for (size_t i = 0; i < g->count; i++) {
    const hd_node *n = g->nodes[i];
    for (size_t j = 0; j < n->ndeps; j++) {
      size_t d = hd__dep_index(&n->deps[j]);
      if (d == HD__NO_INDEX || d == i)
        continue;
      /* Edges point the way data flows: dependency -> dependent. */
      VECTOR(ev)[e++] = (igraph_integer_t)d;
      VECTOR(ev)[e++] = (igraph_integer_t)i;
    }
  }
  if (igraph_create(&ig, &ev, (igraph_integer_t)g->count, IGRAPH_DIRECTED))
    goto fail_ev;
  rc = report_cycles(g, &ig);
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
  if (g->count >= INT32_MAX) {
    hd__diags_add(&g->diags, HD_ETOOBIG, NULL, 0, 0, NULL,
                  "a graph holds at most %d nodes", INT32_MAX - 1);
    return HD_ETOOBIG;
  }
  size_t nedges;
  int forward;
  int rc = check_names_and_deps(g, &nedges, &forward);
  if (rc == HD_OK)
    rc = check_params(g);
  if (rc != HD_OK)
    return rc;
  size_t before = g->diags.count;

  /* Dependencies that all point to earlier nodes (a graph built by
     pointers always has them) make no cycle. */
  rc = forward ? is_acyclic(g, nedges) : HD_OK;
  int cyclic = rc == HD_ECYCLE;
  if (cyclic) {
    /* Only now is igraph needed, to name each cycle. */
    pthread_mutex_lock(&igraph_lock);
    igraph_error_handler_t *old_err = igraph_set_error_handler(on_igraph_error);
    igraph_warning_handler_t *old_warn =
        igraph_set_warning_handler(on_igraph_warning);
    rc = find_cycles(g, nedges);
    igraph_set_warning_handler(old_warn);
    igraph_set_error_handler(old_err);
    if (rc == HD_EINTERNAL)
      hd__diags_add(&g->diags, HD_EINTERNAL, NULL, 0, 0, NULL,
                    "graph analysis failed: %s", igraph_reason);
    pthread_mutex_unlock(&igraph_lock);
  }
  if (rc != HD_OK)
    return rc;
  if (cyclic && g->diags.count == before) {
    hd__diags_add(&g->diags, HD_ECYCLE, NULL, 0, 0, NULL,
                  "the dependencies form a cycle");
    return HD_ECYCLE;
  }

  if (g->diags.count == 0) {
    g->valid = 1;
    return HD_OK;
  }
  return before == 0 ? HD_ECYCLE : HD_EGRAPH;
}
