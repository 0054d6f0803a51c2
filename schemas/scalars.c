/* Strict scalars: see scalars.h. */
#include <math.h>
#include <string.h>

#include "scalars.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int hd__parse_int(const char *s, long long min, long long max, long long *out,
                  const char **why) {
  const char *p = s;
  int neg = 0;
  *why = NULL;
  if (*p == '-') {
    neg = 1;
    p++;
  } else if (*p == '+') {
    p++;
  }
  if (!is_digit(*p)) {
    *why = NULL;
    return HD_EINVAL;
  }
  if (p[0] == '0' && p[1] != '\0') {
    *why = is_digit(p[1]) ? "leading zeros are not allowed" : NULL;
    return HD_EINVAL;
  }
  unsigned long long v = 0;
  for (; is_digit(*p); p++) {
    if (v > (9223372036854775807ull - (unsigned)(*p - '0')) / 10) {
      *why = neg ? "too small" : "too large";
      return HD_EINVAL;
    }
    v = v * 10 + (unsigned)(*p - '0');
  }
  if (*p != '\0')
    return HD_EINVAL;
  long long x = neg ? -(long long)v : (long long)v;
  if (x < min) {
    *why = min == 0 ? "it cannot be negative" : "too small";
    return HD_EINVAL;
  }
  if (x > max) {
    *why = "too large";
    return HD_EINVAL;
  }
  *out = x;
  return HD_OK;
}

int hd__parse_bool(const char *s, int *out) {
  if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 ||
      strcmp(s, "TRUE") == 0) {
    *out = 1;
    return HD_OK;
  }
  if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 ||
      strcmp(s, "FALSE") == 0) {
    *out = 0;
    return HD_OK;
  }
  return HD_EINVAL;
}

/* A decimal number without sign or exponent: digits, optionally '.' and
 * digits. Returns the characters used, 0 when there is none. */
static size_t number(const char *s, double *out) {
  size_t i = 0;
  double v = 0;
  while (is_digit(s[i]))
    v = v * 10 + (s[i++] - '0');
  size_t int_digits = i;
  if (s[i] == '.') {
    double scale = 0.1;
    size_t j = i + 1;
    while (is_digit(s[j])) {
      v += (s[j] - '0') * scale;
      scale /= 10;
      j++;
    }
    if (j == i + 1)
      return 0; /* "1." */
    if (int_digits == 0)
      return 0; /* ".5" */
    i = j;
  }
  if (int_digits == 0)
    return 0;
  *out = v;
  return i;
}

int hd__parse_number(const char *s, double *out, const char **why) {
  double v;
  *why = NULL;
  if (s[0] == '-') {
    *why = "it cannot be negative";
    return HD_EINVAL;
  }
  size_t n = number(s, &v);
  if (n == 0 || s[n] != '\0' || !isfinite(v))
    return HD_EINVAL;
  *out = v;
  return HD_OK;
}

int hd__parse_duration(const char *s, double *out, const char **why) {
  static const struct {
    const char *unit;
    double secs;
  } units[] = {{"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  *why = NULL;
  if (s[0] == '-') {
    *why = "it cannot be negative";
    return HD_EINVAL;
  }
  double total = 0, v;
  size_t n = number(s, &v);
  if (n == 0)
    return HD_EINVAL;
  if (s[n] == '\0') {
    if (v > 1e9) {
      *why = "too long";
      return HD_EINVAL;
    }
    *out = v; /* a bare number: seconds */
    return HD_OK;
  }
  const char *p = s;
  int last = -1;
  while (*p != '\0') {
    n = number(p, &v);
    if (n == 0)
      return HD_EINVAL;
    p += n;
    int u = -1;
    for (int k = 0; k < 5 && u < 0; k++) {
      size_t len = strlen(units[k].unit);
      if (strncmp(p, units[k].unit, len) == 0) /* "ms" before "m" */
        u = k;
    }
    if (u < 0) {
      *why = *p == '\0'               ? "a part without a unit"
             : *p == 'e' || *p == 'E' ? "no exponent"
             : *p != '.'              ? "unknown unit (use ms, s, m, h or d)"
                                      : NULL;
      return HD_EINVAL;
    }
    /* Units from largest to smallest, each once: 1h30m, not 30m1h. */
    if (last >= 0 && u >= last) {
      *why = "units must go from the largest to the smallest, each once";
      return HD_EINVAL;
    }
    last = u;
    total += v * units[u].secs;
    p += strlen(units[u].unit);
  }
  if (!isfinite(total) || total > 1e9) {
    *why = "too long";
    return HD_EINVAL;
  }
  *out = total;
  return HD_OK;
}

int hd__parse_size(const char *s, uint64_t *out, const char **why) {
  *why = NULL;
  if (s[0] == '-') {
    *why = "it cannot be negative";
    return HD_EINVAL;
  }
  double v;
  size_t n = number(s, &v);
  if (n == 0)
    return HD_EINVAL;
  const char *u = s + n;
  double mult = 1;
  if (*u == 'K' || *u == 'k')
    mult = 1024.0;
  else if (*u == 'M')
    mult = 1024.0 * 1024;
  else if (*u == 'G')
    mult = 1024.0 * 1024 * 1024;
  else if (*u == 'T')
    mult = 1024.0 * 1024 * 1024 * 1024;
  else if (*u == '.') {
    return HD_EINVAL; /* two decimal points */
  } else if (*u != 'B' && *u != '\0') {
    *why = "unknown unit (use K, M, G or T)";
    return HD_EINVAL;
  }
  if (mult > 1) {
    u++;
    if (strcmp(u, "i") == 0 || strcmp(u, "iB") == 0 || strcmp(u, "B") == 0)
      u += strlen(u);
  } else if (*u == 'B') {
    u++;
  }
  if (*u != '\0') {
    *why = "unknown unit (use K, M, G or T)";
    return HD_EINVAL;
  }
  if (mult == 1 && memchr(s, '.', n) != NULL) {
    *why = "a number of bytes is whole";
    return HD_EINVAL;
  }
  if (memchr(s, '.', n) == NULL) {
    /* Whole numbers exactly, in integers. */
    uint64_t whole = 0, m = (uint64_t)mult;
    for (size_t i = 0; i < n; i++) {
      if (whole > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10) {
        *why = "too large";
        return HD_EINVAL;
      }
      whole = whole * 10 + (uint64_t)(s[i] - '0');
    }
    if (m > 1 && whole > UINT64_MAX / m) {
      *why = "too large";
      return HD_EINVAL;
    }
    *out = whole * m;
    return HD_OK;
  }
  double bytes = v * mult;
  if (!(bytes < 18446744073709551615.0)) {
    *why = "too large";
    return HD_EINVAL;
  }
  *out = (uint64_t)bytes;
  return HD_OK;
}
