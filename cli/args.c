/* Parsing of option values shared by the commands. */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../schemas/scalars.h"
#include "cli.h"

/* A size, as in workflow files (schemas/scalars.c, the same code) but
 * with its units in either case: 512M, 20gb, 1.5GiB, 64B. Above 0. */
int cli_parse_size(const char *s, uint64_t *out) {
  char up[64];
  size_t n = strlen(s);
  if (n >= sizeof(up))
    return -1;
  /* The workflow's spelling: K, M, G, T, then i, then B. */
  for (size_t i = 0; i <= n; i++) {
    char c = s[i];
    up[i] = c == 'k' || c == 'm' || c == 'g' || c == 't' || c == 'b'
                ? (char)(c - 32)
            : c == 'I' ? 'i'
                       : c;
  }
  const char *why;
  uint64_t v;
  if (hd__parse_size(up, &v, &why) != HD_OK || v == 0)
    return -1;
  *out = v;
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
