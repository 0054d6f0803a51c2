/* Files that travel between hodos and workers on other hosts (files.c):
 * plugins and input files to a host that lacks them, output files back.
 *
 *   CHECK    hodos -> worker, before a TASK: u32 task, u32 count, then per
 *            input file: bytes path, u64 lo, u64 hi (its XXH3-128)
 *   FILE     hodos -> worker: u32 kind (0 a plugin: name is its index in
 *            HELLO; 1 an input file: name is its path), then a file
 *   OUTPUTS  worker -> hodos, before a RESULT: u32 task, u32 count, then
 *            a file per declared output (empty content: not made)
 *
 * A file is: bytes name, u32 mode, bytes content as a value frame. */
#ifndef HODOS_BACKENDS_FILES_H
#define HODOS_BACKENDS_FILES_H

#include "wire.h"

/* Files larger than this do not travel. */
#define MAX_FILE (1ull << 34)

/* Read a whole file into a new bytes value; its permission bits into
 * *mode when not NULL. HD_ENOENT, HD_EIO, HD_ETOOBIG, HD_ENOMEM. */
HD__INTERNAL int hd__file_read(const char *path, hd_value **out,
                               uint32_t *mode);
/* Write a file whole: folders made, a temporary name renamed. */
HD__INTERNAL int hd__file_write(const char *path, const void *data, size_t len,
                                uint32_t mode);
/* Whether path holds exactly these bytes. */
HD__INTERNAL int hd__file_same(const char *path, const void *data, size_t len);
/* Append a file; read one (HD_ENOENT with *name set: it was not made). */
HD__INTERNAL int hd__file_put(hd__buf *b, const char *name,
                              const hd_value *content, uint32_t mode);
HD__INTERNAL int hd__file_get(hd__wire_reader *rd, char **name,
                              hd_value **content, uint32_t *mode);

/* The path output k of a task is written under: its own, or its staged
 * name (hd__staged_path()) when the task writes that. */
HD__INTERNAL int hd__output_path(const struct hd_plan *p,
                                 const struct hd__pio *io, uint32_t k,
                                 hd__buf *path);

/* The worker's side: note a CHECK frame; list (each after a newline) the
 * files the task lacks and return how many; append the OUTPUTS frame of
 * a task that ended well, removing its staged files here. */
HD__INTERNAL int hd__files_expect(const char *payload, size_t len);
HD__INTERNAL int hd__files_missing(uint32_t task, hd__buf *missing);
struct hd_plan;
HD__INTERNAL int hd__files_outputs(const struct hd_plan *p, uint32_t node,
                                   hd__buf *out);

#endif
