/* hodos validate FILE, hodos graph FILE */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "cli.h"

void help_validate(FILE *out) {
  fputs("Usage: hodos validate FILE\n"
        "\n"
        "Check the workflow FILE without running it: its YAML, its keys and\n"
        "types, task names, dependencies and cycles. Every problem is\n"
        "reported, each with its file, line and column. A valid workflow\n"
        "gets a summary: tasks, dependencies, depth (levels), the widest\n"
        "level, and the critical path (the longest chain of dependencies).\n"
        "\n"
        "Exit status: 0 valid; 2 invalid or unreadable.\n"
        "\n"
        "Example:\n"
        "  hodos validate examples/quickstart.yaml\n",
        out);
}

void help_graph(FILE *out) {
  fputs("Usage: hodos graph [--format dot|json] [-o OUT] FILE\n"
        "\n"
        "Write the graph of the workflow FILE, as Graphviz DOT (the default;\n"
        "nodes are labelled with task names, edges point from a task to the\n"
        "tasks that run after it) or as JSON (nodes with their commands,\n"
        "levels, bottom levels and dependencies; the critical path).\n"
        "\n"
        "Options:\n"
        "  -f, --format FMT   dot or json\n"
        "  -o, --output OUT   write to OUT instead of standard output\n"
        "  -h, --help         show this help\n"
        "\n"
        "Exit status: 0 written; 1 the output could not be written; 2 a\n"
        "usage or workflow error.\n"
        "\n"
        "Example:\n"
        "  hodos graph examples/quickstart.yaml | dot -Tsvg > graph.svg\n",
        out);
}

/* Load FILE and compile it; prints the diagnostics and returns NULL on
 * error, with *code set to the exit status. */
hd_plan *cli_load_plan(const char *file, hd_workflow **wf, int *code) {
  int rc = hd_workflow_load(file, wf);
  if (rc != HD_OK) {
    for (size_t i = 0; i < hd_workflow_diag_count(*wf); i++)
      cli_print_diag(hd_workflow_diag(*wf, i));
    if (hd_workflow_diag_count(*wf) == 0)
      cli_error("%s: %s", file, hd_strerror(rc));
    *code = rc == HD_ENOMEM ? EXIT_FAILED : EXIT_USAGE;
    return NULL;
  }
  hd_plan *p = NULL;
  rc = hd_plan_new(hd_workflow_graph(*wf), &p);
  if (rc != HD_OK) {
    hd_graph *g = hd_workflow_graph(*wf);
    for (size_t i = 0; i < hd_graph_diag_count(g); i++)
      cli_print_diag(hd_graph_diag(g, i));
    if (hd_graph_diag_count(g) == 0)
      cli_error("%s: %s", file, hd_strerror(rc));
    *code = rc == HD_ENOMEM ? EXIT_FAILED : EXIT_USAGE;
    return NULL;
  }
  return p;
}

static int only_file(int argc, char **argv, const char *cmd,
                     const char **file) {
  int options = 1; /* until "--" */
  for (int i = 1; i < argc; i++) {
    if (options && strcmp(argv[i], "--") == 0) {
      options = 0;
      continue;
    }
    if (options &&
        (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0))
      return 1;
    if (options && argv[i][0] == '-' && argv[i][1] != '\0') {
      cli_error("unknown option '%s'; see 'hodos help %s'", argv[i], cmd);
      return -1;
    }
    if (*file != NULL) {
      cli_error("one workflow file at a time ('%s' is extra)", argv[i]);
      return -1;
    }
    *file = argv[i];
  }
  if (*file == NULL) {
    cli_error("no workflow file given; usage: hodos %s FILE", cmd);
    return -1;
  }
  return 0;
}

/* The tasks shown at each end of a long critical path. */
#define PATH_ENDS 5

int cmd_validate(int argc, char **argv) {
  const char *file = NULL;
  int r = only_file(argc, argv, "validate", &file);
  if (r > 0) {
    help_validate(stdout);
    return EXIT_OK;
  }
  if (r < 0)
    return EXIT_USAGE;
  hd_workflow *wf = NULL;
  int code = EXIT_OK;
  hd_plan *p = cli_load_plan(file, &wf, &code);
  if (p != NULL) {
    size_t widest = 0, widest_level = 0;
    for (size_t l = 0; l < hd_plan_depth(p); l++)
      if (hd_plan_level_width(p, l) > widest) {
        widest = hd_plan_level_width(p, l);
        widest_level = l;
      }
    printf("%s: valid\n", file);
    printf("  tasks:         %zu\n", hd_plan_node_count(p));
    printf("  dependencies:  %zu\n", hd_plan_edge_count(p));
    printf("  depth:         %zu level%s\n", hd_plan_depth(p),
           hd_plan_depth(p) == 1 ? "" : "s");
    if (widest > 0)
      printf("  widest level:  %zu task%s (level %zu)\n", widest,
             widest == 1 ? "" : "s", widest_level);
    const uint32_t *path;
    size_t n = hd_plan_critical_path(p, &path);
    if (n > 0) {
      /* A long path shows its ends: a line per task would bury the rest
         (`hodos graph --format json` has it whole). */
      printf("  critical path: ");
      for (size_t i = 0; i < n; i++) {
        if (n > 2 * PATH_ENDS + 1 && i == PATH_ENDS) {
          printf(" -> ... %zu more ...", n - 2 * PATH_ENDS);
          i = n - PATH_ENDS - 1;
          continue;
        }
        printf("%s%s", i ? " -> " : "", hd_plan_node_name(p, path[i]));
      }
      if (n > 2 * PATH_ENDS + 1)
        printf(" (%zu tasks, cost %g)\n", n, hd_plan_critical_cost(p));
      else
        printf(" (cost %g)\n", hd_plan_critical_cost(p));
    }
    if (fflush(stdout) != 0)
      code = EXIT_FAILED;
  }
  hd_plan_free(p);
  hd_workflow_free(wf);
  return code;
}

static int write_file(const char *data, size_t len, void *ctx) {
  return fwrite(data, 1, len, (FILE *)ctx) == len ? 0 : -1;
}

int cmd_graph(int argc, char **argv) {
  static const struct option opts[] = {
      {"format", required_argument, NULL, 'f'},
      {"output", required_argument, NULL, 'o'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *format = "dot", *output = NULL;
  optind = 0;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":f:o:h", opts, NULL)) != -1) {
    switch (c) {
    case 'f':
      format = optarg;
      break;
    case 'o':
      output = optarg;
      break;
    case 'h':
      help_graph(stdout);
      return EXIT_OK;
    case ':':
      cli_error("option '%s' needs a value; see 'hodos help graph'",
                argv[optind - 1]);
      return EXIT_USAGE;
    default:
      cli_unknown_option(argv, opts, "graph");
      return EXIT_USAGE;
    }
  }
  if (strcmp(format, "dot") != 0 && strcmp(format, "json") != 0) {
    cli_error("unknown format '%s'; use dot or json", format);
    return EXIT_USAGE;
  }
  if (optind >= argc) {
    cli_error("no workflow file given; usage: hodos graph [OPTIONS] FILE");
    return EXIT_USAGE;
  }
  if (optind + 1 < argc) {
    cli_error("one workflow file at a time ('%s' is extra)", argv[optind + 1]);
    return EXIT_USAGE;
  }
  hd_workflow *wf = NULL;
  int code = EXIT_OK;
  hd_plan *p = cli_load_plan(argv[optind], &wf, &code);
  if (p != NULL) {
    FILE *f = output ? fopen(output, "w") : stdout;
    if (f == NULL) {
      cli_error("cannot write %s: %s", output, strerror(errno));
      code = EXIT_FAILED;
    } else {
      int rc = strcmp(format, "dot") == 0
                   ? hd_plan_write_dot(p, write_file, f)
                   : hd_plan_write_json(p, write_file, f);
      if ((f == stdout ? fflush(f) : fclose(f)) != 0 || rc != HD_OK) {
        cli_error("cannot write the graph: %s",
                  rc == HD_ENOMEM ? hd_strerror(rc) : strerror(errno));
        code = EXIT_FAILED;
      }
    }
  }
  hd_plan_free(p);
  hd_workflow_free(wf);
  return code;
}
