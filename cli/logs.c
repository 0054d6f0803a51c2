/* hodos logs: what a task of a finished run printed. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

void help_logs(FILE *out) {
  fputs("Usage: hodos logs [-s DIR] [--stdout | --stderr] [RUN] TASK\n"
        "\n"
        "Print what TASK of a run printed: its standard output (its result,\n"
        "results/TASK in the run folder) and its standard error\n"
        "(logs/TASK.stderr), each under a header; with --stdout or --stderr,\n"
        "only that one, as it was. RUN is a run folder, the name of one under\n"
        "STORE/runs, 'last' (the default), or a workflow file (the last run\n"
        "of the store beside it). STORE is .hodos in the current folder\n"
        "unless -s says otherwise.\n"
        "\n"
        "Options:\n"
        "  -s, --store DIR   the store whose runs to read (default: .hodos)\n"
        "      --stdout      only the standard output\n"
        "      --stderr      only the standard error\n"
        "  -h, --help        show this help\n"
        "\n"
        "Exit status: 0 printed; 1 the task printed nothing that was kept\n"
        "(or it is not in the run); 2 a usage error or no such run.\n"
        "\n"
        "Examples:\n"
        "  hodos logs align\n"
        "  hodos logs examples/quickstart.yaml shout\n"
        "  hodos logs --stderr 20261125-023120-8425 'align[sample=a]'\n",
        out);
}

/* Copy a file to standard output; 0, or -1 when it cannot be read. */
static int cat_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  char buf[65536];
  size_t n;
  int last = '\n';
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    fwrite(buf, 1, n, stdout);
    last = buf[n - 1];
  }
  fclose(f);
  return last;
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_find_run(const char *store, const char *run, char *dir, size_t size) {
  if (!cli_store_ok(store))
    return -1;
  /* The run folder: a path, a workflow file (the last run of the store
     beside it), or a name under STORE/runs. */
  struct stat st;
  if (strchr(run, '/') != NULL && is_dir(run)) {
    snprintf(dir, size, "%s", run);
  } else if (stat(run, &st) == 0 && S_ISREG(st.st_mode)) {
    char *beside = cli_default_store(run);
    if (beside == NULL) {
      cli_error("out of memory");
      return -1;
    }
    snprintf(dir, size, "%s/runs/last", beside);
    free(beside);
  } else {
    snprintf(dir, size, "%s/runs/%s", store, run);
  }
  /* A run folder holds its results folder and its events (either may
     have been removed by hand: the other still says what it is). */
  char sub[4200], events[4200];
  snprintf(sub, sizeof(sub), "%s/results", dir);
  snprintf(events, sizeof(events), "%s/events", dir);
  if (!is_dir(sub) && stat(events, &st) != 0) {
    cli_error("no run '%s' (looked for %s); 'last' is the last run of "
              "./.hodos, -s DIR reads another store, and a workflow file "
              "names the last run of the store beside it",
              run, dir);
    return -1;
  }
  return 0;
}

int cmd_logs(int argc, char **argv) {
  const char *store = ".hodos", *run = "last", *task = NULL;
  int which = 3; /* 1 stdout, 2 stderr */
  const char *args[2];
  int nargs = 0;
  int options = 1; /* until "--" */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!options) {
      /* An argument, whatever it starts with. */
    } else if (strcmp(a, "--") == 0) {
      options = 0;
      continue;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      help_logs(stdout);
      return EXIT_OK;
    } else if (strcmp(a, "-s") == 0 || strcmp(a, "--store") == 0) {
      if (i + 1 >= argc) {
        cli_error("option '%s' needs a value; see 'hodos help logs'", a);
        return EXIT_USAGE;
      }
      store = argv[++i];
      continue;
    } else if (strcmp(a, "--stdout") == 0 || strcmp(a, "--stderr") == 0) {
      int w = a[5] == 'o' ? 1 : 2;
      if (which != 3 && which != w) {
        cli_error("--stdout and --stderr go one at a time; without either, "
                  "both are shown");
        return EXIT_USAGE;
      }
      which = w;
      continue;
    } else if (a[0] == '-' && a[1] != '\0') {
      cli_error("unknown option '%s'; see 'hodos help logs'", a);
      return EXIT_USAGE;
    }
    if (nargs < 2) {
      args[nargs++] = a;
    } else {
      cli_error("too many arguments ('%s'); see 'hodos help logs'", a);
      return EXIT_USAGE;
    }
  }
  if (nargs == 0) {
    cli_error("no task given; usage: hodos logs [RUN] TASK");
    return EXIT_USAGE;
  }
  if (nargs == 2)
    run = args[0];
  task = args[nargs - 1];
  char dir[4096];
  if (cli_find_run(store, run, dir, sizeof(dir)) != 0)
    return EXIT_USAGE;
  char name[1024];
  if (hd_task_file_name(task, name, sizeof(name)) != HD_OK) {
    cli_error("task name too long: %s", task);
    return EXIT_USAGE;
  }
  char out[5400], err[5400];
  snprintf(out, sizeof(out), "%s/results/%s", dir, name);
  snprintf(err, sizeof(err), "%s/logs/%s.stderr", dir, name);
  int has_out = access(out, R_OK) == 0, has_err = access(err, R_OK) == 0;
  if (!has_out && !has_err) {
    cli_error("task '%s' left no output or log in %s (it did not run, or "
              "is not in that run)",
              task, dir);
    return EXIT_FAILED;
  }
  int printed = 0;
  if ((which & 1) && has_out) {
    if (which == 3)
      printf("==> %s: standard output <==\n", task);
    if (cat_file(out) != '\n' && which == 3)
      putchar('\n');
    printed = 1;
  }
  if ((which & 2) && has_err) {
    if (which == 3)
      printf("%s==> %s: standard error <==\n", printed ? "\n" : "", task);
    if (cat_file(err) != '\n' && which == 3)
      putchar('\n');
    printed = 1;
  }
  if (fflush(stdout) != 0) {
    cli_error("cannot write to standard output: %s", strerror(errno));
    return EXIT_FAILED;
  }
  if (!printed)
    cli_error("task '%s' left no standard %s in %s (a task taken from the "
              "cache has no log; see 'hodos logs %s')",
              task, which == 1 ? "output" : "error", dir, task);
  return printed ? EXIT_OK : EXIT_FAILED;
}
