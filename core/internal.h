/* Internal helpers shared by the library's files. Nothing here is part of
 * the public API; names start with hd__. */
#ifndef HODOS_CORE_INTERNAL_H
#define HODOS_CORE_INTERNAL_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hodos/hodos.h"

/* Shared internals are visible to the unit tests through the static
 * library, never exported from the shared one. */
#define HD__INTERNAL __attribute__((visibility("hidden")))

/* ---- allocation (every allocation of the library goes through here) ---- */

HD__INTERNAL void *hd__malloc(size_t size);
HD__INTERNAL void *hd__calloc(size_t count, size_t size);
HD__INTERNAL void *hd__realloc(void *p, size_t size);
HD__INTERNAL void hd__free(void *p);
HD__INTERNAL char *hd__strdup(const char *s);
HD__INTERNAL char *hd__strndup(const char *s, size_t n);

/* Grow *items (of *cap elements of size elem) to hold at least need
 * elements. Returns HD_OK or HD_ENOMEM (leaving *items as it was). */
HD__INTERNAL int hd__grow(void **items, size_t *cap, size_t need, size_t elem);

/* Read an interrupt flag that a signal handler on another thread sets
 * (sig_atomic_t only promises that within one thread): an atomic load. */
static inline int hd__flag(volatile sig_atomic_t *f) {
  return __atomic_load_n(f, __ATOMIC_RELAXED);
}

/* Large zeroed arrays (a run's per-task state, a graph's slabs, the YAML
 * tree of a large file): memory mapped with its pages populated at once,
 * huge pages where the kernel has them, which on virtual machines costs
 * far less than a fault per page on first touch. Sizes under a MiB use
 * calloc. Free with hd__big_free(p, the same size). */
HD__INTERNAL void *hd__big_calloc(size_t count, size_t size);
HD__INTERNAL void hd__big_free(void *p, size_t count, size_t size);
/* Address space for an array of up to count elements of size bytes that
 * grows in place, zeroed, its pages populated (on huge pages where the
 * kernel has them) as hd__big_populate() asks, or else on first touch.
 * NULL under a MiB or when the system refuses. Free with hd__big_free(p,
 * count, size). */
HD__INTERNAL void *hd__big_reserve(size_t count, size_t size);
/* Populate bytes [from, to) of what hd__big_reserve() gave. */
HD__INTERNAL void hd__big_populate(void *p, size_t from, size_t to);
/* Keep the first bytes of what hd__big_reserve() gave on small pages: a
 * huge page is cleared whole on first touch, which costs milliseconds on
 * a VM where the host has not backed that memory yet, and an array that
 * seldom grows far need not pay for it. */
HD__INTERNAL void hd__big_small_pages(void *p, size_t bytes);

/* Test hooks: make the allocation after the next n fail (n < 0: never),
 * and read (then reset) the largest size requested so far. */
HD__INTERNAL void hd__alloc_fail_after(long n);
HD__INTERNAL size_t hd__alloc_largest_reset(void);

/* ---- descriptors a forked worker must not keep (fork.c) ----
 * Code that makes or closes such a descriptor holds the fork guard
 * shared and lists it with hd__fork_track() (which fails only with
 * HD_ENOMEM) before it is closed, hd__fork_untrack() when it is, and
 * hd__fork_close() does both around close(). A fork
 * without exec holds the guard alone, and the child calls
 * hd__fork_child() at once, which closes every listed descriptor. */
HD__INTERNAL void hd__fork_shared_begin(void);
HD__INTERNAL void hd__fork_shared_end(void);
HD__INTERNAL void hd__fork_alone_begin(void);
HD__INTERNAL void hd__fork_alone_end(void);
HD__INTERNAL int hd__fork_track(int fd);
HD__INTERNAL void hd__fork_untrack(int fd);
HD__INTERNAL void hd__fork_close(int fd);
HD__INTERNAL void hd__fork_child(void);

/* The process-wide locks of the registries (plugins, backends, functions)
 * and of the scheduler's sort are taken around every fork (fork.c installs
 * the handlers): a child forked while another thread held one would find
 * it locked forever, and a worker that looks up its functions would hang.
 * lock: 1 before the fork, 0 after it, in the parent and in the child. */
HD__INTERNAL void hd__plugin_fork_lock(int lock);
HD__INTERNAL void hd__backend_fork_lock(int lock);
HD__INTERNAL void hd__registry_fork_lock(int lock);
HD__INTERNAL void hd__sched_fork_lock(int lock);
HD__INTERNAL void hd__value_fork_lock(int lock);
/* The pools' kept arrays (poolcall.c): locked likewise, and forgotten by
 * a forked child, which has only some of them. */
HD__INTERNAL void hd__arrays_fork_lock(int lock);
HD__INTERNAL void hd__arrays_fork_child(void);
/* Unmap the arrays kept for the next calls (up to 64 MiB of them). */
HD__INTERNAL void hd__arrays_trim(void);

/* The function registry's generation: it changes with every function
 * registered or unregistered (registry.c). */
HD__INTERNAL unsigned long hd__fn_generation(void);

/* ---- growable byte buffer ---- */

typedef struct hd__buf {
  char *data; /* always NUL-terminated when not NULL */
  size_t len;
  size_t cap;
} hd__buf;

HD__INTERNAL int hd__buf_append(hd__buf *b, const void *data, size_t len);
HD__INTERNAL int hd__buf_appendf(hd__buf *b, const char *fmt, ...)
    HD_PRINTF(2, 3);
HD__INTERNAL int hd__buf_vappendf(hd__buf *b, const char *fmt, va_list ap);
HD__INTERNAL void hd__buf_cleanup(hd__buf *b);

/* ---- diagnostics ---- */

typedef struct hd__diags {
  hd_diag *items; /* strings owned by the list */
  size_t count;
  size_t cap;
} hd__diags;

/* Append a diagnostic; file and task may be NULL. Returns HD_OK or
 * HD_ENOMEM. */
HD__INTERNAL int hd__diags_add(hd__diags *d, int code, const char *file,
                               int line, int column, const char *task,
                               const char *fmt, ...) HD_PRINTF(7, 8);
HD__INTERNAL int hd__diags_copy(hd__diags *dst, const hd__diags *src);
HD__INTERNAL void hd__diags_clear(hd__diags *d);

/* ---- string map: string keys (copied) to size_t values ---- */

typedef struct hd__strmap {
  struct hd__strmap_slot *slots;
  size_t cap;   /* a power of two, or 0 */
  size_t count; /* live entries */
  size_t used;  /* live entries and tombstones */
} hd__strmap;

/* Make room for n live entries without growing again. Returns HD_OK or
 * HD_ENOMEM. */
HD__INTERNAL int hd__strmap_reserve(hd__strmap *m, size_t n);
/* Insert or replace. Returns HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__strmap_put(hd__strmap *m, const char *key, size_t value);
/* Insert only when absent: HD_OK, HD_EEXIST (value left), HD_ENOMEM. */
HD__INTERNAL int hd__strmap_add(hd__strmap *m, const char *key, size_t value);
/* Returns 1 and sets *value when found, else 0. */
HD__INTERNAL int hd__strmap_get(const hd__strmap *m, const char *key,
                                size_t *value);
HD__INTERNAL int hd__strmap_del(hd__strmap *m, const char *key);
HD__INTERNAL void hd__strmap_cleanup(hd__strmap *m);
/* Visit every entry (in no particular order). */
HD__INTERNAL void hd__strmap_each(const hd__strmap *m,
                                  void (*cb)(const char *key, size_t value,
                                             void *data),
                                  void *data);

/* ---- index by name of items that keep their names (idxmap.c) ----
 * name(ctx, i) is item i's name, which must stay the same while i is in
 * the index. Indices below 2^32 - 2. */

typedef struct hd__idxmap {
  uint64_t *slots;
  size_t cap;                               /* a power of two, or 0 */
  size_t count;                             /* live entries */
  size_t used;                              /* live entries and tombstones */
  const char *(*name)(void *ctx, size_t i); /* set before use */
  void *ctx;
} hd__idxmap;

/* Make room for n live entries without growing again. Returns HD_OK or
 * HD_ENOMEM. */
HD__INTERNAL int hd__idxmap_reserve(hd__idxmap *m, size_t n);
/* Index items first .. first + n - 1, in order: an item whose name is
 * there already under another index (or earlier in the batch) is left
 * out and dup(ctx, index) called; one there under its own index (added
 * by an earlier call that ran out of memory) is skipped. Grown once, and
 * the slots of the names a few places ahead fetched while the current
 * one goes in. Returns HD_OK or HD_ENOMEM (the items before stay in). */
HD__INTERNAL int hd__idxmap_add_many(hd__idxmap *m, size_t first, size_t n,
                                     void (*dup)(void *ctx, size_t index));
/* Returns 1 and sets *index (when not NULL) when name is there, else 0. */
HD__INTERNAL int hd__idxmap_get(const hd__idxmap *m, const char *name,
                                size_t *index);
/* HD_OK, or HD_ENOENT. */
HD__INTERNAL int hd__idxmap_del(hd__idxmap *m, const char *name);
HD__INTERNAL void hd__idxmap_cleanup(hd__idxmap *m);

/* ---- whole reads and writes (io.c) ----
 * Each goes on through short counts and EINTR; HD_EIO on an error (errno
 * says which), HD_ETRUNC when a read meets the end of the file. */

HD__INTERNAL int hd__write_all(int fd, const void *p, size_t len);
HD__INTERNAL int hd__pwrite_all(int fd, const void *p, size_t len,
                                uint64_t off);
HD__INTERNAL int hd__pread_all(int fd, void *p, size_t len, uint64_t off);
/* Remove the files in dir (not below), then dir. */
HD__INTERNAL void hd__remove_dir(const char *dir);

/* ---- plugins (plugin.c) ---- */

/* Open the plugin at path (once per process) and run its
 * hodos_plugin_init() the first time. Errors: HD_ENOENT (it cannot be
 * opened), HD_EINVAL (its init failed), with why said; HD_ENOMEM. */
HD__INTERNAL int hd__plugin_open(const char *path, hd__buf *why);

/* ---- logging, time ---- */

/* Whether the application has set a log callback. */
HD__INTERNAL int hd__log_is_set(void);
HD__INTERNAL void hd__log(hd_log_level level, const char *fmt, ...)
    HD_PRINTF(2, 3);
HD__INTERNAL uint64_t hd__now_ns(void);

/* A worker's clock (clock.c): the same scale as hd__now_ns(), cheaper
 * where the CPU's time-stamp counter can stand in for it. Never goes
 * back. Zeroed to start; used by one thread at a time. */
typedef struct hd__tclock {
  uint64_t tsc;   /* the anchor: a counter reading */
  uint64_t ns;    /* and the clock's at the same moment */
  uint64_t span;  /* ticks after the anchor that may be converted */
  uint64_t mult;  /* ns per tick, 32.32 fixed point; 0: read the clock */
  uint64_t floor; /* the last time given */
} hd__tclock;

HD__INTERNAL uint64_t hd__tclock_anchor(hd__tclock *c);

static inline uint64_t hd__tclock_now(hd__tclock *c) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (c->mult != 0) {
    uint64_t d = __builtin_ia32_rdtsc() - c->tsc;
    if (d < c->span) {
      uint64_t now = c->ns + ((d * c->mult) >> 32);
      if (now < c->floor)
        now = c->floor;
      c->floor = now;
      return now;
    }
  }
#endif
  return hd__tclock_anchor(c);
}

/* ---- text helpers ---- */

/* The edit distance between a and b, capped at limit + 1. */
HD__INTERNAL size_t hd__edit_distance(const char *a, const char *b,
                                      size_t limit);

/* ---- values ---- */

/* Allocate a value of the given kind with size bytes of content left
 * uninitialised, to be filled through hd__value_mut() before it is shared.
 * Returns HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__value_alloc(hd_value_kind kind, size_t size,
                                 hd_value **out);
HD__INTERNAL void *hd__value_mut(hd_value *v);
/* A shared, immortal empty bytes value (NULL only when out of memory). */
HD__INTERNAL hd_value *hd__value_empty(void);
/* Shrink an unshared value's content to size bytes; returns the value,
 * which may have moved. */
HD__INTERNAL hd_value *hd__value_shrink(hd_value *v, size_t size);
/* Scalars (integers and doubles) made in one block (value.c): a block
 * of room for n of them (NULL when out of memory), freed once its filler
 * is done with it and its last value is freed. A value is taken from it
 * by hd__value_alloc_in() (any other kind or size, or a full block,
 * allocates alone), and by hd_value_new_int() and hd_value_new_double()
 * in the thread that set it with hd__vslab_use() (NULL: no more; it
 * returns the block set before, to be set again after). Used
 * for a call's results, which live and die together: one value kept
 * keeps its block. hd__vslab_done(NULL) does nothing. */
typedef struct hd__vslab hd__vslab;
HD__INTERNAL hd__vslab *hd__vslab_new(size_t n);
/* Free the blocks kept for reuse (value.c keeps up to 64 MiB of them). */
HD__INTERNAL void hd__vslab_trim(void);
HD__INTERNAL void hd__vslab_done(hd__vslab *s);
/* How many more values s has room for (0 for NULL). */
HD__INTERNAL size_t hd__vslab_room(const hd__vslab *s);
/* Make s empty again for its filler, when every value taken from it has
 * been freed: returns 1, or 0 (s unchanged) when some live on. */
HD__INTERNAL int hd__vslab_reset(hd__vslab *s);
HD__INTERNAL hd__vslab *hd__vslab_use(hd__vslab *s); /* returns the last */
HD__INTERNAL int hd__value_alloc_in(hd__vslab *s, hd_value_kind kind,
                                    size_t size, hd_value **out);
/* dst[i * stride] = a copy of src[i], made in slab, when it is an
 * integer or a double and slab has room; otherwise a reference to it;
 * for each i < n. */
HD__INTERNAL void hd__value_copy_many(hd_value *const *src, size_t n,
                                      hd__vslab *slab, hd_value **dst,
                                      size_t stride);
/* hd_value_unref() on each of the n values (NULL entries skipped), with
 * one count-down of a block for a run of values made in it. */
HD__INTERNAL void hd__value_unref_many(hd_value *const *v, size_t n);
/* Whether v, held by the caller alone and of size bytes, may be refilled
 * (as kind) through hd__value_mut() instead of made again. */
HD__INTERNAL int hd__value_reuse(hd_value *v, hd_value_kind kind, size_t size);
/* hd_value_encode(), where level -1 makes a raw frame (not compressed):
 * for a socket to a process on this machine, where compressing costs
 * more time than the bytes it saves. */
HD__INTERNAL int hd__value_encode_level(const hd_value *v, int level,
                                        hd_value **frame);

#endif
