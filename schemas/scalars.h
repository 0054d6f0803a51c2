/* Numbers, booleans, durations and sizes in workflow files, parsed
 * strictly: the whole text must be one, or it is an error that says why.
 * (libcyaml reads "3x" as 3 and "010" as 8; these never do.) */
#ifndef HODOS_SCHEMAS_SCALARS_H
#define HODOS_SCHEMAS_SCALARS_H

#include <stdint.h>

#include "../core/internal.h"

/* A decimal integer in [min, max]: an optional '-', then digits without a
 * leading zero. Returns HD_OK, or HD_EINVAL with *why set to a short
 * reason ("leading zeros are not allowed", "too large"...). */
HD__INTERNAL int hd__parse_int(const char *s, long long min, long long max,
                               long long *out, const char **why);

/* true or false (also True, TRUE, False, FALSE). */
HD__INTERNAL int hd__parse_bool(const char *s, int *out);

/* A duration in seconds: a number with a unit (ms, s, m, h, d), several
 * joined (1h30m), or a bare number of seconds. Not negative. */
HD__INTERNAL int hd__parse_duration(const char *s, double *out,
                                    const char **why);

/* A size in bytes: an integer, or a number with a suffix K, M, G, T
 * (1024-based; KB, KiB and the like mean the same) or B. */
HD__INTERNAL int hd__parse_size(const char *s, uint64_t *out, const char **why);

/* A positive finite number, such as 2 or 0.5. */
HD__INTERNAL int hd__parse_number(const char *s, double *out, const char **why);

#endif
