/* hodos: the command-line front end. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out) {
  fputs("Usage: hodos [--help] [--version] COMMAND [ARGS]\n"
        "\n"
        "Run computations declared as a DAG in parallel.\n"
        "\n"
        "Commands:\n"
        "  run FILE         run the tasks of a workflow file\n"
        "  validate FILE    check a workflow file and summarise its graph\n"
        "  graph FILE       write a workflow's graph as DOT or JSON\n"
        "  status FILE      which tasks a run would reuse, which it would\n"
        "                   run, and why\n"
        "  clean [FILE]     drop cached results the last run did not use\n"
        "  logs [RUN] TASK  what a task of a run printed\n"
        "  report [RUN]     a finished run: summary, HTML page, trace\n"
        "  worker --stdio   serve a run from another host (started by ssh)\n"
        "  serve --listen PORT  a long-lived worker server, reached by runs\n"
        "                   through ssh tunnels\n"
        "  help [COMMAND]   show help, for hodos or for one command\n"
        "  version          print the version\n"
        "\n"
        "Options:\n"
        "  -h, --help       show this help and exit\n"
        "  -V, --version    print the version and exit\n"
        "\n"
        "Exit status: 0 success; 1 a task failed or the run could not finish;\n"
        "2 a usage or workflow error; 130 interrupted.\n"
        "\n"
        "Examples:\n"
        "  hodos run examples/quickstart.yaml\n"
        "  hodos help run\n",
        out);
}

static void version(void) { printf("hodos %s\n", hd_version()); }

int cmd_help(int argc, char **argv) {
  if (argc < 2) {
    usage(stdout);
    return EXIT_OK;
  }
  const char *c = argv[1];
  if (strcmp(c, "run") == 0) {
    help_run(stdout);
  } else if (strcmp(c, "validate") == 0) {
    help_validate(stdout);
  } else if (strcmp(c, "graph") == 0) {
    help_graph(stdout);
  } else if (strcmp(c, "status") == 0) {
    help_status(stdout);
  } else if (strcmp(c, "clean") == 0) {
    help_clean(stdout);
  } else if (strcmp(c, "worker") == 0) {
    help_worker(stdout);
  } else if (strcmp(c, "serve") == 0) {
    help_serve(stdout);
  } else if (strcmp(c, "logs") == 0) {
    help_logs(stdout);
  } else if (strcmp(c, "report") == 0) {
    help_report(stdout);
  } else if (strcmp(c, "help") == 0) {
    fputs("Usage: hodos help [COMMAND]\n\n"
          "Show help for hodos, or for one command.\n\n"
          "Example:\n"
          "  hodos help run\n",
          stdout);
  } else if (strcmp(c, "version") == 0) {
    fputs("Usage: hodos version\n\nPrint the version of hodos (also\n"
          "hodos --version).\n\n"
          "Example:\n"
          "  hodos version\n",
          stdout);
  } else {
    cli_error("no command named '%s'; see 'hodos --help'", c);
    return EXIT_USAGE;
  }
  return EXIT_OK;
}

/* Help and version text that cannot be written (a full disk, a closed
 * pipe) is an error, not a silent success. */
static int flushed(int code) {
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("cannot write to standard output: %s", strerror(errno));
    return code == EXIT_OK ? EXIT_FAILED : code;
  }
  return code;
}

int main(int argc, char **argv) {
  /* Started with standard input, output or error closed (by a daemon, or
     2>&-): the files hodos opens would take those numbers, and what it
     prints would land in them. */
  for (int fd = 0; fd <= 2; fd++)
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF &&
        open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
      return EXIT_FAILED;
  /* A closed output pipe (hodos run wf.yaml | head) ends the output
     quietly, with EPIPE, instead of killing the run. */
  signal(SIGPIPE, SIG_IGN);
  cli_log_init(0);
  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  const char *c = argv[1];
  if (strcmp(c, "-h") == 0 || strcmp(c, "--help") == 0)
    return flushed(cmd_help(1, argv));
  if (strcmp(c, "-V") == 0 || strcmp(c, "--version") == 0 ||
      strcmp(c, "version") == 0) {
    version();
    return flushed(EXIT_OK);
  }
  if (strcmp(c, "help") == 0)
    return flushed(cmd_help(argc - 1, argv + 1));
  if (strcmp(c, "run") == 0)
    return cmd_run(argc - 1, argv + 1);
  if (strcmp(c, "validate") == 0)
    return cmd_validate(argc - 1, argv + 1);
  if (strcmp(c, "graph") == 0)
    return cmd_graph(argc - 1, argv + 1);
  if (strcmp(c, "status") == 0)
    return cmd_status(argc - 1, argv + 1);
  if (strcmp(c, "clean") == 0)
    return cmd_clean(argc - 1, argv + 1);
  if (strcmp(c, "worker") == 0)
    return cmd_worker(argc - 1, argv + 1);
  if (strcmp(c, "serve") == 0)
    return cmd_serve(argc - 1, argv + 1);
  if (strcmp(c, "logs") == 0)
    return cmd_logs(argc - 1, argv + 1);
  if (strcmp(c, "report") == 0)
    return cmd_report(argc - 1, argv + 1);
  if (c[0] == '-')
    cli_error("unknown option '%s'; see 'hodos --help'", c);
  else
    cli_error("no command named '%s'; see 'hodos --help'", c);
  return EXIT_USAGE;
}
