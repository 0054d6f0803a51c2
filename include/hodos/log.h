/* Logging. The library never prints: it hands each message to the callback
 * the application installs, and drops it when none is installed. The hodos
 * command installs one that writes to stderr. */
#ifndef HODOS_LOG_H
#define HODOS_LOG_H

#include "common.h"

HD_BEGIN_DECLS

/* Levels, most severe first. */
typedef enum hd_log_level {
  HD_LOG_ERROR = 0,
  HD_LOG_WARN = 1,
  HD_LOG_INFO = 2,
  HD_LOG_DEBUG = 3,
  HD_LOG_TRACE = 4,
} hd_log_level;

/* Receives one message, without a trailing newline. It may be called from
 * any thread that runs hodos code, concurrently: it must be thread-safe. */
typedef void (*hd_log_cb)(hd_log_level level, const char *message, void *data);

/* Install (or, with NULL, remove) the log callback and the most verbose
 * level it receives. Call it before starting runs: it is not synchronised
 * with messages being logged by other threads. */
HD_API void hd_log_set_cb(hd_log_cb cb, void *data, hd_log_level max_level);

/* The name of a level: "error", "warning", "info", "debug", "trace". */
HD_API const char *hd_log_level_name(hd_log_level level);

HD_END_DECLS

#endif
