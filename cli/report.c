/* hodos report: a finished run, looked at again from its events file —
 * a summary on the terminal, one self-contained HTML page, or the JSON
 * lines and trace the run could have written (the same readers, fed the
 * stored events). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"

void help_report(FILE *out) {
  fputs("Usage: hodos report [-s DIR] [--html FILE] [--events FILE]\n"
        "                    [--trace FILE] [--top N] [RUN]\n"
        "\n"
        "Look at a run after the fact, from the events it kept in its run\n"
        "folder. Without options, print a summary: the counts, the slowest\n"
        "tasks, the failures with the end of their standard error, and the\n"
        "cache hits. RUN is a run folder, the name of one under STORE/runs,\n"
        "'last' (the default), or a workflow file (the last run of the store\n"
        "beside it). STORE is .hodos in the current folder unless -s says\n"
        "otherwise.\n"
        "\n"
        "Options:\n"
        "  -s, --store DIR     the store whose runs to read (default: .hodos)\n"
        "      --html FILE     write one self-contained HTML page (no network\n"
        "                      needed): the summary, a timeline of the tasks\n"
        "                      on each worker, the graph coloured by state,\n"
        "                      the slowest tasks, the failures and cache hits\n"
        "      --events FILE   write the run's events as JSON lines, as\n"
        "                      'hodos run --events' does\n"
        "      --trace FILE    write the run's trace (Chrome trace format),\n"
        "                      as 'hodos run --trace' does\n"
        "      --top N         how many of the slowest tasks to list\n"
        "                      (default: 10)\n"
        "  -h, --help          show this help\n"
        "\n"
        "Exit status: 0 written; 1 a file could not be written, or the\n"
        "events file is damaged; 2 a usage error or no such run.\n"
        "\n"
        "Examples:\n"
        "  hodos report\n"
        "  hodos report --html run.html examples/quickstart.yaml\n"
        "  hodos report -s /data/.hodos --trace t.json 20261125-023120-8425\n",
        out);
}

/* What a task came to, from its events. */
typedef struct rtask {
  uint64_t elapsed; /* its last attempt */
  uint64_t busy;    /* all its attempts */
  uint64_t size;
  unsigned worker, host, attempts;
  unsigned char state; /* an hd_state; PENDING: it never started */
  unsigned char cached, allowed;
  char *message;
} rtask;

/* An attempt on a worker, for the timeline. */
typedef struct seg {
  uint64_t begin, end;
  uint32_t task;
  unsigned track;
  unsigned char kind; /* an hd_event_type: DONE, FAILED or RETRIED */
} seg;

typedef struct model {
  cli_run_log log;
  rtask *tasks;
  seg *segs;
  size_t nsegs, segcap;
  char **hosts; /* host i + 1 */
  size_t nhosts;
  struct {
    unsigned host, worker;
  } * tracks;
  size_t ntracks;
  uint64_t last_ns; /* the last event */
  cli_sinks *sinks;
  int oom;
} model;

static unsigned intern_host(model *m, const char *host) {
  if (host == NULL)
    return 0;
  for (size_t i = 0; i < m->nhosts; i++)
    if (strcmp(m->hosts[i], host) == 0)
      return (unsigned)i + 1;
  char **h = realloc(m->hosts, (m->nhosts + 1) * sizeof(*h));
  if (h == NULL || (h[m->nhosts] = strdup(host)) == NULL) {
    if (h != NULL)
      m->hosts = h;
    m->oom = 1;
    return 0;
  }
  m->hosts = h;
  return (unsigned)++m->nhosts;
}

static unsigned track_of(model *m, unsigned host, unsigned worker) {
  for (size_t i = 0; i < m->ntracks; i++)
    if (m->tracks[i].host == host && m->tracks[i].worker == worker)
      return (unsigned)i;
  void *t = realloc(m->tracks, (m->ntracks + 1) * sizeof(*m->tracks));
  if (t == NULL) {
    m->oom = 1;
    return 0;
  }
  m->tracks = t;
  m->tracks[m->ntracks].host = host;
  m->tracks[m->ntracks].worker = worker;
  return (unsigned)m->ntracks++;
}

static void add_seg(model *m, const hd_event *ev, unsigned host) {
  if (m->nsegs == m->segcap) {
    size_t cap = m->segcap ? m->segcap * 2 : 1024;
    seg *s = realloc(m->segs, cap * sizeof(*s));
    if (s == NULL) {
      m->oom = 1;
      return;
    }
    m->segs = s;
    m->segcap = cap;
  }
  seg *s = &m->segs[m->nsegs++];
  s->end = ev->time_ns;
  s->begin = ev->time_ns > ev->elapsed_ns ? ev->time_ns - ev->elapsed_ns : 0;
  s->task = (uint32_t)ev->index;
  s->track = track_of(m, host, ev->worker);
  s->kind = (unsigned char)ev->type;
}

static void set_message(rtask *t, const char *message) {
  free(t->message);
  t->message = message != NULL ? strdup(message) : NULL;
}

static void on_event(const hd_event *ev, void *data) {
  model *m = data;
  /* The reader has read every task before the first event. */
  if (m->tasks == NULL &&
      (m->tasks = calloc(m->log.count + 1, sizeof(rtask))) == NULL)
    m->oom = 1;
  if (m->oom)
    return;
  if (m->sinks != NULL)
    cli_sinks_event(m->sinks, ev);
  rtask *t = &m->tasks[ev->index];
  unsigned host = intern_host(m, ev->host);
  if (ev->time_ns > m->last_ns)
    m->last_ns = ev->time_ns;
  switch (ev->type) {
  case HD_EVENT_QUEUED:
    t->state = HD_STATE_READY;
    break;
  case HD_EVENT_STARTED:
    t->state = HD_STATE_RUNNING;
    t->worker = ev->worker;
    t->host = host;
    break;
  case HD_EVENT_RETRIED:
  case HD_EVENT_DONE:
  case HD_EVENT_FAILED:
    add_seg(m, ev, host);
    t->elapsed = ev->elapsed_ns;
    t->busy += ev->elapsed_ns;
    t->worker = ev->worker;
    t->host = host;
    t->attempts = ev->attempt;
    if (ev->type == HD_EVENT_RETRIED) {
      set_message(t, ev->message);
      t->state = HD_STATE_RUNNING;
    } else if (ev->type == HD_EVENT_DONE) {
      t->state = HD_STATE_DONE;
      t->size = ev->size;
    } else {
      t->state = HD_STATE_FAILED;
      t->allowed = ev->failure_allowed != 0;
      set_message(t, ev->message);
    }
    break;
  case HD_EVENT_CACHED:
    t->state = HD_STATE_DONE;
    t->cached = 1;
    t->size = ev->size;
    break;
  case HD_EVENT_SKIPPED:
  case HD_EVENT_CANCELLED:
    t->state =
        ev->type == HD_EVENT_SKIPPED ? HD_STATE_SKIPPED : HD_STATE_CANCELLED;
    set_message(t, ev->message);
    break;
  }
}

static void model_cleanup(model *m) {
  for (size_t i = 0; m->tasks != NULL && i < m->log.count; i++)
    free(m->tasks[i].message);
  free(m->tasks);
  free(m->segs);
  for (size_t i = 0; i < m->nhosts; i++)
    free(m->hosts[i]);
  free(m->hosts);
  free(m->tracks);
  cli_run_log_cleanup(&m->log);
}

/* ---- Counting and formatting ---- */

enum {
  K_DONE,
  K_CACHED,
  K_FAILED,
  K_ALLOWED,
  K_SKIPPED,
  K_CANCELLED,
  K_NOT_RUN,
  K_COUNT
};
static const char *const kind_class[K_COUNT] = {
    "done", "cached", "failed", "allowed", "skipped", "cancelled", "notrun"};
static const char *const kind_label[K_COUNT] = {
    "done",    "cached",    "failed", "failed (allowed)",
    "skipped", "cancelled", "not run"};

static int kind_of(const rtask *t) {
  switch (t->state) {
  case HD_STATE_DONE:
    return t->cached ? K_CACHED : K_DONE;
  case HD_STATE_FAILED:
    return t->allowed ? K_ALLOWED : K_FAILED;
  case HD_STATE_SKIPPED:
    return K_SKIPPED;
  case HD_STATE_CANCELLED:
    return K_CANCELLED;
  default:
    return K_NOT_RUN;
  }
}

static void fmt_dur(char *buf, size_t size, uint64_t ns) {
  double s = (double)ns / 1e9;
  if (s < 1e-3)
    snprintf(buf, size, "%.0f µs", s * 1e6);
  else if (s < 1)
    snprintf(buf, size, "%.1f ms", s * 1e3);
  else if (s < 60)
    snprintf(buf, size, "%.2f s", s);
  else if (s < 3600)
    snprintf(buf, size, "%d min %02d s", (int)(s / 60), (int)s % 60);
  else
    snprintf(buf, size, "%d h %02d min", (int)(s / 3600), (int)(s / 60) % 60);
}

static void fmt_size(char *buf, size_t size, uint64_t n) {
  if (n < 1024)
    snprintf(buf, size, "%llu B", (unsigned long long)n);
  else if (n < 1024 * 1024)
    snprintf(buf, size, "%.1f KiB", (double)n / 1024);
  else if (n < 1024ull * 1024 * 1024)
    snprintf(buf, size, "%.1f MiB", (double)n / 1048576);
  else
    snprintf(buf, size, "%.2f GiB", (double)n / 1073741824);
}

static void fmt_wall(char *buf, size_t size, uint64_t ns) {
  time_t t = (time_t)(ns / 1000000000u);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static const char *where(const model *m, const rtask *t, char *buf,
                         size_t size) {
  if (t->host != 0)
    snprintf(buf, size, "%s, worker %u", m->hosts[t->host - 1], t->worker);
  else
    snprintf(buf, size, "worker %u", t->worker);
  return buf;
}

/* The run's length: its end record, or its last event. */
static uint64_t run_length(const model *m) {
  uint64_t n = m->log.finished ? m->log.end_ns : m->last_ns;
  return n > m->last_ns ? n : m->last_ns;
}

/* Tasks that ran, slowest first: the first *count of them. */
static int cmp_slow(const void *a, const void *b, void *data) {
  const rtask *t = data;
  uint64_t x = t[*(const uint32_t *)a].elapsed,
           y = t[*(const uint32_t *)b].elapsed;
  return x < y ? 1 : x > y ? -1 : 0;
}

/* A small selection: the top n by cmp, in order (n is small). */
static size_t slowest(const model *m, uint32_t *out, size_t n) {
  size_t got = 0;
  for (size_t i = 0; i < m->log.count; i++) {
    const rtask *t = &m->tasks[i];
    if (t->attempts == 0)
      continue;
    uint32_t idx = (uint32_t)i;
    if (got == n && cmp_slow(&idx, &out[n - 1], m->tasks) >= 0)
      continue;
    size_t k = got < n ? got++ : n - 1;
    while (k > 0 && cmp_slow(&idx, &out[k - 1], m->tasks) < 0) {
      out[k] = out[k - 1];
      k--;
    }
    out[k] = idx;
  }
  return got;
}

/* The last lines of a task's standard error, from the run folder. */
static char *stderr_tail(const char *dir, const char *task, size_t max) {
  char name[1024], path[5400];
  if (hd_task_file_name(task, name, sizeof(name)) != HD_OK)
    return NULL;
  snprintf(path, sizeof(path), "%s/logs/%s.stderr", dir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *buf = NULL;
  if (fseek(f, 0, SEEK_END) == 0) {
    long len = ftell(f);
    long from = len > (long)max ? len - (long)max : 0;
    buf = len >= 0 ? malloc((size_t)(len - from) + 1) : NULL;
    if (buf != NULL && fseek(f, from, SEEK_SET) == 0) {
      size_t n = fread(buf, 1, (size_t)(len - from), f);
      buf[n] = '\0';
      /* Start at a whole line, unless it is all one line. */
      char *nl = from > 0 ? strchr(buf, '\n') : NULL;
      if (nl != NULL && nl[1] != '\0')
        memmove(buf, nl + 1, strlen(nl + 1) + 1);
      if (buf[0] == '\0') {
        free(buf);
        buf = NULL;
      }
    }
  }
  fclose(f);
  return buf;
}

/* ---- The summary on standard output ---- */

static void count_kinds(const model *m, size_t counts[K_COUNT]) {
  memset(counts, 0, K_COUNT * sizeof(size_t));
  for (size_t i = 0; i < m->log.count; i++)
    counts[kind_of(&m->tasks[i])]++;
}

static void print_state_note(const model *m, const char *path) {
  if (m->log.damaged || m->log.truncated)
    cli_note("%s stops short (the run was killed, or the file is damaged); "
             "this is the run as far as it was written",
             path);
  else if (!m->log.finished)
    cli_note("the run has not finished (or was killed): this is how far it "
             "got");
}

static void print_text(const model *m, const char *dir, size_t top) {
  const cli_run_log *l = &m->log;
  char wall[64], dur[32];
  fmt_wall(wall, sizeof(wall), l->wall_start_ns);
  fmt_dur(dur, sizeof(dur), run_length(m));
  printf("run %s of %s", l->id, l->file);
  if (l->name != NULL && l->name[0] != '\0')
    printf(" (%s)", l->name);
  printf("\nstarted %s, %s %s, backend %s", wall,
         l->finished ? "took" : "ran for", dur, l->backend);
  if (l->jobs && (l->backend == NULL ||
                  strcmp(l->backend, "serial") != 0)) /* it ignores -j */
    printf(" with %u jobs", l->jobs);
  if (l->finished)
    printf(", exit status %d", l->exit_code);
  printf("\n");
  size_t c[K_COUNT];
  count_kinds(m, c);
  printf("%zu task%s: %zu done", l->count, l->count == 1 ? "" : "s",
         c[K_DONE] + c[K_CACHED]);
  if (c[K_CACHED])
    printf(" (%zu cached)", c[K_CACHED]);
  printf(", %zu failed", c[K_FAILED] + c[K_ALLOWED]);
  if (c[K_ALLOWED])
    printf(" (%zu allowed)", c[K_ALLOWED]);
  printf(", %zu skipped, %zu cancelled", c[K_SKIPPED], c[K_CANCELLED]);
  if (c[K_NOT_RUN])
    printf(", %zu not run", c[K_NOT_RUN]);
  printf("\n");

  uint32_t *slow = top ? malloc(top * sizeof(*slow)) : NULL;
  size_t n = slow != NULL ? slowest(m, slow, top) : 0;
  if (n > 0)
    printf("\nslowest tasks:\n");
  for (size_t i = 0; i < n; i++) {
    const rtask *t = &m->tasks[slow[i]];
    char d[32], w[300];
    fmt_dur(d, sizeof(d), t->elapsed);
    /* Right-aligned in 10 columns: "µ" takes two bytes, one column. */
    int pad = 10;
    for (const char *b = d; *b != '\0'; b++)
      pad += ((unsigned char)*b & 0xc0) == 0x80;
    printf("  %*s  %s  (%s", pad, d, l->names[slow[i]],
           where(m, t, w, sizeof(w)));
    if (t->attempts > 1)
      printf(", attempt %u", t->attempts);
    printf(")\n");
  }
  free(slow);

  size_t shown = 0;
  for (size_t i = 0; i < l->count; i++) {
    const rtask *t = &m->tasks[i];
    if (t->state != HD_STATE_FAILED)
      continue;
    if (shown++ == 0)
      printf("\nfailures:\n");
    if (shown > 20)
      continue;
    printf("  %s%s: %s\n", l->names[i], t->allowed ? " (allowed)" : "",
           t->message ? t->message : "failed");
    char *tail = stderr_tail(dir, l->names[i], 1024);
    for (char *p = tail; p != NULL && *p;) {
      char *nl = strchr(p, '\n');
      size_t len = nl ? (size_t)(nl - p) : strlen(p);
      printf("    | %.*s\n", (int)len, p);
      p += len + (nl != NULL);
    }
    free(tail);
  }
  if (shown > 20)
    printf("  and %zu more\n", shown - 20);
  if (c[K_CACHED] > 0) {
    printf("\ncache hits: %zu task%s:", c[K_CACHED],
           c[K_CACHED] == 1 ? "" : "s");
    size_t k = 0;
    for (size_t i = 0; i < l->count && k < 10; i++)
      if (m->tasks[i].cached)
        printf("%s %s", k++ ? "," : "", l->names[i]);
    printf("%s\n", c[K_CACHED] > 10 ? ", …" : "");
  }
}

/* ---- The HTML page ---- */

static void esc(FILE *f, const char *s) {
  for (; s != NULL && *s; s++) {
    switch (*s) {
    case '<':
      fputs("&lt;", f);
      break;
    case '>':
      fputs("&gt;", f);
      break;
    case '&':
      fputs("&amp;", f);
      break;
    case '"':
      fputs("&quot;", f);
      break;
    case '\'':
      fputs("&#39;", f);
      break;
    default:
      /* Control characters other than tab and newline would make the
         page invalid XML inside SVG. */
      if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
        fputc('?', f);
      else
        fputc(*s, f);
    }
  }
}

/* At most max bytes of s, cut at a character boundary, with "…" when
 * cut. */
static void esc_short(FILE *f, const char *s, size_t max) {
  size_t len = strlen(s);
  if (len <= max) {
    esc(f, s);
    return;
  }
  while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
    max--;
  char *cut = strndup(s, max);
  esc(f, cut);
  fputs("…", f);
  free(cut);
}

static const char css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,"
    "sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;"
    "border-bottom:1px solid #ddd;padding-bottom:4px}"
    ".meta{color:#555}.cards{display:flex;flex-wrap:wrap;gap:10px;"
    "margin:14px 0}.card{border:1px solid #ddd;border-radius:6px;"
    "padding:8px 14px;min-width:90px}.card b{display:block;font-size:20px}"
    "table{border-collapse:collapse}td,th{padding:3px 10px;text-align:left;"
    "border-bottom:1px solid #eee;vertical-align:top}th{color:#555;"
    "font-weight:600}td.num{text-align:right;font-variant-numeric:"
    "tabular-nums}pre{background:#f6f6f6;padding:8px;margin:4px 0;"
    "overflow:auto;max-height:320px;font-size:12px}"
    ".note{color:#8a5a00;background:#fff6e0;padding:6px 10px;"
    "border-radius:4px}.legend span{display:inline-block;margin-right:14px}"
    ".legend i{display:inline-block;width:12px;height:12px;border-radius:2px;"
    "margin-right:4px;vertical-align:-1px}"
    ".scroll{overflow:auto;border:1px solid #eee}"
    "svg text{font:11px system-ui,sans-serif;fill:#222}"
    "svg .axis{stroke:#ccc}svg .edge{stroke:#9aa;fill:none;stroke-width:1}"
    ".done{fill:#2e9d4f;background:#2e9d4f}"
    ".cached{fill:#5b9bd5;background:#5b9bd5}"
    ".failed{fill:#d62f2f;background:#d62f2f}"
    ".allowed{fill:#e69138;background:#e69138}"
    ".skipped{fill:#a6a6a6;background:#a6a6a6}"
    ".cancelled{fill:#8e7cc3;background:#8e7cc3}"
    ".notrun{fill:#e3e3e3;background:#e3e3e3}"
    ".retried{fill:#f1c232;background:#f1c232}"
    "svg rect.box{stroke:#555;stroke-width:.6}"
    "svg rect.group{fill:#fff;stroke:#555;stroke-width:.8}";

static void html_legend(FILE *f, int retried) {
  fputs("<p class=\"legend\">", f);
  for (int k = 0; k < K_COUNT; k++)
    fprintf(f, "<span><i class=\"%s\"></i>%s</span>", kind_class[k],
            kind_label[k]);
  if (retried)
    fputs("<span><i class=\"retried\"></i>attempt retried</span>", f);
  fputs("</p>\n", f);
}

/* A step for about n ticks over total ns: 1, 2 or 5 times a power of
 * ten. */
static uint64_t tick_step(uint64_t total, unsigned n) {
  uint64_t step = 1;
  while (step * 5 * n < total)
    step *= 10;
  if (step * n >= total)
    return step;
  if (step * 2 * n >= total)
    return step * 2;
  return step * 5;
}

static int cmp_seg_len(const void *a, const void *b) {
  const seg *x = a, *y = b;
  uint64_t lx = x->end - x->begin, ly = y->end - y->begin;
  return lx < ly ? 1 : lx > ly ? -1 : 0;
}

#define GANTT_MAX_SEGS 20000
#define GANTT_W 1000
#define GANTT_LEFT 150
#define GANTT_ROW 18

static void html_gantt(FILE *f, model *m) {
  fputs("<h2 id=\"timeline\">Timeline</h2>\n", f);
  if (m->nsegs == 0) {
    fputs("<p>No task ran on a worker in this run.</p>\n", f);
    return;
  }
  /* Tracks in order: this machine's workers, then each host's. */
  unsigned *row = calloc(m->ntracks, sizeof(unsigned));
  if (row == NULL)
    return;
  size_t nrow = 0;
  for (unsigned h = 0; h <= m->nhosts; h++) {
    unsigned maxw = 0;
    for (size_t i = 0; i < m->ntracks; i++)
      if (m->tracks[i].host == h && m->tracks[i].worker > maxw)
        maxw = m->tracks[i].worker;
    for (unsigned w = 0; w <= maxw; w++)
      for (size_t i = 0; i < m->ntracks; i++)
        if (m->tracks[i].host == h && m->tracks[i].worker == w)
          row[i] = (unsigned)nrow++;
  }
  uint64_t total = run_length(m);
  if (total == 0)
    total = 1;
  size_t drawn = m->nsegs;
  if (drawn > GANTT_MAX_SEGS) {
    qsort(m->segs, m->nsegs, sizeof(seg), cmp_seg_len);
    drawn = GANTT_MAX_SEGS;
    fprintf(
        f,
        "<p class=\"note\">%zu attempts ran; the %d longest are drawn.</p>\n",
        m->nsegs, GANTT_MAX_SEGS);
  }
  int retried = 0;
  for (size_t i = 0; i < drawn; i++)
    retried |= m->segs[i].kind == HD_EVENT_RETRIED;
  html_legend(f, retried);
  unsigned height = (unsigned)nrow * GANTT_ROW + 30;
  fprintf(f,
          "<div class=\"scroll\"><svg id=\"gantt\" width=\"%d\" height=\"%u\" "
          "viewBox=\"0 0 %d %u\" role=\"img\" aria-label=\"tasks over time "
          "on each worker\">\n",
          GANTT_LEFT + GANTT_W + 20, height, GANTT_LEFT + GANTT_W + 20, height);
  /* The time axis. */
  uint64_t step = tick_step(total, 10);
  for (uint64_t t = 0; t <= total; t += step) {
    double x = GANTT_LEFT + (double)t / (double)total * GANTT_W;
    char d[32];
    fmt_dur(d, sizeof(d), t);
    fprintf(f,
            "<line class=\"axis\" x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%u\"/>"
            "<text x=\"%.1f\" y=\"%u\" text-anchor=\"middle\">%s</text>\n",
            x, x, height - 18, x, height - 4, t == 0 ? "0" : d);
  }
  for (size_t i = 0; i < m->ntracks; i++) {
    char label[300];
    if (m->tracks[i].host != 0)
      snprintf(label, sizeof(label), "%s · %u", m->hosts[m->tracks[i].host - 1],
               m->tracks[i].worker);
    else
      snprintf(label, sizeof(label), "worker %u", m->tracks[i].worker);
    fprintf(f, "<text x=\"4\" y=\"%u\">", row[i] * GANTT_ROW + 13);
    esc_short(f, label, 22);
    fputs("</text>\n", f);
  }
  for (size_t i = 0; i < drawn; i++) {
    const seg *s = &m->segs[i];
    const rtask *t = &m->tasks[s->task];
    double x = GANTT_LEFT + (double)s->begin / (double)total * GANTT_W;
    double w = (double)(s->end - s->begin) / (double)total * GANTT_W;
    if (w < 0.5)
      w = 0.5;
    const char *cls = s->kind == HD_EVENT_RETRIED ? "retried"
                      : s->kind == HD_EVENT_DONE  ? "done"
                      : t->allowed                ? "allowed"
                                                  : "failed";
    char d[32];
    fmt_dur(d, sizeof(d), s->end - s->begin);
    fprintf(f,
            "<rect class=\"%s\" x=\"%.2f\" y=\"%u\" width=\"%.2f\" "
            "height=\"%d\"><title>",
            cls, x, row[s->track] * GANTT_ROW + 2, w, GANTT_ROW - 4);
    esc(f, m->log.names[s->task]);
    fprintf(f, " — %s, %s", cls, d);
    fputs("</title></rect>\n", f);
  }
  fputs("</svg></div>\n", f);
  free(row);
}

/* The graph, drawn in columns by level. A unit is a task, or a group of
 * tasks (a fanned-out task's expansions) when there are too many. */
typedef struct unit {
  char *label;
  size_t count, kinds[K_COUNT];
  size_t level, pos;
  double key;
  uint64_t busy;
} unit;

#define GRAPH_MAX_UNITS 400
#define GRAPH_MAX_EDGES 4000

/* Levels of n units with edges (from[i], to[i]); -1 on a cycle. */
static int unit_levels(unit *u, size_t n, const uint32_t *from,
                       const uint32_t *to, size_t ne) {
  size_t *indeg = calloc(n + 1, sizeof(size_t));
  size_t *start = calloc(n + 2, sizeof(size_t));
  uint32_t *succ = malloc((ne + 1) * sizeof(uint32_t));
  uint32_t *queue = malloc((n + 1) * sizeof(uint32_t));
  int rc = -1;
  if (indeg == NULL || start == NULL || succ == NULL || queue == NULL)
    goto done;
  for (size_t e = 0; e < ne; e++) {
    indeg[to[e]]++;
    start[from[e] + 2]++;
  }
  for (size_t i = 0; i < n; i++)
    start[i + 2] += start[i + 1];
  for (size_t e = 0; e < ne; e++)
    succ[start[from[e] + 1]++] = to[e];
  size_t head = 0, tail = 0;
  for (size_t i = 0; i < n; i++) {
    u[i].level = 0;
    if (indeg[i] == 0)
      queue[tail++] = (uint32_t)i;
  }
  while (head < tail) {
    uint32_t v = queue[head++];
    for (size_t k = start[v]; k < start[v + 1]; k++) {
      uint32_t w = succ[k];
      if (u[v].level + 1 > u[w].level)
        u[w].level = u[v].level + 1;
      if (--indeg[w] == 0)
        queue[tail++] = w;
    }
  }
  rc = tail == n ? 0 : -1;
done:
  free(indeg);
  free(start);
  free(succ);
  free(queue);
  return rc;
}

/* The units being ordered, for qsort's comparison (which takes no
 * context): by level, then by key, then by number. */
static const unit *sort_units;
static int cmp_unit(const void *a, const void *b) {
  uint32_t i = *(const uint32_t *)a, k = *(const uint32_t *)b;
  const unit *x = &sort_units[i], *y = &sort_units[k];
  if (x->level != y->level)
    return x->level < y->level ? -1 : 1;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return i < k ? -1 : i > k;
}

#define COL_W 210
#define BOX_W 176
#define ROW_H 36

static void draw_units(FILE *f, unit *u, size_t n, const uint32_t *from,
                       const uint32_t *to, size_t ne, int groups) {
  /* Order each level by the mean position of its predecessors (one sweep
   * from left to right), which untangles most fan-outs and fan-ins. */
  uint32_t *order = malloc((n + 1) * sizeof(uint32_t));
  double *sum = calloc(n + 1, sizeof(double));
  size_t *cnt = calloc(n + 1, sizeof(size_t));
  size_t maxlevel = 0;
  if (order == NULL || sum == NULL || cnt == NULL)
    goto done;
  for (size_t i = 0; i < n; i++) {
    order[i] = (uint32_t)i;
    u[i].key = (double)i;
    if (u[i].level > maxlevel)
      maxlevel = u[i].level;
  }
  sort_units = u;
  for (size_t lv = 0; lv <= maxlevel; lv++) {
    if (lv > 0) {
      /* The level before is placed: place this one. */
      for (size_t e = 0; e < ne; e++)
        if (u[to[e]].level == lv) {
          sum[to[e]] += (double)u[from[e]].pos;
          cnt[to[e]]++;
        }
      for (size_t i = 0; i < n; i++)
        if (u[i].level == lv && cnt[i] > 0)
          u[i].key = sum[i] / (double)cnt[i];
    }
    qsort(order, n, sizeof(uint32_t), cmp_unit);
    size_t pos = 0, prev = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
      unit *x = &u[order[i]];
      if (x->level != prev)
        pos = 0;
      prev = x->level;
      x->pos = pos++;
    }
  }
  size_t *width = calloc(maxlevel + 1, sizeof(size_t));
  if (width == NULL)
    goto done;
  size_t rows = 0;
  for (size_t i = 0; i < n; i++)
    if (++width[u[i].level] > rows)
      rows = width[u[i].level];
  unsigned W = (unsigned)(maxlevel + 1) * COL_W + 20;
  unsigned H = (unsigned)rows * ROW_H + 20;
  fprintf(f,
          "<div class=\"scroll\"><svg id=\"graph\" width=\"%u\" height=\"%u\" "
          "viewBox=\"0 0 %u %u\" role=\"img\" aria-label=\"the graph of "
          "tasks\">\n",
          W, H, W, H);
#define UX(i) (10.0 + (double)u[i].level * COL_W)
#define UY(i)                                                                  \
  (10.0 + ((double)(rows - width[u[i].level]) / 2 + (double)u[i].pos) * ROW_H)
  for (size_t e = 0; e < ne; e++) {
    double x1 = UX(from[e]) + BOX_W, y1 = UY(from[e]) + 13;
    double x2 = UX(to[e]), y2 = UY(to[e]) + 13;
    double dx = (x2 - x1) / 2;
    fprintf(f,
            "<path class=\"edge\" d=\"M%.1f %.1fC%.1f %.1f %.1f %.1f %.1f "
            "%.1f\"/>\n",
            x1, y1, x1 + dx, y1, x2 - dx, y2, x2, y2);
  }
  for (size_t i = 0; i < n; i++) {
    double x = UX(i), y = UY(i);
    int main_kind = K_NOT_RUN;
    for (int k = 0; k < K_COUNT; k++)
      if (u[i].kinds[k] > 0) {
        main_kind = k;
        break;
      }
    char d[32];
    fmt_dur(d, sizeof(d), u[i].busy);
    fputs("<g><title>", f);
    esc(f, u[i].label);
    if (groups) {
      fprintf(f, ": %zu task%s", u[i].count, u[i].count == 1 ? "" : "s");
      for (int k = 0; k < K_COUNT; k++)
        if (u[i].kinds[k])
          fprintf(f, ", %zu %s", u[i].kinds[k], kind_label[k]);
    } else {
      fprintf(f, ": %s", kind_label[main_kind]);
    }
    if (u[i].busy)
      fprintf(f, "; %s of work", d);
    fputs("</title>", f);
    if (!groups) {
      fprintf(f,
              "<rect class=\"box %s\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" "
              "height=\"26\" rx=\"4\"/>"
              "<text x=\"%.1f\" y=\"%.1f\" style=\"fill:%s\">",
              kind_class[main_kind], x, y, BOX_W, x + 6, y + 17,
              main_kind == K_NOT_RUN || main_kind == K_SKIPPED ? "#222"
                                                               : "#fff");
      esc_short(f, u[i].label, 27);
      fputs("</text></g>\n", f);
      continue;
    }
    fprintf(f,
            "<rect class=\"group\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" "
            "height=\"28\" rx=\"4\"/><text x=\"%.1f\" y=\"%.1f\">",
            x, y, BOX_W, x + 6, y + 13);
    esc_short(f, u[i].label, 20);
    if (u[i].count > 1)
      fprintf(f, " ×%zu", u[i].count);
    fputs("</text>", f);
    /* A bar of the group's states. */
    double bx = x + 6, bw = BOX_W - 12;
    for (int k = 0; k < K_COUNT; k++) {
      if (u[i].kinds[k] == 0)
        continue;
      double w = bw * (double)u[i].kinds[k] / (double)u[i].count;
      fprintf(f,
              "<rect class=\"%s\" x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" "
              "height=\"6\"/>",
              kind_class[k], bx, y + 18, w);
      bx += w;
    }
    fputs("</g>\n", f);
  }
#undef UX
#undef UY
  fputs("</svg></div>\n", f);
  free(width);
done:
  free(order);
  free(sum);
  free(cnt);
}

/* The graph's levels as stacked bars, for graphs too big to draw. */
static void draw_levels(FILE *f, const model *m) {
  const cli_run_log *l = &m->log;
  unit *u = calloc(l->count + 1, sizeof(unit));
  uint32_t *from = calloc(l->npreds + 1, sizeof(uint32_t));
  uint32_t *to = calloc(l->npreds + 1, sizeof(uint32_t));
  size_t ne = 0;
  if (u == NULL || from == NULL || to == NULL)
    goto done;
  for (size_t i = 0; i < l->count; i++)
    for (size_t k = l->pred_start[i]; k < l->pred_start[i + 1]; k++) {
      from[ne] = l->preds[k];
      to[ne++] = (uint32_t)i;
    }
  if (unit_levels(u, l->count, from, to, ne) != 0)
    goto done;
  size_t levels = 0;
  for (size_t i = 0; i < l->count; i++)
    if (u[i].level + 1 > levels)
      levels = u[i].level + 1;
  size_t(*c)[K_COUNT] = calloc(levels, sizeof(*c));
  if (c == NULL)
    goto done;
  size_t maxw = 1;
  for (size_t i = 0; i < l->count; i++)
    c[u[i].level][kind_of(&m->tasks[i])]++;
  for (size_t lv = 0; lv < levels; lv++) {
    size_t w = 0;
    for (int k = 0; k < K_COUNT; k++)
      w += c[lv][k];
    if (w > maxw)
      maxw = w;
  }
  size_t shown = levels < 2000 ? levels : 2000;
  fprintf(f,
          "<p>%zu tasks in %zu levels (a level holds the tasks whose longest "
          "chain of dependencies has the same length); each bar is a "
          "level, its length the number of tasks.</p>\n",
          l->count, levels);
  if (shown < levels)
    fprintf(f, "<p class=\"note\">The first %zu levels are drawn.</p>\n",
            shown);
  unsigned H = (unsigned)shown * 14 + 10;
  fprintf(f,
          "<div class=\"scroll\"><svg id=\"graph\" width=\"1120\" "
          "height=\"%u\" viewBox=\"0 0 1120 %u\">\n",
          H, H);
  for (size_t lv = 0; lv < shown; lv++) {
    double x = 90;
    size_t w = 0;
    for (int k = 0; k < K_COUNT; k++)
      w += c[lv][k];
    fprintf(f, "<text x=\"4\" y=\"%zu\">level %zu</text>", lv * 14 + 15, lv);
    for (int k = 0; k < K_COUNT; k++) {
      if (c[lv][k] == 0)
        continue;
      double bw = 1000.0 * (double)c[lv][k] / (double)maxw;
      fprintf(f,
              "<rect class=\"%s\" x=\"%.2f\" y=\"%zu\" width=\"%.2f\" "
              "height=\"10\"><title>level %zu: %zu %s</title></rect>",
              kind_class[k], x, lv * 14 + 6, bw < 0.5 ? 0.5 : bw, lv, c[lv][k],
              kind_label[k]);
      x += bw;
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%zu\">%zu</text>\n", x + 4, lv * 14 + 15,
            w);
  }
  fputs("</svg></div>\n", f);
  free(c);
done:
  free(u);
  free(from);
  free(to);
}

/* Group key of a task: its name up to the first '[' (an expansion). */
static size_t group_len(const char *name) {
  const char *b = strchr(name, '[');
  return b != NULL && b != name ? (size_t)(b - name) : strlen(name);
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return h;
}

static int cmp_edge(const void *a, const void *b) {
  const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void html_graph(FILE *f, const model *m) {
  const cli_run_log *l = &m->log;
  fputs("<h2 id=\"graph-section\">Graph</h2>\n", f);
  html_legend(f, 0);
  size_t n = l->count;
  /* Group the tasks when there are too many to draw one by one. */
  int groups = n > GRAPH_MAX_UNITS || l->npreds > GRAPH_MAX_EDGES;
  uint32_t *gid = malloc((n + 1) * sizeof(uint32_t));
  size_t hcap = 16;
  while (hcap < n * 2)
    hcap *= 2;
  uint32_t *table = groups ? malloc(hcap * sizeof(uint32_t)) : NULL;
  unit *u = calloc(n + 1, sizeof(unit));
  uint64_t *edges = malloc((l->npreds + 1) * sizeof(uint64_t));
  uint32_t *from = malloc((l->npreds + 1) * sizeof(uint32_t));
  uint32_t *to = malloc((l->npreds + 1) * sizeof(uint32_t));
  size_t nu = 0, ne = 0;
  if (gid == NULL || u == NULL || edges == NULL || from == NULL || to == NULL ||
      (groups && table == NULL))
    goto done;
  if (groups)
    memset(table, 0xff, hcap * sizeof(uint32_t));
  for (size_t i = 0; i < n; i++) {
    const char *name = l->names[i];
    uint32_t g;
    if (groups) {
      size_t len = group_len(name);
      size_t h = (size_t)hash_bytes(name, len) & (hcap - 1);
      while (table[h] != UINT32_MAX) {
        const char *other = u[table[h]].label;
        if (strlen(other) == len && memcmp(other, name, len) == 0)
          break;
        h = (h + 1) & (hcap - 1);
      }
      if (table[h] == UINT32_MAX) {
        if (nu == GRAPH_MAX_UNITS) {
          /* Still too many: fall back to the levels. */
          for (size_t k = 0; k < nu; k++)
            free(u[k].label);
          nu = 0;
          draw_levels(f, m);
          goto done;
        }
        table[h] = (uint32_t)nu;
        u[nu++].label = strndup(name, len);
      }
      g = table[h];
    } else {
      g = (uint32_t)nu;
      u[nu++].label = strdup(name);
    }
    gid[i] = g;
    u[g].count++;
    u[g].kinds[kind_of(&m->tasks[i])]++;
    u[g].busy += m->tasks[i].busy;
  }
  for (size_t i = 0; i < n; i++)
    for (size_t k = l->pred_start[i]; k < l->pred_start[i + 1]; k++) {
      uint32_t a = gid[l->preds[k]], b = gid[i];
      if (a != b)
        edges[ne++] = (uint64_t)a << 32 | b;
    }
  qsort(edges, ne, sizeof(uint64_t), cmp_edge);
  size_t kept = 0;
  for (size_t e = 0; e < ne; e++)
    if (e == 0 || edges[e] != edges[e - 1]) {
      from[kept] = (uint32_t)(edges[e] >> 32);
      to[kept++] = (uint32_t)edges[e];
    }
  ne = kept;
  if (ne > GRAPH_MAX_EDGES || unit_levels(u, nu, from, to, ne) != 0) {
    /* Too dense to draw, or the groups depend on each other in a circle
       (a[1] -> b -> a[2]): draw the levels. */
    draw_levels(f, m);
    goto done;
  }
  if (groups)
    fputs("<p>Tasks fanned out from one definition are drawn as one box "
          "(name ×count), with a bar of their states.</p>\n",
          f);
  draw_units(f, u, nu, from, to, ne, groups);
done:
  for (size_t k = 0; u != NULL && k < nu; k++)
    free(u[k].label);
  free(u);
  free(gid);
  free(table);
  free(edges);
  free(from);
  free(to);
}

static void html_tables(FILE *f, const model *m, const char *dir, size_t top) {
  const cli_run_log *l = &m->log;
  uint32_t *slow = top ? malloc(top * sizeof(*slow)) : NULL;
  size_t n = slow != NULL ? slowest(m, slow, top) : 0;
  fputs("<h2 id=\"slowest\">Slowest tasks</h2>\n", f);
  if (n == 0)
    fputs("<p>No task ran.</p>\n", f);
  else
    fputs("<table><tr><th>task</th><th>time</th><th>attempts</th>"
          "<th>where</th><th>state</th><th>result</th></tr>\n",
          f);
  for (size_t i = 0; i < n; i++) {
    const rtask *t = &m->tasks[slow[i]];
    char d[32], w[300], s[32];
    fmt_dur(d, sizeof(d), t->elapsed);
    fmt_size(s, sizeof(s), t->size);
    fputs("<tr><td>", f);
    esc(f, l->names[slow[i]]);
    fprintf(f, "</td><td class=\"num\">%s</td><td class=\"num\">%u</td><td>", d,
            t->attempts);
    esc(f, where(m, t, w, sizeof(w)));
    fprintf(f, "</td><td>%s</td><td class=\"num\">%s</td></tr>\n",
            kind_label[kind_of(t)], t->state == HD_STATE_DONE ? s : "");
  }
  if (n > 0)
    fputs("</table>\n", f);
  free(slow);

  fputs("<h2 id=\"failures\">Failures</h2>\n", f);
  size_t shown = 0;
  for (size_t i = 0; i < l->count; i++) {
    const rtask *t = &m->tasks[i];
    if (t->state != HD_STATE_FAILED)
      continue;
    if (shown++ >= 100)
      continue;
    char w[300];
    fputs("<h3 class=\"failure\">", f);
    esc(f, l->names[i]);
    fprintf(f, "%s</h3><p>", t->allowed ? " (failure allowed)" : "");
    esc(f, t->message ? t->message : "failed");
    fprintf(f, " — attempt %u, ", t->attempts);
    esc(f, where(m, t, w, sizeof(w)));
    fputs("</p>\n", f);
    char *tail = stderr_tail(dir, l->names[i], 4096);
    if (tail != NULL) {
      fputs("<pre>", f);
      esc(f, tail);
      fputs("</pre>\n", f);
    }
    free(tail);
  }
  if (shown == 0)
    fputs("<p>None.</p>\n", f);
  else if (shown > 100)
    fprintf(f, "<p>and %zu more; 'hodos report' lists them.</p>\n",
            shown - 100);

  size_t cached = 0;
  uint64_t cached_bytes = 0;
  for (size_t i = 0; i < l->count; i++)
    if (m->tasks[i].cached) {
      cached++;
      cached_bytes += m->tasks[i].size;
    }
  fputs("<h2 id=\"cache\">Cache hits</h2>\n", f);
  if (cached == 0) {
    fputs("<p>None: every task that ran was computed.</p>\n", f);
  } else {
    char s[32];
    fmt_size(s, sizeof(s), cached_bytes);
    fprintf(f,
            "<p>%zu task%s taken from the store (%s of results), not "
            "run:</p>\n<table><tr><th>task</th><th>result</th></tr>\n",
            cached, cached == 1 ? "" : "s", s);
    size_t k = 0;
    for (size_t i = 0; i < l->count && k < 500; i++) {
      if (!m->tasks[i].cached)
        continue;
      k++;
      fmt_size(s, sizeof(s), m->tasks[i].size);
      fputs("<tr><td>", f);
      esc(f, l->names[i]);
      fprintf(f, "</td><td class=\"num\">%s</td></tr>\n", s);
    }
    fputs("</table>\n", f);
    if (cached > k)
      fprintf(f, "<p>and %zu more.</p>\n", cached - k);
  }

  /* Skipped and cancelled tasks, with why. */
  size_t others = 0;
  for (size_t i = 0; i < l->count; i++) {
    const rtask *t = &m->tasks[i];
    if (t->state != HD_STATE_SKIPPED && t->state != HD_STATE_CANCELLED)
      continue;
    if (others++ == 0)
      fputs("<h2 id=\"not-run\">Skipped and cancelled</h2>\n<table><tr>"
            "<th>task</th><th>state</th><th>why</th></tr>\n",
            f);
    if (others > 200)
      continue;
    fputs("<tr><td>", f);
    esc(f, l->names[i]);
    fprintf(f, "</td><td>%s</td><td>", kind_label[kind_of(t)]);
    esc(f, t->message ? t->message : "");
    fputs("</td></tr>\n", f);
  }
  if (others > 0)
    fputs("</table>\n", f);
  if (others > 200)
    fprintf(f, "<p>and %zu more.</p>\n", others - 200);
}

static int write_html(const char *path, model *m, const char *dir,
                      const char *events, size_t top) {
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    cli_error("cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  const cli_run_log *l = &m->log;
  char wall[64], dur[32];
  fmt_wall(wall, sizeof(wall), l->wall_start_ns);
  fmt_dur(dur, sizeof(dur), run_length(m));
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width\">\n<title>",
        f);
  fputs("hodos run ", f);
  esc(f, l->id);
  fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n<h1>", css);
  esc(f, l->name != NULL && l->name[0] ? l->name : l->file);
  fputs("</h1>\n<p class=\"meta\">run <b>", f);
  esc(f, l->id);
  fputs("</b> of <code>", f);
  esc(f, l->file);
  fprintf(f, "</code>; started %s; %s %s; backend ", wall,
          l->finished ? "took" : "ran for", dur);
  esc(f, l->backend);
  if (l->jobs && (l->backend == NULL || strcmp(l->backend, "serial") != 0))
    fprintf(f, ", %u jobs", l->jobs);
  if (l->finished)
    fprintf(f, "; exit status <b id=\"exit\">%d</b>", l->exit_code);
  fputs("</p>\n", f);
  if (m->log.damaged || m->log.truncated || !m->log.finished) {
    fputs("<p class=\"note\">", f);
    if (m->log.damaged || m->log.truncated) {
      fputs("The events file ", f);
      esc(f, events);
      fputs(" stops short (the run was killed, or the file is damaged): "
            "this is the run as far as it was written.",
            f);
    } else {
      fputs("The run has not finished, or was killed: this is how far it "
            "got.",
            f);
    }
    fputs("</p>\n", f);
  }
  size_t c[K_COUNT];
  count_kinds(m, c);
  uint64_t busy = 0, bytes = 0;
  for (size_t i = 0; i < l->count; i++) {
    busy += m->tasks[i].busy;
    if (m->tasks[i].state == HD_STATE_DONE)
      bytes += m->tasks[i].size;
  }
  char b[32], s[32];
  fmt_dur(b, sizeof(b), busy);
  fmt_size(s, sizeof(s), bytes);
  fprintf(f,
          "<div class=\"cards\" id=\"summary\"><div class=\"card\"><b>%zu</b>"
          "tasks</div>",
          l->count);
  for (int k = 0; k < K_COUNT; k++)
    if (c[k] > 0 || k <= K_FAILED)
      fprintf(f,
              "<div class=\"card\" id=\"count-%s\"><b>%zu</b><i class=\"%s\" "
              "style=\"display:inline-block;width:10px;height:10px;"
              "margin-right:4px\"></i>%s</div>",
              kind_class[k], c[k], kind_class[k], kind_label[k]);
  fprintf(f,
          "<div class=\"card\"><b>%s</b>of work on workers</div>"
          "<div class=\"card\"><b>%s</b>of results</div></div>\n",
          b, s);
  html_gantt(f, m);
  html_graph(f, m);
  html_tables(f, m, dir, top);
  fputs("</body></html>\n", f);
  if (ferror(f) | fclose(f)) {
    cli_error("cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

int cmd_report(int argc, char **argv) {
  const char *store = ".hodos", *run = "last", *html = NULL, *events = NULL,
             *trace = NULL;
  size_t top = 10;
  int nargs = 0;
  int options = 1; /* until "--" */
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char **slot = NULL;
    if (options && strcmp(a, "--") == 0) {
      options = 0;
      continue;
    } else if (!options) {
      if (nargs++ == 0) {
        run = a;
        continue;
      }
      cli_error("too many arguments ('%s'); see 'hodos help report'", a);
      return EXIT_USAGE;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      help_report(stdout);
      return EXIT_OK;
    } else if (strcmp(a, "-s") == 0 || strcmp(a, "--store") == 0) {
      slot = &store;
    } else if (strcmp(a, "--html") == 0) {
      slot = &html;
    } else if (strcmp(a, "--events") == 0) {
      slot = &events;
    } else if (strcmp(a, "--trace") == 0) {
      slot = &trace;
    } else if (strcmp(a, "--top") == 0) {
      char *end;
      if (i + 1 >= argc) {
        cli_error("option '%s' needs a value; see 'hodos help report'", a);
        return EXIT_USAGE;
      }
      errno = 0;
      unsigned long v = strtoul(argv[++i], &end, 10);
      if (errno != 0 || *end != '\0' || argv[i][0] == '-' ||
          argv[i][0] == '\0' || v > 100000) {
        cli_error("--top takes a count from 0 to 100000, not '%s'", argv[i]);
        return EXIT_USAGE;
      }
      top = v;
      continue;
    } else if (a[0] == '-' && a[1] != '\0') {
      cli_error("unknown option '%s'; see 'hodos help report'", a);
      return EXIT_USAGE;
    } else if (nargs++ == 0) {
      run = a;
      continue;
    } else {
      cli_error("too many arguments ('%s'); see 'hodos help report'", a);
      return EXIT_USAGE;
    }
    if (i + 1 >= argc) {
      cli_error("option '%s' needs a value; see 'hodos help report'", a);
      return EXIT_USAGE;
    }
    *slot = argv[++i];
  }
  char dir[4096];
  if (cli_find_run(store, run, dir, sizeof(dir)) != 0)
    return EXIT_USAGE;
  char path[4200];
  snprintf(path, sizeof(path), "%s/events", dir);
  struct stat st;
  if (stat(path, &st) != 0) {
    cli_error("run %s kept no events (%s: %s); runs of an older hodos, or "
              "whose run folder was not writable, cannot be reported",
              dir, path, strerror(errno));
    return EXIT_FAILED;
  }
  /* An output written over the events it is made from would lose the
     run's only record. */
  const char *outs[] = {html, events, trace};
  const char *names[] = {"--html", "--events", "--trace"};
  for (int k = 0; k < 3; k++) {
    struct stat o;
    if (outs[k] != NULL && stat(outs[k], &o) == 0 && o.st_dev == st.st_dev &&
        o.st_ino == st.st_ino) {
      cli_error("%s %s would write over the run's own events, which it "
                "reads; give another file",
                names[k], outs[k]);
      return EXIT_USAGE;
    }
  }
  cli_sinks sinks;
  if (cli_sinks_open(&sinks, events, trace) != 0)
    return EXIT_FAILED;
  model m;
  memset(&m, 0, sizeof(m));
  if (events != NULL || trace != NULL)
    m.sinks = &sinks;
  char err[4400];
  int rc = cli_journal_read(path, &m.log, on_event, &m, err, sizeof(err));
  if (rc == 0 && m.tasks == NULL &&
      (m.tasks = calloc(m.log.count + 1, sizeof(rtask))) == NULL)
    m.oom = 1;
  int sinks_failed = cli_sinks_close(&sinks) != 0;
  if (rc != 0) {
    cli_error("%s", err);
    model_cleanup(&m);
    return EXIT_FAILED;
  }
  if (m.oom) {
    cli_error("out of memory reading %s", path);
    model_cleanup(&m);
    return EXIT_FAILED;
  }
  int code = sinks_failed ? EXIT_FAILED : EXIT_OK;
  if (html != NULL) {
    if (write_html(html, &m, dir, path, top) != 0)
      code = EXIT_FAILED;
  }
  if (m.log.damaged || m.log.truncated) {
    print_state_note(&m, path);
    code = EXIT_FAILED;
  }
  if (html == NULL && events == NULL && trace == NULL) {
    if (!m.log.damaged && !m.log.truncated)
      print_state_note(&m, path);
    print_text(&m, dir, top);
    if (fflush(stdout) != 0) {
      cli_error("cannot write to standard output: %s", strerror(errno));
      code = EXIT_FAILED;
    }
  }
  model_cleanup(&m);
  return code;
}
