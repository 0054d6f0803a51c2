/* A growable byte buffer, always NUL-terminated. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static int reserve(hd__buf *b, size_t extra) {
  if (extra > SIZE_MAX - b->len - 1)
    return HD_ENOMEM;
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return HD_OK;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < need)
    ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  char *p = hd__realloc(b->data, ncap);
  if (p == NULL)
    return HD_ENOMEM;
  b->data = p;
  b->cap = ncap;
  return HD_OK;
}

int hd__buf_append(hd__buf *b, const void *data, size_t len) {
  if (reserve(b, len) != HD_OK)
    return HD_ENOMEM;
  if (len > 0)
    memcpy(b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return HD_OK;
}

int hd__buf_vappendf(hd__buf *b, const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return HD_EINVAL;
  if (reserve(b, (size_t)n) != HD_OK)
    return HD_ENOMEM;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
  return HD_OK;
}

int hd__buf_appendf(hd__buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = hd__buf_vappendf(b, fmt, ap);
  va_end(ap);
  return rc;
}

void hd__buf_cleanup(hd__buf *b) {
  hd__free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
