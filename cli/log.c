/* Messages on stderr, and the library's log callback. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int use_color;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*before_print)(void);

void cli_print_lock(void) { pthread_mutex_lock(&print_lock); }
void cli_print_unlock(void) { pthread_mutex_unlock(&print_lock); }
void cli_set_before_print(void (*fn)(void)) {
  pthread_mutex_lock(&print_lock);
  before_print = fn;
  pthread_mutex_unlock(&print_lock);
}

static void print_begin(void) {
  pthread_mutex_lock(&print_lock);
  if (before_print != NULL)
    before_print();
}

int cli_color_enabled(void) { return use_color; }

const char *cli_color_on(cli_color c) {
  if (!use_color)
    return "";
  switch (c) {
  case COLOR_RED:
    return "\033[31m";
  case COLOR_GREEN:
    return "\033[32m";
  case COLOR_YELLOW:
    return "\033[33m";
  case COLOR_BOLD:
    return "\033[1m";
  case COLOR_DIM:
    return "\033[2m";
  case COLOR_NONE:
    break;
  }
  return "";
}

const char *cli_color_off(void) { return use_color ? "\033[0m" : ""; }

static void on_log(hd_log_level level, const char *message, void *data) {
  (void)data;
  cli_color c = level == HD_LOG_ERROR  ? COLOR_RED
                : level == HD_LOG_WARN ? COLOR_YELLOW
                                       : COLOR_DIM;
  print_begin();
  fprintf(stderr, "hodos: %s%s:%s %s\n", cli_color_on(c),
          hd_log_level_name(level), cli_color_off(), message);
  pthread_mutex_unlock(&print_lock);
}

void cli_log_init(int verbosity) {
  const char *no_color = getenv("NO_COLOR");
  const char *term = getenv("TERM");
  use_color = isatty(STDERR_FILENO) && (no_color == NULL || !no_color[0]) &&
              (term == NULL || strcmp(term, "dumb") != 0);
  hd_log_level max = verbosity < 0    ? HD_LOG_ERROR
                     : verbosity == 0 ? HD_LOG_WARN
                     : verbosity == 1 ? HD_LOG_INFO
                                      : HD_LOG_DEBUG;
  hd_log_set_cb(on_log, NULL, max);
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_begin();
  fprintf(stderr, "hodos: %serror:%s ", cli_color_on(COLOR_RED),
          cli_color_off());
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  pthread_mutex_unlock(&print_lock);
  va_end(ap);
}

void cli_note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_begin();
  fputs("hodos: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  pthread_mutex_unlock(&print_lock);
  va_end(ap);
}

void cli_print_diag(const hd_diag *d) {
  char small[1024];
  size_t n = hd_diag_format(d, small, sizeof(small));
  char *line = small;
  if (n >= sizeof(small)) {
    line = malloc(n + 1);
    if (line == NULL)
      line = small;
    else
      hd_diag_format(d, line, n + 1);
  }
  fprintf(stderr, "hodos: %s\n", line);
  if (line != small)
    free(line);
}
