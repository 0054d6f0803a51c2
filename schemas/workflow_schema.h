/* The libcyaml schema of a workflow file, and the keys of each mapping.
 * libcyaml loads the plain string fields; what it cannot express (a string
 * or a list, maps with free keys) or would read loosely (numbers,
 * durations, sizes) is ignored by it and read from libyaml's tree with
 * positions. */
#ifndef HODOS_SCHEMAS_WORKFLOW_SCHEMA_H
#define HODOS_SCHEMAS_WORKFLOW_SCHEMA_H

#include <cyaml/cyaml.h>

#include "../core/internal.h"

struct hd__wf_task {
  char *name;
  char *description;
  char *run;
  char *fn;
  char *stdin_task;
  char *workdir;
};

struct hd__wf_doc {
  char *name;
  char *description;
  char *backend;
  char *workdir;
  struct hd__wf_task *tasks;
  unsigned tasks_count;
};

HD__INTERNAL extern const cyaml_schema_value_t hd__wf_schema;

/* NULL-terminated key lists. */
HD__INTERNAL extern const char *const hd__wf_top_keys[];
HD__INTERNAL extern const char *const hd__wf_task_keys[];
HD__INTERNAL extern const char *const hd__wf_defaults_keys[];
HD__INTERNAL extern const char *const hd__wf_host_keys[];

#endif
