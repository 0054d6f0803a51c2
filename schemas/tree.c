/* Reading libyaml's tree: types, keys and typed scalars, each problem
 * reported at its node. */
#include <stdio.h>
#include <string.h>

#include "loader.h"

void hd__wf_report(hd__wf_loader *L, int code, const hd__ynode *at,
                   const char *fmt, ...) {
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  const char *file = L->file != NULL ? L->file->path : L->wf->file;
  if (rc == HD_OK)
    rc = hd__diags_add(&L->wf->diags, code, file, at ? (int)at->line + 1 : 0,
                       at ? (int)at->column + 1 : 0, NULL, "%s", b.data);
  hd__buf_cleanup(&b);
  if (L->status == HD_OK)
    L->status = rc == HD_OK ? code : HD_ENOMEM;
}

int hd__wf_is_null(const hd__ynode *n) {
  if (n->type != YAML_SCALAR_NODE || n->style != YAML_PLAIN_SCALAR_STYLE)
    return 0;
  const char *v = n->value;
  return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
         strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

int hd__wf_is_string(const hd__ynode *n) {
  return n->type == YAML_SCALAR_NODE && !hd__wf_is_null(n);
}

const char *hd__wf_type_name(const hd__ynode *n) {
  if (hd__wf_is_null(n))
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

const char *hd__wf_scalar(const hd__ynode *n) {
  return n->type == YAML_SCALAR_NODE ? n->value : NULL;
}

void hd__wf_tpos(hd__wf_loader *L, const hd__ynode *v, int *line, int *column,
                 int *shift) {
  *line = (int)v->line + 1;
  *column = (int)v->column + 1;
  *shift = hd__wf_shift(v);
  const hd__yblock *b =
      v->type == YAML_SCALAR_NODE && v->multiline
          ? hd__ytree_block(&L->file->tree,
                            (uint32_t)(v - L->file->tree.nodes) + 1)
          : NULL;
  if (b != NULL) {
    *line = (int)b->line + 1;
    *column = (int)b->column + 1;
    *shift = HD__SHIFT_LINES;
  }
}

int hd__wf_shift(const hd__ynode *v) {
  if (v->type != YAML_SCALAR_NODE || v->multiline)
    return -1;
  switch (v->style) {
  case YAML_PLAIN_SCALAR_STYLE:
    return 0;
  case YAML_SINGLE_QUOTED_SCALAR_STYLE:
  case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
    return v->verbatim ? 1 : -1;
  default:
    return -1;
  }
}

hd__ynode *hd__wf_node(hd__wf_loader *L, int id) {
  return hd__ytree_node(&L->file->tree, (uint32_t)id);
}

hd__ynode *hd__wf_item(hd__wf_loader *L, const hd__ynode *seq, uint32_t i) {
  return hd__wf_node(L, (int)L->file->tree.kids[seq->first + i]);
}

hd__ynode *hd__wf_key(hd__wf_loader *L, const hd__ynode *map, uint32_t i) {
  return hd__wf_node(L, (int)L->file->tree.kids[map->first + 2 * i]);
}

hd__ynode *hd__wf_value(hd__wf_loader *L, const hd__ynode *map, uint32_t i) {
  return hd__wf_node(L, (int)L->file->tree.kids[map->first + 2 * i + 1]);
}

int hd__wf_later(const hd__ynode *a, const hd__ynode *b) {
  return a->line != b->line ? a->line > b->line : a->column > b->column;
}

static const char *closest(const char *key, const char *const *keys) {
  const char *best = NULL;
  size_t best_d = 3, len = strlen(key);
  for (size_t i = 0; keys[i] != NULL; i++) {
    size_t d = hd__edit_distance(key, keys[i], 2);
    /* Fewer edits than the key has characters: '~' is not a misspelt
       'fn'. */
    if (d < best_d && d < len) {
      best_d = d;
      best = keys[i];
    }
  }
  return best;
}

void hd__wf_check_keys(hd__wf_loader *L, hd__ynode *map,
                       const char *const *keys, const char *what) {
  for (uint32_t a = 0; a < map->count; a++) {
    hd__ynode *k = hd__wf_key(L, map, a);
    if (k->type != YAML_SCALAR_NODE) {
      hd__wf_report(L, HD_ESCHEMA, k, "keys of %s must be names, not %s", what,
                    hd__wf_type_name(k));
      continue;
    }
    const char *key = hd__wf_scalar(k);
    int known = 0;
    for (size_t i = 0; keys[i] != NULL; i++)
      known |= strcmp(keys[i], key) == 0;
    if (!known) {
      const char *s = closest(key, keys);
      if (s != NULL)
        hd__wf_report(L, HD_ESCHEMA, k,
                      "unknown key '%s' in %s; did you mean '%s'?", key, what,
                      s);
      else
        hd__wf_report(L, HD_ESCHEMA, k, "unknown key '%s' in %s", key, what);
      continue;
    }
    for (uint32_t b = 0; b < a; b++) {
      hd__ynode *k2 = hd__wf_key(L, map, b);
      if (k2->type == YAML_SCALAR_NODE && strcmp(hd__wf_scalar(k2), key) == 0) {
        hd__wf_report(L, HD_ESCHEMA, k,
                      "key '%s' appears twice in %s (first at line %d)", key,
                      what, (int)k2->line + 1);
        break;
      }
    }
  }
}

int hd__wf_repeated(hd__wf_loader *L, hd__ynode *map, uint32_t a,
                    const char *what) {
  hd__ynode *k = hd__wf_key(L, map, a);
  if (k->type != YAML_SCALAR_NODE)
    return 0;
  for (uint32_t b = 0; b < a; b++) {
    hd__ynode *k2 = hd__wf_key(L, map, b);
    if (k2->type == YAML_SCALAR_NODE && strcmp(k2->value, k->value) == 0) {
      hd__wf_report(L, HD_ESCHEMA, k,
                    "key '%s' appears twice in %s (first at line %d)", k->value,
                    what, (int)k2->line + 1);
      return 1;
    }
  }
  return 0;
}

int hd__wf_fields(hd__wf_loader *L, hd__ynode *map, const char *const *keys,
                  hd__ynode **key_out, hd__ynode **val_out) {
  int odd = 0;
  for (uint32_t a = 0; a < map->count; a++) {
    hd__ynode *k = hd__wf_key(L, map, a);
    if (k->type != YAML_SCALAR_NODE) {
      odd = 1;
      continue;
    }
    const char *key = k->value;
    size_t i = 0;
    while (keys[i] != NULL && (keys[i][0] != key[0] || strcmp(keys[i], key)))
      i++;
    if (keys[i] == NULL || key_out[i] != NULL) {
      odd = 1; /* unknown, or twice: the first one counts */
      continue;
    }
    key_out[i] = k;
    val_out[i] = hd__wf_value(L, map, a);
  }
  return odd;
}

int hd__wf_misspelled(hd__wf_loader *L, hd__ynode *map, const char *const *keys,
                      const char *want) {
  for (uint32_t a = 0; a < map->count; a++) {
    hd__ynode *k = hd__wf_key(L, map, a);
    if (k->type != YAML_SCALAR_NODE)
      continue;
    const char *s = closest(hd__wf_scalar(k), keys);
    if (s != NULL && strcmp(s, want) == 0 &&
        strcmp(hd__wf_scalar(k), want) != 0)
      return 1;
  }
  return 0;
}

hd__ynode *hd__wf_key_node(hd__wf_loader *L, hd__ynode *map, const char *key) {
  for (uint32_t a = 0; a < map->count; a++) {
    hd__ynode *k = hd__wf_key(L, map, a);
    if (k->type == YAML_SCALAR_NODE && strcmp(hd__wf_scalar(k), key) == 0)
      return k;
  }
  return NULL;
}

hd__ynode *hd__wf_get(hd__wf_loader *L, hd__ynode *map, const char *key) {
  for (uint32_t a = 0; a < map->count; a++) {
    hd__ynode *k = hd__wf_key(L, map, a);
    if (k->type == YAML_SCALAR_NODE && strcmp(hd__wf_scalar(k), key) == 0)
      return hd__wf_value(L, map, a);
  }
  return NULL;
}

const char *hd__wf_string(hd__wf_loader *L, hd__ynode *v, const char *key,
                          const char *what) {
  if (v == NULL)
    return NULL;
  if (!hd__wf_is_string(v)) {
    hd__wf_report(L, HD_ESCHEMA, v, "'%s' of %s must be a string, not %s", key,
                  what, hd__wf_type_name(v));
    return NULL;
  }
  return hd__wf_scalar(v);
}

size_t hd__wf_strings(hd__wf_loader *L, hd__ynode *v, const char *key,
                      const char *what,
                      int (*each)(hd__wf_loader *L, hd__ynode *s, void *ctx),
                      void *ctx) {
  if (v == NULL)
    return 0;
  if (hd__wf_is_string(v)) {
    if (hd__wf_scalar(v)[0] == '\0') {
      hd__wf_report(L, HD_ESCHEMA, v, "'%s' of %s is empty", key, what);
      return 0;
    }
    each(L, v, ctx);
    return 1;
  }
  if (v->type != YAML_SEQUENCE_NODE) {
    hd__wf_report(L, HD_ESCHEMA, v, "'%s' of %s must be %s, not %s", key, what,
                  strcmp(key, "after") == 0 ? "a task name or a list of names"
                                            : "a path or a list of paths",
                  hd__wf_type_name(v));
    return 0;
  }
  size_t n = 0;
  for (uint32_t it = 0; it < v->count; it++) {
    hd__ynode *s = hd__wf_item(L, v, it);
    if (!hd__wf_is_string(s)) {
      hd__wf_report(L, HD_ESCHEMA, s, "'%s' of %s must list %s, not %s", key,
                    what, strcmp(key, "after") == 0 ? "task names" : "paths",
                    hd__wf_type_name(s));
      continue;
    }
    if (hd__wf_scalar(s)[0] == '\0') {
      hd__wf_report(L, HD_ESCHEMA, s, "'%s' of %s lists an empty string", key,
                    what);
      continue;
    }
    each(L, s, ctx);
    n++;
  }
  return n;
}

/* A scalar written as a plain (unquoted) one, or a report. */
static const char *plain(hd__wf_loader *L, hd__ynode *v, const char *key,
                         const char *what, const char *want) {
  if (v->type != YAML_SCALAR_NODE || hd__wf_is_null(v)) {
    hd__wf_report(L, HD_ESCHEMA, v, "'%s' of %s must be %s, not %s", key, what,
                  want, hd__wf_type_name(v));
    return NULL;
  }
  return hd__wf_scalar(v);
}

static void bad_value(hd__wf_loader *L, hd__ynode *v, const char *key,
                      const char *what, const char *want, const char *why) {
  if (why != NULL)
    hd__wf_report(L, HD_ESCHEMA, v, "'%s' of %s must be %s, not '%s' (%s)", key,
                  what, want, hd__wf_scalar(v), why);
  else
    hd__wf_report(L, HD_ESCHEMA, v, "'%s' of %s must be %s, not '%s'", key,
                  what, want, hd__wf_scalar(v));
}

int hd__wf_int(hd__wf_loader *L, hd__ynode *v, const char *key,
               const char *what, long long min, long long max, long long *out) {
  if (v == NULL)
    return 0;
  char want[64];
  if (min == 0 && max >= 0x7fffffff)
    snprintf(want, sizeof(want), "a whole number, 0 or more");
  else if (min == 1 && max >= 0x7fffffff)
    snprintf(want, sizeof(want), "a whole number, 1 or more");
  else if (min < 0 && max >= 0x7fffffff)
    snprintf(want, sizeof(want), "a whole number");
  else
    snprintf(want, sizeof(want), "a whole number from %lld to %lld", min, max);
  const char *s = plain(L, v, key, what, want);
  if (s == NULL)
    return 0;
  const char *why = NULL;
  if (v->style != YAML_PLAIN_SCALAR_STYLE) {
    bad_value(L, v, key, what, want, "a number is written without quotes");
    return 0;
  }
  if (hd__parse_int(s, min, max, out, &why) != HD_OK) {
    bad_value(L, v, key, what, want, why);
    return 0;
  }
  return 1;
}

int hd__wf_bool(hd__wf_loader *L, hd__ynode *v, const char *key,
                const char *what, int *out) {
  if (v == NULL)
    return 0;
  const char *s = plain(L, v, key, what, "true or false");
  if (s == NULL)
    return 0;
  if (v->style != YAML_PLAIN_SCALAR_STYLE || hd__parse_bool(s, out) != HD_OK) {
    bad_value(L, v, key, what, "true or false", NULL);
    return 0;
  }
  return 1;
}

/* A scalar read by parse (a duration, size or number parser: text, where
 * the value goes, the reason it refused); 1 when *out was set. */
static int parsed(hd__wf_loader *L, hd__ynode *v, const char *key,
                  const char *what, const char *want, int plain_only,
                  int (*parse)(const char *s, void *out, const char **why),
                  void *out) {
  if (v == NULL)
    return 0;
  const char *s = plain(L, v, key, what, want);
  const char *why = NULL;
  if (s == NULL)
    return 0;
  if ((plain_only && v->style != YAML_PLAIN_SCALAR_STYLE) ||
      parse(s, out, &why) != HD_OK) {
    bad_value(L, v, key, what, want, why);
    return 0;
  }
  return 1;
}

static int parse_duration(const char *s, void *out, const char **why) {
  return hd__parse_duration(s, out, why);
}

static int parse_size(const char *s, void *out, const char **why) {
  return hd__parse_size(s, out, why);
}

static int parse_positive(const char *s, void *out, const char **why) {
  int rc = hd__parse_number(s, out, why);
  return rc == HD_OK && !(*(double *)out > 0) ? HD_EINVAL : rc;
}

int hd__wf_duration(hd__wf_loader *L, hd__ynode *v, const char *key,
                    const char *what, double *out) {
  return parsed(L, v, key, what, "a duration such as 30s, 1.5m, 2h or 1h30m", 0,
                parse_duration, out);
}

int hd__wf_size(hd__wf_loader *L, hd__ynode *v, const char *key,
                const char *what, uint64_t *out) {
  return parsed(L, v, key, what, "a size such as 512M, 4G or 1048576", 0,
                parse_size, out);
}

int hd__wf_number(hd__wf_loader *L, hd__ynode *v, const char *key,
                  const char *what, double *out) {
  return parsed(L, v, key, what, "a number above 0", 1, parse_positive, out);
}

void hd__wf_env(hd__wf_loader *L, hd__ynode *v, const char *what,
                hd__tstrs *list) {
  if (v == NULL)
    return;
  if (v->type != YAML_MAPPING_NODE) {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "'env' of %s must be a mapping of NAME: value, not %s", what,
                  hd__wf_type_name(v));
    return;
  }
  hd__buf b = {0};
  for (uint32_t a = 0; a < v->count; a++) {
    hd__ynode *k = hd__wf_key(L, v, a), *val = hd__wf_value(L, v, a);
    char label[128];
    snprintf(label, sizeof(label), "the env of %s", what);
    if (hd__wf_repeated(L, v, a, label))
      continue;
    if (k->type != YAML_SCALAR_NODE || !hd__env_name_ok(hd__wf_scalar(k))) {
      hd__wf_report(L, HD_ESCHEMA, k,
                    "'%s' in the env of %s is not a variable name (letters, "
                    "digits and '_', not starting with a digit)",
                    k->type == YAML_SCALAR_NODE ? hd__wf_scalar(k) : "?", what);
      continue;
    }
    if (!hd__wf_is_string(val)) {
      hd__wf_report(L, HD_ESCHEMA, val,
                    "env variable '%s' of %s must be a scalar (\"\" for an "
                    "empty value), not %s",
                    hd__wf_scalar(k), what, hd__wf_type_name(val));
      continue;
    }
    b.len = 0;
    if (hd__buf_appendf(&b, "%s=%s", hd__wf_scalar(k), hd__wf_scalar(val)) !=
            HD_OK ||
        hd__tstrs_add(list, b.data, (int)val->line + 1, (int)val->column + 1) !=
            HD_OK) {
      L->status = HD_ENOMEM;
      break;
    }
    list->items[list->count - 1].file = L->file->path;
  }
  hd__buf_cleanup(&b);
}

static int append_dir(hd__buf *b, const char *dir, int template) {
  int rc = HD_OK;
  for (const char *p = dir; rc == HD_OK && *p; p++) {
    rc = hd__buf_append(b, p, 1);
    if (rc == HD_OK && template && (*p == '{' || *p == '}'))
      rc = hd__buf_append(b, p, 1);
  }
  return rc;
}

/* Tidy a path in place: no "./" parts, no "x/.." where x is a name. */
static void tidy(char *p) {
  char *parts[256];
  size_t n = 0;
  int abs = p[0] == '/';
  char *save = NULL, *tok = strtok_r(p, "/", &save);
  char buf[4096];
  size_t len = 0;
  while (tok != NULL && n < 256) {
    if (strcmp(tok, ".") == 0) {
      /* nothing */
    } else if (strcmp(tok, "..") == 0 && n > 0 &&
               strcmp(parts[n - 1], "..") != 0) {
      n--;
    } else if (!(strcmp(tok, "..") == 0 && abs && n == 0)) {
      parts[n++] = tok;
    }
    tok = strtok_r(NULL, "/", &save);
  }
  if (tok != NULL)
    return; /* too deep to tidy: leave it */
  if (abs)
    buf[len++] = '/';
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(parts[i]);
    if (len + l + 2 >= sizeof(buf))
      return;
    if (i > 0)
      buf[len++] = '/';
    memcpy(buf + len, parts[i], l);
    len += l;
  }
  if (len == 0)
    buf[len++] = '.';
  buf[len] = '\0';
  memcpy(p, buf, len + 1);
}

char *hd__wf_resolve(hd__wf_loader *L, const char *path, int template) {
  const char *dir = L->file->dir;
  hd__buf b = {0};
  int rc = HD_OK;
  if (path[0] == '/' || dir == NULL || strcmp(dir, ".") == 0)
    rc = hd__buf_appendf(&b, "%s", path);
  else if (strcmp(path, ".") == 0)
    rc = append_dir(&b, dir, template);
  else if ((rc = append_dir(&b, dir, template)) == HD_OK)
    rc = hd__buf_appendf(&b, "/%s", path);
  if (rc != HD_OK) {
    hd__buf_cleanup(&b);
    return NULL;
  }
  /* Only a path that is not a template: tidying could join a
     placeholder's text with the folder's. */
  if (!template || strchr(b.data, '{') == NULL)
    tidy(b.data);
  return b.data;
}

void hd__wf_defaults_workdir_at(hd__wf_loader *L, hd__wf_defaults *d,
                                const hd__ynode *v) {
  d->workdir_line = (int)v->line + 1;
  d->workdir_column = (int)v->column + 1;
  d->workdir_file = L->file->path;
}

void hd__wf_defaults_clear(hd__wf_defaults *d) {
  hd__free(d->workdir);
  hd__tstrs_clear(&d->env);
  memset(d, 0, sizeof(*d));
}

int hd__wf_defaults_copy(hd__wf_defaults *to, const hd__wf_defaults *from) {
  *to = *from;
  to->workdir = NULL;
  memset(&to->env, 0, sizeof(to->env));
  if (from->workdir != NULL &&
      (to->workdir = hd__strdup(from->workdir)) == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < from->env.count; i++)
    if (hd__tstrs_add(&to->env, from->env.items[i].s, from->env.items[i].line,
                      from->env.items[i].column) != HD_OK)
      return HD_ENOMEM;
    else
      to->env.items[i].file = from->env.items[i].file;
  return HD_OK;
}

void hd__wf_defaults_read(hd__wf_loader *L, hd__ynode *v, hd__wf_defaults *d) {
  static const char what[] = "the defaults";
  if (v == NULL || hd__wf_is_null(v))
    return;
  if (v->type != YAML_MAPPING_NODE) {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "'defaults' must be a mapping of task settings, not %s",
                  hd__wf_type_name(v));
    return;
  }
  hd__wf_check_keys(L, v, hd__wf_defaults_keys, what);
  long long i;
  if (hd__wf_int(L, hd__wf_get(L, v, "retries"), "retries", what, 0, 1000000,
                 &i)) {
    d->retries = (unsigned)i;
    d->set |= HD__D_RETRIES;
  }
  if (hd__wf_duration(L, hd__wf_get(L, v, "retry_delay"), "retry_delay", what,
                      &d->retry_delay))
    d->set |= HD__D_RETRY_DELAY;
  if (hd__wf_duration(L, hd__wf_get(L, v, "timeout"), "timeout", what,
                      &d->timeout))
    d->set |= HD__D_TIMEOUT;
  if (hd__wf_int(L, hd__wf_get(L, v, "cpus"), "cpus", what, 1, 65535, &i)) {
    d->cpus = (unsigned)i;
    d->set |= HD__D_CPUS;
  }
  if (hd__wf_size(L, hd__wf_get(L, v, "mem"), "mem", what, &d->mem))
    d->set |= HD__D_MEM;
  if (hd__wf_int(L, hd__wf_get(L, v, "priority"), "priority", what, -1000000000,
                 1000000000, &i)) {
    d->priority = (int)i;
    d->set |= HD__D_PRIORITY;
  }
  if (hd__wf_number(L, hd__wf_get(L, v, "cost"), "cost", what, &d->cost))
    d->set |= HD__D_COST;
  if (hd__wf_bool(L, hd__wf_get(L, v, "cache"), "cache", what, &d->cache))
    d->set |= HD__D_CACHE;
  if (hd__wf_bool(L, hd__wf_get(L, v, "allow_failure"), "allow_failure", what,
                  &d->allow_failure))
    d->set |= HD__D_ALLOW_FAILURE;
  hd__ynode *wn = hd__wf_get(L, v, "workdir");
  const char *wd = hd__wf_string(L, wn, "workdir", what);
  if (wd != NULL && wd[0] == '\0') {
    hd__wf_report(L, HD_ESCHEMA, wn, "'workdir' of %s is empty", what);
  } else if (wd != NULL) {
    char *r = hd__wf_resolve(L, wd, 1);
    if (r == NULL)
      L->status = HD_ENOMEM;
    hd__free(d->workdir);
    d->workdir = r;
    hd__wf_defaults_workdir_at(L, d, wn);
  }
  hd__wf_env(L, hd__wf_get(L, v, "env"), what, &d->env);
}
