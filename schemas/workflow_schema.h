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

/* The index of each key in hd__wf_task_keys. */
enum hd__wf_task_key {
  HD__TK_NAME,
  HD__TK_DESCRIPTION,
  HD__TK_RUN,
  HD__TK_ARGV,
  HD__TK_FN,
  HD__TK_AFTER,
  HD__TK_PARAMS,
  HD__TK_MAP,
  HD__TK_PRODUCT,
  HD__TK_INPUTS,
  HD__TK_OUTPUTS,
  HD__TK_STDIN,
  HD__TK_ENV,
  HD__TK_WORKDIR,
  HD__TK_RETRIES,
  HD__TK_RETRY_DELAY,
  HD__TK_TIMEOUT,
  HD__TK_CPUS,
  HD__TK_MEM,
  HD__TK_PRIORITY,
  HD__TK_COST,
  HD__TK_CACHE,
  HD__TK_ALLOW_FAILURE,
  HD__TK_COUNT,
};

HD__INTERNAL extern const cyaml_schema_value_t hd__wf_schema;

/* NULL-terminated key lists. */
HD__INTERNAL extern const char *const hd__wf_top_keys[];
HD__INTERNAL extern const char *const hd__wf_task_keys[];
HD__INTERNAL extern const char *const hd__wf_defaults_keys[];
HD__INTERNAL extern const char *const hd__wf_host_keys[];

#endif
