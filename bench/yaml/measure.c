/* Peak memory comes from /proc/self: writing 5 to clear_refs resets VmHWM
 * to the current VmRSS (Linux 4.0 and later), so each phase gets its own
 * peak without forking. */
#include "measure.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double clock_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

double median(double *v, size_t n) {
  if (n == 0)
    return 0;
  qsort(v, n, sizeof(*v), cmp_double);
  return v[n / 2];
}

/* The value in KiB of a "Name:   123 kB" line of /proc/self/status. */
static long status_kib(const char *name) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return -1;
  char line[256];
  size_t len = strlen(name);
  long kib = -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, name, len) == 0 && line[len] == ':') {
      char *end;
      kib = strtol(line + len + 1, &end, 10);
      if (end == line + len + 1)
        kib = -1;
      break;
    }
  fclose(f);
  return kib;
}

long rss_peak_start(void) {
  malloc_trim(0);
  FILE *f = fopen("/proc/self/clear_refs", "w");
  if (f == NULL)
    return -1;
  int ok = fputs("5", f) >= 0;
  ok &= fclose(f) == 0;
  return ok ? status_kib("VmRSS") : -1;
}

long rss_peak_kib(void) { return status_kib("VmHWM"); }
