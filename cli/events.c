/* Readers of a run's events for files: --events (JSON lines) and --trace
 * (the Chrome trace event format, for Perfetto and chrome://tracing). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* s as a JSON string, quotes included. */
static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    switch (*p) {
    case '"':
      fputs("\\\"", f);
      break;
    case '\\':
      fputs("\\\\", f);
      break;
    case '\n':
      fputs("\\n", f);
      break;
    case '\r':
      fputs("\\r", f);
      break;
    case '\t':
      fputs("\\t", f);
      break;
    default:
      if (*p < 0x20)
        fprintf(f, "\\u%04x", *p);
      else
        fputc(*p, f);
    }
  }
  fputc('"', f);
}

int cli_sinks_open(cli_sinks *s, const char *events, const char *trace) {
  memset(s, 0, sizeof(*s));
  if (events != NULL && (s->events = fopen(events, "w")) == NULL) {
    cli_error("cannot write the events to %s: %s", events, strerror(errno));
    return -1;
  }
  if (trace != NULL && (s->trace = fopen(trace, "w")) == NULL) {
    cli_error("cannot write the trace to %s: %s", trace, strerror(errno));
    if (s->events != NULL)
      fclose(s->events);
    s->events = NULL;
    return -1;
  }
  /* A line at a time: a run that is killed leaves whole lines, up to its
     last event (a block at a time lost seconds of them and cut the last
     line in two). */
  if (s->events != NULL)
    setvbuf(s->events, NULL, _IOLBF, 0);
  if (s->trace != NULL) {
    setvbuf(s->trace, NULL, _IOLBF, 0);
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n", s->trace);
  }
  return 0;
}

/* The trace's track of a worker: one process per host (1 for this
 * machine), one thread per worker, named once. */
static void trace_track(cli_sinks *s, const hd_event *ev, unsigned *pid) {
  unsigned p = 1;
  if (ev->host != NULL) {
    size_t i = 0;
    while (i < s->nhosts && strcmp(s->hosts[i], ev->host) != 0)
      i++;
    if (i == s->nhosts && s->nhosts < sizeof(s->hosts) / sizeof(s->hosts[0]))
      s->hosts[s->nhosts++] = strdup(ev->host);
    p = (unsigned)i + 2;
  }
  *pid = p;
  if (ev->worker >= sizeof(s->named) * 8 / 2)
    return;
  unsigned bit = ev->worker * 2 + (p > 1);
  if (s->named[bit / 64] >> (bit % 64) & 1)
    return;
  s->named[bit / 64] |= 1ull << (bit % 64);
  fprintf(s->trace,
          "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"args\":{"
          "\"name\":",
          s->ntrace++ ? "," : "", p);
  json_string(s->trace, ev->host ? ev->host : "hodos");
  fprintf(s->trace,
          "}}\n,{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,"
          "\"args\":{\"name\":\"worker %u\"}}\n",
          p, ev->worker, ev->worker);
}

static void trace_event(cli_sinks *s, const hd_event *ev) {
  double ts = (double)(ev->time_ns - s->start_ns) / 1e3; /* microseconds */
  unsigned pid;
  switch (ev->type) {
  case HD_EVENT_DONE:
  case HD_EVENT_FAILED:
  case HD_EVENT_RETRIED: {
    trace_track(s, ev, &pid);
    double dur = (double)ev->elapsed_ns / 1e3;
    double begin = ts - dur < 0 ? 0 : ts - dur;
    fprintf(s->trace, "%s{\"ph\":\"X\",\"name\":", s->ntrace++ ? "," : "");
    json_string(s->trace, ev->task);
    fprintf(s->trace,
            ",\"cat\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,"
            "\"args\":{\"attempt\":%u",
            hd_event_type_name(ev->type), pid, ev->worker, begin, dur,
            ev->attempt);
    if (ev->message != NULL) {
      fputs(",\"message\":", s->trace);
      json_string(s->trace, ev->message);
    }
    if (ev->type == HD_EVENT_DONE)
      fprintf(s->trace, ",\"size\":%llu", (unsigned long long)ev->size);
    fputs("}}\n", s->trace);
    break;
  }
  case HD_EVENT_CACHED:
    trace_track(s, ev, &pid);
    fprintf(s->trace,
            "%s{\"ph\":\"i\",\"s\":\"t\",\"name\":", s->ntrace++ ? "," : "");
    json_string(s->trace, ev->task);
    fprintf(s->trace, ",\"cat\":\"%s\",\"pid\":%u,\"tid\":%u,\"ts\":%.3f}\n",
            hd_event_type_name(ev->type), pid, ev->worker, ts);
    break;
  default:
    break;
  }
}

void cli_sinks_event(cli_sinks *s, const hd_event *ev) {
  if (s->start_ns == 0)
    s->start_ns = ev->time_ns;
  if (s->events != NULL) {
    FILE *f = s->events;
    fprintf(f, "{\"event\":\"%s\",\"task\":", hd_event_type_name(ev->type));
    json_string(f, ev->task);
    fprintf(f,
            ",\"index\":%zu,\"time\":%.6f,\"attempt\":%u,\"worker\":%u,"
            "\"done\":%zu,\"total\":%zu",
            ev->index, (double)(ev->time_ns - s->start_ns) / 1e9, ev->attempt,
            ev->worker, ev->done, ev->total);
    if (ev->type == HD_EVENT_DONE || ev->type == HD_EVENT_FAILED ||
        ev->type == HD_EVENT_RETRIED)
      fprintf(f, ",\"elapsed\":%.6f", (double)ev->elapsed_ns / 1e9);
    if (ev->host != NULL) {
      fputs(",\"host\":", f);
      json_string(f, ev->host);
    }
    if (ev->type == HD_EVENT_DONE || ev->type == HD_EVENT_CACHED)
      fprintf(f, ",\"size\":%llu", (unsigned long long)ev->size);
    if (ev->wire_size != 0)
      fprintf(f, ",\"wire_size\":%llu", (unsigned long long)ev->wire_size);
    if (ev->type == HD_EVENT_FAILED)
      fprintf(f, ",\"failure_allowed\":%s",
              ev->failure_allowed ? "true" : "false");
    if (ev->message != NULL) {
      fputs(",\"message\":", f);
      json_string(f, ev->message);
    }
    fputs("}\n", f);
  }
  if (s->trace != NULL)
    trace_event(s, ev);
}

int cli_sinks_close(cli_sinks *s) {
  int rc = 0;
  if (s->events != NULL) {
    if (fclose(s->events) != 0)
      rc = -1;
  }
  if (s->trace != NULL) {
    fputs("]}\n", s->trace);
    if (fclose(s->trace) != 0)
      rc = -1;
  }
  for (size_t i = 0; i < s->nhosts; i++)
    free(s->hosts[i]);
  memset(s, 0, sizeof(*s));
  if (rc != 0)
    cli_error("cannot finish writing the events or the trace: %s",
              strerror(errno));
  return rc;
}
