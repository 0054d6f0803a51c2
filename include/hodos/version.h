/* The version of hodos, at compile time (macros) and at run time (the
 * function, which tells which library the program actually loaded). */
#ifndef HODOS_VERSION_H
#define HODOS_VERSION_H

#include "common.h"

#define HD_VERSION_MAJOR 0
#define HD_VERSION_MINOR 1
#define HD_VERSION_PATCH 0
#define HD_VERSION_STRING "0.1.0"

/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define HD_VERSION_NUMBER                                                      \
  (HD_VERSION_MAJOR * 10000 + HD_VERSION_MINOR * 100 + HD_VERSION_PATCH)

HD_BEGIN_DECLS

/* Returns the version string of the loaded library, such as "0.1.0". The
 * string is static. Thread-safe. */
HD_API const char *hd_version(void);

/* Returns HD_VERSION_NUMBER of the loaded library. Thread-safe. */
HD_API unsigned hd_version_number(void);

HD_END_DECLS

#endif
