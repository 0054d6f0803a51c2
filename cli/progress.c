/* The progress of a run on standard error: one line per finished task
 * when it is not a terminal (logs, CI); on a terminal, a status line
 * redrawn in place (a bar, the counts, the time spent and an estimate of
 * what is left, the tasks running), with failures and notes printed
 * above it. */
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define REDRAW_NS 100000000ull /* at most ten times a second */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static cli_progress *shown; /* the one whose line is on the screen */

/* Called by log.c, with its lock held, before anything is printed. */
static void clear_line(void) {
  if (shown != NULL && shown->drawn) {
    fputs("\r\033[K", stderr);
    shown->drawn = 0;
  }
}

void cli_progress_init(cli_progress *p, int quiet, int verbose) {
  memset(p, 0, sizeof(*p));
  p->quiet = quiet;
  p->verbose = verbose;
  const char *term = getenv("TERM");
  p->tty = !quiet && isatty(STDERR_FILENO) &&
           (term == NULL || strcmp(term, "dumb") != 0);
  if (p->tty) {
    shown = p;
    cli_set_before_print(clear_line);
  }
}

static void running_add(cli_progress *p, const hd_event *ev) {
  if (p->nrunning == sizeof(p->running) / sizeof(p->running[0]))
    return;
  p->running[p->nrunning].index = ev->index;
  snprintf(p->running[p->nrunning].name, sizeof(p->running[0].name), "%s",
           ev->task);
  p->nrunning++;
}

static void running_del(cli_progress *p, size_t index) {
  for (size_t i = 0; i < p->nrunning; i++)
    if (p->running[i].index == index) {
      p->running[i] = p->running[--p->nrunning];
      return;
    }
}

static unsigned columns(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
  return 80;
}

static void draw(cli_progress *p, uint64_t now) {
  char line[1024];
  size_t n = 0, total = p->total ? p->total : 1;
  unsigned width = 20, fill = (unsigned)(p->ended * width / total);
  n += (size_t)snprintf(line + n, sizeof(line) - n, "[");
  for (unsigned i = 0; i < width; i++)
    line[n++] = i < fill ? '#' : '.';
  double secs = (double)(now - p->start_ns) / 1e9;
  n += (size_t)snprintf(line + n, sizeof(line) - n, "] %zu/%zu  %zu running",
                        p->ended, p->total, p->nrunning);
  if (p->failed)
    n +=
        (size_t)snprintf(line + n, sizeof(line) - n, "  %zu failed", p->failed);
  if (p->cached)
    n +=
        (size_t)snprintf(line + n, sizeof(line) - n, "  %zu cached", p->cached);
  n += (size_t)snprintf(line + n, sizeof(line) - n, "  %.1f s", secs);
  if (p->ended > p->cached && p->ended < p->total) {
    /* What is left at the pace of what ran so far. */
    double left = secs / (double)p->ended * (double)(p->total - p->ended);
    n += (size_t)snprintf(line + n, sizeof(line) - n, ", ~%.0f s left",
                          left < 1 ? 1 : left);
  }
  for (size_t i = 0; i < p->nrunning && n < sizeof(line) - 64; i++)
    n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? ", " : "  ",
                          p->running[i].name);
  size_t cols = columns() - 1;
  if (n > cols)
    n = cols;
  cli_print_lock();
  fputs("\r\033[K", stderr);
  fwrite(line, 1, n, stderr);
  fflush(stderr);
  p->drawn = 1;
  cli_print_unlock();
  p->last_draw = now;
}

void cli_progress_event(cli_progress *p, const hd_event *ev) {
  double ms = (double)ev->elapsed_ns / 1e6;
  if (p->start_ns == 0)
    p->start_ns = now_ns();
  p->total = ev->total;
  int line = !p->tty || p->verbose; /* one line per finished task */
  switch (ev->type) {
  case HD_EVENT_QUEUED:
    break;
  case HD_EVENT_STARTED:
    running_add(p, ev);
    if (p->verbose)
      cli_note("start %s", ev->task);
    break;
  case HD_EVENT_RETRIED:
    running_del(p, ev->index);
    if (!p->quiet)
      cli_note("%sretry%s %s (attempt %u failed: %s)",
               cli_color_on(COLOR_YELLOW), cli_color_off(), ev->task,
               ev->attempt, ev->message ? ev->message : "failed");
    break;
  case HD_EVENT_DONE:
    running_del(p, ev->index);
    p->ended++;
    if (!p->quiet && line)
      cli_note("[%zu/%zu] %sdone%s %s (%.0f ms)", ev->done, ev->total,
               cli_color_on(COLOR_GREEN), cli_color_off(), ev->task, ms);
    break;
  case HD_EVENT_CACHED:
    p->ended++;
    p->cached++;
    if (!p->quiet && line)
      cli_note("[%zu/%zu] %scached%s %s", ev->done, ev->total,
               cli_color_on(COLOR_GREEN), cli_color_off(), ev->task);
    break;
  case HD_EVENT_FAILED:
    running_del(p, ev->index);
    p->ended++;
    p->failed++;
    cli_note("[%zu/%zu] %sfailed%s%s %s: %s", ev->done, ev->total,
             cli_color_on(ev->failure_allowed ? COLOR_YELLOW : COLOR_RED),
             cli_color_off(), ev->failure_allowed ? " (allowed)" : "", ev->task,
             ev->message ? ev->message : "failed");
    break;
  case HD_EVENT_SKIPPED:
    p->ended++;
    if (!p->quiet && (line || p->tty))
      cli_note("[%zu/%zu] %sskipped%s %s: %s", ev->done, ev->total,
               cli_color_on(COLOR_YELLOW), cli_color_off(), ev->task,
               ev->message ? ev->message : "");
    break;
  case HD_EVENT_CANCELLED:
    running_del(p, ev->index);
    p->ended++;
    if (!p->quiet && line)
      cli_note("[%zu/%zu] cancelled %s: %s", ev->done, ev->total, ev->task,
               ev->message ? ev->message : "");
    break;
  }
  if (p->tty) {
    uint64_t now = now_ns();
    if (now - p->last_draw >= REDRAW_NS || ev->type == HD_EVENT_FAILED ||
        p->ended == p->total)
      draw(p, now);
  }
}

void cli_progress_end(cli_progress *p) {
  if (!p->tty)
    return;
  cli_print_lock();
  clear_line();
  cli_print_unlock();
  cli_set_before_print(NULL);
  shown = NULL;
}
