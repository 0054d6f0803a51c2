/* The wire protocol between hodos and its workers: frames over a byte
 * stream (a socketpair now; ssh and MPI later).
 *
 *   offset  size  field
 *   0       4     magic "HDW1"
 *   4       1     version (1)
 *   5       1     type (hd__wire_type)
 *   6       2     reserved, zero
 *   8       4     payload length, little-endian (at most HD__WIRE_MAX)
 *   12      8     XXH3-64 of the payload, little-endian
 *   20      ...   payload
 *
 * Payloads are sequences of little-endian integers and length-prefixed
 * byte strings; values inside travel as hd_value frames, compressed with
 * zstd when that pays and checksummed on their own. Every field is checked
 * before use: a peer that sends anything else is an error, never a crash
 * and never a hang. */
#ifndef HODOS_BACKENDS_WIRE_H
#define HODOS_BACKENDS_WIRE_H

#include <stdatomic.h>
#include <sys/types.h>

#include "../core/internal.h"

#define HD__WIRE_HEADER 20
#define HD__WIRE_VERSION 1
#define HD__WIRE_MAX (1u << 30)

typedef enum hd__wire_type {
  HD__WIRE_TASK = 1,    /* parent -> worker: run an attempt */
  HD__WIRE_RESULT = 2,  /* worker -> parent: how it went */
  HD__WIRE_BYE = 3,     /* parent -> worker: exit */
  HD__WIRE_HELLO = 4,   /* parent -> remote worker, first: the run */
  HD__WIRE_READY = 5,   /* remote worker -> parent: it can take tasks */
  HD__WIRE_AUTH = 6,    /* parent -> hodos serve, first: the shared token */
  HD__WIRE_CHECK = 7,   /* parent -> remote worker: input files to have */
  HD__WIRE_FILE = 8,    /* parent -> remote worker: a file (files.h) */
  HD__WIRE_OUTPUTS = 9, /* remote worker -> parent: a task's output files */
  HD__WIRE_PLAN = 10,   /* parent -> kept worker: the next run */
  HD__WIRE_NEXT = 11,   /* parent -> worker: run an attempt on the result of
                           the one before, if that one succeeded */
} hd__wire_type;

/* The version of the HELLO and READY payloads:
 *   HELLO  u32 version, bytes plan (hd__plan_pack), u32 plugin count,
 *          per plugin: bytes path, u64 lo, u64 hi (XXH3-128 of its
 *          content); bytes working folder; then the run's tasks as a
 *          PLAN frame lists them (below), or u32 0 for a run without
 *          seed inputs or packed chunks (a graph's)
 *   READY  u32 version, bytes host name, u64 process id, u32 count and
 *          the indexes of the plugins it lacks (sent as FILE frames) */
#define HD__WIRE_HELLO_VERSION 3

/* A PLAN frame, to a forked worker kept from run to run (a pool's),
 * before the run's first task: bytes plan (hd__plan_pack), then the
 * run's tasks: u32 task count, then per task its number of seed inputs
 * (u32) and whether it is a pool's packed chunk (u8). The worker answers
 * nothing. Values to and from such a worker travel as raw value frames:
 * over a socket on one machine, compressing them costs more than it
 * saves. */

/* Append a frame of type with the payload to out. */
HD__INTERNAL int hd__wire_frame(hd__buf *out, hd__wire_type type,
                                const void *payload, size_t len);

/* Look for a whole frame at the start of data. Returns HD_OK with *type,
 * *payload, *len and *used (the frame's size) set; HD_ETRUNC when more
 * bytes are needed; HD_ECORRUPT or HD_ECHECKSUM (with *why set to a short
 * reason) when the bytes are not a valid frame. */
HD__INTERNAL int hd__wire_parse(const char *data, size_t avail,
                                hd__wire_type *type, const char **payload,
                                size_t *len, size_t *used, const char **why);

/* Payload building and reading. A reader fails (and stays failed) on any
 * field that runs past the end. */
HD__INTERNAL int hd__wire_put_u32(hd__buf *b, uint32_t v);
HD__INTERNAL int hd__wire_put_u64(hd__buf *b, uint64_t v);
HD__INTERNAL int hd__wire_put_bytes(hd__buf *b, const void *p, size_t len);

typedef struct hd__wire_reader {
  const char *p;
  size_t left;
  int bad;
} hd__wire_reader;

HD__INTERNAL uint32_t hd__wire_u32(hd__wire_reader *r);
HD__INTERNAL uint64_t hd__wire_u64(hd__wire_reader *r);
/* A length-prefixed byte string, pointing into the payload; *len set. */
HD__INTERNAL const char *hd__wire_bytes(hd__wire_reader *r, size_t *len);

/* A plan as bytes and back (planwire.c); unpacking checks every index
 * and offset, and says why it refuses. */
struct hd_plan;
HD__INTERNAL int hd__plan_pack(const struct hd_plan *p, hd__buf *b);
HD__INTERNAL int hd__plan_unpack(const char *data, size_t len,
                                 struct hd_plan **out, const char **why);

/* The worker's side (worker.c). */
struct hd__run;
/* Called with a HELLO frame's payload: set up r (its plan first) and
 * append the READY frame to out. */
typedef int (*hd__worker_hello)(void *ctx, struct hd__run *r,
                                const char *payload, size_t len, hd__buf *out);
HD__INTERNAL int hd__worker_loop(struct hd__run *r, int in_fd, int out_fd,
                                 hd__worker_hello hello, void *ctx);
/* The loop of a forked worker kept from run to run: each run's PLAN
 * frame comes before its tasks. Returns the worker's exit status. */
HD__INTERNAL int hd__worker_kept(int fd);
/* Write all of p to a socket or a pipe; waits when it is non-blocking. */
HD__INTERNAL int hd__write_full(int fd, const void *p, size_t len);
/* The process that started this worker: when it is gone, a SIGTERM ends
 * the worker three seconds later. */
HD__INTERNAL extern pid_t hd__worker_parent;
/* In a forked worker: an entry of memory shared with hodos that hodos
 * sets when its run stops; from then on the worker starts no task it is
 * sent, and answers each with HD_EINTR and HD__NOT_STARTED (NULL: no
 * such entry). */
HD__INTERNAL void hd__worker_stop_at(atomic_int *flag);
#define HD__NOT_STARTED "not started: the run is stopping"
/* The values of that entry: go on (0), the run stops, or go on until a
 * task of this worker fails for good, then stop (no keep_going). */
#define HD__STOP_NOW 1
#define HD__STOP_AT_FAILURE 2

#endif
