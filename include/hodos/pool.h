/* Pools: pathos's map, imap, uimap, amap, pipe and apipe in C.
 *
 * A pool applies a registered function (task.h) to items and gives back
 * their results. It runs on any backend ("serial", "threads",
 * "processes", or "ssh" on other hosts) with up to `nodes` workers,
 * through the same scheduler as graphs: each call becomes a set of
 * independent function tasks, one per item (or per chunk of items), and
 * calls made while another is running are gathered into the next run, so
 * that a pool never uses more than its workers.
 *
 * The function receives an item's arguments as its inputs, in list order:
 * hd_pool_map(p, "power", lists, 2, &r) with lists {bases, exponents}
 * calls power with hd_task_input(t, 0) a base and hd_task_input(t, 1) its
 * exponent, as pathos's pool.map(power, bases, exponents) does. The
 * function's output is the item's result.
 *
 * What differs from pathos, on purpose:
 * - No pool cache: hd_pool_new() always makes a new pool, and freeing it
 *   stops and reaps everything it started.
 * - An item that fails is reported with its index and message, and every
 *   other item's result is kept.
 * - A worker that dies (a crash, SIGKILL, the OOM killer) fails or retries
 *   only the item it was running; nothing hangs.
 * - With "processes", workers are forked at the pool's first call and
 *   kept between calls, waiting on their sockets, until the pool is
 *   closed (once idle), terminated, cleared or freed, which reaps them. A
 *   worker sees the program as it was when it was forked: functions are
 *   found by name in it, and when a function has been registered or
 *   unregistered since, the pool forks new workers before its next call.
 *   Other changes to the program's memory (a global variable set later)
 *   are not seen by workers forked before them.
 * - With "ssh", the workers are the program itself, started on the hosts
 *   (hd_pool_opts.hosts) through ssh and serving there as its own worker
 *   (hd_worker_main() in worker.h): functions are found by name in the
 *   copy on each host, and each item's arguments travel to it as values
 *   (a chunk's packed in one value), as results travel back. Each run
 *   (a call, or the calls gathered while one ran) starts its ssh
 *   connections and sessions and ends them when it ends, which adds a
 *   fraction of a second to every call. A session lost (its host
 *   killed, the connection dropped) puts the task it was running back in
 *   line for the other hosts; nothing is left running once the run has
 *   ended.
 *
 * Thread-safety: every hd_pool_* call may be made from any thread, also
 * concurrently on one pool. An iterator or a future is used by one thread
 * at a time. A task running in a pool may itself use another pool, but not
 * the pool it runs in (its call would wait behind the run it is part of);
 * nor may the pool's on_event: such calls are refused with HD_ESTATE (to
 * stop a pool on an event, note it there and call hd_pool_terminate()
 * from another thread).
 * Functions and on_event run on the pool's threads: its dispatcher and
 * workers, or, for hd_pool_map() and hd_pool_pipe() on an idle "threads"
 * or "serial" pool, the calling thread as well (it runs its own call).
 */
#ifndef HODOS_POOL_H
#define HODOS_POOL_H

#include <stddef.h>

#include "common.h"
#include "event.h"
#include "run.h"
#include "value.h"

HD_BEGIN_DECLS

typedef struct hd_pool hd_pool;
typedef struct hd_results hd_results;
typedef struct hd_iter hd_iter;
typedef struct hd_future hd_future;

/* One list of arguments: count values. */
typedef struct hd_list {
  hd_value *const *items;
  size_t count;
} hd_list;

/* Options of a pool. Fill with hd_pool_opts_init(); fields are only ever
 * appended. */
typedef struct hd_pool_opts {
  size_t chunk_size;    /* items per task; 0 (the default): automatic, as
                           Python's Pool.map: about four tasks per worker
                           per call. Larger chunks cost less per item. A
                           function's failure stays per item (and is
                           retried per item); a chunk that dies as a
                           whole (a crash, a timeout) runs its items
                           whose results the call had not received again,
                           one task each, so that only the item that did
                           it fails. A chunk hands its results over when
                           it ends (in this process, every 256 items), so
                           items that ended inside a chunk that died run
                           again: give chunk_size 1 to items whose side
                           effects must happen once */
  unsigned retries;     /* attempts after a failure, per task (default 0):
                           an item of a chunk whose function fails is run
                           again alone, in its chunk's task, sees its
                           attempt in hd_task_attempt(), and each failed
                           attempt is a RETRIED event naming the item */
  double timeout;       /* seconds per task, 0 to 1e9 as
                           hd_node_set_timeout() takes them; 0 (the
                           default) for none. An item past it fails
                           ("timed out"), whatever its function returns */
  hd_event_cb on_event; /* receives every task event, or NULL; ev->index
                           is the item's index in its call (the first of
                           its chunk), ev->task names the call and item,
                           such as "map3:power[7]" */
  void *event_data;     /* passed to on_event */
  /* "ssh": the hosts (hd_host, run.h), copied with their strings by
     hd_pool_new_opts(), so that the array may go once it returns. A
     host's slots are the workers it runs at once (0: its CPU count,
     learned by the pool's first call when nodes is 0, else as many of
     the nodes as come to it in turn); its command starts the worker
     there, which must be this program serving as its own worker
     (hd_worker_main()): NULL means this program's own path (as
     /proc/self/exe names it) followed by --hodos-worker, for hosts that
     see this machine's files at the same paths. Ignored by the other
     backends. */
  const hd_host *hosts;
  size_t nhosts;
  /* "ssh": the ssh client and its options, as hd_run_opts.ssh_command
     (NULL: $HODOS_SSH_COMMAND when set, else "ssh"); copied. */
  const char *ssh_command;
} hd_pool_opts;

HD_API void hd_pool_opts_init(hd_pool_opts *o);

/* Create a pool running on backend (NULL: "threads") with up to nodes
 * workers (0: one per CPU; with "ssh", the hosts' slots together, and
 * otherwise nodes spread over the hosts in turn, none past its slots).
 * Nothing starts until the first call: hd_pool_new_opts("ssh", ...)
 * checks the options, not the hosts, which a call reaches (an item of a
 * call that cannot reach any fails with each host's error).
 * Errors: HD_EINVAL (also nodes over 1024, "ssh" without hosts, a host
 * without a name, or
 * a timeout that is negative, NaN, infinite or over 1e9 seconds),
 * HD_ENOTSUP (no such backend), HD_ENOMEM. hd_pool_new("ssh", ...) gives
 * HD_EINVAL: it has no hosts. */
HD_API int hd_pool_new(const char *backend, unsigned nodes, hd_pool **out);
HD_API int hd_pool_new_opts(const char *backend, unsigned nodes,
                            const hd_pool_opts *o, hd_pool **out);

/* Terminate the pool's calls (as hd_pool_terminate()), wait for them and
 * free the pool. Results, iterators and futures stay valid. NULL does
 * nothing. */
HD_API void hd_pool_free(hd_pool *p);

/* The backend's name and the number of workers. With "ssh" before the
 * first call has learned the CPU count of a host given no slots, such a
 * host counts as one (or nodes, when given, is the number). */
HD_API const char *hd_pool_backend(const hd_pool *p);
HD_API unsigned hd_pool_nodes(const hd_pool *p);

/* ---- calls ----
 * Each takes the function's registered name and nlists lists of
 * arguments; items are taken from the lists together, and when the lists
 * differ in length the call stops at the shortest (as pathos and Python's
 * map do). nlists may be 0 only with hd_pool_pipe/apipe (no arguments).
 * The caller may release its arguments as soon as a call returns: imap,
 * uimap, amap and apipe keep their own (a copy of each integer and
 * double, a reference to other values); map and pipe read the caller's
 * while it waits.
 * Errors common to all: HD_EINVAL (NULL or empty name, a NULL list with a
 * nonzero count, a NULL item in a list or a NULL argument of pipe/apipe),
 * HD_ESTATE (the pool is closed or terminated, or the call comes from
 * one of its own tasks or from its on_event),
 * HD_ENOMEM. Empty lists ({NULL, 0} too) make a call of no items, which
 * succeeds at once. A function that is not registered fails every
 * item. */

/* Blocking map. *out receives the results whenever the call ran, also
 * when items failed. Returns HD_OK when every item is done, HD_ETASK when
 * some failed (see hd_results_status()), HD_EINTR when the pool was
 * terminated during the call. */
HD_API int hd_pool_map(hd_pool *p, const char *fn, const hd_list *lists,
                       size_t nlists, hd_results **out);

/* Iterators over a call's results: hd_pool_imap yields them in item
 * order, each as soon as it and all before it are ready; hd_pool_uimap
 * in the order they finish. */
HD_API int hd_pool_imap(hd_pool *p, const char *fn, const hd_list *lists,
                        size_t nlists, hd_iter **out);
HD_API int hd_pool_uimap(hd_pool *p, const char *fn, const hd_list *lists,
                         size_t nlists, hd_iter **out);

/* Asynchronous map: returns at once with a future of its results. */
HD_API int hd_pool_amap(hd_pool *p, const char *fn, const hd_list *lists,
                        size_t nlists, hd_future **out);

/* One call of fn with nargs arguments. hd_pool_pipe blocks and gives the
 * result in *out (a reference for the caller); when the call failed it
 * returns HD_ETASK and, when error is not NULL, its message in *error
 * (free it with hd_pool_string_free()). hd_pool_apipe returns a future of
 * one result. */
HD_API int hd_pool_pipe(hd_pool *p, const char *fn, hd_value *const *args,
                        size_t nargs, hd_value **out, char **error);
HD_API int hd_pool_apipe(hd_pool *p, const char *fn, hd_value *const *args,
                         size_t nargs, hd_future **out);
HD_API void hd_pool_string_free(char *s);

/* ---- the pool's life ----
 * close:     no new calls are taken (HD_ESTATE); calls made before go on;
 *            "processes" workers are reaped once they have ended.
 * join:      wait until every call made before it has ended (pathos
 *            wants close first; hodos does not); calls that other threads
 *            make while it waits are not waited for.
 * terminate: close, cancel queued calls and stop running ones: with
 *            "processes" workers get SIGTERM, then SIGKILL two seconds
 *            later; with "ssh" the sessions' ssh clients do and the
 *            connections are closed, which ends the workers on the
 *            hosts (a running function sees hd_task_cancelled(), and
 *            its worker ends within three seconds even if it does not
 *            return); with "threads" running functions see
 *            hd_task_cancelled() and are waited for (a thread cannot be
 *            killed). Their unfinished items end cancelled (HD_EINTR).
 *            Returns when they have ended, and every "processes" worker
 *            and "ssh" client of the pool is reaped.
 * restart:   take calls again after close or terminate; with force
 *            nonzero, terminate the pool's calls made before it first
 *            (as clear).
 * clear:     pathos forgets a cached pool; hodos has no cache, so clear
 *            terminates the pool's calls made before it (as terminate)
 *            and makes it take calls again, as a new pool would. Calls
 *            that other threads make meanwhile wait until it is done,
 *            then run: it returns however many they make. */
HD_API int hd_pool_close(hd_pool *p);
HD_API int hd_pool_join(hd_pool *p);
HD_API int hd_pool_terminate(hd_pool *p);
HD_API int hd_pool_restart(hd_pool *p, int force);
HD_API int hd_pool_clear(hd_pool *p);

/* ---- results ---- */

/* The number of items, and how many failed (or were cancelled). */
HD_API size_t hd_results_count(const hd_results *r);
HD_API size_t hd_results_failed(const hd_results *r);

/* Item i's result (borrowed: it lives as long as r), or NULL when the
 * item failed or i is out of range. A function that set no output gives
 * an empty bytes value. */
HD_API hd_value *hd_results_value(const hd_results *r, size_t i);

/* HD_OK for an item that is done; HD_ETASK when it failed; HD_EINTR when
 * it was cancelled by terminate; HD_EINVAL out of range. */
HD_API int hd_results_status(const hd_results *r, size_t i);

/* Why item i failed, or NULL. */
HD_API const char *hd_results_error(const hd_results *r, size_t i);

HD_API void hd_results_free(hd_results *r);

/* ---- iterators ---- */

/* Wait up to timeout seconds (negative: without limit) for the next
 * result. Without a limit, on "threads" and "serial", the calling thread
 * runs items of the call that no worker has taken yet while it waits
 * (see docs/pool.md). Returns HD_OK with its item index in *index and
 * its value in *value (a reference for the caller); HD_ETASK for an item
 * that failed (*index set, *value NULL; hd_iter_error() says why);
 * HD_EINTR for one cancelled by terminate; HD_ETIMEDOUT when nothing came
 * in time; HD_EEND once every item has been given. index and value may
 * be NULL. */
HD_API int hd_iter_next(hd_iter *it, double timeout, size_t *index,
                        hd_value **value);

/* The message of the last item hd_iter_next() reported failed, or NULL. */
HD_API const char *hd_iter_error(const hd_iter *it);

/* The number of items of the call. */
HD_API size_t hd_iter_count(const hd_iter *it);

/* Free the iterator; its call goes on, and its results are dropped as
 * they come. NULL does nothing. */
HD_API void hd_iter_free(hd_iter *it);

/* ---- futures ---- */

/* Nonzero once every item of the call has ended. */
HD_API int hd_future_ready(const hd_future *f);

/* Wait up to timeout seconds (negative: without limit). Returns HD_OK
 * when ready, HD_ETIMEDOUT otherwise. */
HD_API int hd_future_wait(hd_future *f, double timeout);

/* Wait as hd_future_wait(), then give the results (owned by the future:
 * they live until hd_future_free()). Returns what hd_pool_map() would:
 * HD_OK, HD_ETASK, HD_EINTR; or HD_ETIMEDOUT with *out NULL. */
HD_API int hd_future_get(hd_future *f, double timeout, const hd_results **out);

/* Free the future; a call still running goes on and its results are
 * dropped. NULL does nothing. */
HD_API void hd_future_free(hd_future *f);

HD_END_DECLS

#endif
