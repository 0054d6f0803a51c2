/* Parsing of option values shared by the commands. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* A size: digits, then K, M, G or T (powers of 1024, either case),
 * optionally followed by B or b, or nothing. */
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
    if (u == NULL || *u == '\0' ||
        (end[1] != '\0' && strcmp(end + 1, "B") != 0 &&
         strcmp(end + 1, "b") != 0))
      return -1;
    shift = 10 * (unsigned)(u - units + 1);
  }
  if (v > (UINT64_MAX >> shift) || v == 0)
    return -1;
  *out = (uint64_t)v << shift;
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
