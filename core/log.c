/* Logging: messages go to the application's callback, or nowhere. */
#include <stdio.h>
#include <time.h>

#include "internal.h"

static hd_log_cb log_cb;
static void *log_data;
static hd_log_level log_max = HD_LOG_INFO;

void hd_log_set_cb(hd_log_cb cb, void *data, hd_log_level max_level) {
  log_cb = cb;
  log_data = data;
  log_max = max_level;
}

int hd__log_is_set(void) { return log_cb != NULL; }

const char *hd_log_level_name(hd_log_level level) {
  switch (level) {
  case HD_LOG_ERROR:
    return "error";
  case HD_LOG_WARN:
    return "warning";
  case HD_LOG_INFO:
    return "info";
  case HD_LOG_DEBUG:
    return "debug";
  case HD_LOG_TRACE:
    return "trace";
  }
  return "unknown";
}

void hd__log(hd_log_level level, const char *fmt, ...) {
  if (log_cb == NULL || level > log_max)
    return;
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof(small), fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  if ((size_t)n < sizeof(small)) {
    log_cb(level, small, log_data);
    return;
  }
  hd__buf b = {0};
  va_start(ap, fmt);
  int rc = hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  log_cb(level, rc == HD_OK ? b.data : small, log_data);
  hd__buf_cleanup(&b);
}

uint64_t hd__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
