/* Command templates: {name} placeholders replaced by param values quoted
 * for the shell. {{ and }} are literal braces; ${...} belongs to the shell
 * and is left alone, as is any brace that does not enclose a name (awk's
 * '{print $1}', a shell group { a; b; }). */
#include <string.h>

#include "graph_internal.h"

static int name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

/* If s[i] opens a placeholder, return the length of its name, else 0. */
static size_t placeholder(const char *s, size_t i) {
  if (s[i] != '{' || s[i + 1] == '{' || (i > 0 && s[i - 1] == '$'))
    return 0;
  size_t j = i + 1;
  if (!name_start(s[j]))
    return 0;
  while (name_char(s[j]))
    j++;
  return s[j] == '}' ? j - i - 1 : 0;
}

int hd__template_each(const char *cmd,
                      int (*cb)(const char *name, size_t len, void *ctx),
                      void *ctx) {
  for (size_t i = 0; cmd[i]; i++) {
    if ((cmd[i] == '{' && cmd[i + 1] == '{') ||
        (cmd[i] == '}' && cmd[i + 1] == '}')) {
      i++;
      continue;
    }
    size_t len = placeholder(cmd, i);
    if (len == 0)
      continue;
    int rc = cb(cmd + i + 1, len, ctx);
    if (rc != 0)
      return rc;
    i += len + 1;
  }
  return 0;
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

int hd__template_render(hd__buf *b, const char *cmd,
                        const char *(*lookup)(const char *name, size_t len,
                                              void *ctx),
                        void *ctx) {
  int rc = HD_OK;
  for (size_t i = 0; rc == HD_OK && cmd[i]; i++) {
    if ((cmd[i] == '{' && cmd[i + 1] == '{') ||
        (cmd[i] == '}' && cmd[i + 1] == '}')) {
      rc = hd__buf_append(b, cmd + i, 1);
      i++;
      continue;
    }
    size_t len = placeholder(cmd, i);
    if (len == 0) {
      rc = hd__buf_append(b, cmd + i, 1);
      continue;
    }
    const char *v = lookup(cmd + i + 1, len, ctx);
    if (v == NULL)
      return HD_ENOENT;
    rc = hd__shell_quote(b, v);
    i += len + 1;
  }
  return rc;
}
