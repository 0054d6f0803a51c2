/* The temporary folder that holds the generated workflows. */
#ifndef BENCH_YAML_SCRATCH_H
#define BENCH_YAML_SCRATCH_H

#include <stddef.h>

/* Make a fresh folder under $TMPDIR (or /tmp). It is removed, with the
 * one file in it, by scratch_remove(), and also when SIGINT, SIGTERM or
 * SIGHUP ends the program. Returns 0, or -1 with errno set. */
int scratch_make(void);

/* The path of the workflow file in the folder. */
const char *scratch_file(void);

/* Remove the file and the folder. Calling it again does nothing. */
void scratch_remove(void);

#endif
