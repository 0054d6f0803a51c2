/* The table the benchmark prints, one row per size. */
#ifndef BENCH_YAML_TABLE_H
#define BENCH_YAML_TABLE_H

#include <stddef.h>

#include "run.h"

void table_header(int params);
void table_row(size_t tasks, const result *r);

/* The note under the table when a row was loaded from memory. */
void table_note_via_string(void);

#endif
