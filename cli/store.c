/* hodos status FILE, hodos clean [FILE] */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void help_status(FILE *out) {
  fputs("Usage: hodos status [OPTIONS] FILE\n"
        "\n"
        "Tell, task by task, what 'hodos run FILE' would do now: reuse a\n"
        "task's kept result (up to date) or run it, and why (no result\n"
        "kept, its definition changed, input file X changed, its input from\n"
        "upstream changed, it runs after a task that runs, its cache is\n"
        "off). Nothing runs and nothing changes; a run may go on meanwhile.\n"
        "A task is up to date only when every task it runs after is.\n"
        "\n"
        "Options:\n"
        "  -s, --store DIR   the store of the runs (default: .hodos beside\n"
        "                    FILE)\n"
        "  -q, --quiet       print only the tasks that would run, and the\n"
        "                    summary\n"
        "  -h, --help        show this help\n"
        "\n"
        "Exit status: 0 every task is up to date; 1 some task would run, or\n"
        "the store cannot be read; 2 a usage or workflow error.\n"
        "\n"
        "Example:\n"
        "  hodos status pipeline.yaml\n",
        out);
}

void help_clean(FILE *out) {
  fputs("Usage: hodos clean [OPTIONS] [FILE]\n"
        "\n"
        "Drop the cached results that the last run did not use (finish or\n"
        "reuse), from the store of FILE (.hodos beside it) or of --store.\n"
        "With --max-size, keep instead as many results as fit in SIZE:\n"
        "those of the last run first, then the most recently used (made or\n"
        "reused). Damaged results are dropped. The cache is rewritten at\n"
        "once (a rename), so an interrupted clean leaves it as it was. A\n"
        "run using the store at the same time makes clean fail without\n"
        "changing anything.\n"
        "\n"
        "Options:\n"
        "  -s, --store DIR      the store (default: .hodos beside FILE)\n"
        "  -m, --max-size SIZE  keep at most SIZE bytes of results (a number\n"
        "                       with an optional K, M, G or T: powers of\n"
        "                       1024)\n"
        "  -h, --help           show this help\n"
        "\n"
        "What the last run used is read from the store's journal: when\n"
        "it is missing or unreadable, clean drops nothing and fails\n"
        "(--max-size still cleans, the most recently used first).\n"
        "\n"
        "Exit status: 0 cleaned; 1 the store is in use, its journal is\n"
        "missing or unreadable (without --max-size), or it cannot be\n"
        "rewritten; 2 a usage error or no store.\n"
        "\n"
        "Examples:\n"
        "  hodos clean pipeline.yaml\n"
        "  hodos clean --store /data/runs --max-size 20G\n",
        out);
}

/* The cache of a store: STORE/cache (malloc'd). */
static char *cache_dir(const char *store) {
  size_t len = strlen(store) + 8;
  char *dir = malloc(len);
  if (dir != NULL)
    snprintf(dir, len, "%s/cache", store);
  return dir;
}

int cmd_status(int argc, char **argv) {
  static const struct option opts[] = {
      {"store", required_argument, NULL, 's'},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *store = NULL;
  int quiet = 0, c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":s:qh", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      store = optarg;
      break;
    case 'q':
      quiet = 1;
      break;
    case 'h':
      help_status(stdout);
      return EXIT_OK;
    case ':':
      cli_error("option '%s' needs a value; see 'hodos help status'",
                argv[optind - 1]);
      return EXIT_USAGE;
    default:
      cli_unknown_option(argv, opts, "status");
      return EXIT_USAGE;
    }
  }
  if (!cli_store_ok(store))
    return EXIT_USAGE;
  if (optind + 1 != argc) {
    cli_error(optind >= argc ? "no workflow file given; usage: hodos status "
                               "[OPTIONS] FILE"
                             : "one workflow file at a time");
    return EXIT_USAGE;
  }
  const char *file = argv[optind];
  hd_workflow *wf = NULL;
  int code = EXIT_OK;
  hd_plan *p = cli_load_plan(file, &wf, &code);
  if (p == NULL) {
    hd_workflow_free(wf);
    return code;
  }
  char *owned = store ? NULL : cli_default_store(file);
  char *cache = cache_dir(store ? store : owned ? owned : ".hodos");
  free(owned);
  hd_status *st = NULL;
  int rc = cache ? hd_plan_status(p, cache, &st) : HD_ENOMEM;
  if (rc != HD_OK) {
    if (hd_status_message(st) != NULL) /* it names the store */
      cli_error("%s", hd_status_message(st));
    else
      cli_error("cannot read the store %s: %s", cache ? cache : "",
                hd_strerror(rc));
    code = EXIT_FAILED;
  } else {
    size_t n = hd_status_count(st), up = hd_status_up_to_date(st);
    for (size_t i = 0; i < n; i++) {
      hd_task_status ts;
      hd_status_task(st, i, &ts);
      if (ts.up_to_date && !quiet)
        printf("up to date  %s\n", ts.name);
      else if (!ts.up_to_date)
        printf("would run   %s: %s\n", ts.name, ts.reason ? ts.reason : "");
    }
    printf("%zu task%s: %zu up to date, %zu would run\n", n, n == 1 ? "" : "s",
           up, n - up);
    code = up == n ? EXIT_OK : EXIT_FAILED;
    if (fflush(stdout) != 0) {
      cli_error("cannot write to standard output: %s", strerror(errno));
      code = EXIT_FAILED;
    }
  }
  hd_status_free(st);
  free(cache);
  hd_plan_free(p);
  hd_workflow_free(wf);
  return code;
}

int cmd_clean(int argc, char **argv) {
  static const struct option opts[] = {
      {"store", required_argument, NULL, 's'},
      {"max-size", required_argument, NULL, 'm'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *store = NULL;
  uint64_t max = 0;
  int c;
  optind = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":s:m:h", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      store = optarg;
      break;
    case 'm':
      if (cli_parse_size(optarg, &max) != 0) {
        cli_error("--max-size takes a size such as 500M or 20G, not '%s'",
                  optarg);
        return EXIT_USAGE;
      }
      break;
    case 'h':
      help_clean(stdout);
      return EXIT_OK;
    case ':':
      cli_error("option '%s' needs a value; see 'hodos help clean'",
                argv[optind - 1]);
      return EXIT_USAGE;
    default:
      cli_unknown_option(argv, opts, "clean");
      return EXIT_USAGE;
    }
  }
  if (!cli_store_ok(store))
    return EXIT_USAGE;
  if (optind + 1 < argc) {
    cli_error("one workflow file at a time");
    return EXIT_USAGE;
  }
  if (optind == argc && store == NULL) {
    cli_error("give a workflow file or --store DIR; usage: hodos clean "
              "[OPTIONS] [FILE]");
    return EXIT_USAGE;
  }
  char *owned = store ? NULL : cli_default_store(argv[optind]);
  char *cache = cache_dir(store ? store : owned ? owned : ".hodos");
  free(owned);
  if (cache == NULL) {
    cli_error("out of memory");
    return EXIT_FAILED;
  }
  hd_clean_result res;
  int rc = hd_store_clean(cache, max, &res);
  int code = EXIT_OK;
  if (rc != HD_OK) {
    cli_error("%s", res.message[0] ? res.message : hd_strerror(rc));
    code = rc == HD_ENOENT ? EXIT_USAGE : EXIT_FAILED;
  } else {
    cli_note("%s: kept %zu result%s (%.1f MiB), dropped %zu, freed %.1f MiB",
             cache, res.kept, res.kept == 1 ? "" : "s",
             (double)res.kept_bytes / 1048576.0, res.removed,
             (double)res.freed_bytes / 1048576.0);
  }
  free(cache);
  return code;
}
