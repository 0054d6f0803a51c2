/* One task of a workflow file: checked field by field, each problem at its
 * node, and added to the graph with the file's defaults. */
#include <stdio.h>
#include <string.h>

#include "hodos/task.h"
#include "loader.h"

typedef struct task_ctx {
  hd__wf_loader *L;
  hd_node *n; /* NULL when the task could not be made */
  const char *what;
  hd__tstrs *list; /* where strings() puts its strings */
  int unchecked;   /* a param or list was wrong: skip template checks */
  hd__ynode *key[HD__TK_COUNT]; /* each field's key and value, or NULL */
  hd__ynode *val[HD__TK_COUNT];
} task_ctx;

static int add_after(hd__wf_loader *L, hd__ynode *s, void *ctx) {
  task_ctx *c = ctx;
  if (c->n != NULL &&
      hd_node_after_name_at(c->n, hd__wf_scalar(s), (int)s->line + 1,
                            (int)s->column + 1) != HD_OK)
    L->status = HD_ENOMEM;
  return 0;
}

static int add_tstr(hd__wf_loader *L, hd__ynode *s, void *ctx) {
  task_ctx *c = ctx;
  if (c->n != NULL && hd__tstrs_add(c->list, hd__wf_scalar(s), (int)s->line + 1,
                                    (int)s->column + 1) != HD_OK)
    L->status = HD_ENOMEM;
  return 0;
}

/* Which of run, argv and fn the task has; reports none or several. */
static hd__ynode *pick_kind(hd__wf_loader *L, hd__ynode *t, const char *what,
                            const task_ctx *c, hd_node_kind *kind) {
  static const char *const names[] = {"run", "argv", "fn"};
  static const int index[] = {HD__TK_RUN, HD__TK_ARGV, HD__TK_FN};
  static const hd_node_kind kinds[] = {HD_NODE_CMD, HD_NODE_ARGV, HD_NODE_FN};
  hd__ynode *found = NULL, *keys[3];
  int count = 0;
  for (int k = 0; k < 3; k++) {
    keys[k] = c->key[index[k]];
    if (keys[k] != NULL) {
      count++;
      if (found == NULL) {
        found = c->val[index[k]];
        *kind = kinds[k];
      }
    }
  }
  if (count == 0) {
    if (!hd__wf_misspelled(L, t, hd__wf_task_keys, "run") &&
        !hd__wf_misspelled(L, t, hd__wf_task_keys, "argv") &&
        !hd__wf_misspelled(L, t, hd__wf_task_keys, "fn"))
      hd__wf_report(L, HD_ESCHEMA, t,
                    "%s needs one of 'run' (a shell command), 'argv' (a "
                    "program and its arguments) or 'fn' (a function)",
                    what);
    return NULL;
  }
  if (count > 1) {
    /* At the second of them. */
    hd__ynode *second = NULL;
    const char *a = NULL, *b = NULL;
    for (int k = 0; k < 3; k++) {
      if (keys[k] == NULL)
        continue;
      if (a == NULL)
        a = names[k];
      else if (b == NULL) {
        b = names[k];
        second = keys[k];
      }
    }
    if (count == 3)
      hd__wf_report(L, HD_ESCHEMA, keys[1],
                    "%s has 'run', 'argv' and 'fn'; give only one", what);
    else
      hd__wf_report(L, HD_ESCHEMA, second,
                    "%s has both '%s' and '%s'; give only one", what, a, b);
    return NULL;
  }
  return found;
}

/* The argv list, as strings; NULL after a report. */
static const char **argv_words(hd__wf_loader *L, hd__ynode *v, const char *what,
                               size_t *argc) {
  if (v->type != YAML_SEQUENCE_NODE) {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "'argv' of %s must be a list of words, not %s", what,
                  hd__wf_type_name(v));
    return NULL;
  }
  size_t n = (size_t)v->count;
  if (n == 0) {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "'argv' of %s is empty; it needs at least the program", what);
    return NULL;
  }
  const char **words = hd__calloc(n + 1, sizeof(char *));
  if (words == NULL) {
    L->status = HD_ENOMEM;
    return NULL;
  }
  int ok = 1;
  for (size_t i = 0; i < n; i++) {
    hd__ynode *w = hd__wf_item(L, v, i);
    if (w->type != YAML_SCALAR_NODE || hd__wf_is_null(w)) {
      hd__wf_report(L, HD_ESCHEMA, w, "'argv' of %s must list words, not %s",
                    what, hd__wf_type_name(w));
      ok = 0;
      continue;
    }
    words[i] = hd__wf_scalar(w);
  }
  if (ok && words[0][0] == '\0') {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "the program of %s ('argv' item 1) is empty", what);
    ok = 0;
  }
  if (!ok) {
    hd__free(words);
    return NULL;
  }
  *argc = n;
  return words;
}

/* Report a function name nobody registered, with the closest one. */
static void check_fn(hd__wf_loader *L, hd__ynode *v, const char *fn,
                     const char *what) {
  if (hd_fn_lookup(fn, NULL, NULL) == HD_OK)
    return;
  char **names = NULL;
  size_t count = 0;
  const char *best = NULL;
  size_t best_d = 3;
  if (hd_fn_list(&names, &count) == HD_OK)
    for (size_t i = 0; i < count; i++) {
      size_t d = hd__edit_distance(fn, names[i], 2);
      if (d < best_d) {
        best_d = d;
        best = names[i];
      }
    }
  if (best != NULL)
    hd__wf_report(L, HD_ESCHEMA, v,
                  "%s calls function '%s', which is not registered; did you "
                  "mean '%s'?",
                  what, fn, best);
  else
    hd__wf_report(L, HD_ESCHEMA, v,
                  "%s calls function '%s', which is not registered (load the "
                  "plugin that defines it with 'plugins')",
                  what, fn);
  hd_fn_list_free(names, count);
}

static void read_params(hd__wf_loader *L, hd__ynode *v, task_ctx *c) {
  if (v == NULL)
    return;
  if (v->type != YAML_MAPPING_NODE) {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "'params' of %s must be a mapping of name: value, not %s",
                  c->what, hd__wf_type_name(v));
    c->unchecked = 1;
    return;
  }
  /* Only a repeated key needs the label, and one key cannot repeat: most
     tasks have one param, and formatting it cost more than reading it. */
  char label[128] = "";
  if (v->count > 1)
    snprintf(label, sizeof(label), "'params' of %s", c->what);
  for (uint32_t a = 0; a < v->count; a++) {
    hd__ynode *k = hd__wf_key(L, v, a), *val = hd__wf_value(L, v, a);
    if (hd__wf_repeated(L, v, a, label)) {
      c->unchecked = 1;
      continue;
    }
    if (k->type != YAML_SCALAR_NODE || !hd__param_key_ok(hd__wf_scalar(k))) {
      hd__wf_report(L, HD_ESCHEMA, k,
                    "param '%s' of %s is not a name (letters, digits and '_', "
                    "not starting with a digit)",
                    k->type == YAML_SCALAR_NODE ? hd__wf_scalar(k) : "?",
                    c->what);
      c->unchecked = 1;
      continue;
    }
    if (!hd__wf_is_string(val)) {
      hd__wf_report(L, HD_ESCHEMA, val,
                    "param '%s' of %s must be a scalar, not %s",
                    hd__wf_scalar(k), c->what, hd__wf_type_name(val));
      c->unchecked = 1;
      continue;
    }
    if (c->n != NULL &&
        hd_node_set_param(c->n, hd__wf_scalar(k), hd__wf_scalar(val)) != HD_OK)
      L->status = HD_ENOMEM;
  }
}

static void read_lists(hd__wf_loader *L, hd__ynode *v, const char *key,
                       task_ctx *c) {
  if (v->type != YAML_MAPPING_NODE) {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "'%s' of %s must be a mapping of name: [values], not %s", key,
                  c->what, hd__wf_type_name(v));
    c->unchecked = 1;
    return;
  }
  if (v->count == 0) {
    hd__wf_report(L, HD_ESCHEMA, v, "'%s' of %s is empty", key, c->what);
    c->unchecked = 1;
    return;
  }
  char label[128];
  snprintf(label, sizeof(label), "'%s' of %s", key, c->what);
  for (uint32_t a = 0; a < v->count; a++) {
    hd__ynode *k = hd__wf_key(L, v, a), *l = hd__wf_value(L, v, a);
    if (hd__wf_repeated(L, v, a, label)) {
      c->unchecked = 1;
      continue;
    }
    if (k->type != YAML_SCALAR_NODE || !hd__param_key_ok(hd__wf_scalar(k))) {
      hd__wf_report(L, HD_ESCHEMA, k,
                    "'%s' key '%s' of %s is not a name (letters, digits and "
                    "'_', not starting with a digit)",
                    key, k->type == YAML_SCALAR_NODE ? hd__wf_scalar(k) : "?",
                    c->what);
      c->unchecked = 1;
      continue;
    }
    const char *name = hd__wf_scalar(k);
    if (l->type != YAML_SEQUENCE_NODE) {
      hd__wf_report(L, HD_ESCHEMA, l,
                    "'%s' of %s: '%s' must be a list of values, not %s", key,
                    c->what, name, hd__wf_type_name(l));
      c->unchecked = 1;
      continue;
    }
    size_t n = (size_t)l->count;
    if (n == 0) {
      hd__wf_report(L, HD_ESCHEMA, l, "'%s' of %s: the list '%s' is empty", key,
                    c->what, name);
      c->unchecked = 1;
      continue;
    }
    const char **vals = hd__calloc(n, sizeof(char *));
    if (vals == NULL) {
      L->status = HD_ENOMEM;
      return;
    }
    int ok = 1;
    for (size_t i = 0; i < n; i++) {
      hd__ynode *x = hd__wf_item(L, l, i);
      if (!hd__wf_is_string(x)) {
        hd__wf_report(L, HD_ESCHEMA, x,
                      "'%s' of %s: '%s' must list scalars, not %s", key,
                      c->what, name, hd__wf_type_name(x));
        ok = 0;
        continue;
      }
      vals[i] = hd__wf_scalar(x);
    }
    if (!ok)
      c->unchecked = 1;
    else if (c->n != NULL && hd_node_map_param(c->n, name, vals, n) != HD_OK)
      L->status = HD_ENOMEM;
    else if (c->n != NULL)
      for (size_t i = 0; i < c->n->nlists; i++)
        if (strcmp(c->n->lists[i].key, name) == 0) {
          c->n->lists[i].line = (int)k->line + 1;
          c->n->lists[i].column = (int)k->column + 1;
        }
    hd__free(vals);
  }
}

/* A setting written in file path, given to a task of the file loading
 * now: *file is NULL when it is that file, or else path as the graph
 * keeps it (hd__tstr.file). 0 when out of memory. */
static int written_here(hd__wf_loader *L, const char *path, const char **file) {
  *file = NULL;
  if (strcmp(path, L->file->path) == 0)
    return 1;
  if ((*file = hd__graph_file(L->wf->graph, path)) == NULL) {
    L->status = HD_ENOMEM;
    return 0;
  }
  return 1;
}

static void set_env(hd__wf_loader *L, hd_node *n, const hd__tstr *e) {
  const char *eq = strchr(e->s, '=');
  size_t len = (size_t)(eq - e->s);
  char name[256];
  if (len >= sizeof(name))
    return;
  memcpy(name, e->s, len);
  name[len] = '\0';
  if (hd_node_set_env(n, name, eq + 1) != HD_OK) {
    L->status = HD_ENOMEM;
    return;
  }
  hd__nodeio *io = n->io; /* made by hd_node_set_env() */
  const char *file = NULL;
  if (e->file != NULL && !written_here(L, e->file, &file))
    return;
  for (size_t i = 0; io != NULL && i < io->env.count; i++)
    if (strncmp(io->env.items[i].s, e->s, len + 1) == 0) {
      io->env.items[i].line = e->line;
      io->env.items[i].column = e->column;
      io->env.items[i].file = file;
    }
}

/* A setter's result: out of memory fails the load (a value the schema let
 * through is valid for its setter). */
static void noted(hd__wf_loader *L, int rc) {
  if (rc == HD_ENOMEM)
    L->status = HD_ENOMEM;
}

/* Settings: the task's own, else the file's defaults. */
static void read_settings(hd__wf_loader *L, task_ctx *c) {
  const hd__wf_defaults *d = &L->file->defaults;
  const char *what = c->what;
  hd_node *n = c->n;
  long long i;
  double x;
  uint64_t u;
  int b;
  if (hd__wf_int(L, c->val[HD__TK_RETRIES], "retries", what, 0, 1000000, &i)) {
    if (n)
      noted(L, hd_node_set_retries(n, (unsigned)i));
  } else if (n && (d->set & HD__D_RETRIES)) {
    noted(L, hd_node_set_retries(n, d->retries));
  }
  if (hd__wf_duration(L, c->val[HD__TK_RETRY_DELAY], "retry_delay", what, &x)) {
    if (n)
      noted(L, hd_node_set_retry_delay(n, x));
  } else if (n && (d->set & HD__D_RETRY_DELAY)) {
    noted(L, hd_node_set_retry_delay(n, d->retry_delay));
  }
  if (hd__wf_duration(L, c->val[HD__TK_TIMEOUT], "timeout", what, &x)) {
    if (n)
      noted(L, hd_node_set_timeout(n, x));
  } else if (n && (d->set & HD__D_TIMEOUT)) {
    noted(L, hd_node_set_timeout(n, d->timeout));
  }
  if (hd__wf_int(L, c->val[HD__TK_CPUS], "cpus", what, 1, 65535, &i)) {
    if (n)
      noted(L, hd_node_set_cpus(n, (unsigned)i));
  } else if (n && (d->set & HD__D_CPUS)) {
    noted(L, hd_node_set_cpus(n, d->cpus));
  }
  if (hd__wf_size(L, c->val[HD__TK_MEM], "mem", what, &u)) {
    if (n)
      noted(L, hd_node_set_mem(n, u));
  } else if (n && (d->set & HD__D_MEM)) {
    noted(L, hd_node_set_mem(n, d->mem));
  }
  if (hd__wf_int(L, c->val[HD__TK_PRIORITY], "priority", what, -1000000000,
                 1000000000, &i)) {
    if (n)
      noted(L, hd_node_set_priority(n, (int)i));
  } else if (n && (d->set & HD__D_PRIORITY)) {
    noted(L, hd_node_set_priority(n, d->priority));
  }
  if (hd__wf_number(L, c->val[HD__TK_COST], "cost", what, &x)) {
    if (n)
      noted(L, hd_node_set_cost(n, x));
  } else if (n && (d->set & HD__D_COST)) {
    noted(L, hd_node_set_cost(n, d->cost));
  }
  if (hd__wf_bool(L, c->val[HD__TK_CACHE], "cache", what, &b)) {
    if (n)
      noted(L, hd_node_set_cache(n, b));
  } else if (n && (d->set & HD__D_CACHE)) {
    noted(L, hd_node_set_cache(n, d->cache));
  }
  if (hd__wf_bool(L, c->val[HD__TK_ALLOW_FAILURE], "allow_failure", what, &b)) {
    if (n)
      noted(L, hd_node_set_allow_failure(n, b));
  } else if (n && (d->set & HD__D_ALLOW_FAILURE)) {
    noted(L, hd_node_set_allow_failure(n, d->allow_failure));
  }
}

/* env and workdir: for run and argv tasks. */
static void read_process(hd__wf_loader *L, task_ctx *c, hd_node_kind kind) {
  const hd__wf_defaults *d = &L->file->defaults;
  hd__ynode *env = c->val[HD__TK_ENV], *wd = c->val[HD__TK_WORKDIR];
  if (kind == HD_NODE_FN) {
    if (env != NULL)
      hd__wf_report(L, HD_ESCHEMA, c->key[HD__TK_ENV],
                    "%s calls a function, which runs inside hodos: 'env' is "
                    "for 'run' and 'argv' tasks",
                    c->what);
    if (wd != NULL)
      hd__wf_report(L, HD_ESCHEMA, c->key[HD__TK_WORKDIR],
                    "%s calls a function, which runs inside hodos: 'workdir' "
                    "is for 'run' and 'argv' tasks",
                    c->what);
    return;
  }
  hd__tstrs own = {0};
  hd__wf_env(L, env, c->what, &own);
  if (c->n != NULL) {
    for (size_t i = 0; i < d->env.count; i++)
      set_env(L, c->n, &d->env.items[i]);
    for (size_t i = 0; i < own.count; i++)
      set_env(L, c->n, &own.items[i]);
  }
  hd__tstrs_clear(&own);
  const char *w = hd__wf_string(L, wd, "workdir", c->what);
  if (w != NULL && w[0] == '\0') {
    hd__wf_report(L, HD_ESCHEMA, wd, "'workdir' of %s is empty", c->what);
    w = NULL;
  }
  if (c->n == NULL)
    return;
  char *resolved = w != NULL ? hd__wf_resolve(L, w, 1) : NULL;
  const char *use = resolved != NULL ? resolved : d->workdir;
  if (use != NULL) {
    hd__tstr *at = NULL;
    if (hd_node_set_workdir(c->n, use) != HD_OK)
      L->status = HD_ENOMEM;
    else
      at = &c->n->io->workdir;
    if (at != NULL && w != NULL) {
      at->line = (int)wd->line + 1;
      at->column = (int)wd->column + 1;
    } else if (at != NULL && d->workdir_file != NULL &&
               written_here(L, d->workdir_file, &at->file)) {
      at->line = d->workdir_line;
      at->column = d->workdir_column;
    }
  }
  hd__free(resolved);
}

/* what = "task 'NAME'", the name cut at 60 bytes (as "%.60s" would):
 * snprintf took a tenth of the time spent on a task. */
static void name_task(char *what, const char *name) {
  size_t n = strnlen(name, 60);
  memcpy(what, "task '", 6);
  memcpy(what + 6, name, n);
  what[6 + n] = '\'';
  what[7 + n] = '\0';
}

void hd__wf_task(hd__wf_loader *L, hd__ynode *t, size_t index) {
  char what[96];
  if (t->type != YAML_MAPPING_NODE) {
    hd__wf_report(L, HD_ESCHEMA, t,
                  "a task must be a mapping with 'name' and one of 'run', "
                  "'argv' or 'fn', not %s",
                  hd__wf_type_name(t));
    L->graph_unsafe = 1;
    return;
  }
  task_ctx c;
  memset(&c, 0, sizeof(c));
  c.L = L;
  c.what = what;
  int odd = hd__wf_fields(L, t, hd__wf_task_keys, c.key, c.val);
  hd__ynode *name = c.val[HD__TK_NAME];
  const char *tname = NULL;
  if (name != NULL && hd__wf_is_string(name))
    tname = hd__wf_scalar(name);
  if (tname != NULL && tname[0] != '\0')
    name_task(what, tname);
  else
    snprintf(what, sizeof(what), "task %zu", index + 1);
  if (odd)
    hd__wf_check_keys(L, t, hd__wf_task_keys, what);
  if (name == NULL) {
    if (!hd__wf_misspelled(L, t, hd__wf_task_keys, "name"))
      hd__wf_report(L, HD_ESCHEMA, t, "%s has no 'name'", what);
    L->graph_unsafe = 1;
  } else if (tname == NULL) {
    hd__wf_string(L, name, "name", what);
    L->graph_unsafe = 1;
  } else if (tname[0] == '\0') {
    hd__wf_report(L, HD_ESCHEMA, name, "'name' of %s is empty", what);
    L->graph_unsafe = 1;
    tname = NULL;
  } else if (!hd__task_name_ok(tname)) {
    hd__wf_report(L, HD_ESCHEMA, name,
                  "task name '%s' cannot hold control characters or any of "
                  "[ ] , = { } (they make the names of expansions)",
                  tname);
    /* Kept, so that the tasks after it are checked as usual, unless the
       graph cannot hold it. */
    if (hd__has_control(tname)) {
      L->graph_unsafe = 1;
      tname = NULL;
    }
  }

  hd_node_kind kind = HD_NODE_CMD;
  hd__ynode *body = pick_kind(L, t, what, &c, &kind);
  const char *cmd = NULL, *fn = NULL;
  const char **words = NULL;
  size_t argc = 0;
  if (body != NULL && kind == HD_NODE_CMD) {
    cmd = hd__wf_string(L, body, "run", what);
    if (cmd != NULL && cmd[0] == '\0') {
      hd__wf_report(L, HD_ESCHEMA, body, "'run' of %s is empty", what);
      cmd = NULL;
    }
  } else if (body != NULL && kind == HD_NODE_ARGV) {
    words = argv_words(L, body, what, &argc);
  } else if (body != NULL) {
    fn = hd__wf_string(L, body, "fn", what);
    if (fn != NULL && fn[0] == '\0') {
      hd__wf_report(L, HD_ESCHEMA, body, "'fn' of %s is empty", what);
      fn = NULL;
    }
    if (fn != NULL)
      check_fn(L, body, fn, what);
  }
  hd__wf_string(L, c.val[HD__TK_DESCRIPTION], "description", what);

  if (tname != NULL) {
    int rc;
    if (cmd != NULL)
      rc = hd_graph_add_cmd(L->wf->graph, tname, cmd, &c.n);
    else if (words != NULL)
      rc = hd_graph_add_argv(L->wf->graph, tname, words, argc, &c.n);
    else if (fn != NULL)
      rc = hd_graph_add_fn(L->wf->graph, tname, fn, &c.n);
    else /* reported: a stand-in keeps the graph's checks meaningful */
      rc = hd_graph_add_cmd(L->wf->graph, tname, ":", &c.n);
    if (rc == HD_OK)
      rc = hd_node_set_origin(c.n, L->file->path, (int)name->line + 1,
                              (int)name->column + 1);
    hd__nodeio *io = rc == HD_OK && (cmd != NULL || words != NULL)
                         ? hd__node_io_mut(c.n)
                         : NULL;
    if (rc == HD_OK && (cmd != NULL || words != NULL) && io == NULL)
      rc = HD_ENOMEM;
    if (rc == HD_OK && cmd != NULL)
      hd__wf_tpos(L, body, &io->cmd_line, &io->cmd_column, &io->cmd_shift);
    if (rc == HD_OK && words != NULL)
      for (size_t i = 0; i < argc; i++) {
        hd__tstr *a = &io->argv.items[i];
        hd__wf_tpos(L, hd__wf_item(L, body, i), &a->line, &a->column,
                    &a->shift);
      }
    if (rc != HD_OK) {
      L->status = HD_ENOMEM;
      c.n = NULL;
    }
    L->ntasks++;
  }
  hd__free(words);

  hd__ynode *after = c.val[HD__TK_AFTER];
  if (after != NULL && !hd__wf_is_string(after) &&
      after->type != YAML_SEQUENCE_NODE) {
    hd__wf_report(L, HD_ESCHEMA, after,
                  "'after' of %s must be a task name or a list of names, not "
                  "%s",
                  what, hd__wf_type_name(after));
  } else {
    hd__wf_strings(L, after, "after", what, add_after, &c);
  }
  read_params(L, c.val[HD__TK_PARAMS], &c);
  hd__ynode *map = c.val[HD__TK_MAP], *product = c.val[HD__TK_PRODUCT];
  if (map != NULL && product != NULL) {
    hd__ynode *k1 = c.key[HD__TK_MAP], *k2 = c.key[HD__TK_PRODUCT];
    hd__wf_report(L, HD_ESCHEMA, hd__wf_later(k1, k2) ? k1 : k2,
                  "%s has both 'map' and 'product'; a task fans out one way",
                  what);
    c.unchecked = 1;
  } else if (map != NULL || product != NULL) {
    read_lists(L, map ? map : product, map ? "map" : "product", &c);
    if (c.n != NULL && product != NULL)
      noted(L, hd_node_set_fanout(c.n, HD_FANOUT_PRODUCT));
  }
  /* Files: the node's part for them is made only when it has some. */
  hd__nodeio *fio = c.n != NULL && (c.val[HD__TK_INPUTS] != NULL ||
                                    c.val[HD__TK_OUTPUTS] != NULL)
                        ? hd__node_io_mut(c.n)
                        : NULL;
  if (c.n != NULL && fio == NULL &&
      (c.val[HD__TK_INPUTS] != NULL || c.val[HD__TK_OUTPUTS] != NULL))
    L->status = HD_ENOMEM;
  c.list = fio ? &fio->inputs : NULL;
  hd__wf_strings(L, c.val[HD__TK_INPUTS], "inputs", what, add_tstr, &c);
  c.list = fio ? &fio->outputs : NULL;
  hd__wf_strings(L, c.val[HD__TK_OUTPUTS], "outputs", what, add_tstr, &c);
  hd__ynode *in = c.val[HD__TK_STDIN];
  const char *from = hd__wf_string(L, in, "stdin", what);
  if (from != NULL && kind == HD_NODE_FN && body != NULL) {
    hd__wf_report(L, HD_ESCHEMA, c.key[HD__TK_STDIN],
                  "%s calls a function, which receives its inputs as values: "
                  "'stdin' is for 'run' and 'argv' tasks",
                  what);
  } else if (from != NULL && from[0] == '\0') {
    hd__wf_report(L, HD_ESCHEMA, in, "'stdin' of %s is empty", what);
  } else if (from != NULL && c.n != NULL) {
    if (hd_node_set_stdin(c.n, from) != HD_OK) {
      L->status = HD_ENOMEM;
    } else {
      int line = (int)in->line + 1, column = (int)in->column + 1;
      c.n->io->stdin_dep.line = line;
      c.n->io->stdin_dep.column = column;
      if (hd__dep_set_at(c.n, c.n->ndeps - 1, line, column) != HD_OK)
        L->status = HD_ENOMEM;
    }
  }
  if (body != NULL)
    read_process(L, &c, kind);
  read_settings(L, &c);
  if (c.n != NULL && (c.unchecked || body == NULL))
    c.n->unchecked = 1;
}
