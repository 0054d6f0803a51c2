/* Error codes and diagnostics.
 *
 * Every fallible hodos call returns an int: HD_OK (0) on success or one of
 * the negative HD_E* codes below. Codes are stable: their numbers never
 * change, because they travel over the wire and rest in run journals.
 *
 * The detail of a failure (a message, and where known the file, line, column
 * and task) travels in an hd_diag that the caller reads from the object that
 * failed: a workflow, a graph or a run report. */
#ifndef HODOS_ERROR_H
#define HODOS_ERROR_H

#include <stddef.h>

#include "common.h"

/* XX(name, number, message). The one list from which the enum,
 * hd_strerror() and hd_err_name() are made. Append only. */
#define HD_ERRNO_MAP(XX)                                                       \
  XX(ENOMEM, 1, "out of memory")                                               \
  XX(EINVAL, 2, "invalid argument")                                            \
  XX(ENOENT, 3, "no such item")                                                \
  XX(EEXIST, 4, "already exists")                                              \
  XX(EIO, 5, "input/output error")                                             \
  XX(ESYNTAX, 6, "syntax error")                                               \
  XX(ESCHEMA, 7, "invalid workflow")                                           \
  XX(EGRAPH, 8, "invalid graph")                                               \
  XX(ECYCLE, 9, "dependency cycle")                                            \
  XX(ETRUNC, 10, "truncated data")                                             \
  XX(ECHECKSUM, 11, "checksum mismatch")                                       \
  XX(ETOOBIG, 12, "size exceeds the allowed bound")                            \
  XX(ECORRUPT, 13, "malformed data")                                           \
  XX(ECOMPRESS, 14, "compression failed")                                      \
  XX(ETASK, 15, "a task failed")                                               \
  XX(ESPAWN, 16, "cannot start process")                                       \
  XX(ETIMEDOUT, 17, "timed out")                                               \
  XX(ECANCELED, 18, "cancelled")                                               \
  XX(EINTR, 19, "interrupted")                                                 \
  XX(ENOTSUP, 20, "not supported")                                             \
  XX(ETYPE, 21, "wrong value type")                                            \
  XX(ESTATE, 22, "operation not valid in this state")                          \
  XX(EINTERNAL, 23, "internal error")                                          \
  XX(EEND, 24, "no more items")                                                \
  XX(EACCES, 25, "access refused")

HD_BEGIN_DECLS

typedef enum hd_errno {
  HD_OK = 0,
#define HD__ERR_ENUM(name, num, msg) HD_##name = -(num),
  HD_ERRNO_MAP(HD__ERR_ENUM)
#undef HD__ERR_ENUM
} hd_errno;

/* Returns a static English message for an error code, such as "out of
 * memory" for HD_ENOMEM; "unknown error" for a code not in the list.
 * Thread-safe. */
HD_API const char *hd_strerror(int err);

/* Returns the code's name, such as "ENOMEM" for HD_ENOMEM, "OK" for HD_OK, or
 * "UNKNOWN". The string is static. Thread-safe. */
HD_API const char *hd_err_name(int err);

/* One problem found by hodos, with as much of its origin as is known.
 * Strings are owned by the object the diagnostic was read from and live as
 * long as it does. Absent parts are NULL (strings) or 0 (line, column). */
typedef struct hd_diag {
  int code;            /* an HD_E* code */
  const char *message; /* a sentence without the position, never NULL */
  const char *file;    /* the workflow file, or NULL */
  int line;            /* 1-based, or 0 when unknown */
  int column;          /* 1-based, or 0 when unknown */
  const char *task;    /* the task concerned, or NULL */
} hd_diag;

/* Writes a diagnostic as one line into buf (at most len bytes, always
 * NUL-terminated when len > 0): "FILE:LINE:COL: message" when the position
 * is known, else the message (which names the task when there is one).
 * Returns the length the full line needs, like snprintf. Thread-safe. */
HD_API size_t hd_diag_format(const hd_diag *d, char *buf, size_t len);

HD_END_DECLS

#endif
