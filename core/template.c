/* Templates: finding placeholders and replacing them. */
#include <stdlib.h>
#include <string.h>

#include "template.h"

static int name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

static int is_ident(const char *s, size_t len) {
  if (len == 0 || !name_start(s[0]))
    return 0;
  for (size_t i = 1; i < len; i++)
    if (!name_char(s[i]))
      return 0;
  return 1;
}

/* inputs, inputs.N (and the same for outputs): the index, -1 for all, or
 * -2 when head is not of that form. */
static long file_index(const char *head, size_t len, const char *word) {
  size_t w = strlen(word);
  if (len < w || memcmp(head, word, w) != 0)
    return -2;
  if (len == w)
    return -1;
  if (head[w] != '.' || len == w + 1 || len - w - 1 > 6)
    return -2;
  long v = 0;
  for (size_t i = w + 1; i < len; i++) {
    if (head[i] < '0' || head[i] > '9')
      return -2;
    v = v * 10 + (head[i] - '0');
  }
  if (head[w + 1] == '0' && len > w + 2)
    return -2;
  return v;
}

/* If s[i] opens a placeholder, describe it in *ph and return 1. */
static int parse(const char *s, size_t i, hd__ph *ph) {
  if (s[i] != '{' || s[i + 1] == '{' || (i > 0 && s[i - 1] == '$') ||
      !name_start(s[i + 1]))
    return 0;
  size_t j = i + 1;
  /* A task's name may hold spaces ({after.align reads}); nothing else
     does. */
  int after = strncmp(s + i + 1, "after.", 6) == 0;
  while (s[j] != '\0' && s[j] != '}' && s[j] != '{' &&
         ((unsigned char)s[j] > ' ' || (after && s[j] == ' ')))
    j++;
  if (s[j] != '}')
    return 0;
  const char *body = s + i + 1;
  size_t len = j - i - 1;
  memset(ph, 0, sizeof(*ph));
  ph->start = i;
  ph->end = j + 1;
  ph->index = -1;
  size_t head = len;
  const char *colon = memchr(body, ':', len);
  if (colon != NULL) {
    /* The modifier follows the last colon. */
    const char *c = colon;
    while ((c = memchr(c + 1, ':', (size_t)(body + len - c - 1))) != NULL)
      colon = c;
    head = (size_t)(colon - body);
    ph->mod = colon + 1;
    ph->modlen = len - head - 1;
    if (ph->modlen == 3 && memcmp(ph->mod, "raw", 3) == 0) {
      ph->raw = 1;
      ph->mod = NULL;
      ph->modlen = 0;
    }
  }
  ph->name = body;
  ph->len = head;
  long idx;
  if (head > 6 && memcmp(body, "after.", 6) == 0) {
    ph->kind = HD__PH_AFTER;
    ph->name = body + 6;
    ph->len = head - 6;
  } else if ((idx = file_index(body, head, "inputs")) != -2) {
    ph->kind = HD__PH_INPUTS;
    ph->index = idx;
  } else if ((idx = file_index(body, head, "outputs")) != -2) {
    ph->kind = HD__PH_OUTPUTS;
    ph->index = idx;
  } else if (is_ident(body, head)) {
    ph->kind = HD__PH_PARAM;
  } else {
    /* Only letters, digits, '_' and '.' make a placeholder we refuse;
       anything else ({a,b}, {x-y}) is left to the shell. */
    for (size_t k = 0; k < len; k++)
      if (!name_char(body[k]) && body[k] != '.' && body[k] != ':')
        return 0;
    ph->kind = HD__PH_BAD;
    ph->len = len;
  }
  return 1;
}

int hd__template_each(const char *s, int (*cb)(const hd__ph *ph, void *ctx),
                      void *ctx) {
  for (size_t i = 0; s[i]; i++) {
    if ((s[i] == '{' && s[i + 1] == '{') || (s[i] == '}' && s[i + 1] == '}')) {
      i++;
      continue;
    }
    hd__ph ph;
    if (!parse(s, i, &ph))
      continue;
    int rc = cb(&ph, ctx);
    if (rc != 0)
      return rc;
    i = ph.end - 1;
  }
  return 0;
}

static int has_after(const hd__ph *ph, void *ctx) {
  (void)ctx;
  return ph->kind == HD__PH_AFTER;
}

int hd__template_has_after(const char *s) {
  return s != NULL && hd__template_each(s, has_after, NULL) != 0;
}

/* Characters that never need quoting in a POSIX shell word. */
static int shell_safe(const char *v) {
  if (*v == '\0')
    return 0;
  for (const char *p = v; *p; p++) {
    char c = *p;
    if (!(name_char(c) || strchr("@%+=:,./-", c) != NULL))
      return 0;
  }
  return 1;
}

int hd__shell_quote(hd__buf *b, const char *v) {
  if (shell_safe(v))
    return hd__buf_append(b, v, strlen(v));
  int rc = hd__buf_append(b, "'", 1);
  for (const char *p = v; rc == HD_OK && *p; p++)
    rc = *p == '\'' ? hd__buf_append(b, "'\\''", 4) : hd__buf_append(b, p, 1);
  if (rc == HD_OK)
    rc = hd__buf_append(b, "'", 1);
  return rc;
}

static int append_escaped(hd__buf *b, const char *v, size_t len) {
  int rc = HD_OK;
  for (size_t i = 0; rc == HD_OK && i < len; i++) {
    rc = hd__buf_append(b, v + i, 1);
    if (rc == HD_OK && (v[i] == '{' || v[i] == '}'))
      rc = hd__buf_append(b, v + i, 1);
  }
  return rc;
}

int hd__template_put(hd__buf *b, const char *v, const hd__ph *ph,
                     const hd__tput *how) {
  if (!how->quote || ph->raw)
    return how->escape ? append_escaped(b, v, strlen(v))
                       : hd__buf_append(b, v, strlen(v));
  if (!how->escape)
    return hd__shell_quote(b, v);
  hd__buf q = {0};
  int rc = hd__shell_quote(&q, v);
  if (rc == HD_OK)
    rc = append_escaped(b, q.data, q.len);
  hd__buf_cleanup(&q);
  return rc;
}

int hd__template_render(hd__buf *b, const char *s, int quote, int keep_after,
                        hd__ph_value value, void *ctx) {
  hd__tput how = {quote, keep_after};
  int rc = HD_OK;
  for (size_t i = 0; rc == HD_OK && s[i]; i++) {
    if ((s[i] == '{' && s[i + 1] == '{') || (s[i] == '}' && s[i + 1] == '}')) {
      rc = hd__buf_append(b, s + i, keep_after ? 2 : 1);
      i++;
      continue;
    }
    hd__ph ph;
    if (!parse(s, i, &ph)) {
      rc = hd__buf_append(b, s + i, 1);
      continue;
    }
    if (keep_after && ph.kind == HD__PH_AFTER)
      rc = hd__buf_append(b, s + ph.start, ph.end - ph.start);
    else
      rc = value(b, &ph, &how, ctx);
    i = ph.end - 1;
  }
  return rc;
}

int hd__staged_path(hd__buf *b, const char *path) {
  const char *slash = strrchr(path, '/');
  size_t dir = slash != NULL ? (size_t)(slash - path) + 1 : 0;
  int rc = hd__buf_append(b, path, dir);
  if (rc == HD_OK)
    rc = hd__buf_appendf(b, ".hodos-part.%s", path + dir);
  return rc;
}
