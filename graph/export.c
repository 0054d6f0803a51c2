/* Writing a plan as Graphviz DOT or as JSON. */
#include <stdio.h>
#include <string.h>

#include "graph_internal.h"

typedef struct writer {
  hd_write_cb out;
  void *ctx;
  hd__buf buf;
  int rc;
} writer;

static void flush(writer *w) {
  if (w->rc == HD_OK && w->buf.len > 0 &&
      w->out(w->buf.data, w->buf.len, w->ctx) != 0)
    w->rc = HD_EIO;
  w->buf.len = 0;
}

static void put(writer *w, const char *s, size_t len) {
  if (w->rc != HD_OK)
    return;
  if (hd__buf_append(&w->buf, s, len) != HD_OK)
    w->rc = HD_ENOMEM;
  else if (w->buf.len >= 65536)
    flush(w);
}

static void puts_(writer *w, const char *s) { put(w, s, strlen(s)); }

static void putf(writer *w, const char *fmt, ...) HD_PRINTF(2, 3);
static void putf(writer *w, const char *fmt, ...) {
  if (w->rc != HD_OK)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (hd__buf_vappendf(&w->buf, fmt, ap) != HD_OK)
    w->rc = HD_ENOMEM;
  va_end(ap);
  if (w->buf.len >= 65536)
    flush(w);
}

/* A string in double quotes, escaped for DOT or JSON (the same rules for
 * quotes and backslashes; control characters as JSON escapes, which DOT
 * shows literally). */
static void put_quoted(writer *w, const char *s) {
  put(w, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      char e[2] = {'\\', (char)*p};
      put(w, e, 2);
    } else if (*p == '\n') {
      put(w, "\\n", 2);
    } else if (*p < 0x20) {
      putf(w, "\\u%04x", *p);
    } else {
      put(w, (const char *)p, 1);
    }
  }
  put(w, "\"", 1);
}

static int finish(writer *w) {
  flush(w);
  hd__buf_cleanup(&w->buf);
  return w->rc;
}

int hd_plan_write_dot(const hd_plan *p, hd_write_cb out, void *ctx) {
  if (p == NULL || out == NULL)
    return HD_EINVAL;
  writer w = {out, ctx, {0}, HD_OK};
  puts_(&w, "digraph hodos {\n  rankdir=LR;\n  node [shape=box];\n");
  for (size_t i = 0; i < p->count; i++) {
    putf(&w, "  n%zu [label=", i);
    put_quoted(&w, hd__plan_name(p, i));
    puts_(&w, "];\n");
  }
  for (size_t i = 0; i < p->count; i++)
    for (uint32_t e = p->succ_off[i]; e < p->succ_off[i + 1]; e++)
      putf(&w, "  n%zu -> n%u;\n", i, p->succs[e]);
  puts_(&w, "}\n");
  return finish(&w);
}

int hd_plan_write_json(const hd_plan *p, hd_write_cb out, void *ctx) {
  if (p == NULL || out == NULL)
    return HD_EINVAL;
  writer w = {out, ctx, {0}, HD_OK};
  puts_(&w, "{\n  \"nodes\": [");
  for (size_t i = 0; i < p->count; i++) {
    putf(&w, "%s\n    {\"id\": %zu, \"name\": ", i ? "," : "", i);
    put_quoted(&w, hd__plan_name(p, i));
    const hd__pio *io = hd__plan_io(p, i);
    if (p->nodes[i].kind == HD_NODE_ARGV && io != NULL) {
      puts_(&w, ", \"kind\": \"argv\", \"argv\": [");
      for (uint32_t k = 0; k < io->argc; k++) {
        puts_(&w, k ? ", " : "");
        put_quoted(&w, hd__plan_list(p, io->argv, k));
      }
      puts_(&w, "]");
    } else {
      puts_(&w, p->nodes[i].kind == HD_NODE_CMD
                    ? ", \"kind\": \"cmd\", \"cmd\": "
                    : ", \"kind\": \"fn\", \"fn\": ");
      put_quoted(&w, hd__plan_what(p, i));
    }
    putf(&w, ", \"level\": %u, \"bottom_level\": %.9g, \"after\": [",
         p->nodes[i].level, (double)p->nodes[i].bottom);
    hd__preds it;
    for (uint32_t np = hd__preds_begin(p, i, &it); it.left > 0;) {
      const char *sep = it.left < np ? ", " : "";
      putf(&w, "%s%u", sep, hd__preds_next(&it));
    }
    puts_(&w, "]}");
  }
  putf(&w, "\n  ],\n  \"edges\": %zu,\n  \"depth\": %u,\n", p->nedges,
       p->depth);
  puts_(&w, "  \"critical_path\": [");
  for (uint32_t k = 0; k < p->critical_len; k++)
    putf(&w, "%s%u", k ? ", " : "", p->critical[k]);
  putf(&w, "],\n  \"critical_cost\": %.9g\n}\n", p->critical_cost);
  return finish(&w);
}
