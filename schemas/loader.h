/* What the parts of the workflow loader share: the loader, the files it
 * reads (the main one and its includes), their YAML trees and the
 * settings each file passes on to its tasks. */
#ifndef HODOS_SCHEMAS_LOADER_H
#define HODOS_SCHEMAS_LOADER_H

#include <yaml.h>

#include "ytree.h"

#include "../graph/graph_internal.h"
#include "hodos/workflow.h"
#include "scalars.h"
#include "workflow_schema.h"

/* Settings applied to every task of a file (a task's own win). */
typedef struct hd__wf_defaults {
  unsigned set; /* bits: which of the fields below were given */
  unsigned retries;
  double retry_delay;
  double timeout;
  unsigned cpus;
  uint64_t mem;
  int priority;
  double cost;
  int cache;
  int allow_failure;
  char *workdir; /* resolved, a template */
  /* Where workdir was written: its line and column, and the path of its
     file (a file's path lives while the files it includes load). */
  int workdir_line, workdir_column;
  const char *workdir_file;
  hd__tstrs env; /* NAME=VALUE, later ones win; each item's file is the
                    path of the file it was written in */
} hd__wf_defaults;

enum {
  HD__D_RETRIES = 1 << 0,
  HD__D_RETRY_DELAY = 1 << 1,
  HD__D_TIMEOUT = 1 << 2,
  HD__D_CPUS = 1 << 3,
  HD__D_MEM = 1 << 4,
  HD__D_PRIORITY = 1 << 5,
  HD__D_COST = 1 << 6,
  HD__D_CACHE = 1 << 7,
  HD__D_ALLOW_FAILURE = 1 << 8,
};

/* One file of the workflow. */
typedef struct hd__wf_file {
  char *path; /* as shown in messages */
  char *dir;  /* relative paths in it are taken from here */
  char *real; /* its canonical path, to know a file seen twice */
  hd__ytree tree;
  struct hd__wf_file *parent;  /* the file that included it */
  const hd__ynode *include_at; /* where the parent included it */
  hd__wf_defaults defaults;
} hd__wf_file;

struct hd_workflow {
  char *file;
  char *name;
  char *description;
  char *backend;
  unsigned jobs;
  char *workdir;
  hd_graph *graph;
  hd__diags diags;
  hd_workflow_host *hosts;
  size_t nhosts;
  char **plugins;
  size_t nplugins, capplugins;
  char **files; /* the files read, in order, for sorting messages */
  size_t nfiles, capfiles;
  hd__strmap seen; /* canonical paths of files loaded */
};

typedef struct hd__wf_loader {
  hd_workflow *wf;
  hd__wf_file *file; /* the file being read */
  int status;        /* the first error code met, HD_OK while none */
  int graph_unsafe;  /* an error that would make graph checks mislead */
  size_t ntasks;
  hd__ynode tasks_at; /* the main file's tasks: list, for its position */
  int has_tasks;
} hd__wf_loader;

/* Report a problem at mark (NULL: the file as a whole). */
HD__INTERNAL void hd__wf_report(hd__wf_loader *L, int code, const hd__ynode *at,
                                const char *fmt, ...) HD_PRINTF(4, 5);

/* The tree. */
HD__INTERNAL int hd__wf_is_null(const hd__ynode *n);
HD__INTERNAL int hd__wf_is_string(const hd__ynode *n);
HD__INTERNAL const char *hd__wf_type_name(const hd__ynode *n);
HD__INTERNAL const char *hd__wf_scalar(const hd__ynode *n);
HD__INTERNAL hd__ynode *hd__wf_get(hd__wf_loader *L, hd__ynode *map,
                                   const char *key);
HD__INTERNAL hd__ynode *hd__wf_key_node(hd__wf_loader *L, hd__ynode *map,
                                        const char *key);
HD__INTERNAL hd__ynode *hd__wf_node(hd__wf_loader *L, int id);
/* Item i of a sequence; key and value of pair i of a mapping. */
HD__INTERNAL hd__ynode *hd__wf_item(hd__wf_loader *L, const hd__ynode *seq,
                                    uint32_t i);
HD__INTERNAL hd__ynode *hd__wf_key(hd__wf_loader *L, const hd__ynode *map,
                                   uint32_t i);
HD__INTERNAL hd__ynode *hd__wf_value(hd__wf_loader *L, const hd__ynode *map,
                                     uint32_t i);
/* Whether a starts after b in the text. */
HD__INTERNAL int hd__wf_later(const hd__ynode *a, const hd__ynode *b);

/* Check a mapping's keys: each a known, unrepeated string. what names the
 * mapping in messages ("the workflow", "task 'x'"). */
HD__INTERNAL void hd__wf_check_keys(hd__wf_loader *L, hd__ynode *map,
                                    const char *const *keys, const char *what);

/* Find the known keys of a mapping: key_out[i] and val_out[i] receive the
 * key and value nodes of keys[i] (left NULL when absent). Returns nonzero
 * when the mapping also holds unknown, repeated or odd keys, which
 * hd__wf_check_keys() then reports. */
HD__INTERNAL int hd__wf_fields(hd__wf_loader *L, hd__ynode *map,
                               const char *const *keys, hd__ynode **key_out,
                               hd__ynode **val_out);

/* Report key a of map when an earlier key has its name; returns 1 then.
 * what names the mapping ("'params' of task 'x'"). */
HD__INTERNAL int hd__wf_repeated(hd__wf_loader *L, hd__ynode *map, uint32_t a,
                                 const char *what);

/* Whether an unknown key of map looks like a misspelling of want. */
HD__INTERNAL int hd__wf_misspelled(hd__wf_loader *L, hd__ynode *map,
                                   const char *const *keys, const char *want);

/* A string field: NULL when absent or reported as wrong. */
HD__INTERNAL const char *hd__wf_string(hd__wf_loader *L, hd__ynode *v,
                                       const char *key, const char *what);

/* A string or a list of strings: calls each() for every string, with its
 * node. Reports anything else. Returns the number of strings. */
HD__INTERNAL size_t hd__wf_strings(
    hd__wf_loader *L, hd__ynode *v, const char *key, const char *what,
    int (*each)(hd__wf_loader *L, hd__ynode *s, void *ctx), void *ctx);

/* How far byte k of scalar v's value is from its first column, minus k:
 * 0 for a plain one-line scalar, 1 for a quoted one without escapes, -1
 * when the value does not map onto the text. */
HD__INTERNAL int hd__wf_shift(const hd__ynode *v);

/* Where scalar v of the file loading now is, for a template string made
 * of its value (hd__tstr: line, column and shift): a literal block whose
 * lines are as written is told line by line (HD__SHIFT_LINES). */
HD__INTERNAL void hd__wf_tpos(hd__wf_loader *L, const hd__ynode *v, int *line,
                              int *column, int *shift);

/* Typed scalars; each returns 1 when *out was set, 0 when absent or
 * reported. */
HD__INTERNAL int hd__wf_int(hd__wf_loader *L, hd__ynode *v, const char *key,
                            const char *what, long long min, long long max,
                            long long *out);
HD__INTERNAL int hd__wf_bool(hd__wf_loader *L, hd__ynode *v, const char *key,
                             const char *what, int *out);
HD__INTERNAL int hd__wf_duration(hd__wf_loader *L, hd__ynode *v,
                                 const char *key, const char *what,
                                 double *out);
HD__INTERNAL int hd__wf_size(hd__wf_loader *L, hd__ynode *v, const char *key,
                             const char *what, uint64_t *out);
HD__INTERNAL int hd__wf_number(hd__wf_loader *L, hd__ynode *v, const char *key,
                               const char *what, double *out);

/* An env mapping: NAME -> scalar, appended to list as NAME=VALUE with the
 * position of each value. */
HD__INTERNAL void hd__wf_env(hd__wf_loader *L, hd__ynode *v, const char *what,
                             hd__tstrs *list);

/* A path written in the current file, made relative to where hodos runs
 * (or absolute); braces in the file's folder are doubled when template
 * is set, so that the result stays a template. Returns NULL when out of
 * memory. */
HD__INTERNAL char *hd__wf_resolve(hd__wf_loader *L, const char *path,
                                  int template);

/* Read a file's defaults mapping into d (which holds the parent's). */
HD__INTERNAL void hd__wf_defaults_read(hd__wf_loader *L, hd__ynode *v,
                                       hd__wf_defaults *d);
HD__INTERNAL void hd__wf_defaults_clear(hd__wf_defaults *d);
/* Note v, the node of d's workdir, as where it was written. */
HD__INTERNAL void hd__wf_defaults_workdir_at(hd__wf_loader *L,
                                             hd__wf_defaults *d,
                                             const hd__ynode *v);
HD__INTERNAL int hd__wf_defaults_copy(hd__wf_defaults *to,
                                      const hd__wf_defaults *from);

/* Open the plugins of a plugins: field (plugins.c). */
HD__INTERNAL void hd__wf_plugins(hd__wf_loader *L, hd__ynode *v,
                                 const char *what);

/* Check one task and add it to the graph (task.c). */
HD__INTERNAL void hd__wf_task(hd__wf_loader *L, hd__ynode *t, size_t i);

#endif
