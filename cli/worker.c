/* hodos worker --stdio: serve a run started elsewhere (the ssh backend
 * starts it on each host). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void help_worker(FILE *out) {
  fputs("Usage: hodos worker --stdio [--root DIR]\n"
        "\n"
        "Serve as a worker of a run started on another host: read the run's\n"
        "plan and its tasks from standard input, run each one (shell tasks,\n"
        "and functions of the plugins the run names), and write the results\n"
        "to standard output, in hodos's wire protocol. The ssh backend starts\n"
        "it on each host ('hodos run --backend ssh'); it is not meant to be\n"
        "run by hand. What a task prints on standard output goes to standard\n"
        "error. It ends when the run says goodbye, or when its input closes.\n"
        "\n"
        "Options:\n"
        "      --stdio   speak on standard input and output (required)\n"
        "      --root DIR  run tasks in DIR (made if missing) instead of\n"
        "                the folder the run was started in: for a host that\n"
        "                shares no files with it (input files and plugins\n"
        "                are sent, output files sent back)\n"
        "  -h, --help    show this help\n"
        "\n"
        "Exit status: 0 the run ended the session; 1 the input was not the\n"
        "protocol; 2 a usage error.\n"
        "\n"
        "Examples (as a run starts it on a host):\n"
        "  hodos run --hosts node1:8 --worker '/opt/hodos/bin/hodos worker "
        "--stdio' wf.yaml\n"
        "  hodos run --hosts node1 --worker 'hodos worker --stdio --root "
        "/scratch/me' wf.yaml\n",
        out);
}

int cmd_worker(int argc, char **argv) {
  int stdio = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--stdio") == 0) {
      stdio = 1;
    } else if (strcmp(argv[i], "--root") == 0 && i + 1 < argc) {
      /* Read by the worker when the run's plan arrives. */
      if (setenv("HODOS_WORKER_ROOT", argv[++i], 1) != 0) {
        cli_error("cannot set the worker's root: %s", strerror(errno));
        return EXIT_FAILED;
      }
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      help_worker(stdout);
      return EXIT_OK;
    } else {
      cli_error("unknown argument '%s'; see 'hodos help worker'", argv[i]);
      return EXIT_USAGE;
    }
  }
  if (!stdio) {
    cli_error("'hodos worker' needs --stdio; see 'hodos help worker'");
    return EXIT_USAGE;
  }
  if (isatty(STDIN_FILENO))
    cli_note("serving on standard input: a run sends its frames here");
  int rc = hd_worker_serve(STDIN_FILENO, STDOUT_FILENO);
  if (rc != HD_OK) {
    cli_error("worker: %s", hd_strerror(rc));
    return EXIT_FAILED;
  }
  return EXIT_OK;
}
