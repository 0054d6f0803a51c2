/* Parsing of option values shared by the commands. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A size, as in workflow files (docs/workflow.md, Sizes) but in either
 * case: a whole number of bytes (optionally followed by B), or a number
 * (a decimal one too) followed by K, M, G or T (powers of 1024), then
 * optionally B or iB. Above 0. */
int cli_parse_size(const char *s, uint64_t *out) {
  if (s[0] < '0' || s[0] > '9')
    return -1;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s)
    return -1;
  size_t digits = strspn(s, "0123456789");
  int whole = s + digits == end;
  if (!whole && (s[digits] != '.' || strspn(s + digits + 1, "0123456789") !=
                                         (size_t)(end - s - digits - 1)))
    return -1; /* an exponent, a hexadecimal number... */
  unsigned shift = 0;
  const char *u = strchr("KMGT", *end >= 'a' && *end <= 'z' ? *end - 32 : *end);
  if (*end != '\0' && u != NULL) {
    shift = 10 * (unsigned)(u - "KMGT" + 1);
    end++;
    if (*end == 'i' || *end == 'I')
      end++;
  }
  if (*end == 'B' || *end == 'b')
    end++;
  if (*end != '\0' || (shift == 0 && !whole))
    return -1;
  if (whole) {
    unsigned long long n = strtoull(s, NULL, 10);
    if (errno != 0 || n == 0 || n > (UINT64_MAX >> shift))
      return -1;
    *out = (uint64_t)n << shift;
    return 0;
  }
  double bytes = v * (double)((uint64_t)1 << shift);
  if (!(bytes >= 1 && bytes < 18446744073709551615.0))
    return -1;
  *out = (uint64_t)bytes;
  return 0;
}

/* After getopt_long() returned '?' for argv with the long options opts:
 * name what was wrong. A long option given a value it does not take sets
 * optopt to its short letter, which the user never wrote. */
void cli_unknown_option(char **argv, const struct option *opts,
                        const char *cmd) {
  const char *a = argv[optind - 1];
  const char *eq = strchr(a, '=');
  if (optopt != 0 && strncmp(a, "--", 2) == 0 && eq != NULL)
    for (const struct option *o = opts; o->name != NULL; o++)
      if (o->val == optopt && strlen(o->name) == (size_t)(eq - a - 2) &&
          strncmp(o->name, a + 2, (size_t)(eq - a - 2)) == 0) {
        cli_error("option '--%s' takes no value; see 'hodos help %s'", o->name,
                  cmd);
        return;
      }
  if (optopt != 0)
    cli_error("unknown option '-%c'; see 'hodos help %s'", optopt, cmd);
  else
    cli_error("unknown option '%s'; see 'hodos help %s'", a, cmd);
}

/* An empty -s/--store would put the store at the file system's root. */
int cli_store_ok(const char *store) {
  if (store != NULL && store[0] == '\0') {
    cli_error("-s/--store needs a folder, not an empty name");
    return 0;
  }
  return 1;
}
