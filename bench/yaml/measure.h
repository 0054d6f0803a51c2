/* Clocks, medians and resident memory, for the benchmark's figures. */
#ifndef BENCH_YAML_MEASURE_H
#define BENCH_YAML_MEASURE_H

#include <stddef.h>

/* Seconds on the monotonic clock. */
double clock_now(void);

/* The median of v[0..n-1] (the upper one when n is even); sorts v. */
double median(double *v, size_t n);

/* Start a peak: give back freed memory to the system, reset the
 * high-water mark of resident memory to the current size and return that
 * size in KiB, or -1 when Linux's /proc cannot do it. */
long rss_peak_start(void);

/* The high-water mark of resident memory in KiB, or -1 when unknown. */
long rss_peak_kib(void);

#endif
