/* Cache keys of tasks, and hashes of values and files (cachekey.c). */
#ifndef HODOS_CORE_CACHEKEY_H
#define HODOS_CORE_CACHEKEY_H

#include "plan.h"
#include "store.h"

/* A value's hash: its kind and content. */
HD__INTERNAL hd__key hd__key_value(const hd_value *v);

/* A file's hash: its content. HD_OK, HD_EIO (errno set) or HD_ENOMEM. */
HD__INTERNAL int hd__key_file(const char *path, hd__key *out);

/* Task node's key, given the hashes of its input values (hd__key_value(),
 * or all ones for a missing value); when parts is not NULL, also the
 * hashes it is made of (free parts->files with hd__free). HD_OK; HD_EIO
 * when an input file cannot be read (why says which); HD_ENOMEM. */
HD__INTERNAL int hd__task_key(const hd__plan *p, uint32_t node,
                              const hd__key *inputs, size_t ninputs,
                              hd__key *key, hd__keyparts *parts, hd__buf *why);

/* The hashes of task node's output files, in keys (one per output).
 * HD_OK; HD_EIO when one cannot be read (why says which); HD_ENOMEM. */
HD__INTERNAL int hd__output_keys(const hd__plan *p, uint32_t node,
                                 hd__key *keys, hd__buf *why);

/* Whether task node's output files are as kept (their hashes, one per
 * output): HD_OK; HD_ETASK with why "its output 'X' is missing" or
 * "... changed"; HD_ENOMEM. */
HD__INTERNAL int hd__outputs_check(const hd__plan *p, uint32_t node,
                                   const hd__key *kept, hd__buf *why);

#endif
