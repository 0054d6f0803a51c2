/* Parsing of option values shared by the commands. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A size: digits, then K, M, G or T (powers of 1024), or nothing. */
int cli_parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  if (s[0] < '0' || s[0] > '9')
    return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0)
    return -1;
  unsigned shift = 0;
  if (*end != '\0') {
    const char *units = "KMGT";
    const char *u = strchr(units, *end >= 'a' ? *end - 32 : *end);
    if (u == NULL || *u == '\0' || (end[1] != '\0' && strcmp(end + 1, "B")))
      return -1;
    shift = 10 * (unsigned)(u - units + 1);
  }
  if (v > (UINT64_MAX >> shift) || v == 0)
    return -1;
  *out = (uint64_t)v << shift;
  return 0;
}
