/* Cache keys: what a task's result depends on, hashed with XXH3-128.
 *
 * A task's key covers its name (so that two tasks with the same command,
 * which may act on the world apart from their results, never stand in
 * for each other), its definition (the kind, the command or argv
 * words as written, or the function's name; its params and declared env,
 * each sorted by name so that reordering them changes nothing; its
 * workdir; the names of its input and output files; the names of the
 * tasks its standard input comes from), the content of its input files,
 * and the hashes of its input values in order. Settings that do not
 * change a result (retries, timeout, priority, resources) are left out,
 * and so are timestamps: a file touched but not changed changes nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* The state of streaming hashes lives on the stack. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "cachekey.h"

#define KEY_TAG "hodos-task-key-3"

static hd__key from128(XXH128_hash_t h) { return (hd__key){h.low64, h.high64}; }

hd__key hd__key_value(const hd_value *v) {
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  unsigned char kind = (unsigned char)hd_value_kind_of(v);
  XXH3_128bits_update(&st, &kind, 1);
  XXH3_128bits_update(&st, hd_value_data(v), hd_value_size(v));
  return from128(XXH3_128bits_digest(&st));
}

int hd__key_file(const char *path, hd__key *out) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return HD_EIO;
  enum { CHUNK = 1 << 17 };
  char *buf = hd__malloc(CHUNK);
  if (buf == NULL) {
    close(fd);
    return HD_ENOMEM;
  }
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  int rc = HD_OK;
  for (;;) {
    ssize_t n = read(fd, buf, CHUNK);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = HD_EIO;
      break;
    }
    if (n == 0)
      break;
    XXH3_128bits_update(&st, buf, (size_t)n);
  }
  int err = errno;
  hd__free(buf);
  close(fd);
  errno = err;
  if (rc == HD_OK)
    *out = from128(XXH3_128bits_digest(&st));
  return rc;
}

static void add_str(XXH3_state_t *st, const char *s) {
  XXH3_128bits_update(st, s, strlen(s) + 1); /* with its NUL: a separator */
}

static void add_u64(XXH3_state_t *st, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  XXH3_128bits_update(st, b, 8);
}

/* Strings sorted by strcmp, through an array of pointers. */
static int by_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add count strings (pointers in items) sorted, or HD_ENOMEM. */
static int add_sorted(XXH3_state_t *st, const char **items, size_t count) {
  qsort(items, count, sizeof(*items), by_str);
  add_u64(st, count);
  for (size_t i = 0; i < count; i++)
    add_str(st, items[i]);
  return HD_OK;
}

int hd__task_key(const hd__plan *p, uint32_t node, const hd__key *inputs,
                 size_t ninputs, hd__key *key, hd__keyparts *parts,
                 hd__buf *why) {
  const hd__pnode *n = &p->nodes[node];
  const hd__pio *io = hd__plan_io(p, node);
  XXH3_state_t st;
  XXH3_128bits_reset(&st);
  add_str(&st, KEY_TAG);
  add_str(&st, hd__plan_name(p, node));
  add_u64(&st, n->kind);
  add_str(&st, hd__plan_what(p, node));

  /* Params as "key=value", and env, each sorted. */
  size_t nstr = n->nparams;
  if (io != NULL && io->nenv > nstr)
    nstr = io->nenv;
  const char **items = hd__calloc(nstr + 1, sizeof(char *));
  hd__buf pairs = {0};
  if (items == NULL)
    return HD_ENOMEM;
  int rc = HD_OK;
  size_t *offs = hd__calloc(n->nparams + 1, sizeof(size_t));
  if (offs == NULL)
    rc = HD_ENOMEM;
  for (uint32_t i = 0; i < n->nparams && rc == HD_OK; i++) {
    offs[i] = pairs.len;
    const char *k = p->strings + p->params[2 * (n->param_off + i)];
    const char *v = p->strings + p->params[2 * (n->param_off + i) + 1];
    rc = hd__buf_append(&pairs, k, strlen(k));
    if (rc == HD_OK)
      rc = hd__buf_append(&pairs, "=", 1);
    if (rc == HD_OK)
      rc = hd__buf_append(&pairs, v, strlen(v) + 1);
  }
  if (rc == HD_OK) {
    for (uint32_t i = 0; i < n->nparams; i++)
      items[i] = pairs.data + offs[i];
    add_sorted(&st, items, n->nparams);
  }
  hd__free(offs);
  if (rc == HD_OK && io != NULL) {
    for (uint32_t i = 0; i < io->nenv; i++)
      items[i] = hd__plan_list(p, io->env, i);
    add_sorted(&st, items, io->nenv);
    add_u64(&st, io->argc);
    for (uint32_t i = 0; i < io->argc; i++)
      add_str(&st, hd__plan_list(p, io->argv, i));
    add_str(&st, io->workdir ? p->strings + io->workdir : "");
    add_u64(&st, io->noutputs);
    for (uint32_t i = 0; i < io->noutputs; i++)
      add_str(&st, hd__plan_list(p, io->outputs, i));
    add_u64(&st, io->stdin_hi - io->stdin_lo);
    for (uint32_t i = io->stdin_lo; i < io->stdin_hi; i++)
      add_str(&st, hd__plan_name(p, i));
    add_u64(&st, io->ninputs);
    for (uint32_t i = 0; i < io->ninputs; i++)
      add_str(&st, hd__plan_list(p, io->inputs, i));
  }
  hd__free(items);
  hd__buf_cleanup(&pairs);
  if (rc != HD_OK)
    return rc;
  hd__key def = from128(XXH3_128bits_digest(&st));

  /* The key: the definition, each input file's content, the input
     values; each part kept apart for telling later what changed. */
  XXH3_state_t all, vals;
  XXH3_128bits_reset(&all);
  XXH3_128bits_reset(&vals);
  add_str(&all, KEY_TAG);
  add_u64(&all, def.lo);
  add_u64(&all, def.hi);
  uint32_t nfiles = io != NULL ? io->ninputs : 0;
  uint64_t *files =
      parts != NULL && nfiles > 0 ? hd__calloc(nfiles, sizeof(uint64_t)) : NULL;
  if (parts != NULL && nfiles > 0 && files == NULL)
    return HD_ENOMEM;
  hd__buf path = {0};
  for (uint32_t i = 0; i < nfiles && rc == HD_OK; i++) {
    const char *f = hd__plan_list(p, io->inputs, i);
    hd__key h;
    rc = hd__io_path(&path, p, io, f);
    if (rc == HD_OK && (rc = hd__key_file(path.data, &h)) != HD_OK) {
      if (rc == HD_EIO) {
        int e = errno; /* kept for the caller */
        hd__buf_appendf(why, "cannot read its input file '%s': %s", f,
                        strerror(e));
        errno = e;
      }
      break;
    }
    add_u64(&all, h.lo);
    add_u64(&all, h.hi);
    if (files != NULL)
      files[i] = h.lo;
  }
  hd__buf_cleanup(&path);
  if (rc != HD_OK) {
    hd__free(files);
    return rc;
  }
  add_u64(&vals, ninputs);
  for (size_t i = 0; i < ninputs; i++) {
    add_u64(&vals, inputs[i].lo);
    add_u64(&vals, inputs[i].hi);
  }
  hd__key v = from128(XXH3_128bits_digest(&vals));
  add_u64(&all, v.lo);
  add_u64(&all, v.hi);
  *key = from128(XXH3_128bits_digest(&all));
  if (parts != NULL) {
    parts->def = def.lo;
    parts->values = v.lo;
    parts->files = files;
    parts->nfiles = nfiles;
  }
  return HD_OK;
}

int hd__output_keys(const hd__plan *p, uint32_t node, hd__key *keys,
                    hd__buf *why) {
  const hd__pio *io = hd__plan_io(p, node);
  if (io == NULL)
    return HD_OK;
  hd__buf path = {0};
  int rc = HD_OK;
  for (uint32_t i = 0; i < io->noutputs && rc == HD_OK; i++) {
    const char *f = hd__plan_list(p, io->outputs, i);
    rc = hd__io_path(&path, p, io, f);
    if (rc == HD_OK && (rc = hd__key_file(path.data, &keys[i])) == HD_EIO)
      hd__buf_appendf(why, "output file '%s': %s", f, strerror(errno));
  }
  hd__buf_cleanup(&path);
  return rc;
}

int hd__outputs_check(const hd__plan *p, uint32_t node, const hd__key *kept,
                      hd__buf *why) {
  const hd__pio *io = hd__plan_io(p, node);
  if (io == NULL)
    return HD_OK;
  hd__buf path = {0};
  int rc = HD_OK;
  for (uint32_t i = 0; i < io->noutputs && rc == HD_OK; i++) {
    const char *f = hd__plan_list(p, io->outputs, i);
    hd__key h;
    rc = hd__io_path(&path, p, io, f);
    if (rc == HD_OK && (rc = hd__key_file(path.data, &h)) == HD_EIO) {
      hd__buf_appendf(why, "its output '%s' is missing", f);
      rc = HD_ETASK;
    } else if (rc == HD_OK && (h.lo != kept[i].lo || h.hi != kept[i].hi)) {
      hd__buf_appendf(why, "its output '%s' changed", f);
      rc = HD_ETASK;
    }
  }
  hd__buf_cleanup(&path);
  return rc;
}
