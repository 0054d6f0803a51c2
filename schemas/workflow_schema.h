#ifndef HODOS_SCHEMAS_WORKFLOW_SCHEMA_H
#define HODOS_SCHEMAS_WORKFLOW_SCHEMA_H

#include <cyaml/cyaml.h>

#include "../core/internal.h"

struct hd__wf_task {
  char *name;
  char *run;
};

struct hd__wf_doc {
  char *name;
  char *description;
  struct hd__wf_task *tasks;
  unsigned tasks_count;
};

HD__INTERNAL extern const cyaml_schema_value_t hd__wf_schema;
HD__INTERNAL extern const char *const hd__wf_top_keys[];
HD__INTERNAL extern const char *const hd__wf_task_keys[];

#endif
