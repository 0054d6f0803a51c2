/* The store: task results kept on disk by their cache key, and the journal
 * of the last run (store.c).
 *
 * A store is a folder, readable by its owner only:
 *
 *   lock     held (flock) by the run using the store, with its process id
 *   pack     results, appended as records
 *   journal  the keys of the tasks the last run finished or reused
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

typedef struct hd__store hd__store;

/* Open (creating it) the store in dir and take its lock. resume nonzero
 * keeps the journal of the last run and lets hd__store_resumed() answer
 * from it; zero starts a new journal. On failure *message (to free with
 * hd__free) says why: HD_EIO, HD_ESTATE (another process holds the lock;
 * the message names it), HD_ENOMEM. */
HD__INTERNAL int hd__store_open(const char *dir, int resume, hd__store **out,
                                char **message);

/* Sync and close, releasing the lock. NULL does nothing. */
HD__INTERNAL void hd__store_close(hd__store *s);

/* Whether key has a result (without reading it). */
HD__INTERNAL int hd__store_has(hd__store *s, hd__key key);

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
 * reused) with key. Thread-safe; synced in batches. */
HD__INTERNAL int hd__store_journal(hd__store *s, hd__key key, const char *name);

/* Whether the run being resumed recorded key in its journal. */
HD__INTERNAL int hd__store_resumed(hd__store *s, hd__key key);

#endif
