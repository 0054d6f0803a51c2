/* A pool's calls: what each map, imap, uimap, amap, pipe or apipe asked
 * for and what has come of it so far (poolcall.c), shared with the pool's
 * dispatcher (pool.c). */
#ifndef HODOS_CORE_POOLCALL_H
#define HODOS_CORE_POOLCALL_H

#include <pthread.h>

#include "internal.h"

typedef enum hd__call_kind {
  HD__CALL_MAP,
  HD__CALL_IMAP,
  HD__CALL_UIMAP,
  HD__CALL_AMAP,
  HD__CALL_PIPE,
  HD__CALL_APIPE,
} hd__call_kind;

/* An item's state in struct hd_results: pending (zero, as the array is
 * made) until it ends. */
enum {
  HD__ITEM_PENDING = 0,
  HD__ITEM_DONE,      /* HD_OK */
  HD__ITEM_FAILED,    /* HD_ETASK */
  HD__ITEM_CANCELLED, /* HD_EINTR */
};

/* The per-item arrays of a call of many items are left untouched until
 * items end, or, when large, mapped in huge pages populated at once and
 * not inherited by forked workers (which never read them): filling them
 * costs no fault per page, and no copy of a page the workers share. */
struct hd_results {
  size_t n;
  hd_value **values;    /* per item: its result, or NULL */
  unsigned char *state; /* per item: HD__ITEM_* */
  char **errors;        /* per item: why it failed, or NULL; the array itself
                           is made at the first failure (NULL until then) */
  size_t failed;
};

typedef struct hd__call {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned refs; /* the pool while it holds the call, and its user */
  hd__call_kind kind;
  unsigned long seq; /* the pool's number for it, in task names */
  char *fn;
  size_t nargs;
  size_t n;
  /* n * nargs argument values, item by item: references held until the
     run ends, or (borrowed) the caller's own values, which a blocking
     call reads while its caller waits. A chunk's task reads its items'
     arguments here (a forked worker in its copy of this memory). */
  hd_value *const *args;
  hd_value **owned; /* the array args points to when it was made here */
  int borrowed;     /* args are not references of the call's */
  hd_results *res;
  uint32_t *order; /* items in the order they ended */
  size_t settled;
  size_t next; /* the iterator's place: an item (imap), or in order */
  int ended;   /* every item has ended */
  /* While a run of the call's chunks goes on in this process (threads,
     serial), a reader that would wait runs items of them itself:
     help(help_data, item) runs a few items that no worker has taken, from
     item's chunk on, and returns 0 when there were none. The run sets
     help and clears it, and before it ends waits until no reader is
     inside it (helpers). Atomic (see help_once() in poolcall.c). */
  int (*help)(void *data, size_t item);
  void *help_data;
  unsigned helpers;
  struct hd__call *next_queued;
} hd__call;

/* How long a pool's waiters (its dispatcher for the next call, a caller
 * for its results) look again before they sleep: a tiny call's results
 * come within microseconds, and a sleep and wake-up cost tens of them
 * here (DEPENDENCIES.md). */
#define HD__SPIN_NS 30000

/* With lock held: until ready(arg) or ns have passed, let go of lock and
 * the CPU and take lock again. Returns ready(arg). */
HD__INTERNAL int hd__spin_locked(pthread_mutex_t *lock, int (*ready)(void *),
                                 void *arg, uint64_t ns);

/* How a call holds its arguments (hd__call_new()). */
typedef enum hd__args_mode {
  /* The caller's own values, which it keeps alive until the call has
     ended and the run it is in has stopped (a blocking map, whose caller
     waits for both). */
  HD__ARGS_BORROW,
  /* A reference to each. */
  HD__ARGS_REF,
  /* A copy of each integer and double, a reference to the others. A
     reference writes to the value, and a value made before a pool forked
     its workers shares its page with them until then: the first write to
     it costs a copy of the page, with a TLB flush, where a copy of the
     value costs a few nanoseconds. */
  HD__ARGS_COPY,
} hd__args_mode;

/* A call of kind on fn over the lists, with one reference for its user,
 * holding its arguments as mode says. Errors: HD_EINVAL, HD_ENOMEM. */
HD__INTERNAL int hd__call_new(hd__call_kind kind, const char *fn,
                              const hd_list *lists, size_t nlists,
                              hd__args_mode mode, hd__call **out);
HD__INTERNAL void hd__call_ref(hd__call *c);
HD__INTERNAL void hd__call_unref(hd__call *c);

/* Record how items first .. first + count - 1 ended; value (NULL unless
 * status is HD_OK) and error are copied. Thread-safe. */
HD__INTERNAL void hd__call_settle(hd__call *c, size_t item, int status,
                                  hd_value *value, const char *error);

/* End every item not yet ended with status and error (a call that never
 * ran, or a run that could not start). */
HD__INTERNAL void hd__call_abort(hd__call *c, int status, const char *error);

/* Settle items first .. first + n - 1 at once: status[i], values[i],
 * errors[i] (or NULL). The values and messages pass to the call (each
 * entry is set to NULL). Waiters are woken as if items wake_first ..
 * wake_first + wake_n - 1 had just ended (none when wake_n is 0): a chunk
 * settling a block at a time wakes them once, with its last block. With
 * left not NULL (the chunk's items not settled yet, counted down under
 * the call's lock by those that end here), only the block that brings it
 * to 0 wakes them: a chunk whose blocks are run by several threads. */
HD__INTERNAL void hd__call_settle_many(hd__call *c, size_t first, size_t n,
                                       const int *status, hd_value **values,
                                       char **errors, size_t wake_first,
                                       size_t wake_n, size_t *left);

/* Let readers run items of c's chunks (see hd__call::help), or, with
 * help NULL, no more: then wait until none is inside help(). */
HD__INTERNAL void hd__call_set_help(hd__call *c,
                                    int (*help)(void *data, size_t item),
                                    void *data);

/* Whether item has not ended yet. */
HD__INTERNAL int hd__call_pending(hd__call *c, size_t item);

/* Release the call's arguments: its run has stopped (with "processes",
 * its workers are reaped, so no page they share is written). */
HD__INTERNAL void hd__call_release_args(hd__call *c);

/* Wait until the call has ended, up to timeout seconds (negative: no
 * limit). Returns 1 when it has. */
HD__INTERNAL int hd__call_wait(hd__call *c, double timeout);

/* The overall code of an ended call: HD_OK, HD_ETASK or HD_EINTR. */
HD__INTERNAL int hd__call_status(hd__call *c);

/* Take the results out of an ended call (for a blocking map). */
HD__INTERNAL hd_results *hd__call_take_results(hd__call *c);

/* Make an iterator or a future of a call, taking over the caller's
 * reference. */
HD__INTERNAL int hd__iter_new(hd__call *c, hd_iter **out);
HD__INTERNAL int hd__future_new(hd__call *c, hd_future **out);

#endif
