/* Shared by the unit tests. */
#ifndef HODOS_TEST_UTIL_H
#define HODOS_TEST_UTIL_H

#include <check.h>

#include "core/internal.h"

/* Each test_<module>.c defines this. */
Suite *make_suite(void);

/* CPU time this process has used so far, user and system, in seconds
 * (main.c). */
double test_cpu_seconds(void);

#endif
