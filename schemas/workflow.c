/* Loading workflow files.
 *
 * For each file (the main one, then those it includes):
 *  1. libyaml parses the text into a document tree (syntax errors come
 *     with libyaml's own marks), and aliases are checked so that none
 *     expands without bound;
 *  2. libcyaml loads the string fields from the schema (workflow_schema.c);
 *  3. the tree is checked against the language, every problem at its
 *     node, and the tasks become graph nodes (tree.c, task.c).
 * Then the graph is validated: unknown dependencies, cycles, templates. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hodos/backend.h"
#include "loader.h"

/* Larger files are refused rather than read. */
#define MAX_FILE_SIZE (256u << 20)
/* Aliases may repeat parts of a document, up to this many nodes in all
 * (or 100 times its own size): no "billion laughs". */
#define MAX_EXPANDED (1u << 20)
/* Includes nest at most this deep. */
#define MAX_INCLUDE_DEPTH 64

/* ---- pass 1: YAML syntax ---- */

/* A problem at a libyaml mark. */
static void report_at_mark(hd__wf_loader *L, int code, const yaml_mark_t *m,
                           const char *fmt, const char *a, const char *b) {
  hd__ynode at;
  memset(&at, 0, sizeof(at));
  at.line = (uint32_t)m->line;
  at.column = (uint32_t)m->column;
  hd__wf_report(L, code, &at, fmt, a, b);
}

static int parse_yaml(hd__wf_loader *L, const char *text, size_t len) {
  hd__yerror e;
  int rc = hd__ytree_parse(&L->file->tree, text, len, &e);
  if (rc == HD_ENOMEM || rc == HD_ETOOBIG) {
    L->status = HD_ENOMEM;
    return rc;
  }
  if (rc != HD_OK) {
    /* At the end of the stream (an unclosed quote or bracket) the useful
       place is where the unfinished thing began. */
    const yaml_mark_t *m = &e.problem_mark;
    const char *problem = e.problem ? e.problem : "syntax error";
    if (e.reader) {
      /* Encoding errors come with a byte offset only. */
      yaml_mark_t at = {e.offset, 0, 0};
      for (size_t i = 0; i < e.offset && i < len; i++) {
        if (text[i] == '\n') {
          at.line++;
          at.column = 0;
        } else if (((unsigned char)text[i] & 0xc0) != 0x80) {
          at.column++;
        }
      }
      report_at_mark(L, HD_ESYNTAX, &at, "%s%s", problem,
                     " (the file must be UTF-8 text)");
      return HD_ESYNTAX;
    }
    if (e.context != NULL && strstr(problem, "end of stream") != NULL)
      m = &e.context_mark;
    if (e.context != NULL &&
        strstr(problem, "did not find expected ',' or") != NULL)
      /* An unclosed bracket, or a value that needed quotes: the bracket
         that starts the list is where to look. */
      report_at_mark(L, HD_ESYNTAX, &e.context_mark,
                     "%s %s that starts here (close it, and quote values "
                     "inside that hold ',', ': ', brackets or braces)",
                     problem, e.context);
    else if (e.context != NULL)
      report_at_mark(L, HD_ESYNTAX, m, "%s %s", problem, e.context);
    else if (strcmp(problem, "mapping values are not allowed in this "
                             "context") == 0)
      report_at_mark(L, HD_ESYNTAX, m,
                     "%s (a value that holds ': ' must be quoted)%s", problem,
                     "");
    else
      report_at_mark(L, HD_ESYNTAX, m, "%s%s", problem, "");
    return HD_ESYNTAX;
  }
  if (L->file->tree.extra_line >= 0) {
    hd__ynode at;
    memset(&at, 0, sizeof(at));
    at.line = (uint32_t)L->file->tree.extra_line;
    at.column = (uint32_t)L->file->tree.extra_column;
    hd__wf_report(L, HD_ESCHEMA, &at,
                  "a workflow file holds one YAML document; this is a second");
  }
  return HD_OK;
}

/* Aliases make a tree a graph: refuse one that loops back into itself or
 * that would expand past the limit. Without aliases every node but the
 * root is the child of exactly one, and there are count - 1 children. */
static int check_aliases(hd__wf_loader *L) {
  hd__ytree *t = &L->file->tree;
  size_t n = t->count;
  if (n == 0 || t->nkids + 1 == n)
    return HD_OK;
  /* Expanded sizes by depth-first search, with a stack of (node, next
     child) and states 0 new, 1 open, 2 done. */
  uint64_t limit =
      100 * (uint64_t)n > MAX_EXPANDED ? 100 * (uint64_t)n : MAX_EXPANDED;
  uint64_t *size = hd__calloc(n + 1, sizeof(uint64_t));
  uint8_t *state = hd__calloc(n + 1, 1);
  uint32_t(*stack)[2] = hd__calloc(n + 1, sizeof(*stack));
  int rc = size && state && stack ? HD_OK : HD_ENOMEM;
  size_t top = 0;
  if (rc == HD_OK) {
    stack[top][0] = t->root;
    stack[top++][1] = 0;
    state[t->root] = 1;
    size[t->root] = 1;
  }
  while (rc == HD_OK && top > 0) {
    uint32_t id = stack[top - 1][0];
    const hd__ynode *node = hd__ytree_node(t, id);
    uint32_t k = node->type == YAML_MAPPING_NODE    ? 2 * node->count
                 : node->type == YAML_SEQUENCE_NODE ? node->count
                                                    : 0;
    uint32_t j = stack[top - 1][1];
    if (j == k) {
      state[id] = 2;
      top--;
      if (top > 0) {
        uint32_t parent = stack[top - 1][0];
        size[parent] += size[id];
        if (size[parent] > limit)
          size[parent] = limit + 1;
      }
      continue;
    }
    stack[top - 1][1]++;
    uint32_t ch = t->kids[node->first + j];
    if (state[ch] == 1) {
      hd__wf_report(L, HD_ESCHEMA, hd__ytree_node(t, ch),
                    "an alias refers to a node that holds it: the document "
                    "would be infinite");
      rc = HD_ESCHEMA;
    } else if (state[ch] == 2) {
      size[id] += size[ch];
      if (size[id] > limit)
        size[id] = limit + 1;
    } else {
      state[ch] = 1;
      size[ch] = 1;
      stack[top][0] = ch;
      stack[top++][1] = 0;
    }
  }
  if (rc == HD_OK && size[t->root] > limit) {
    hd__wf_report(L, HD_ESCHEMA, NULL,
                  "aliases expand this document to more than %llu nodes",
                  (unsigned long long)limit);
    rc = HD_ESCHEMA;
  }
  hd__free(size);
  hd__free(state);
  hd__free(stack);
  return rc;
}

/* ---- pass 2: libcyaml ---- */

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

static cyaml_config_t cyaml_cfg(cyaml_capture *log) {
  cyaml_config_t cfg = {
      .log_fn = on_cyaml_log,
      .log_ctx = log,
      .mem_fn = on_cyaml_mem,
      .mem_ctx = NULL,
      .log_level = CYAML_LOG_ERROR,
      .flags = CYAML_CFG_DEFAULT,
  };
  return cfg;
}

/* libcyaml's messages end with "(line: N, column: M)"; the position is
 * taken from the last such mention. */
static void report_cyaml(hd__wf_loader *L, cyaml_err_t err, hd__buf *text) {
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
  hd__ynode at;
  memset(&at, 0, sizeof(at));
  at.line = (uint32_t)(line > 0 ? line - 1 : 0);
  at.column = (uint32_t)(col > 0 ? col - 1 : 0);
  hd__wf_report(L, HD_ESCHEMA, line > 0 ? &at : NULL, "%s",
                first != NULL && first[0] ? first : cyaml_strerror(err));
}

/* ---- pass 3: the language ---- */

static const char *closest_backend(const char *name) {
  const char *best = NULL;
  size_t best_d = 3;
  for (size_t i = 0; i < hd_backend_count(); i++) {
    size_t d = hd__edit_distance(name, hd_backend_at(i)->name, 2);
    if (d < best_d) {
      best_d = d;
      best = hd_backend_at(i)->name;
    }
  }
  return best;
}

static void read_backend(hd__wf_loader *L, hd__ynode *v, const char *typed) {
  const char *b =
      typed != NULL ? typed : hd__wf_string(L, v, "backend", "the workflow");
  if (b == NULL)
    return;
  if (hd_backend_find(b) == NULL) {
    hd__buf names = {0};
    for (size_t i = 0; i < hd_backend_count(); i++)
      hd__buf_appendf(&names, "%s%s", i ? ", " : "", hd_backend_at(i)->name);
    const char *s = closest_backend(b);
    if (s != NULL)
      hd__wf_report(L, HD_ESCHEMA, v,
                    "unknown backend '%s'; did you mean '%s'?", b, s);
    else
      hd__wf_report(L, HD_ESCHEMA, v, "unknown backend '%s' (available: %s)", b,
                    names.data ? names.data : "");
    hd__buf_cleanup(&names);
    return;
  }
  if ((L->wf->backend = hd__strdup(b)) == NULL)
    L->status = HD_ENOMEM;
}

/* [user@]host[:port] */
static void read_host_string(hd__wf_loader *L, hd__ynode *v,
                             hd_workflow_host *h) {
  const char *s = hd__wf_scalar(v);
  const char *at = strchr(s, '@');
  const char *host = at ? at + 1 : s;
  const char *colon = strrchr(host, ':');
  size_t hlen = colon ? (size_t)(colon - host) : strlen(host);
  if ((at != NULL && at == s) || hlen == 0 || strchr(host, '@') != NULL ||
      memchr(host, ':', hlen) != NULL) {
    hd__wf_report(L, HD_ESCHEMA, v,
                  "host '%s' must be written [user@]host[:port]", s);
    return;
  }
  if (colon != NULL) {
    long long port;
    const char *why;
    if (hd__parse_int(colon + 1, 1, 65535, &port, &why) != HD_OK) {
      hd__wf_report(L, HD_ESCHEMA, v,
                    "the port of host '%s' must be a number from 1 to 65535",
                    s);
      return;
    }
    h->port = (unsigned)port;
  }
  char *hostname = hd__malloc(hlen + 1);
  char *user = at ? hd__malloc((size_t)(at - s) + 1) : NULL;
  if (hostname == NULL || (at != NULL && user == NULL)) {
    hd__free(hostname);
    hd__free(user);
    L->status = HD_ENOMEM;
    return;
  }
  memcpy(hostname, host, hlen);
  hostname[hlen] = '\0';
  if (user != NULL) {
    memcpy(user, s, (size_t)(at - s));
    user[at - s] = '\0';
  }
  h->host = hostname;
  h->user = user;
}

static void read_host_map(hd__wf_loader *L, hd__ynode *v, hd_workflow_host *h,
                          size_t i) {
  char what[32];
  snprintf(what, sizeof(what), "host %zu", i + 1);
  hd__wf_check_keys(L, v, hd__wf_host_keys, what);
  hd__ynode *host = hd__wf_get(L, v, "host");
  if (host == NULL) {
    if (!hd__wf_misspelled(L, v, hd__wf_host_keys, "host"))
      hd__wf_report(L, HD_ESCHEMA, v, "%s has no 'host'", what);
    return;
  }
  const char *name = hd__wf_string(L, host, "host", what);
  if (name != NULL && name[0] == '\0') {
    hd__wf_report(L, HD_ESCHEMA, host, "'host' of %s is empty", what);
    name = NULL;
  }
  const char *user = hd__wf_string(L, hd__wf_get(L, v, "user"), "user", what);
  const char *hodos =
      hd__wf_string(L, hd__wf_get(L, v, "hodos"), "hodos", what);
  long long n;
  if (hd__wf_int(L, hd__wf_get(L, v, "port"), "port", what, 1, 65535, &n))
    h->port = (unsigned)n;
  if (hd__wf_int(L, hd__wf_get(L, v, "slots"), "slots", what, 1, 65535, &n))
    h->slots = (unsigned)n;
  if (hd__wf_int(L, hd__wf_get(L, v, "tunnel"), "tunnel", what, 1, 65535, &n))
    h->tunnel = (unsigned)n;
  int check = 1;
  if (hd__wf_bool(L, hd__wf_get(L, v, "check_host_key"), "check_host_key", what,
                  &check))
    h->check_host_key = check;
  if ((name != NULL && (h->host = hd__strdup(name)) == NULL) ||
      (user != NULL && (h->user = hd__strdup(user)) == NULL) ||
      (hodos != NULL && (h->hodos = hd__strdup(hodos)) == NULL))
    L->status = HD_ENOMEM;
}

static void read_hosts(hd__wf_loader *L, hd__ynode *v) {
  if (v == NULL)
    return;
  if (v->type != YAML_SEQUENCE_NODE) {
    hd__wf_report(L, HD_ESCHEMA, v, "'hosts' must be a list of hosts, not %s",
                  hd__wf_type_name(v));
    return;
  }
  hd_workflow *wf = L->wf;
  size_t n = (size_t)v->count;
  if ((wf->hosts = hd__calloc(n + 1, sizeof(hd_workflow_host))) == NULL) {
    L->status = HD_ENOMEM;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    hd__ynode *h = hd__wf_item(L, v, i);
    hd_workflow_host *out = &wf->hosts[wf->nhosts];
    out->check_host_key = 1; /* unless the mapping turns it off */
    if (hd__wf_is_string(h))
      read_host_string(L, h, out);
    else if (h->type == YAML_MAPPING_NODE)
      read_host_map(L, h, out, i);
    else
      hd__wf_report(L, HD_ESCHEMA, h,
                    "a host must be [user@]host[:port] or a mapping with "
                    "'host', not %s",
                    hd__wf_type_name(h));
    if (out->host != NULL)
      wf->nhosts++;
    else {
      hd__free((char *)out->user);
      hd__free((char *)out->hodos);
      memset(out, 0, sizeof(*out));
    }
  }
}

static void load_file(hd__wf_loader *L, hd__wf_file *f, const char *text,
                      size_t len);

/* The folder of path ("." when it has none). */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (slash == NULL)
    return hd__strdup(".");
  if (slash == path)
    return hd__strdup("/");
  char *d = hd__malloc((size_t)(slash - path) + 1);
  if (d != NULL) {
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = '\0';
  }
  return d;
}

/* A file's text, NUL-terminated. Its buffer comes from hd__big_calloc:
 * reading a large file into pages faulted one by one cost a twentieth of
 * its load time. */
typedef struct file_text {
  char *data;
  size_t len, cap; /* cap: the buffer's size, for hd__big_free */
} file_text;

static void text_free(file_text *t) {
  hd__big_free(t->data, t->cap, 1);
  memset(t, 0, sizeof(*t));
}

/* Room for n more bytes and the NUL. */
static int text_room(file_text *t, size_t n) {
  if (t->len + n < t->cap)
    return HD_OK;
  size_t cap = t->cap ? 2 * t->cap : n + 1;
  while (cap <= t->len + n)
    cap *= 2;
  char *p = hd__big_calloc(cap, 1);
  if (p == NULL)
    return HD_ENOMEM;
  if (t->len > 0)
    memcpy(p, t->data, t->len);
  hd__big_free(t->data, t->cap, 1);
  t->data = p;
  t->cap = cap;
  return HD_OK;
}

static int read_text(const char *path, file_text *text, int *err) {
  FILE *f = fopen(path, "rb");
  int rc = HD_OK;
  *err = 0;
  memset(text, 0, sizeof(*text));
  if (f == NULL) {
    *err = errno;
    return HD_EIO;
  }
  /* Room for the whole file at once, when its size is known (and a byte
     more, to see the end at once). */
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    rc = (uint64_t)st.st_size > MAX_FILE_SIZE
             ? HD_ETOOBIG
             : text_room(text, (size_t)st.st_size + 1);
  while (rc == HD_OK) {
    if (text->len + 1 >= text->cap && (rc = text_room(text, 65536)) != HD_OK)
      break;
    size_t n = fread(text->data + text->len, 1, text->cap - 1 - text->len, f);
    if (n == 0)
      break;
    if (text->len + n > MAX_FILE_SIZE) {
      rc = HD_ETOOBIG;
      break;
    }
    text->len += n;
  }
  if (rc == HD_OK && ferror(f)) {
    *err = errno;
    rc = HD_EIO;
  }
  if (text->data != NULL)
    text->data[text->len] = '\0';
  fclose(f);
  return rc;
}

static void file_clear(hd__wf_file *f) {
  hd__ytree_free(&f->tree);
  hd__wf_defaults_clear(&f->defaults);
  hd__free(f->path);
  hd__free(f->dir);
  hd__free(f->real);
}

static int remember_file(hd_workflow *wf, const char *path) {
  char *c = hd__strdup(path);
  if (c == NULL || hd__grow((void **)&wf->files, &wf->capfiles, wf->nfiles + 1,
                            sizeof(char *))) {
    hd__free(c);
    return HD_ENOMEM;
  }
  wf->files[wf->nfiles++] = c;
  return HD_OK;
}

static int include_one(hd__wf_loader *L, hd__ynode *s, void *ctx) {
  (void)ctx;
  hd__wf_file *parent = L->file;
  int depth = 0;
  for (hd__wf_file *p = parent; p != NULL; p = p->parent)
    depth++;
  hd__wf_file f;
  memset(&f, 0, sizeof(f));
  f.parent = parent;
  f.include_at = s;
  if ((f.path = hd__wf_resolve(L, hd__wf_scalar(s), 0)) == NULL ||
      (f.dir = dir_of(f.path)) == NULL ||
      hd__wf_defaults_copy(&f.defaults, &parent->defaults) != HD_OK) {
    L->status = HD_ENOMEM;
    file_clear(&f);
    return 0;
  }
  char real[PATH_MAX];
  if (realpath(f.path, real) == NULL) {
    hd__wf_report(L, HD_EIO, s, "cannot include '%s': %s", hd__wf_scalar(s),
                  strerror(errno));
    file_clear(&f);
    return 0;
  }
  /* A file that includes itself, directly or not. */
  for (hd__wf_file *p = parent; p != NULL; p = p->parent) {
    if (p->real == NULL || strcmp(p->real, real) != 0)
      continue;
    /* From the file that comes back, down the includes, to it again. */
    hd__buf chain = {0};
    size_t depth_to = 0;
    for (hd__wf_file *q = parent; q != p; q = q->parent)
      depth_to++;
    for (size_t k = depth_to + 1; k-- > 0;) {
      hd__wf_file *q = parent;
      for (size_t j = 0; j < k; j++)
        q = q->parent;
      hd__buf_appendf(&chain, "%s -> ", q->path);
    }
    hd__buf_appendf(&chain, "%s", f.path);
    hd__wf_report(L, HD_ESCHEMA, s, "include cycle: %s",
                  chain.data ? chain.data : "");
    hd__buf_cleanup(&chain);
    file_clear(&f);
    return 0;
  }
  size_t ignored;
  if (hd__strmap_get(&L->wf->seen, real, &ignored)) {
    file_clear(&f); /* included already: once is enough */
    return 0;
  }
  if (depth >= MAX_INCLUDE_DEPTH) {
    hd__wf_report(L, HD_ESCHEMA, s, "includes nest more than %d deep",
                  MAX_INCLUDE_DEPTH);
    file_clear(&f);
    return 0;
  }
  if ((f.real = hd__strdup(real)) == NULL ||
      hd__strmap_put(&L->wf->seen, real, 1) != HD_OK ||
      remember_file(L->wf, f.path) != HD_OK) {
    L->status = HD_ENOMEM;
    file_clear(&f);
    return 0;
  }
  file_text text;
  int err;
  int rc = read_text(f.path, &text, &err);
  if (rc == HD_EIO)
    hd__wf_report(L, HD_EIO, s, "cannot read '%s': %s", f.path, strerror(err));
  else if (rc == HD_ETOOBIG)
    hd__wf_report(L, HD_ESCHEMA, s, "'%s' is larger than %u MiB", f.path,
                  MAX_FILE_SIZE >> 20);
  else if (rc != HD_OK)
    L->status = rc;
  else {
    L->file = &f;
    load_file(L, &f, text.data ? text.data : "", text.len);
    L->file = parent;
  }
  text_free(&text);
  file_clear(&f);
  return 0;
}

/* The top level of one file, its includes, then its tasks. */
static void read_top(hd__wf_loader *L, hd__wf_file *f,
                     const struct hd__wf_doc *typed) {
  hd_workflow *wf = L->wf;
  int main_file = f->parent == NULL;
  hd__ynode *root = hd__ytree_node(&f->tree, f->tree.root);
  if (root == NULL || hd__wf_is_null(root)) {
    if (main_file)
      hd__wf_report(L, HD_ESCHEMA, NULL,
                    "the workflow is empty; it needs at least a 'tasks' list");
    else
      hd__wf_report(L, HD_ESCHEMA, NULL,
                    "the included file is empty; it needs a 'tasks' list");
    return;
  }
  if (root->type != YAML_MAPPING_NODE) {
    hd__wf_report(L, HD_ESCHEMA, root,
                  "a workflow must be a mapping with a 'tasks' list, not %s",
                  hd__wf_type_name(root));
    return;
  }
  static const char what[] = "the workflow";
  hd__wf_check_keys(L, root, hd__wf_top_keys, what);
  static const char *const main_only[] = {"backend", "jobs", "workdir",
                                          "hosts"};
  for (size_t i = 0; !main_file && i < 4; i++) {
    hd__ynode *k = hd__wf_key_node(L, root, main_only[i]);
    if (k != NULL)
      hd__wf_report(L, HD_ESCHEMA, k,
                    "'%s' can only be set in the main workflow file, not in "
                    "an included one",
                    main_only[i]);
  }
  const char *name =
      hd__wf_string(L, hd__wf_get(L, root, "name"), "name", what);
  const char *desc =
      hd__wf_string(L, hd__wf_get(L, root, "description"), "description", what);
  if (main_file &&
      ((name != NULL && (wf->name = hd__strdup(name)) == NULL) ||
       (desc != NULL && (wf->description = hd__strdup(desc)) == NULL)))
    L->status = HD_ENOMEM;
  if (main_file) {
    hd__ynode *b = hd__wf_get(L, root, "backend");
    if (b != NULL)
      read_backend(L, b, typed ? typed->backend : NULL);
    long long jobs;
    if (hd__wf_int(L, hd__wf_get(L, root, "jobs"), "jobs", what, 1, 1024,
                   &jobs))
      wf->jobs = (unsigned)jobs;
    hd__ynode *wd = hd__wf_get(L, root, "workdir");
    const char *w = hd__wf_string(L, wd, "workdir", what);
    if (w != NULL && w[0] == '\0')
      hd__wf_report(L, HD_ESCHEMA, wd, "'workdir' of the workflow is empty");
    else if (w != NULL) {
      if ((wf->workdir = hd__wf_resolve(L, w, 0)) == NULL ||
          (f->defaults.workdir = hd__wf_resolve(L, w, 1)) == NULL)
        L->status = HD_ENOMEM;
      hd__wf_defaults_workdir_at(L, &f->defaults, wd);
    }
    read_hosts(L, hd__wf_get(L, root, "hosts"));
  }
  hd__wf_env(L, hd__wf_get(L, root, "env"), what, &f->defaults.env);
  hd__wf_defaults_read(L, hd__wf_get(L, root, "defaults"), &f->defaults);
  hd__wf_plugins(L, hd__wf_get(L, root, "plugins"), what);
  hd__wf_strings(L, hd__wf_get(L, root, "include"), "include", what,
                 include_one, NULL);

  hd__ynode *tasks = hd__wf_get(L, root, "tasks");
  if (tasks == NULL) {
    if (main_file && hd__wf_get(L, root, "include") == NULL &&
        !hd__wf_misspelled(L, root, hd__wf_top_keys, "tasks"))
      hd__wf_report(L, HD_ESCHEMA, root, "the workflow has no 'tasks'");
    return;
  }
  if (tasks->type != YAML_SEQUENCE_NODE) {
    hd__wf_report(L, HD_ESCHEMA, tasks,
                  "'tasks' must be a list of tasks, not %s",
                  hd__wf_type_name(tasks));
    L->graph_unsafe = 1;
    return;
  }
  size_t n = (size_t)tasks->count;
  if (hd__graph_reserve(wf->graph, n) != HD_OK) {
    L->status = HD_ENOMEM;
    return;
  }
  if (main_file) {
    L->tasks_at = *tasks;
    L->has_tasks = 1;
  }
  for (size_t i = 0; i < n && L->status != HD_ENOMEM; i++)
    hd__wf_task(L, hd__wf_item(L, tasks, (uint32_t)i), i);
}

/* libcyaml's pass parses the whole text again. On a large file it runs
 * on a thread of its own while the tree is built: on a million tasks it
 * took a sixth of the load time, and parsing the tree takes longer. */
#define CYAML_THREAD_MIN (4u << 20)

typedef struct cyaml_job {
  const uint8_t *text;
  size_t len;
  cyaml_capture log;
  cyaml_config_t cfg;
  struct hd__wf_doc *typed;
  cyaml_err_t err;
} cyaml_job;

static void *cyaml_run(void *arg) {
  cyaml_job *j = arg;
  j->err = cyaml_load_data(j->text, j->len, &j->cfg, &hd__wf_schema,
                           (cyaml_data_t **)&j->typed, NULL);
  return NULL;
}

/* Whether text looks shallow enough to hand to libcyaml on a thread
 * before the tree has checked its depth (ytree.h; libcyaml has no limit
 * of its own, and its time grows with the depth): its brackets nest under
 * the limit, counted as if none were in a string or a comment, and no
 * line is indented that far. Otherwise libcyaml runs after the tree, and
 * only when the tree was made. */
static int shallow(const char *text, size_t len) {
  size_t flow = 0, most = 0, col = 0;
  int lead = 1;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (c == '\n') {
      col = 0;
      lead = 1;
    } else if (lead && (c == ' ' || c == '-')) {
      col++;
    } else {
      lead = 0;
      if (c == '[' || c == '{')
        flow++;
      else if ((c == ']' || c == '}') && flow > 0)
        flow--;
    }
    if (flow + col > most)
      most = flow + col;
  }
  return most < HD__YAML_MAX_DEPTH;
}

static void load_file(hd__wf_loader *L, hd__wf_file *f, const char *text,
                      size_t len) {
  size_t before = L->wf->diags.count;
  cyaml_job job;
  memset(&job, 0, sizeof(job));
  job.text = (const uint8_t *)text;
  job.len = len;
  job.cfg = cyaml_cfg(&job.log);
  pthread_t thread;
  int threaded = len >= CYAML_THREAD_MIN && shallow(text, len) &&
                 pthread_create(&thread, NULL, cyaml_run, &job) == 0;
  int parsed = parse_yaml(L, text, len) == HD_OK && check_aliases(L) == HD_OK;
  hd__ynode *root = parsed ? hd__ytree_node(&f->tree, f->tree.root) : NULL;
  /* libcyaml's result counts when the text is a mapping. */
  int use = root != NULL && root->type == YAML_MAPPING_NODE;
  if (threaded)
    pthread_join(thread, NULL);
  else if (use)
    cyaml_run(&job);
  if (!use && job.typed != NULL) {
    cyaml_free(&job.cfg, &hd__wf_schema, job.typed, 0);
    job.typed = NULL;
  }
  cyaml_err_t err = use ? job.err : CYAML_OK;
  if (err == CYAML_ERR_OOM)
    L->status = HD_ENOMEM;
  if (!parsed)
    L->graph_unsafe = 1;
  else if (L->status != HD_ENOMEM)
    read_top(L, f, err == CYAML_OK ? job.typed : NULL);
  /* What libcyaml refused and the checks above did not: say it. */
  if (parsed && err != CYAML_OK && err != CYAML_ERR_OOM &&
      L->wf->diags.count == before) {
    report_cyaml(L, err, &job.log.text);
    L->graph_unsafe = 1;
  }
  if (job.typed != NULL)
    cyaml_free(&job.cfg, &hd__wf_schema, job.typed, 0);
  hd__buf_cleanup(&job.log.text);
}

/* ---- the graph, and the messages in order ---- */

static void check_graph(hd__wf_loader *L) {
  hd_workflow *wf = L->wf;
  if (L->ntasks == 0 && L->status == HD_OK) {
    hd__wf_report(L, HD_ESCHEMA, L->has_tasks ? &L->tasks_at : NULL,
                  "the workflow has no tasks");
    return;
  }
  if (L->graph_unsafe || L->status == HD_ENOMEM)
    return;
  int rc = hd_graph_validate(wf->graph);
  for (size_t i = 0; i < hd_graph_diag_count(wf->graph) && rc != HD_ENOMEM;
       i++) {
    const hd_diag *g = hd_graph_diag(wf->graph, i);
    if (hd__diags_add(&wf->diags, g->code, g->file, g->line, g->column, g->task,
                      "%s", g->message) != HD_OK)
      rc = HD_ENOMEM;
  }
  if (rc != HD_OK && (L->status == HD_OK || rc == HD_ENOMEM))
    L->status = rc;
}

static size_t file_rank(const hd_workflow *wf, const char *file) {
  for (size_t i = 0; file != NULL && i < wf->nfiles; i++)
    if (strcmp(wf->files[i], file) == 0)
      return i;
  return wf->nfiles;
}

static int before(const hd_workflow *wf, const hd_diag *x, const hd_diag *y) {
  size_t fx = file_rank(wf, x->file), fy = file_rank(wf, y->file);
  if (fx != fy)
    return fx < fy;
  if (x->line != y->line)
    return x->line < y->line;
  return x->column < y->column;
}

/* A stable sort by file, then position (insertion sort: few). */
static void sort_diags(hd_workflow *wf) {
  hd__diags *d = &wf->diags;
  for (size_t i = 1; i < d->count; i++) {
    hd_diag x = d->items[i];
    size_t j = i;
    while (j > 0 && before(wf, &x, &d->items[j - 1])) {
      d->items[j] = d->items[j - 1];
      j--;
    }
    d->items[j] = x;
  }
}

static hd_workflow *new_workflow(const char *name) {
  hd_workflow *wf = hd__calloc(1, sizeof(*wf));
  if (wf == NULL)
    return NULL;
  if ((wf->file = hd__strdup(name ? name : "<string>")) == NULL ||
      remember_file(wf, wf->file) != HD_OK) {
    hd_workflow_free(wf);
    return NULL;
  }
  return wf;
}

static int load(hd_workflow *wf, const char *yaml, size_t len,
                const char *real) {
  hd__wf_loader L;
  memset(&L, 0, sizeof(L));
  L.wf = wf;
  hd__wf_file f;
  memset(&f, 0, sizeof(f));
  if ((f.path = hd__strdup(wf->file)) == NULL ||
      (f.dir = dir_of(wf->file)) == NULL ||
      (real != NULL && (f.real = hd__strdup(real)) == NULL) ||
      (real != NULL && hd__strmap_put(&wf->seen, real, 1) != HD_OK) ||
      hd_graph_new(&wf->graph) != HD_OK) {
    file_clear(&f);
    return HD_ENOMEM;
  }
  L.file = &f;
  load_file(&L, &f, yaml, len);
  file_clear(&f);
  L.file = NULL;
  check_graph(&L);
  sort_diags(wf);
  return L.status;
}

int hd_workflow_load_string(const char *yaml, size_t len, const char *name,
                            hd_workflow **out) {
  if (out != NULL)
    *out = NULL;
  if (yaml == NULL || out == NULL)
    return HD_EINVAL;
  hd_workflow *wf = new_workflow(name);
  if (wf == NULL)
    return HD_ENOMEM;
  *out = wf;
  return load(wf, yaml, len, NULL);
}

int hd_workflow_load(const char *path, hd_workflow **out) {
  if (out != NULL)
    *out = NULL;
  if (path == NULL || out == NULL)
    return HD_EINVAL;
  file_text text;
  int err;
  int rc = read_text(path, &text, &err);
  hd_workflow *wf = new_workflow(path);
  if (wf == NULL) {
    text_free(&text);
    return HD_ENOMEM;
  }
  *out = wf;
  if (rc != HD_OK) {
    text_free(&text);
    if (rc == HD_EIO)
      hd__diags_add(&wf->diags, HD_EIO, path, 0, 0, NULL,
                    "cannot read the workflow: %s", strerror(err));
    else if (rc == HD_ETOOBIG)
      hd__diags_add(&wf->diags, HD_ETOOBIG, path, 0, 0, NULL,
                    "the workflow is larger than %u MiB", MAX_FILE_SIZE >> 20);
    return rc == HD_ETOOBIG ? HD_ESCHEMA : rc;
  }
  char real[PATH_MAX];
  rc = load(wf, text.data ? text.data : "", text.len,
            realpath(path, real) != NULL ? real : NULL);
  text_free(&text);
  return rc;
}

void hd_workflow_free(hd_workflow *wf) {
  if (wf == NULL)
    return;
  hd_graph_free(wf->graph);
  hd__diags_clear(&wf->diags);
  for (size_t i = 0; i < wf->nhosts; i++) {
    hd__free((char *)wf->hosts[i].host);
    hd__free((char *)wf->hosts[i].user);
    hd__free((char *)wf->hosts[i].hodos);
  }
  hd__free(wf->hosts);
  for (size_t i = 0; i < wf->nplugins; i++)
    hd__free(wf->plugins[i]);
  hd__free(wf->plugins);
  for (size_t i = 0; i < wf->nfiles; i++)
    hd__free(wf->files[i]);
  hd__free(wf->files);
  hd__strmap_cleanup(&wf->seen);
  hd__free(wf->file);
  hd__free(wf->name);
  hd__free(wf->description);
  hd__free(wf->backend);
  hd__free(wf->workdir);
  hd__free(wf);
}

const char *hd_workflow_name(const hd_workflow *wf) {
  return wf ? wf->name : NULL;
}

const char *hd_workflow_description(const hd_workflow *wf) {
  return wf ? wf->description : NULL;
}

const char *hd_workflow_backend(const hd_workflow *wf) {
  return wf ? wf->backend : NULL;
}

unsigned hd_workflow_jobs(const hd_workflow *wf) { return wf ? wf->jobs : 0; }

size_t hd_workflow_host_count(const hd_workflow *wf) {
  return wf ? wf->nhosts : 0;
}

const hd_workflow_host *hd_workflow_host_at(const hd_workflow *wf, size_t i) {
  return wf != NULL && i < wf->nhosts ? &wf->hosts[i] : NULL;
}

size_t hd_workflow_plugin_count(const hd_workflow *wf) {
  return wf ? wf->nplugins : 0;
}

const char *hd_workflow_plugin(const hd_workflow *wf, size_t i) {
  return wf != NULL && i < wf->nplugins ? wf->plugins[i] : NULL;
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
