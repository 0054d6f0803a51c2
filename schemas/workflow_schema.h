/* The libcyaml schema of a workflow file, and the keys of each mapping.
 * libcyaml loads the top level's string fields. What it cannot express (a
 * string or a list, maps with free keys), would read loosely (numbers,
 * durations, sizes) or would only load a second time (the tasks: reading
 * each task through libcyaml as well as from the tree took a third of the
 * load time of a large workflow) is ignored by it and read from the tree,
 * with positions. */
#ifndef HODOS_SCHEMAS_WORKFLOW_SCHEMA_H
#define HODOS_SCHEMAS_WORKFLOW_SCHEMA_H

#include <cyaml/cyaml.h>

#include "../core/internal.h"

struct hd__wf_doc {
  char *name;
  char *description;
  char *backend;
  char *workdir;
};

HD__INTERNAL extern const cyaml_schema_value_t hd__wf_schema;

/* NULL-terminated key lists. */
HD__INTERNAL extern const char *const hd__wf_top_keys[];
HD__INTERNAL extern const char *const hd__wf_task_keys[];
HD__INTERNAL extern const char *const hd__wf_defaults_keys[];
HD__INTERNAL extern const char *const hd__wf_host_keys[];

#endif
