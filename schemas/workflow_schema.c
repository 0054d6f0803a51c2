/* The libcyaml schema of a workflow file: see workflow_schema.h. */
#include "workflow_schema.h"

#define STR(key, type, member)                                                 \
  CYAML_FIELD_STRING_PTR(key, CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL, type,  \
                         member, 0, CYAML_UNLIMITED)
#define SKIP(key) CYAML_FIELD_IGNORE(key, CYAML_FLAG_OPTIONAL)

static const cyaml_schema_field_t doc_fields[] = {
    STR("name", struct hd__wf_doc, name),
    STR("description", struct hd__wf_doc, description),
    STR("backend", struct hd__wf_doc, backend),
    STR("workdir", struct hd__wf_doc, workdir),
    SKIP("tasks"),
    SKIP("defaults"),
    SKIP("jobs"),
    SKIP("plugins"),
    SKIP("env"),
    SKIP("hosts"),
    SKIP("include"),
    CYAML_FIELD_END,
};

const cyaml_schema_value_t hd__wf_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct hd__wf_doc, doc_fields),
};

const char *const hd__wf_top_keys[] = {
    "name", "description", "defaults", "backend", "jobs",  "plugins",
    "env",  "workdir",     "hosts",    "include", "tasks", NULL};

const char *const hd__wf_task_keys[] = {
    "name",        "description", "run",           "argv",    "fn",
    "after",       "params",      "map",           "product", "inputs",
    "outputs",     "stdin",       "env",           "workdir", "retries",
    "retry_delay", "timeout",     "cpus",          "mem",     "priority",
    "cost",        "cache",       "allow_failure", NULL};

const char *const hd__wf_defaults_keys[] = {
    "retries", "retry_delay", "timeout",       "cpus", "mem",     "priority",
    "cost",    "cache",       "allow_failure", "env",  "workdir", NULL};

const char *const hd__wf_host_keys[] = {
    "host", "user", "port", "slots", "hodos", "tunnel", "check_host_key", NULL};
