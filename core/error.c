/* Error codes and diagnostics. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *hd_strerror(int err) {
  switch (err) {
  case HD_OK:
    return "success";
#define HD__ERR_MSG(name, num, msg)                                            \
  case HD_##name:                                                              \
    return msg;
    HD_ERRNO_MAP(HD__ERR_MSG)
#undef HD__ERR_MSG
  default:
    return "unknown error";
  }
}

const char *hd_err_name(int err) {
  switch (err) {
  case HD_OK:
    return "OK";
#define HD__ERR_NAME(name, num, msg)                                           \
  case HD_##name:                                                              \
    return #name;
    HD_ERRNO_MAP(HD__ERR_NAME)
#undef HD__ERR_NAME
  default:
    return "UNKNOWN";
  }
}

size_t hd_diag_format(const hd_diag *d, char *buf, size_t len) {
  int n;
  if (d == NULL) {
    n = snprintf(buf, len, "(no diagnostic)");
  } else {
    const char *msg = d->message ? d->message : hd_strerror(d->code);
    if (d->file != NULL && d->line > 0 && d->column > 0)
      n = snprintf(buf, len, "%s:%d:%d: %s", d->file, d->line, d->column, msg);
    else if (d->file != NULL && d->line > 0)
      n = snprintf(buf, len, "%s:%d: %s", d->file, d->line, msg);
    else if (d->file != NULL)
      n = snprintf(buf, len, "%s: %s", d->file, msg);
    else
      n = snprintf(buf, len, "%s", msg);
  }
  return n < 0 ? 0 : (size_t)n;
}

static void diag_free_strings(hd_diag *d) {
  hd__free((char *)d->message);
  hd__free((char *)d->file);
  hd__free((char *)d->task);
}

static int diags_push(hd__diags *d, int code, const char *file, int line,
                      int column, const char *task, char *message) {
  if (message == NULL)
    return HD_ENOMEM;
  if (hd__grow((void **)&d->items, &d->cap, d->count + 1, sizeof(hd_diag)))
    goto fail;
  hd_diag x = {code, message, NULL, line, column, NULL};
  if (file != NULL && (x.file = hd__strdup(file)) == NULL)
    goto fail;
  if (task != NULL && (x.task = hd__strdup(task)) == NULL) {
    hd__free((char *)x.file);
    goto fail;
  }
  d->items[d->count++] = x;
  return HD_OK;
fail:
  hd__free(message);
  return HD_ENOMEM;
}

int hd__diags_add(hd__diags *d, int code, const char *file, int line,
                  int column, const char *task, const char *fmt, ...) {
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  int rc = hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  if (rc != HD_OK) {
    hd__buf_cleanup(&b);
    return HD_ENOMEM;
  }
  return diags_push(d, code, file, line, column, task, b.data);
}

int hd__diags_copy(hd__diags *dst, const hd__diags *src) {
  for (size_t i = 0; i < src->count; i++) {
    const hd_diag *s = &src->items[i];
    int rc = diags_push(dst, s->code, s->file, s->line, s->column, s->task,
                        hd__strdup(s->message));
    if (rc != HD_OK)
      return rc;
  }
  return HD_OK;
}

void hd__diags_clear(hd__diags *d) {
  for (size_t i = 0; i < d->count; i++)
    diag_free_strings(&d->items[i]);
  hd__free(d->items);
  d->items = NULL;
  d->count = d->cap = 0;
}

size_t hd__edit_distance(const char *a, const char *b, size_t limit) {
  size_t la = strlen(a), lb = strlen(b);
  if ((la > lb ? la - lb : lb - la) > limit)
    return limit + 1;
  if (lb > 255)
    return limit + 1;
  /* Only the cells within limit of the diagonal can stay within limit:
     the others count as limit + 1 (a file with thousands of misspelt
     names compares each with every task). */
  size_t over = limit + 1;
  size_t row[256];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j < over ? j : over;
  for (size_t i = 1; i <= la; i++) {
    size_t lo = i > limit ? i - limit : 1;
    size_t hi = i + limit < lb ? i + limit : lb;
    size_t diag = row[lo - 1];
    row[lo - 1] = lo == 1 && i < over ? i : over;
    size_t best = row[lo - 1];
    for (size_t j = lo; j <= hi; j++) {
      size_t up = row[j];
      size_t v = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < v)
        v = up + 1;
      if (row[j - 1] + 1 < v)
        v = row[j - 1] + 1;
      if (v > over)
        v = over;
      row[j] = v;
      diag = up;
      if (v < best)
        best = v;
    }
    if (best > limit)
      return over;
  }
  return row[lb] > limit ? over : row[lb];
}
