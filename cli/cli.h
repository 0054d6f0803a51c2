/* The hodos command: a client of the public API only. */
#ifndef HODOS_CLI_H
#define HODOS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <hodos/hodos.h>

/* Exit codes, documented in hodos(1). */
enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_INTERRUPTED = 130,
};

/* Messages on stderr, "hodos: " first, coloured when stderr is a terminal
 * and NO_COLOR is not set. */
typedef enum cli_color {
  COLOR_NONE,
  COLOR_RED,
  COLOR_GREEN,
  COLOR_YELLOW,
  COLOR_BOLD,
  COLOR_DIM,
} cli_color;

void cli_log_init(int verbosity);
int cli_color_enabled(void);
const char *cli_color_on(cli_color c);
const char *cli_color_off(void);
void cli_error(const char *fmt, ...) HD_PRINTF(1, 2);
void cli_note(const char *fmt, ...) HD_PRINTF(1, 2);
void cli_print_diag(const hd_diag *d);
/* A size: digits, then K, M, G or T (powers of 1024, with or without a
 * B), or nothing; more than 0. Returns 0, or -1 when s is not one. */
int cli_parse_size(const char *s, uint64_t *out);
int cli_store_ok(const char *store);
struct option;
void cli_unknown_option(char **argv, const struct option *opts,
                        const char *cmd);

/* Printing on stderr is serialised; a status line on the terminal is
 * cleared first by the function set here (progress.c). */
void cli_print_lock(void);
void cli_print_unlock(void);
void cli_set_before_print(void (*fn)(void));

/* The progress of a run (progress.c). */
typedef struct cli_progress {
  int quiet, verbose;
  int tty;   /* a status line, redrawn in place */
  int drawn; /* it is on the screen */
  struct cli_sinks *sinks;
  struct cli_journal *journal;
  size_t total, ended, failed, cached;
  struct {
    size_t index;
    char name[48];
  } running[32];
  size_t nrunning;
  uint64_t start_ns, last_draw;
  /* STORE/runs/last is pointed at the run's folder at its first event,
     once the run holds its store (a run refused for the store in use
     leaves it alone). */
  const char *last_store, *last_dir;
  int last_set;
} cli_progress;
void cli_progress_init(cli_progress *p, int quiet, int verbose);
void cli_progress_event(cli_progress *p, const hd_event *ev);
void cli_progress_end(cli_progress *p);

/* --events and --trace (events.c): files that read a run's events. */
typedef struct cli_sinks cli_sinks;
struct cli_sinks {
  FILE *events, *trace;
  uint64_t start_ns; /* the first event's time */
  size_t ntrace;     /* trace events written */
  char *hosts[64];   /* the trace's processes, one per host */
  size_t nhosts;
  uint64_t named[4]; /* the trace's threads named so far */
};
int cli_sinks_open(cli_sinks *s, const char *events, const char *trace);
void cli_sinks_event(cli_sinks *s, const hd_event *ev);
int cli_sinks_close(cli_sinks *s);

/* A run's own record of its events, RUN/events (journal.c): written
 * while it runs, read back by 'hodos report'. */
typedef struct cli_journal cli_journal;
typedef struct cli_run_meta {
  const char *file, *name, *backend;
  unsigned jobs;
} cli_run_meta;
/* NULL when the file cannot be made (said on stderr; the run goes on). */
cli_journal *cli_journal_open(const char *run_dir, const hd_plan *plan,
                              const cli_run_meta *meta);
void cli_journal_event(cli_journal *j, const hd_event *ev);
/* Writes the end and closes; -1 when some of it could not be written. */
int cli_journal_close(cli_journal *j, int exit_code);

/* What a run's events file holds besides the events. */
typedef struct cli_run_log {
  char *id, *file, *name, *backend;
  unsigned jobs;
  uint64_t wall_start_ns; /* since the epoch */
  size_t count;           /* tasks */
  char **names;
  size_t *pred_start; /* task i's predecessors: preds[pred_start[i] ..
                         pred_start[i + 1]) */
  uint32_t *preds;
  size_t npreds;
  size_t ended;    /* events that ended a task */
  int finished;    /* the end record is there */
  int exit_code;   /* hodos's, when finished */
  uint64_t end_ns; /* the run's length, when finished */
  int truncated;   /* the file stops in the middle of a frame */
  int damaged;     /* a record could not be decoded; the rest was dropped */
  size_t damaged_at;
} cli_run_log;
typedef void (*cli_journal_event_cb)(const hd_event *ev, void *data);
/* Reads path, calling on_event for each event in order (time_ns counts
 * from the run's start). 0, or -1 with err filled in. */
int cli_journal_read(const char *path, cli_run_log *log,
                     cli_journal_event_cb on_event, void *data, char *err,
                     size_t errlen);
void cli_run_log_cleanup(cli_run_log *log);

/* The folder of RUN (a path, a name under STORE/runs, or 'last') into
 * dir; -1, said on stderr, when there is no such run. */
int cli_find_run(const char *store, const char *run, char *dir, size_t size);

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_graph(int argc, char **argv);
void help_validate(FILE *out);
void help_graph(FILE *out);
int cmd_help(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_clean(int argc, char **argv);
void help_status(FILE *out);
void help_clean(FILE *out);
int cmd_worker(int argc, char **argv);
void help_worker(FILE *out);
int cmd_serve(int argc, char **argv);
int cmd_logs(int argc, char **argv);
void help_logs(FILE *out);
int cmd_report(int argc, char **argv);
void help_report(FILE *out);
void help_serve(FILE *out);
/* Load FILE and compile it; prints the diagnostics and returns NULL on
 * error, with *code set to the exit status. */
hd_plan *cli_load_plan(const char *file, hd_workflow **wf, int *code);
/* .hodos beside FILE (malloc'd), or NULL when out of memory. */
char *cli_default_store(const char *file);
void help_run(FILE *out);

#endif
