/* Results held within memory limits (hold.c).
 *
 * A run keeps each task's result as a value until nobody needs it. With
 * limits, a result that arrives while the raw results already take
 * raw_limit bytes is compressed into a frame (value.h); one that arrives
 * while the results in memory, raw and compressed, take mem_limit bytes
 * goes to a spill file: an unlinked file in the spill folder, gone with
 * the process however it ends. A held result is read back, and checked,
 * when a task after it starts or the report is asked for it.
 *
 * Results shorter than HD__HOLD_MIN bytes are always kept as they are:
 * compressing them saves less than it costs. */
#ifndef HODOS_CORE_HOLD_H
#define HODOS_CORE_HOLD_H

#include "internal.h"

#define HD__HOLD_MIN 64

typedef struct hd__hold hd__hold;
struct hd__tstate;

/* Hold for count tasks; spill_dir is where the spill file is made when
 * one is needed (NULL: $TMPDIR or /tmp). */
HD__INTERNAL int hd__hold_new(size_t count, size_t raw_limit, size_t mem_limit,
                              const char *spill_dir, hd__hold **out);
HD__INTERNAL void hd__hold_free(hd__hold *h);

/* Task node's result has just been set in t->result, before any other
 * thread reads it: keep it as it is, or compress or spill it (then
 * t->result becomes NULL and t's flags say where it is). */
HD__INTERNAL void hd__hold_keep(hd__hold *h, uint32_t node,
                                struct hd__tstate *t);

/* A reference to task node's result (the shared empty value when it has
 * none), read back when held. Errors: HD_EIO (the spill file cannot be
 * read), the codes of hd_value_decode(), HD_ENOMEM. Thread-safe with
 * hd__hold_keep() of other tasks. */
HD__INTERNAL int hd__hold_get(hd__hold *h, uint32_t node,
                              const struct hd__tstate *t, hd_value **out);

/* Forget task node's result, wherever it is (t->result is unreferenced
 * by the caller). */
HD__INTERNAL void hd__hold_drop(hd__hold *h, uint32_t node,
                                struct hd__tstate *t);

/* Read task node's held result back into t->result for good (the report
 * after the run); HD_OK when it is there. Thread-safe. */
HD__INTERNAL int hd__hold_restore(hd__hold *h, uint32_t node,
                                  struct hd__tstate *t);

/* Whether a result was compressed or spilled at any time so far (a
 * relaxed read, for the thread that keeps the results). */
HD__INTERNAL int hd__hold_any(hd__hold *h);

/* Bytes held now: results as they are, frames in memory, and frames
 * written to the spill file (and not yet dropped) so far. */
HD__INTERNAL void hd__hold_usage(hd__hold *h, size_t *raw, size_t *packed,
                                 size_t *spilled);

/* What was held over the run: results compressed and spilled, their
 * bytes as they were and as frames. */
HD__INTERNAL void hd__hold_totals(hd__hold *h, size_t *compressed,
                                  size_t *spilled, uint64_t *raw_bytes,
                                  uint64_t *frame_bytes);

#endif
