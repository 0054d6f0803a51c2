/* hodos run FILE */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void help_run(FILE *out) {
  fputs("Usage: hodos run [OPTIONS] FILE\n"
        "\n"
        "Run the tasks of the workflow FILE, each after the tasks it names in\n"
        "'after'. A task's standard input is the output of the tasks it runs\n"
        "after; its standard output is its result. The results of the final\n"
        "tasks (those no other task runs after) are printed on standard\n"
        "output; progress goes to standard error.\n"
        "\n"
        "Every run gets a folder STORE/runs/ID holding results/TASK (each\n"
        "task's output) and logs/TASK.stderr; STORE/runs/last points to the\n"
        "newest.\n"
        "\n"
        "Results are also kept in STORE/cache by each task's key: a hash of\n"
        "its command (or function) and params, the env it declares, its\n"
        "input files' contents and its inputs. A task whose key has a kept\n"
        "result, and whose output files are as it left them, is not run\n"
        "again: it is reported cached. 'cache: false' opts a task out.\n"
        "\n"
        "Options:\n"
        "  -s, --store DIR     keep run folders and the cache under DIR\n"
        "                      (default: .hodos beside FILE)\n"
        "  -r, --resume        go on with the last run, stopped or killed:\n"
        "                      what it finished is not run again, also for\n"
        "                      tasks with 'cache: false'\n"
        "      --no-cache      run every task, and keep no result in the\n"
        "                      cache\n"
        "  -b, --backend NAME  run tasks with this backend: processes (the\n"
        "                      default: in worker processes, so that a crash\n"
        "                      fails only its task), threads (in this\n"
        "                      process), serial (one at a time, in a fixed\n"
        "                      topological order) or ssh (on other hosts:\n"
        "                      --hosts); over the workflow's backend:\n"
        "  -j, --jobs N        run up to N tasks at once (default: the\n"
        "                      workflow's jobs:, else one per CPU)\n"
        "  -k, --keep-going    after a failure, run every task that does not\n"
        "                      depend on it\n"
        "      --hosts LIST    run on these hosts through ssh (implies\n"
        "                      --backend ssh): [user@]host[:slots],...;\n"
        "                      over the workflow's hosts:\n"
        "      --worker CMD    the worker command on the hosts (default:\n"
        "                      hodos worker --stdio)\n"
        "      --tunnel PORT   reach 'hodos serve' on PORT of each host\n"
        "                      through an ssh tunnel instead (the token\n"
        "                      from $HODOS_TOKEN)\n"
        "  -n, --dry-run       run nothing: say which tasks would run and\n"
        "                      why, and which are up to date (as 'hodos\n"
        "                      status')\n"
        "      --events FILE   write every event to FILE, one JSON object\n"
        "                      per line\n"
        "      --trace FILE    write a timeline of the run to FILE (Chrome\n"
        "                      trace format: Perfetto, chrome://tracing)\n"
        "      --mem-limit SIZE  keep results in memory as they are up to\n"
        "                      SIZE (such as 512M or 4G; default: a quarter\n"
        "                      of the machine's memory), compressed past it\n"
        "      --spill-limit SIZE  past SIZE of results in memory, raw and\n"
        "                      compressed, write new ones to a spill file\n"
        "                      in the store (default: twice --mem-limit)\n"
        "  -q, --quiet         print no progress: failures and warnings\n"
        "                      only, and the summary when the run does not\n"
        "                      succeed\n"
        "  -v, --verbose       print more\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit status: 0 all tasks done; 1 a task failed or the run could not\n"
        "finish; 2 a usage or workflow error; 130 interrupted (Ctrl-C).\n"
        "\n"
        "Examples:\n"
        "  hodos run examples/quickstart.yaml\n"
        "  hodos run -k --store /tmp/runs pipeline.yaml > result.txt\n"
        "  hodos run --resume pipeline.yaml\n"
        "  hodos run -j 8 sweep.yaml\n",
        out);
}

static volatile sig_atomic_t interrupted;
static volatile sig_atomic_t finish_first; /* the backend lets tasks end */

/* Leaving a run that does not return. A thread cannot be killed, so a
 * function task that never returns would hold the run, and hodos, for
 * ever after Ctrl-C. A watcher thread, woken through this pipe by the
 * signal handler, gives the run LEAVE_SECONDS after the signal that stops
 * the running tasks (the run's own SIGKILL to shell tasks comes two
 * seconds after it); past that, it closes the run's files and exits with
 * status 130 without waiting. run_state says whether the run returned
 * first or the watcher left first; in_event and leaving keep the watcher
 * from closing the files under an event being written. */
enum { RUN_GOING = 0, RUN_RETURNED = 1, RUN_LEFT = 2 };
#define LEAVE_SECONDS 3      /* threads, serial: in this process */
#define LEAVE_SECONDS_FAR 10 /* processes, ssh: their own kill comes first */
static int wake_pipe[2] = {-1, -1};
static int run_state = RUN_GOING;
static int in_event, leaving;

/* The first SIGINT stops the run; with the processes backend running
 * tasks may finish, and a second SIGINT stops them too. SIGTERM and SIGHUP
 * stop them at once: they end a job (a batch system, timeout(1), a
 * closed terminal), and when sent to hodos's process group they reach
 * the processes backend's workers, which stop their tasks anyway (hodos
 * said they would finish). */
static void on_signal(int sig) {
  int saved = errno;
  /* Atomic: the run's threads read it. */
  int was = __atomic_load_n(&interrupted, __ATOMIC_RELAXED);
  int n = sig != SIGINT || was >= 1 ? 2 : 1;
  if (n > was)
    __atomic_store_n(&interrupted, n, __ATOMIC_RELAXED);
  if (wake_pipe[1] >= 0 && write(wake_pipe[1], "", 1) < 0) {
    /* Full: the watcher has a wake-up to read already. */
  }
  int stop_at = finish_first ? 2 : 1; /* the level that stops tasks */
  if (n == 1 && finish_first) {
    static const char msg[] =
        "\nhodos: stopping: no task starts, running tasks finish; press "
        "Ctrl-C again to stop them\n";
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
      /* Nothing to do: stderr is gone. */
    }
  } else if (was < stop_at && n >= stop_at) {
    static const char msg[] = "\nhodos: stopping running tasks\n";
    if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
      /* Nothing to do: stderr is gone. */
    }
  }
  errno = saved;
}

static void print_tail(const char *tail) {
  /* The last lines of a failed task's stderr, indented. */
  size_t len = strlen(tail);
  while (len > 0 && tail[len - 1] == '\n')
    len--;
  size_t start = len;
  int lines = 0;
  while (start > 0 && lines < 10) {
    start--;
    if (tail[start] == '\n' && ++lines == 10) {
      start++;
      break;
    }
  }
  const char *p = tail + start, *end = tail + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
    fprintf(stderr, "  | %.*s\n", (int)n, p);
    p += n + 1;
  }
}

static void point_last(const char *store, const char *dir);

static void on_event(const hd_event *ev, void *data) {
  cli_progress *pr = data;
  __atomic_add_fetch(&in_event, 1, __ATOMIC_SEQ_CST);
  if (!pr->last_set && pr->last_store != NULL) {
    point_last(pr->last_store, pr->last_dir);
    pr->last_set = 1;
  }
  if (!__atomic_load_n(&leaving, __ATOMIC_SEQ_CST)) {
    if (pr->sinks != NULL)
      cli_sinks_event(pr->sinks, ev);
    if (pr->journal != NULL)
      cli_journal_event(pr->journal, ev);
    cli_progress_event(pr, ev);
  }
  __atomic_sub_fetch(&in_event, 1, __ATOMIC_SEQ_CST);
}

/* What the watcher needs to leave a run. */
typedef struct run_watch {
  cli_progress *pr;
  cli_journal *journal;
  const char *run_dir;
  const char *next; /* what to do next (resume_hint()) */
  int ready;        /* the watcher runs: its start is over */
  pthread_t thread;
  int started;
} run_watch;

/* s as one shell word in out: as it is when it holds only safe
 * characters, else in single quotes (cut short when it does not fit). */
static void shell_quote(char *out, size_t size, const char *s) {
  size_t n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                       "0123456789_./-+=:,@%");
  if (s[n] == '\0' && n > 0 && s[0] != '-') {
    snprintf(out, size, "%s", s);
    return;
  }
  size_t k = 0;
  if (k + 1 < size)
    out[k++] = '\'';
  for (; *s != '\0' && k + 5 < size; s++) {
    if (*s == '\'') {
      memcpy(out + k, "'\\''", 4);
      k += 4;
    } else {
      out[k++] = *s;
    }
  }
  if (k + 1 < size)
    out[k++] = '\'';
  out[k < size ? k : size - 1] = '\0';
}

/* What an interrupted run tells the user to do next: the command that
 * goes on from where it stopped (with its --store, and the file quoted
 * for the shell), or, for a --no-cache run, that nothing was kept to go
 * on from. */
static void resume_hint(char *out, size_t size, const char *store,
                        const char *file, int no_cache) {
  if (no_cache) {
    snprintf(out, size,
             "a --no-cache run keeps nothing to go on from: "
             "running it again runs every task");
    return;
  }
  char q_store[1100] = "", q_file[1100] = "";
  shell_quote(q_file, sizeof(q_file), file);
  if (store != NULL) {
    char q[1024];
    shell_quote(q, sizeof(q), store);
    snprintf(q_store, sizeof(q_store), "--store %s ", q);
  }
  snprintf(out, size, "to go on from here: hodos run --resume %s%s", q_store,
           q_file);
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The run did not return in time: close what records it, say which
 * tasks hold it, and exit without waiting for them. */
static void leave_run(run_watch *w) {
  __atomic_store_n(&leaving, 1, __ATOMIC_SEQ_CST);
  /* An event being written ends within microseconds; one that does not
   * (a stuck sink) leaves the files as the flusher last wrote them. */
  int quiet = 0;
  for (int i = 0; i < 200; i++) {
    if (__atomic_load_n(&in_event, __ATOMIC_SEQ_CST) == 0) {
      quiet = 1;
      break;
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  char names[256] = "";
  size_t len = 0;
  if (quiet) {
    cli_progress *pr = w->pr;
    for (size_t i = 0; i < pr->nrunning && len < sizeof(names); i++)
      len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
                              i ? ", " : "", pr->running[i].name);
    cli_progress_end(pr);
    if (pr->sinks != NULL)
      cli_sinks_close(pr->sinks);
    cli_journal_close(w->journal, EXIT_INTERRUPTED);
  }
  if (names[0] != '\0')
    cli_note("a function task does not return (%s): leaving it", names);
  else
    cli_note("a function task does not return: leaving it");
  cli_note("interrupted; finished results are kept in %s/results; %s",
           w->run_dir, w->next);
  fflush(NULL);
  _exit(EXIT_INTERRUPTED);
}

static void *watch_main(void *arg) {
  run_watch *w = arg;
  __atomic_store_n(&w->ready, 1, __ATOMIC_RELEASE);
  uint64_t deadline = 0;
  int stop_at = finish_first ? 2 : 1; /* the signal that stops tasks */
  for (;;) {
    if (__atomic_load_n(&run_state, __ATOMIC_SEQ_CST) != RUN_GOING)
      return NULL;
    if (deadline == 0 &&
        __atomic_load_n(&interrupted, __ATOMIC_RELAXED) >= stop_at)
      deadline = mono_ms() +
                 1000u * (finish_first ? LEAVE_SECONDS_FAR : LEAVE_SECONDS);
    int ms = -1;
    if (deadline != 0) {
      uint64_t now = mono_ms();
      if (now >= deadline)
        break;
      ms = (int)(deadline - now);
    }
    struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
    if (poll(&pfd, 1, ms) > 0) {
      char buf[64];
      if (read(wake_pipe[0], buf, sizeof(buf)) < 0 && errno != EAGAIN)
        return NULL;
    }
  }
  int going = RUN_GOING;
  if (__atomic_compare_exchange_n(&run_state, &going, RUN_LEFT, 0,
                                  __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
    leave_run(w);
  return NULL;
}

/* Start the watcher; without a pipe or a thread, the run is waited for
 * as before. */
static void watch_start(run_watch *w) {
  w->started = 0;
  if (pipe(wake_pipe) != 0) {
    wake_pipe[0] = wake_pipe[1] = -1;
    return;
  }
  for (int i = 0; i < 2; i++) {
    fcntl(wake_pipe[i], F_SETFL, fcntl(wake_pipe[i], F_GETFL) | O_NONBLOCK);
    fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC);
  }
  w->started = pthread_create(&w->thread, NULL, watch_main, w) == 0;
  /* Until it waits (see cli/journal.c's flusher): no fork while a thread
     starts up. */
  while (w->started && !__atomic_load_n(&w->ready, __ATOMIC_ACQUIRE))
    sched_yield();
}

/* The run returned: stop the watcher, unless it is leaving already (then
 * wait for its exit). */
static void watch_stop(run_watch *w) {
  int going = RUN_GOING;
  if (!__atomic_compare_exchange_n(&run_state, &going, RUN_RETURNED, 0,
                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
    for (;;)
      pause();
  if (w->started) {
    if (write(wake_pipe[1], "", 1) < 0) {
      /* Full: the watcher wakes anyway. */
    }
    pthread_join(w->thread, NULL);
  }
  int fd = wake_pipe[1];
  wake_pipe[1] = -1; /* the handler writes no more */
  if (fd >= 0) {
    close(fd);
    close(wake_pipe[0]);
  }
  wake_pipe[0] = -1;
}

/* mkdir -p */
static int make_dirs(const char *path) {
  char *p = strdup(path);
  if (p == NULL)
    return -1;
  int rc = 0;
  for (char *s = p + 1; *s && rc == 0; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST)
      rc = -1;
    *s = '/';
  }
  if (rc == 0 && mkdir(p, 0700) != 0 && errno != EEXIST)
    rc = -1;
  free(p);
  return rc;
}

/* STORE/runs/YYYYmmdd-HHMMSS-PID, made fresh: a folder of that name made
 * by another run (the same process ID in the same second: PID namespaces,
 * a container's process 1) is never shared, the name gets -2, -3... */
static char *new_run_dir(const char *store) {
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  char stamp[32];
  strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
  size_t len = strlen(store) + 80;
  char *dir = malloc(len);
  if (dir == NULL)
    return NULL;
  snprintf(dir, len, "%s/runs", store);
  int rc = make_dirs(dir);
  for (unsigned k = 1; rc == 0; k++) {
    if (k == 1)
      snprintf(dir, len, "%s/runs/%s-%ld", store, stamp, (long)getpid());
    else
      snprintf(dir, len, "%s/runs/%s-%ld-%u", store, stamp, (long)getpid(), k);
    if (mkdir(dir, 0700) == 0)
      return dir;
    if (errno != EEXIST || k == 1000)
      rc = -1;
  }
  cli_error("cannot create the run folder %s: %s", dir, strerror(errno));
  free(dir);
  return NULL;
}

/* runs/last -> the run's folder, replaced atomically: once the run holds
 * its store (at its first event, or when it ends), so that runs refused
 * for a store in use never touch it. */
static void point_last(const char *store, const char *dir) {
  char link[4096], tmp[4096];
  snprintf(link, sizeof(link), "%s/runs/last", store);
  /* Named after the run's folder, which no other run shares. */
  snprintf(tmp, sizeof(tmp), "%s/runs/.last.%s", store, strrchr(dir, '/') + 1);
  unlink(tmp);
  if (symlink(strrchr(dir, '/') + 1, tmp) == 0 && rename(tmp, link) != 0)
    unlink(tmp);
}

/* Undo new_run_dir() for a run that could not start (its store is in use
 * by another run): remove the empty folder. */
static void drop_run_dir(const char *dir) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/results", dir);
  rmdir(path);
  snprintf(path, sizeof(path), "%s/logs", dir);
  rmdir(path);
  rmdir(dir);
}

char *cli_default_store(const char *file) {
  char *copy = strdup(file);
  if (copy == NULL)
    return NULL;
  const char *dir = dirname(copy);
  size_t len = strlen(dir) + 8;
  char *store = malloc(len);
  if (store != NULL)
    snprintf(store, len, "%s/.hodos", dir);
  free(copy);
  return store;
}

static int write_all(FILE *f, const void *data, size_t len) {
  return len == 0 || fwrite(data, 1, len, f) == len ? 0 : -1;
}

static int print_results(const hd_report *r) {
  int rc = 0;
  for (size_t i = 0; i < hd_report_task_count(r) && rc == 0; i++) {
    if (!hd_report_is_sink(r, i))
      continue;
    hd_value *v = hd_report_result(r, i);
    if (v == NULL)
      continue;
    int64_t iv;
    double dv;
    if (hd_value_get_int(v, &iv) == HD_OK)
      rc = printf("%lld\n", (long long)iv) < 0 ? -1 : 0;
    else if (hd_value_get_double(v, &dv) == HD_OK)
      rc = printf("%.17g\n", dv) < 0 ? -1 : 0;
    else
      rc = write_all(stdout, hd_value_data(v), hd_value_size(v));
  }
  if (fflush(stdout) != 0)
    rc = -1;
  return rc;
}

/* The ssh backend's hosts: --hosts [user@]host[:slots],... over the
 * workflow's hosts:. The strings point into arg, which is changed, or
 * into the workflow. Returns 0, or -1 after an error message. */
static int make_hosts(hd_workflow *wf, const char *arg, const char *worker,
                      unsigned tunnel, hd_host **out, size_t *n, char **copy) {
  *out = NULL;
  *copy = NULL;
  *n = 0;
  size_t cap = arg ? 1 : hd_workflow_host_count(wf);
  for (const char *c = arg; c && *c; c++)
    cap += *c == ',';
  hd_host *h = calloc(cap + 1, sizeof(hd_host));
  if (h == NULL)
    return -1;
  if (arg != NULL) {
    if ((*copy = strdup(arg)) == NULL) {
      free(h);
      return -1;
    }
    for (char *item = *copy, *next; item != NULL; item = next) {
      next = strchr(item, ',');
      if (next != NULL)
        *next++ = '\0';
      if (*item == '\0') {
        cli_error("--hosts takes [user@]host[:slots],..., not '%s' (an empty "
                  "item)",
                  arg);
        free(h);
        free(*copy);
        *copy = NULL;
        return -1;
      }
      hd_host *x = &h[(*n)++];
      char *at = strchr(item, '@');
      if (at != NULL) {
        *at = '\0';
        x->user = item;
        item = at + 1;
      }
      char *colon = strrchr(item, ':');
      if (colon != NULL) {
        char *end;
        errno = 0;
        unsigned long v = strtoul(colon + 1, &end, 10);
        if (errno != 0 || end == colon + 1 || *end != '\0' || v == 0 ||
            v > 1024) {
          cli_error("--hosts: '%s' has no slot count from 1 to 1024 after "
                    "its ':'",
                    item);
          free(h);
          free(*copy);
          *copy = NULL;
          return -1;
        }
        *colon = '\0';
        x->slots = (unsigned)v;
      }
      x->host = item;
      if (*item == '\0' || (x->user != NULL && *x->user == '\0')) {
        cli_error("--hosts takes [user@]host[:slots],..., not '%s'", arg);
        free(h);
        free(*copy);
        *copy = NULL;
        return -1;
      }
      x->command = worker;
      x->tunnel = tunnel;
    }
  } else {
    for (size_t i = 0; i < hd_workflow_host_count(wf); i++) {
      const hd_workflow_host *w = hd_workflow_host_at(wf, i);
      hd_host *x = &h[(*n)++];
      x->host = w->host;
      x->user = w->user;
      x->port = w->port;
      x->slots = w->slots;
      x->tunnel = tunnel ? tunnel : w->tunnel;
      x->no_host_key_check = !w->check_host_key;
      x->command = worker;
      if (x->command == NULL && w->hodos != NULL) {
        size_t len = strlen(w->hodos) + 16;
        char *c = malloc(len);
        if (c != NULL) {
          snprintf(c, len, "%s worker --stdio", w->hodos);
          x->command = c; /* freed by free_hosts() */
        }
      }
    }
  }
  if (*n == 0) {
    cli_error("the ssh backend needs hosts: --hosts a,b:8, or hosts: in the "
              "workflow");
    free(h);
    free(*copy);
    *copy = NULL;
    return -1;
  }
  *out = h;
  return 0;
}

static void free_hosts(hd_host *h, size_t n, const char *worker, char *copy) {
  for (size_t i = 0; i < n; i++)
    if (h[i].command != worker)
      free((char *)h[i].command);
  free(h);
  free(copy);
}

/* Whether a backend of that name exists; if not, says which do. */
static int backend_known(const char *backend) {
  if (hd_backend_find(backend) != NULL)
    return 1;
  char names[256] = "";
  size_t len = 0;
  for (size_t i = 0; i < hd_backend_count() && len < sizeof(names); i++)
    len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
                            i ? ", " : "", hd_backend_at(i)->name);
  cli_error("unknown backend '%s'; available: %s", backend, names);
  return 0;
}

int cmd_run(int argc, char **argv) {
  static const struct option opts[] = {
      {"store", required_argument, NULL, 's'},
      {"resume", no_argument, NULL, 'r'},
      {"no-cache", no_argument, NULL, 'C'},
      {"backend", required_argument, NULL, 'b'},
      {"jobs", required_argument, NULL, 'j'},
      {"keep-going", no_argument, NULL, 'k'},
      {"hosts", required_argument, NULL, 'H'},
      {"worker", required_argument, NULL, 'W'},
      {"tunnel", required_argument, NULL, 'T'},
      {"events", required_argument, NULL, 'E'},
      {"dry-run", no_argument, NULL, 'n'},
      {"trace", required_argument, NULL, 'R'},
      {"mem-limit", required_argument, NULL, 'M'},
      {"spill-limit", required_argument, NULL, 'S'},
      {"quiet", no_argument, NULL, 'q'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *store = NULL, *backend = NULL;
  unsigned jobs = 0;
  int keep_going = 0, resume = 0, no_cache = 0;
  uint64_t mem_limit = 0, spill_limit = 0;
  const char *hosts_arg = NULL, *worker_cmd = NULL;
  unsigned tunnel = 0;
  int dry_run = 0;
  cli_progress pr;
  memset(&pr, 0, sizeof(pr));
  const char *events_file = NULL, *trace_file = NULL;
  optind = 0;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":s:rb:j:kqvhn", opts, NULL)) != -1) {
    switch (c) {
    case 's':
      store = optarg;
      break;
    case 'r':
      resume = 1;
      break;
    case 'C':
      no_cache = 1;
      break;
    case 'b':
      backend = optarg;
      break;
    case 'j': {
      char *end;
      errno = 0;
      unsigned long v = strtoul(optarg, &end, 10);
      if (errno != 0 || end == optarg || *end != '\0' || v == 0 || v > 1024 ||
          optarg[0] == '-') {
        cli_error("-j/--jobs takes a number from 1 to 1024, not '%s'", optarg);
        return EXIT_USAGE;
      }
      jobs = (unsigned)v;
      break;
    }
    case 'k':
      keep_going = 1;
      break;
    case 'H':
      hosts_arg = optarg;
      break;
    case 'W':
      worker_cmd = optarg;
      break;
    case 'E':
      events_file = optarg;
      break;
    case 'n':
      dry_run = 1;
      break;
    case 'R':
      trace_file = optarg;
      break;
    case 'T': {
      char *end;
      errno = 0;
      unsigned long v = strtoul(optarg, &end, 10);
      if (errno != 0 || end == optarg || *end != '\0' || v == 0 || v > 65535 ||
          optarg[0] == '-') {
        cli_error("--tunnel takes a port from 1 to 65535, not '%s'", optarg);
        return EXIT_USAGE;
      }
      tunnel = (unsigned)v;
      break;
    }
    case 'M':
    case 'S':
      if (cli_parse_size(optarg, c == 'M' ? &mem_limit : &spill_limit) != 0 ||
          (SIZE_MAX < UINT64_MAX &&
           (c == 'M' ? mem_limit : spill_limit) > (uint64_t)SIZE_MAX - 1)) {
        cli_error("--%s takes a size such as 512M or 4G, not '%s'",
                  c == 'M' ? "mem-limit" : "spill-limit", optarg);
        return EXIT_USAGE;
      }
      break;
    case 'q':
      pr.quiet = 1;
      break;
    case 'v':
      pr.verbose++;
      break;
    case 'h':
      help_run(stdout);
      return EXIT_OK;
    case ':':
      cli_error("option '%s' needs a value; see 'hodos help run'",
                argv[optind - 1]);
      return EXIT_USAGE;
    default:
      cli_unknown_option(argv, opts, "run");
      return EXIT_USAGE;
    }
  }
  if (!cli_store_ok(store))
    return EXIT_USAGE;
  if (mem_limit != 0 && spill_limit != 0 && spill_limit < mem_limit) {
    cli_error("--spill-limit (%llu bytes) must be at least --mem-limit "
              "(%llu bytes)",
              (unsigned long long)spill_limit, (unsigned long long)mem_limit);
    return EXIT_USAGE;
  }
  if (mem_limit == 0 && spill_limit != 0) {
    /* The default memory limit, as the run computes it (run.h): a spill
     * limit below it would otherwise be taken without a word and do
     * nothing. */
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    uint64_t quarter = pages > 0 && size > 0
                           ? (uint64_t)pages / 4 * (uint64_t)size
                           : (uint64_t)1 << 30;
    if (spill_limit < quarter) {
      cli_error("--spill-limit (%llu bytes) must be at least the memory "
                "limit (%llu bytes: a quarter of the machine's memory, "
                "--mem-limit's default); give --mem-limit too",
                (unsigned long long)spill_limit, (unsigned long long)quarter);
      return EXIT_USAGE;
    }
  }
  if (dry_run && (resume || no_cache)) {
    /* -n answers for a run as the cache stands (hodos status): what
       --resume or --no-cache would change is not in that answer. */
    cli_error("-n/--dry-run cannot go with %s",
              resume ? "--resume" : "--no-cache");
    return EXIT_USAGE;
  }
  if (dry_run && backend != NULL && !backend_known(backend))
    return EXIT_USAGE;
  if (dry_run && optind + 1 == argc) {
    /* What would run and why: hodos status, with the same store. */
    char *args[] = {"status", "-s", (char *)store, argv[optind], NULL};
    if (store == NULL)
      return cmd_status(2, (char *[]){"status", argv[optind], NULL});
    return cmd_status(4, args);
  }
  if (resume && no_cache) {
    cli_error("--resume needs the cache; it cannot go with --no-cache");
    return EXIT_USAGE;
  }
  if (optind >= argc) {
    cli_error("no workflow file given; usage: hodos run [OPTIONS] FILE");
    return EXIT_USAGE;
  }
  if (optind + 1 < argc) {
    cli_error("one workflow file at a time ('%s' is extra)", argv[optind + 1]);
    return EXIT_USAGE;
  }
  /* -q leaves out progress, not warnings (a damaged cached result, one
     that cannot be kept): they matter most in scripts. */
  cli_log_init(pr.quiet ? 0 : pr.verbose);
  cli_progress_init(&pr, pr.quiet, pr.verbose);
  const char *file = argv[optind];

  hd_workflow *wf = NULL;
  int rc = hd_workflow_load(file, &wf);
  if (rc != HD_OK) {
    for (size_t i = 0; i < hd_workflow_diag_count(wf); i++)
      cli_print_diag(hd_workflow_diag(wf, i));
    if (hd_workflow_diag_count(wf) == 0)
      cli_error("%s: %s", file, hd_strerror(rc));
    hd_workflow_free(wf);
    return rc == HD_ENOMEM ? EXIT_FAILED : EXIT_USAGE;
  }

  /* The command line first, then the workflow, then the default. */
  if (backend == NULL && hosts_arg != NULL)
    backend = "ssh";
  if (backend == NULL)
    backend = hd_workflow_backend(wf) ? hd_workflow_backend(wf) : "processes";
  if (jobs == 0)
    jobs = hd_workflow_jobs(wf);
  if (!backend_known(backend)) {
    hd_workflow_free(wf);
    return EXIT_USAGE;
  }
  if (strcmp(backend, "ssh") != 0 && (worker_cmd != NULL || tunnel != 0)) {
    /* They would be taken and do nothing. */
    cli_error("%s is for the ssh backend (--hosts, or backend: ssh), not "
              "'%s'",
              worker_cmd != NULL ? "--worker" : "--tunnel", backend);
    hd_workflow_free(wf);
    return EXIT_USAGE;
  }
  if (hd_graph_node_count(hd_workflow_graph(wf)) == 0) {
    cli_note("%s has no tasks; nothing to do", file);
    hd_workflow_free(wf);
    return EXIT_OK;
  }

  /* The files of --events and --trace, before anything is made. */
  cli_sinks sinks;
  if (cli_sinks_open(&sinks, events_file, trace_file) != 0) {
    hd_workflow_free(wf);
    return EXIT_FAILED;
  }

  char *store_owned = store ? NULL : cli_default_store(file);
  const char *base = store ? store : store_owned;
  char *run_dir = base != NULL ? new_run_dir(base) : NULL;
  char *cache = NULL;
  if (run_dir != NULL && !no_cache) {
    size_t len = strlen(base) + 8;
    cache = malloc(len);
    if (cache != NULL)
      snprintf(cache, len, "%s/cache", base);
  }
  if (run_dir == NULL || (!no_cache && cache == NULL)) {
    cli_sinks_close(&sinks);
    free(store_owned);
    free(run_dir);
    hd_workflow_free(wf);
    return EXIT_FAILED;
  }

  hd_host *hosts = NULL;
  size_t nhosts = 0;
  char *hosts_copy = NULL;
  if (strcmp(backend, "ssh") == 0 &&
      make_hosts(wf, hosts_arg, worker_cmd, tunnel, &hosts, &nhosts,
                 &hosts_copy) != 0) {
    cli_sinks_close(&sinks);
    free(store_owned);
    free(run_dir);
    free(cache);
    hd_workflow_free(wf);
    return EXIT_USAGE;
  }
  const char **plugins =
      calloc(hd_workflow_plugin_count(wf) + 1, sizeof(char *));
  for (size_t i = 0; plugins != NULL && i < hd_workflow_plugin_count(wf); i++)
    plugins[i] = hd_workflow_plugin(wf, i);

  finish_first =
      strcmp(backend, "processes") == 0 || strcmp(backend, "ssh") == 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backend;
  o.jobs = jobs;
  o.keep_going = keep_going;
  o.run_dir = run_dir;
  o.store = cache;
  o.resume = resume;
  o.release_results = 1; /* the final results are printed; all are on disk */
  o.hosts = hosts;
  o.nhosts = nhosts;
  o.plugins = plugins;
  o.nplugins = plugins != NULL ? hd_workflow_plugin_count(wf) : 0;
  o.mem_limit = (size_t)mem_limit;
  o.spill_limit = (size_t)spill_limit;
  o.interrupt = &interrupted;
  o.on_event = on_event;
  o.event_data = &pr;
  pr.last_store = base;
  pr.last_dir = run_dir;
  if (events_file != NULL || trace_file != NULL)
    pr.sinks = &sinks;
  hd_report *report = NULL;
  /* The plan is made here, so that the run's events file can name its
   * tasks before the first event. */
  hd_plan *plan = NULL;
  cli_journal *journal = NULL;
  char next[2400];
  resume_hint(next, sizeof(next), store, file, no_cache);
  run_watch watch = {.pr = &pr, .run_dir = run_dir, .next = next};
  if (hd_plan_new(hd_workflow_graph(wf), &plan) == HD_OK) {
    cli_run_meta meta = {file, hd_workflow_name(wf), backend, jobs};
    pr.journal = watch.journal = journal =
        cli_journal_open(run_dir, plan, &meta);
    watch_start(&watch);
    rc = hd_plan_run(plan, &o, &report);
  } else {
    watch_start(&watch);
    rc = hd_run(hd_workflow_graph(wf), &o, &report);
  }
  watch_stop(&watch);
  if (!pr.last_set && rc != HD_ESTATE)
    point_last(base, run_dir); /* a run that made no event */
  pr.last_set = 1;
  pr.journal = NULL;
  cli_progress_end(&pr);
  int sinks_failed = pr.sinks != NULL && cli_sinks_close(&sinks) != 0;
  pr.sinks = NULL;
  free_hosts(hosts, nhosts, worker_cmd, hosts_copy);
  free(plugins);

  int code = EXIT_OK;
  for (size_t i = 0; i < hd_report_diag_count(report); i++)
    cli_print_diag(hd_report_diag(report, i));
  if (rc == HD_ENOTSUP || rc == HD_EGRAPH || rc == HD_ECYCLE)
    code = EXIT_USAGE;
  else if (rc == HD_EINTR)
    code = EXIT_INTERRUPTED;
  else if (rc != HD_OK || sinks_failed)
    code = EXIT_FAILED;
  if (rc == HD_ESTATE) {
    /* The store is in use by another run: nothing ran. */
    if (journal != NULL) {
      cli_journal_close(journal, code);
      char path[4200];
      snprintf(path, sizeof(path), "%s/events", run_dir);
      unlink(path);
    }
    hd_plan_free(plan);
    drop_run_dir(run_dir);
    free(store_owned);
    hd_report_free(report);
    hd_workflow_free(wf);
    free(run_dir);
    free(cache);
    return code;
  }
  free(store_owned);

  if (report != NULL && hd_report_task_count(report) > 0) {
    if (print_results(report) != 0 && errno != EPIPE) {
      cli_error("cannot write the results: %s", strerror(errno));
      if (code == EXIT_OK)
        code = EXIT_FAILED;
    }
    for (size_t i = 0; i < hd_report_task_count(report); i++) {
      hd_task_info ti;
      hd_report_task(report, i, &ti);
      if (ti.state == HD_STATE_FAILED && ti.stderr_tail != NULL) {
        cli_note("standard error of %s (end):", ti.name);
        print_tail(ti.stderr_tail);
      }
    }
    size_t done = hd_report_count(report, HD_STATE_DONE);
    size_t failed = hd_report_count(report, HD_STATE_FAILED);
    size_t skipped = hd_report_count(report, HD_STATE_SKIPPED);
    size_t cancelled = hd_report_count(report, HD_STATE_CANCELLED);
    size_t allowed = 0, cached = 0;
    for (size_t i = 0; i < hd_report_task_count(report); i++) {
      hd_task_info ti;
      if (hd_report_task(report, i, &ti) != HD_OK)
        continue;
      allowed += ti.failure_allowed != 0;
      cached += ti.cached != 0;
    }
    char cached_note[48] = "";
    if (cached > 0)
      snprintf(cached_note, sizeof(cached_note), " (%zu cached)", cached);
    char allowed_note[48] = "";
    if (allowed > 0)
      snprintf(allowed_note, sizeof(allowed_note), " (%zu allowed)", allowed);
    double secs = (double)hd_report_elapsed_ns(report) / 1e9;
    if (!pr.quiet || code != EXIT_OK) {
      size_t total = hd_report_task_count(report);
      size_t ended = done + failed + skipped + cancelled;
      char unrun_note[48] = "";
      if (ended < total)
        snprintf(unrun_note, sizeof(unrun_note), ", %zu not run",
                 total - ended);
      cli_note("%zu task%s: %zu done%s, %zu failed%s, %zu skipped, %zu "
               "cancelled%s in %.2f s",
               total, total == 1 ? "" : "s", done, cached_note, failed,
               allowed_note, skipped, cancelled, unrun_note, secs);
      cli_note("results and logs in %s; 'hodos report' shows the run", run_dir);
      hd_held_info held;
      if (hd_report_held(report, &held) == HD_OK &&
          held.compressed + held.spilled > 0)
        cli_note("results past the memory limit: %zu compressed, %zu "
                 "spilled to disk (%.1f MiB as %.1f MiB)",
                 held.compressed, held.spilled,
                 (double)held.raw_bytes / 1048576.0,
                 (double)held.frame_bytes / 1048576.0);
    }
    if (code == EXIT_INTERRUPTED)
      cli_note("interrupted; finished results are kept in %s/results; %s",
               run_dir, next);
  } else if (rc != HD_OK && hd_report_diag_count(report) == 0) {
    cli_error("%s", hd_strerror(rc));
  }
  if (cli_journal_close(journal, code) != 0 && code == EXIT_OK)
    code = EXIT_FAILED;
  hd_report_free(report);
  hd_plan_free(plan);
  hd_workflow_free(wf);
  free(run_dir);
  free(cache);
  return code;
}
