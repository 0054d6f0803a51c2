/* Loading workflow files.
 *
 * Three passes, so that every error carries its true position:
 *  1. libyaml parses the text into a document tree (syntax errors come
 *     with libyaml's own marks);
 *  2. the tree is checked against the language: unknown keys, wrong types,
 *     missing fields, each at the node concerned;
 *  3. libcyaml loads the typed structure from the schema, and the fields it
 *     cannot express (a string or a list) are read from the tree.
 * Then the tasks become graph nodes and the graph is validated. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "workflow_schema.h"

/* Larger files are refused rather than read. */
#define MAX_FILE_SIZE (64u << 20)

struct hd_workflow {
  char *file;
  char *name;
  char *description;
  hd_graph *graph;
  hd__diags diags;
};

typedef struct loader {
  hd_workflow *wf;
  yaml_document_t doc;
  int have_doc;
  int status; /* the first error code met, HD_OK while none */
} loader;

static void report(loader *L, int code, const yaml_mark_t *m, const char *fmt,
                   ...) HD_PRINTF(4, 5);

static void report(loader *L, int code, const yaml_mark_t *m, const char *fmt,
                   ...) {
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  if (rc == HD_OK)
    rc = hd__diags_add(&L->wf->diags, code, L->wf->file,
                       m ? (int)m->line + 1 : 0, m ? (int)m->column + 1 : 0,
                       NULL, "%s", b.data);
  hd__buf_cleanup(&b);
  if (L->status == HD_OK)
    L->status = rc == HD_OK ? code : HD_ENOMEM;
}

/* ---- pass 1: YAML syntax ---- */

static int parse_yaml(loader *L, const char *text, size_t len) {
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p))
    return HD_ENOMEM;
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  if (!yaml_parser_load(&p, &L->doc)) {
    /* At the end of the stream (an unclosed quote or bracket) the useful
       place is where the unfinished thing began. */
    const yaml_mark_t *m = &p.problem_mark;
    if (p.context != NULL && p.problem != NULL &&
        strstr(p.problem, "end of stream") != NULL)
      m = &p.context_mark;
    if (p.context != NULL)
      report(L, HD_ESYNTAX, m, "%s %s", p.problem ? p.problem : "syntax error",
             p.context);
    else if (p.problem != NULL &&
             strcmp(p.problem, "mapping values are not allowed in this "
                               "context") == 0)
      report(L, HD_ESYNTAX, m, "%s (a value that holds ': ' must be quoted)",
             p.problem);
    else
      report(L, HD_ESYNTAX, m, "%s", p.problem ? p.problem : "syntax error");
    yaml_parser_delete(&p);
    return L->status;
  }
  L->have_doc = 1;
  yaml_document_t extra;
  if (yaml_document_get_root_node(&L->doc) != NULL &&
      yaml_parser_load(&p, &extra)) {
    yaml_node_t *root = yaml_document_get_root_node(&extra);
    if (root != NULL)
      report(L, HD_ESCHEMA, &root->start_mark,
             "a workflow file holds one YAML document; this is a second");
    yaml_document_delete(&extra);
  }
  yaml_parser_delete(&p);
  return L->status;
}

/* ---- pass 2: the language ---- */

static int is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE ||
      n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return 0;
  const char *v = (const char *)n->data.scalar.value;
  return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
         strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *type_name(const yaml_node_t *n) {
  if (is_null(n))
    return "null";
  switch (n->type) {
  case YAML_SCALAR_NODE:
    return "a scalar";
  case YAML_SEQUENCE_NODE:
    return "a list";
  case YAML_MAPPING_NODE:
    return "a mapping";
  default:
    return "nothing";
  }
}

static const char *scalar(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

static int is_string(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE && !is_null(n);
}

static const char *closest(const char *key, const char *const *keys) {
  const char *best = NULL;
  size_t best_d = 3;
  for (size_t i = 0; keys[i] != NULL; i++) {
    size_t d = hd__edit_distance(key, keys[i], 2);
    if (d < best_d) {
      best_d = d;
      best = keys[i];
    }
  }
  return best;
}

/* Check a mapping's keys: each a known, unrepeated string. what names the
 * mapping in messages ("the workflow", "task 'x'"). */
static void check_keys(loader *L, yaml_node_t *map, const char *const *keys,
                       const char *what) {
  for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
       a < map->data.mapping.pairs.top; a++) {
    yaml_node_t *k = yaml_document_get_node(&L->doc, a->key);
    if (k->type != YAML_SCALAR_NODE) {
      report(L, HD_ESCHEMA, &k->start_mark, "keys of %s must be names, not %s",
             what, type_name(k));
      continue;
    }
    const char *key = scalar(k);
    int known = 0;
    for (size_t i = 0; keys[i] != NULL; i++)
      known |= strcmp(keys[i], key) == 0;
    if (!known) {
      const char *s = closest(key, keys);
      if (s != NULL)
        report(L, HD_ESCHEMA, &k->start_mark,
               "unknown key '%s' in %s; did you mean '%s'?", key, what, s);
      else
        report(L, HD_ESCHEMA, &k->start_mark, "unknown key '%s' in %s", key,
               what);
      continue;
    }
    for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
      yaml_node_t *k2 = yaml_document_get_node(&L->doc, b->key);
      if (k2->type == YAML_SCALAR_NODE && strcmp(scalar(k2), key) == 0) {
        report(L, HD_ESCHEMA, &k->start_mark,
               "key '%s' appears twice in %s (first at line %d)", key, what,
               (int)k2->start_mark.line + 1);
        break;
      }
    }
  }
}

/* Whether an unknown key of map looks like a misspelling of want: then
 * "unknown key ... did you mean" says it all, and "has no 'want'" would
 * only repeat it. */
static int misspelled(loader *L, yaml_node_t *map, const char *const *keys,
                      const char *want) {
  for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
       a < map->data.mapping.pairs.top; a++) {
    yaml_node_t *k = yaml_document_get_node(&L->doc, a->key);
    if (k->type != YAML_SCALAR_NODE)
      continue;
    const char *s = closest(scalar(k), keys);
    if (s != NULL && strcmp(s, want) == 0 && strcmp(scalar(k), want) != 0)
      return 1;
  }
  return 0;
}

static yaml_node_t *get(loader *L, yaml_node_t *map, const char *key) {
  for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
       a < map->data.mapping.pairs.top; a++) {
    yaml_node_t *k = yaml_document_get_node(&L->doc, a->key);
    if (k->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0)
      return yaml_document_get_node(&L->doc, a->value);
  }
  return NULL;
}

static void want_string(loader *L, yaml_node_t *v, const char *key,
                        const char *what) {
  if (v != NULL && !is_string(v))
    report(L, HD_ESCHEMA, &v->start_mark, "'%s' of %s must be a string, not %s",
           key, what, type_name(v));
}

static void check_task(loader *L, yaml_node_t *t, size_t i) {
  char what[64];
  snprintf(what, sizeof(what), "task %zu", i + 1);
  if (t->type != YAML_MAPPING_NODE) {
    report(L, HD_ESCHEMA, &t->start_mark,
           "each task must be a mapping with 'name' and 'run', not %s",
           type_name(t));
    return;
  }
  yaml_node_t *name = get(L, t, "name");
  hd__buf label = {0};
  if (name != NULL && is_string(name) &&
      hd__buf_appendf(&label, "task '%s'", scalar(name)) == HD_OK)
    check_keys(L, t, hd__wf_task_keys, label.data);
  else
    check_keys(L, t, hd__wf_task_keys, what);
  hd__buf_cleanup(&label);

  if (name == NULL) {
    if (!misspelled(L, t, hd__wf_task_keys, "name"))
      report(L, HD_ESCHEMA, &t->start_mark, "%s has no 'name'", what);
  } else if (!is_string(name)) {
    want_string(L, name, "name", what);
  } else {
    const char *s = scalar(name);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
      if (*c < 0x20 || *c == 0x7f) {
        report(L, HD_ESCHEMA, &name->start_mark,
               "task names cannot hold control characters");
        break;
      }
  }
  const char *tname = name != NULL && is_string(name) ? scalar(name) : NULL;
  if (tname != NULL)
    snprintf(what, sizeof(what), "task '%.40s'", tname);
  yaml_node_t *run = get(L, t, "run");
  if (run == NULL) {
    if (!misspelled(L, t, hd__wf_task_keys, "run"))
      report(L, HD_ESCHEMA, &t->start_mark, "%s has no 'run' command", what);
  } else if (!is_string(run))
    want_string(L, run, "run", what);
  else if (scalar(run)[0] == '\0')
    report(L, HD_ESCHEMA, &run->start_mark, "'run' of %s is empty", what);

  yaml_node_t *after = get(L, t, "after");
  if (after == NULL || is_string(after))
    return;
  if (after->type != YAML_SEQUENCE_NODE) {
    report(L, HD_ESCHEMA, &after->start_mark,
           "'after' of %s must be a task name or a list of names, not %s", what,
           type_name(after));
    return;
  }
  for (yaml_node_item_t *it = after->data.sequence.items.start;
       it < after->data.sequence.items.top; it++) {
    yaml_node_t *v = yaml_document_get_node(&L->doc, *it);
    if (!is_string(v))
      report(L, HD_ESCHEMA, &v->start_mark,
             "'after' of %s must list task names, not %s", what, type_name(v));
  }
}

static void check_document(loader *L) {
  yaml_node_t *root = yaml_document_get_root_node(&L->doc);
  if (root == NULL || is_null(root)) {
    report(L, HD_ESCHEMA, NULL,
           "the workflow is empty; it needs at least a 'tasks' list");
    return;
  }
  if (root->type != YAML_MAPPING_NODE) {
    report(L, HD_ESCHEMA, &root->start_mark,
           "a workflow must be a mapping with a 'tasks' list, not %s",
           type_name(root));
    return;
  }
  check_keys(L, root, hd__wf_top_keys, "the workflow");
  want_string(L, get(L, root, "name"), "name", "the workflow");
  want_string(L, get(L, root, "description"), "description", "the workflow");
  yaml_node_t *tasks = get(L, root, "tasks");
  if (tasks == NULL) {
    if (!misspelled(L, root, hd__wf_top_keys, "tasks"))
      report(L, HD_ESCHEMA, &root->start_mark, "the workflow has no 'tasks'");
    return;
  }
  if (tasks->type != YAML_SEQUENCE_NODE) {
    report(L, HD_ESCHEMA, &tasks->start_mark,
           "'tasks' must be a list of tasks, not %s", type_name(tasks));
    return;
  }
  size_t i = 0;
  for (yaml_node_item_t *it = tasks->data.sequence.items.start;
       it < tasks->data.sequence.items.top; it++, i++)
    check_task(L, yaml_document_get_node(&L->doc, *it), i);
}

/* ---- pass 3: libcyaml, then the graph ---- */

typedef struct cyaml_capture {
  hd__buf text;
} cyaml_capture;

static void on_cyaml_log(cyaml_log_t level, void *ctx, const char *fmt,
                         va_list args) {
  (void)level;
  cyaml_capture *l = ctx;
  hd__buf_vappendf(&l->text, fmt, args);
}

static void *on_cyaml_mem(void *ctx, void *ptr, size_t size) {
  (void)ctx;
  if (size == 0) {
    hd__free(ptr);
    return NULL;
  }
  return hd__realloc(ptr, size);
}

/* libcyaml's messages end with "(line: N, column: M)"; the position is
 * taken from the last such mention. */
static void report_cyaml(loader *L, cyaml_err_t err, hd__buf *text) {
  int line = 0, col = 0;
  const char *p = text->data;
  while (p != NULL && (p = strstr(p, "(line: ")) != NULL) {
    sscanf(p, "(line: %d, column: %d)", &line, &col);
    p++;
  }
  char *first = text->data;
  if (first != NULL) {
    char *nl = strchr(first, '\n');
    if (nl != NULL)
      *nl = '\0';
    if (strncmp(first, "Load: ", 6) == 0)
      first += 6;
  }
  yaml_mark_t m = {0, (size_t)(line > 0 ? line - 1 : 0),
                   (size_t)(col > 0 ? col - 1 : 0)};
  report(L, HD_ESCHEMA, line > 0 ? &m : NULL, "%s",
         first != NULL && first[0] ? first : cyaml_strerror(err));
}

static void build_graph(loader *L, const struct hd__wf_doc *d) {
  hd_workflow *wf = L->wf;
  yaml_node_t *root = yaml_document_get_root_node(&L->doc);
  yaml_node_t *tasks = get(L, root, "tasks");
  if ((d->name != NULL && (wf->name = hd__strdup(d->name)) == NULL) ||
      (d->description != NULL &&
       (wf->description = hd__strdup(d->description)) == NULL) ||
      hd_graph_new(&wf->graph) != HD_OK) {
    L->status = HD_ENOMEM;
    return;
  }
  for (unsigned i = 0; i < d->tasks_count && L->status == HD_OK; i++) {
    const struct hd__wf_task *t = &d->tasks[i];
    yaml_node_t *tn =
        yaml_document_get_node(&L->doc, tasks->data.sequence.items.start[i]);
    yaml_node_t *name = get(L, tn, "name");
    hd_node *n;
    if (hd_graph_add_cmd(wf->graph, t->name, t->run, &n) != HD_OK ||
        hd_node_set_origin(n, wf->file, (int)name->start_mark.line + 1,
                           (int)name->start_mark.column + 1) != HD_OK) {
      L->status = HD_ENOMEM;
      return;
    }
    yaml_node_t *after = get(L, tn, "after");
    if (after == NULL)
      continue;
    if (after->type == YAML_SCALAR_NODE) {
      if (hd_node_after_name_at(n, scalar(after),
                                (int)after->start_mark.line + 1,
                                (int)after->start_mark.column + 1) != HD_OK)
        L->status = HD_ENOMEM;
      continue;
    }
    for (yaml_node_item_t *it = after->data.sequence.items.start;
         it < after->data.sequence.items.top; it++) {
      yaml_node_t *v = yaml_document_get_node(&L->doc, *it);
      if (hd_node_after_name_at(n, scalar(v), (int)v->start_mark.line + 1,
                                (int)v->start_mark.column + 1) != HD_OK) {
        L->status = HD_ENOMEM;
        return;
      }
    }
  }
  if (L->status != HD_OK)
    return;
  int rc = hd_graph_validate(wf->graph);
  for (size_t i = 0; i < hd_graph_diag_count(wf->graph) && rc != HD_ENOMEM;
       i++) {
    const hd_diag *g = hd_graph_diag(wf->graph, i);
    if (hd__diags_add(&wf->diags, g->code, g->file, g->line, g->column, g->task,
                      "%s", g->message) != HD_OK)
      rc = HD_ENOMEM;
  }
  L->status = rc;
}

static int cmp_diag(const void *a, const void *b) {
  const hd_diag *x = a, *y = b;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  if (x->column != y->column)
    return x->column < y->column ? -1 : 1;
  return 0;
}

/* A stable sort by position (insertion sort: diagnostics are few). */
static void sort_diags(hd__diags *d) {
  for (size_t i = 1; i < d->count; i++) {
    hd_diag x = d->items[i];
    size_t j = i;
    while (j > 0 && cmp_diag(&d->items[j - 1], &x) > 0) {
      d->items[j] = d->items[j - 1];
      j--;
    }
    d->items[j] = x;
  }
}

int hd_workflow_load_string(const char *yaml, size_t len, const char *name,
                            hd_workflow **out) {
  if (out != NULL)
    *out = NULL;
  if (yaml == NULL || out == NULL)
    return HD_EINVAL;
  hd_workflow *wf = hd__calloc(1, sizeof(*wf));
  if (wf == NULL)
    return HD_ENOMEM;
  if ((wf->file = hd__strdup(name ? name : "<string>")) == NULL) {
    hd__free(wf);
    return HD_ENOMEM;
  }
  loader L;
  memset(&L, 0, sizeof(L));
  L.wf = wf;
  if (parse_yaml(&L, yaml, len) == HD_OK)
    check_document(&L);
  if (L.status == HD_OK) {
    cyaml_capture log = {{0}};
    cyaml_config_t cfg = {
        .log_fn = on_cyaml_log,
        .log_ctx = &log,
        .mem_fn = on_cyaml_mem,
        .mem_ctx = NULL,
        .log_level = CYAML_LOG_ERROR,
        .flags = CYAML_CFG_DEFAULT,
    };
    struct hd__wf_doc *d = NULL;
    cyaml_err_t err =
        cyaml_load_data((const uint8_t *)yaml, len, &cfg, &hd__wf_schema,
                        (cyaml_data_t **)&d, NULL);
    if (err == CYAML_ERR_OOM)
      L.status = HD_ENOMEM;
    else if (err != CYAML_OK)
      report_cyaml(&L, err, &log.text);
    else
      build_graph(&L, d);
    if (d != NULL)
      cyaml_free(&cfg, &hd__wf_schema, d, 0);
    hd__buf_cleanup(&log.text);
  }
  if (L.have_doc)
    yaml_document_delete(&L.doc);
  sort_diags(&wf->diags);
  *out = wf;
  return L.status;
}

int hd_workflow_load(const char *path, hd_workflow **out) {
  if (out != NULL)
    *out = NULL;
  if (path == NULL || out == NULL)
    return HD_EINVAL;
  FILE *f = fopen(path, "rb");
  hd__buf text = {0};
  int rc = HD_OK, err = 0;
  if (f == NULL) {
    err = errno;
    rc = HD_EIO;
  } else {
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
      if (text.len + n > MAX_FILE_SIZE) {
        rc = HD_ETOOBIG;
        break;
      }
      if (hd__buf_append(&text, chunk, n) != HD_OK) {
        rc = HD_ENOMEM;
        break;
      }
    }
    if (rc == HD_OK && ferror(f)) {
      err = errno;
      rc = HD_EIO;
    }
    fclose(f);
  }
  if (rc != HD_OK) {
    hd__buf_cleanup(&text);
    hd_workflow *wf = hd__calloc(1, sizeof(*wf));
    if (wf == NULL || (wf->file = hd__strdup(path)) == NULL) {
      hd__free(wf);
      return HD_ENOMEM;
    }
    if (rc == HD_EIO)
      hd__diags_add(&wf->diags, HD_EIO, path, 0, 0, NULL,
                    "cannot read the workflow: %s", strerror(err));
    else if (rc == HD_ETOOBIG)
      hd__diags_add(&wf->diags, HD_ETOOBIG, path, 0, 0, NULL,
                    "the workflow is larger than %u MiB", MAX_FILE_SIZE >> 20);
    *out = wf;
    return rc == HD_ETOOBIG ? HD_ESCHEMA : rc;
  }
  rc = hd_workflow_load_string(text.data ? text.data : "", text.len, path, out);
  hd__buf_cleanup(&text);
  return rc;
}

void hd_workflow_free(hd_workflow *wf) {
  if (wf == NULL)
    return;
  hd_graph_free(wf->graph);
  hd__diags_clear(&wf->diags);
  hd__free(wf->file);
  hd__free(wf->name);
  hd__free(wf->description);
  hd__free(wf);
}

const char *hd_workflow_name(const hd_workflow *wf) {
  return wf ? wf->name : NULL;
}

const char *hd_workflow_description(const hd_workflow *wf) {
  return wf ? wf->description : NULL;
}

hd_graph *hd_workflow_graph(const hd_workflow *wf) {
  return wf ? wf->graph : NULL;
}

size_t hd_workflow_diag_count(const hd_workflow *wf) {
  return wf ? wf->diags.count : 0;
}

const hd_diag *hd_workflow_diag(const hd_workflow *wf, size_t i) {
  return wf != NULL && i < wf->diags.count ? &wf->diags.items[i] : NULL;
}
