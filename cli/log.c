/* Messages on stderr, and the library's log callback. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
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

/* One line on stderr, "hodos: " HEAD TEXT, in one write: stderr is not
 * buffered, and other processes (workers of hodos serve, say) may write
 * to the same file at the same moment. */
static void print_line(const char *head, const char *fmt, va_list ap) {
  char small[1024];
  va_list again;
  va_copy(again, ap);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  char *text = small;
  if (n >= (int)sizeof(small) && (text = malloc((size_t)n + 1)) != NULL)
    vsnprintf(text, (size_t)n + 1, fmt, again);
  va_end(again);
  if (text == NULL)
    text = small; /* cut short rather than lost */
  size_t hlen = strlen(head), tlen = strlen(text);
  char *line = malloc(7 + hlen + tlen + 1);
  print_begin();
  if (line != NULL) {
    memcpy(line, "hodos: ", 7);
    memcpy(line + 7, head, hlen);
    memcpy(line + 7 + hlen, text, tlen);
    line[7 + hlen + tlen] = '\n';
    fwrite(line, 1, 7 + hlen + tlen + 1, stderr);
  } else {
    fprintf(stderr, "hodos: %s%s\n", head, text);
  }
  fflush(stderr);
  pthread_mutex_unlock(&print_lock);
  free(line);
  if (text != small)
    free(text);
}

static void print_head(const char *head, const char *fmt, ...) HD_PRINTF(2, 3);
static void print_head(const char *head, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_line(head, fmt, ap);
  va_end(ap);
}

static void on_log(hd_log_level level, const char *message, void *data) {
  (void)data;
  cli_color c = level == HD_LOG_ERROR  ? COLOR_RED
                : level == HD_LOG_WARN ? COLOR_YELLOW
                                       : COLOR_DIM;
  char head[64];
  snprintf(head, sizeof(head), "%s%s:%s ", cli_color_on(c),
           hd_log_level_name(level), cli_color_off());
  print_head(head, "%s", message);
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
  char head[64];
  snprintf(head, sizeof(head), "%serror:%s ", cli_color_on(COLOR_RED),
           cli_color_off());
  print_line(head, fmt, ap);
  va_end(ap);
}

void cli_note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  print_line("", fmt, ap);
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
