/* The store: task results kept on disk by their cache key, and the journal
 * of the last run (store.c).
 *
 * A store is a folder, readable by its owner only:
 *
 *   lock     held (flock) by the run using the store, with its process id
 *   pack     results, appended as records
 *   journal  the keys of the tasks the last run finished or reused,
 *            each with the record it finished with or reused (by its
 *            payload checksum)
 *   used     when each key was last used (finished or reused), for
 *            cleaning: records of 32 bytes, key, time, checksum
 *
 * A record of the pack:
 *
 *   offset size  field
 *        0    4  magic "HDR1"
 *        4    4  record version (1)
 *        8   16  the task's key (XXH3-128)
 *       24    8  payload size
 *       32    8  XXH3-64 of the payload
 *       40    8  XXH3-64 of bytes 0..39
 *       48       payload: u32 count of output files, u32 zero, their
 *                XXH3-128 content hashes (16 bytes each), then the result
 *                as a value frame (value.h)
 *
 * Records are only appended; a later record of a key replaces an earlier
 * one. Opening the store reads every record's header (not its payload);
 * a record cut short by a kill is cut off, and a damaged header is passed
 * over to the next valid one. A payload is checked when it is read: one
 * that does not match its checksum is reported, forgotten, and its task
 * is run again. All integers are little-endian. */
#ifndef HODOS_CORE_STORE_H
#define HODOS_CORE_STORE_H

#include "internal.h"

typedef struct hd__key {
  uint64_t lo, hi;
} hd__key;

/* What a key is made of (cachekey.c), for telling what changed. */
typedef struct hd__keyparts {
  uint64_t def;    /* what the task is: name, command, params, env... */
  uint64_t values; /* its input values */
  uint64_t *files; /* per input file, its content's hash */
  uint32_t nfiles;
} hd__keyparts;

typedef struct hd__store hd__store;

/* How a store is opened. */
enum {
  HD__STORE_FRESH = 0,  /* for a run: a new journal */
  HD__STORE_RESUME = 1, /* for a run that goes on with the last one: its
                           journal is kept, hd__store_resumed() answers
                           from it */
  HD__STORE_READ = 2,   /* to look, without the lock (a run may go on):
                           nothing is written; hd__store_last() answers
                           from the journal */
  HD__STORE_CLEAN = 3,  /* with the lock, the journal read, no writer */
};

/* Open the store in dir (creating it, unless to read) and take its lock
 * (unless to read). On failure *message (to free with hd__free) says
 * why: HD_EIO, HD_ENOENT (no store, to read), HD_ESTATE (another process
 * holds the lock; the message names it), HD_ENOMEM. */
HD__INTERNAL int hd__store_open(const char *dir, int mode, hd__store **out,
                                char **message);

/* Opened to read: the key of the task named name in the last run's
 * journal, and what it was made of. Returns 0 when the journal does not
 * name it, 1 with *key only, 2 with *parts too (parts->files borrowed
 * from the store). */
HD__INTERNAL int hd__store_last(hd__store *s, const char *name, hd__key *key,
                                hd__keyparts *parts);

/* Sync and close, releasing the lock. NULL does nothing. */
HD__INTERNAL void hd__store_close(hd__store *s);

/* Read key's result into *value and its output files' hashes (up to
 * max_outputs of them) into outputs, their count into *noutputs. Returns
 * HD_OK; HD_ENOENT; HD_ECHECKSUM or HD_ECORRUPT for a damaged record,
 * which is forgotten; HD_EIO; HD_ENOMEM. Thread-safe. */
HD__INTERNAL int hd__store_get(hd__store *s, hd__key key, hd_value **value,
                               hd__key *outputs, uint32_t max_outputs,
                               uint32_t *noutputs);

/* Append key's result. Thread-safe. */
HD__INTERNAL int hd__store_put(hd__store *s, hd__key key, const hd_value *value,
                               const hd__key *outputs, uint32_t noutputs);

/* Record in the journal that the task named name finished (or was
 * reused) with key, made of parts (or NULL). Thread-safe; synced in
 * batches. */
HD__INTERNAL int hd__store_journal(hd__store *s, hd__key key,
                                   const hd__keyparts *parts, const char *name);

/* Opened to clean: rewrite the pack with the results the last run used
 * (max_bytes 0), or as many as fit in max_bytes, the last run's first,
 * then the most recently used, then the later made; damaged records are
 * dropped. The new pack replaces
 * the old at once (a rename). */
HD__INTERNAL int hd__store_compact(hd__store *s, uint64_t max_bytes,
                                   size_t *kept, size_t *removed,
                                   uint64_t *kept_bytes, uint64_t *freed_bytes,
                                   char **message);

/* Whether the run being resumed recorded key in its journal, and the
 * record of key that the pack holds now (if any) is the one it recorded:
 * when the last run's record was passed over (a damaged header), an
 * older record of the key is not its result, and this returns 0. */
HD__INTERNAL int hd__store_resumed(hd__store *s, hd__key key);

#endif
