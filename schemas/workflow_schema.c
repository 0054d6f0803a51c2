/* The libcyaml schema of a workflow file. Fields libcyaml cannot express
 * (a string or a list, for `after`) are ignored here and read from the
 * libyaml document by workflow.c. */
#include "workflow_schema.h"

static const cyaml_schema_field_t task_fields[] = {
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER, struct hd__wf_task, name,
                           1, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("run", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           struct hd__wf_task, run, 0, CYAML_UNLIMITED),
    CYAML_FIELD_IGNORE("after", CYAML_FLAG_OPTIONAL),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t task_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, struct hd__wf_task, task_fields),
};

static const cyaml_schema_field_t doc_fields[] = {
    CYAML_FIELD_STRING_PTR("name", CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           struct hd__wf_doc, name, 0, CYAML_UNLIMITED),
    CYAML_FIELD_STRING_PTR("description",
                           CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL,
                           struct hd__wf_doc, description, 0, CYAML_UNLIMITED),
    CYAML_FIELD_SEQUENCE("tasks", CYAML_FLAG_POINTER, struct hd__wf_doc, tasks,
                         &task_schema, 0, CYAML_UNLIMITED),
    CYAML_FIELD_END,
};

const cyaml_schema_value_t hd__wf_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct hd__wf_doc, doc_fields),
};

/* The keys each mapping accepts, for exact "unknown key" errors with
 * suggestions before libcyaml sees the document. */
const char *const hd__wf_top_keys[] = {"name", "description", "tasks", NULL};
const char *const hd__wf_task_keys[] = {"name", "run", "after", NULL};
