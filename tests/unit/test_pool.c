/* Pools: map, imap, uimap, amap, pipe and apipe on serial, threads and
 * processes; failures kept per item; futures and iterators with timeouts;
 * close, join, terminate, restart and clear; no process left behind. */
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

/* Under AddressSanitizer, let crashing workers die of their signals. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "handle_segv=0:handle_abort=0:handle_sigbus=0";
}
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
  return "handle_segv=0:handle_abort=0:handle_sigbus=0";
}

static const char *const backends[] = {"serial", "threads", "processes"};

static int64_t arg(hd_task *t, size_t i) {
  int64_t v = 0;
  hd_value_get_int(hd_task_input(t, i), &v);
  return v;
}

static int put_int(hd_task *t, int64_t x) {
  hd_value *v;
  int rc = hd_value_new_int(x, &v);
  return rc == HD_OK ? hd_task_set_output(t, v) : rc;
}

static int fn_power(hd_task *t, void *data) {
  (void)data;
  if (hd_task_input_count(t) != 2)
    return hd_task_fail(t, "power takes 2 arguments, not %zu",
                        hd_task_input_count(t));
  int64_t r = 1;
  for (int64_t i = 0; i < arg(t, 1); i++)
    r *= arg(t, 0);
  return put_int(t, r);
}

/* Fails on 3 ("three is not allowed"), doubles the rest. */
static int fn_no_three(hd_task *t, void *data) {
  (void)data;
  if (arg(t, 0) == 3)
    return hd_task_fail(t, "three is not allowed");
  return put_int(t, 2 * arg(t, 0));
}

/* Sleeps arg 1 milliseconds (stopping early when cancelled), then gives
 * arg 0. */
static int fn_sleepy(hd_task *t, void *data) {
  (void)data;
  int64_t ms = arg(t, 1);
  for (int64_t k = 0; k < ms; k += 5) {
    if (hd_task_cancelled(t))
      return HD_ECANCELED;
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return put_int(t, arg(t, 0));
}

/* Kills its own process on 2 (a worker killed mid-map). */
static int fn_kill_two(hd_task *t, void *data) {
  (void)data;
  if (arg(t, 0) == 2)
    raise(SIGKILL);
  return put_int(t, arg(t, 0));
}

/* Crashes on its first attempt for odd items. */
static int fn_flaky(hd_task *t, void *data) {
  (void)data;
  if (arg(t, 0) % 2 == 1 && hd_task_attempt(t) == 1)
    raise(SIGSEGV);
  return put_int(t, arg(t, 0));
}

/* A value of another kind per item: an integer, a double, text, bytes of
 * the item's length, or no output at all (an empty bytes value). */
static int fn_kinds(hd_task *t, void *data) {
  (void)data;
  int64_t x = arg(t, 0);
  hd_value *v = NULL;
  char text[32];
  unsigned char bytes[64];
  int rc = HD_OK;
  switch (x % 5) {
  case 0:
    rc = hd_value_new_int(-x, &v);
    break;
  case 1:
    rc = hd_value_new_double((double)x + 0.5, &v);
    break;
  case 2:
    snprintf(text, sizeof(text), "item %lld", (long long)x);
    rc = hd_value_new_text(text, HD_NUL_TERMINATED, &v);
    break;
  case 3:
    memset(bytes, (int)x, sizeof(bytes));
    rc = hd_value_new_bytes(bytes, (size_t)x % sizeof(bytes), &v);
    break;
  default:
    return HD_OK;
  }
  return rc == HD_OK ? hd_task_set_output(t, v) : rc;
}

/* Fails on multiples of 7, naming the item; doubles the rest. */
static int fn_no_sevens(hd_task *t, void *data) {
  (void)data;
  int64_t x = arg(t, 0);
  if (x % 7 == 0)
    return hd_task_fail(t, "%lld is a multiple of seven", (long long)x);
  return put_int(t, 2 * x);
}

/* 2x + 1 when it runs on the thread in reader_thread of the process
 * reader_pid, 2x elsewhere; fails multiples of seven; takes 20 us. */
static pthread_t reader_thread;
static pid_t reader_pid;
static int fn_where(hd_task *t, void *data) {
  (void)data;
  int64_t x = arg(t, 0);
  struct timespec ts = {0, 20000};
  nanosleep(&ts, NULL);
  if (x % 7 == 0)
    return hd_task_fail(t, "%lld is a multiple of seven", (long long)x);
  int here =
      getpid() == reader_pid && pthread_equal(pthread_self(), reader_thread);
  return put_int(t, 2 * x + here);
}

/* Counts its calls per item (items below 1000); item 300 takes 700 ms
 * without looking at hd_task_cancelled(). */
static int calls_per_item[1000];
static int fn_counted(hd_task *t, void *data) {
  (void)data;
  int64_t x = arg(t, 0);
  if (x >= 0 && x < 1000)
    __atomic_fetch_add(&calls_per_item[x], 1, __ATOMIC_RELAXED);
  if (x == 300) {
    struct timespec ts = {0, 700 * 1000000L};
    nanosleep(&ts, NULL);
  }
  return put_int(t, x);
}

/* The worker's process id, whatever the arguments. */
static int fn_pid(hd_task *t, void *data) {
  (void)data;
  struct timespec ts = {0, 2 * 1000000L}; /* both workers get some */
  nanosleep(&ts, NULL);
  return put_int(t, (int64_t)getpid());
}

/* Its first argument, as it came: the same value (a reference). */
static int fn_echo(hd_task *t, void *data) {
  (void)data;
  return hd_task_set_output(t, hd_value_ref(hd_task_input(t, 0)));
}

/* Its first argument's size plus a number given when registered. */
static int fn_late(hd_task *t, void *data) {
  return put_int(t, (int64_t)hd_value_size(hd_task_input(t, 0)) +
                        (int64_t)(intptr_t)data);
}

/* Spins until hd_task_cancelled() on item 3 (past its timeout), then
 * returns the code given when registered; gives the rest as they are. */
static int fn_spin_three(hd_task *t, void *data) {
  if (arg(t, 0) == 3) {
    while (!hd_task_cancelled(t)) {
      struct timespec ts = {0, 1000000L};
      nanosleep(&ts, NULL);
    }
    return (int)(intptr_t)data;
  }
  return put_int(t, arg(t, 0));
}

/* Gives the attempt it is on. Item 2 fails on its first attempt, item 5
 * on every attempt, saying which. */
static int fn_attempts(hd_task *t, void *data) {
  (void)data;
  unsigned attempt = hd_task_attempt(t);
  if (arg(t, 0) == 2 && attempt == 1)
    return hd_task_fail(t, "item 2 fails on its first attempt");
  if (arg(t, 0) == 5)
    return hd_task_fail(t, "item 5 fails on attempt %u", attempt);
  return put_int(t, (int64_t)attempt);
}

/* Maps power over 0..19 squared on the pool given as data, from a task
 * of a graph: the sum of the squares. */
static int fn_uses_pool(hd_task *t, void *data) {
  hd_pool *p = data;
  hd_value *xs[20];
  for (int i = 0; i < 20; i++)
    if (hd_value_new_int(i, &xs[i]) != HD_OK)
      return HD_ENOMEM;
  hd_value *two;
  if (hd_value_new_int(2, &two) != HD_OK)
    return HD_ENOMEM;
  hd_value *twos[20];
  for (int i = 0; i < 20; i++)
    twos[i] = two;
  hd_list lists[] = {{xs, 20}, {twos, 20}};
  hd_results *r = NULL;
  int rc = hd_pool_map(p, "power", lists, 2, &r);
  int64_t sum = 0;
  for (size_t i = 0; rc == HD_OK && i < hd_results_count(r); i++) {
    int64_t v = 0;
    hd_value_get_int(hd_results_value(r, i), &v);
    sum += v;
  }
  hd_results_free(r);
  for (int i = 0; i < 20; i++)
    hd_value_unref(xs[i]);
  hd_value_unref(two);
  return rc == HD_OK ? put_int(t, sum) : rc;
}

static int fn_noargs(hd_task *t, void *data) {
  (void)data;
  return put_int(t, (int64_t)hd_task_input_count(t) + 42);
}

/* Maps power over the item and itself on a new pool of the backend named
 * by data, inside a task: a pool in a pool. */
static int fn_nested(hd_task *t, void *data) {
  hd_pool *inner;
  int rc = hd_pool_new(data, 2, &inner);
  if (rc != HD_OK)
    return rc;
  hd_value *x = hd_task_input(t, 0);
  hd_value *xs[2] = {x, x};
  hd_list lists[] = {{xs, 2}, {xs, 2}};
  hd_results *r = NULL;
  rc = hd_pool_map(inner, "power", lists, 2, &r);
  int64_t sum = 0;
  for (size_t i = 0; rc == HD_OK && i < hd_results_count(r); i++) {
    int64_t v;
    hd_value_get_int(hd_results_value(r, i), &v);
    sum += v;
  }
  hd_results_free(r);
  hd_pool_free(inner);
  return rc == HD_OK ? put_int(t, sum) : rc;
}

/* Maps no_sevens over 0 .. 99999 on a new threads pool, inside a task:
 * gives the number of items that failed (14286), or -1 when a result is
 * wrong. Its per-item arrays are large enough to be mapped, and kept
 * for the next call. */
#define BIG_ITEMS 100000
static int fn_big_inner(hd_task *t, void *data) {
  (void)data;
  hd_pool *inner;
  int rc = hd_pool_new("threads", 2, &inner);
  if (rc != HD_OK)
    return rc;
  hd_value **xs = calloc(BIG_ITEMS, sizeof(*xs));
  for (size_t i = 0; xs != NULL && rc == HD_OK && i < BIG_ITEMS; i++)
    rc = hd_value_new_int((int64_t)i, &xs[i]);
  hd_list l = {xs, BIG_ITEMS};
  hd_results *r = NULL;
  int64_t failed = 0;
  if (xs == NULL)
    rc = HD_ENOMEM;
  if (rc == HD_OK && hd_pool_map(inner, "no_sevens", &l, 1, &r) != HD_ETASK)
    failed = -1;
  for (size_t i = 0; rc == HD_OK && failed >= 0 && i < BIG_ITEMS; i++) {
    int64_t v = -1;
    if (i % 7 == 0)
      failed = hd_results_value(r, i) == NULL ? failed + 1 : -1;
    else if (hd_value_get_int(hd_results_value(r, i), &v) != HD_OK ||
             v != 2 * (int64_t)i)
      failed = -1;
  }
  hd_results_free(r);
  hd_pool_free(inner);
  for (size_t i = 0; xs != NULL && i < BIG_ITEMS; i++)
    hd_value_unref(xs[i]);
  free(xs);
  return rc == HD_OK ? put_int(t, failed) : rc;
}

/* Calls the pool it runs in: refused. */
static hd_pool *self_pool;
static int fn_self(hd_task *t, void *data) {
  (void)data;
  hd_value *v;
  int rc = hd_pool_pipe(self_pool, "power", NULL, 0, &v, NULL);
  return put_int(t, rc);
}

static void setup(void) {
  ck_assert_int_eq(hd_fn_register("power", fn_power, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("no_three", fn_no_three, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("sleepy", fn_sleepy, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("kill_two", fn_kill_two, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("flaky", fn_flaky, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("noargs", fn_noargs, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("nested", fn_nested, "threads"), HD_OK);
  ck_assert_int_eq(hd_fn_register("nested_procs", fn_nested, "processes"),
                   HD_OK);
  ck_assert_int_eq(hd_fn_register("self", fn_self, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("big_inner", fn_big_inner, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("kinds", fn_kinds, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("counted", fn_counted, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("no_sevens", fn_no_sevens, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("pid", fn_pid, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("echo", fn_echo, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("where", fn_where, NULL), HD_OK);
  ck_assert_int_eq(
      hd_fn_register("spin_three_ok", fn_spin_three, (void *)(intptr_t)HD_OK),
      HD_OK);
  ck_assert_int_eq(hd_fn_register("spin_three_cancelled", fn_spin_three,
                                  (void *)(intptr_t)HD_ECANCELED),
                   HD_OK);
  ck_assert_int_eq(hd_fn_register("attempts", fn_attempts, NULL), HD_OK);
}

static void teardown(void) {
  const char *names[] = {"power",
                         "no_three",
                         "sleepy",
                         "kill_two",
                         "flaky",
                         "noargs",
                         "nested",
                         "nested_procs",
                         "big_inner",
                         "self",
                         "kinds",
                         "counted",
                         "no_sevens",
                         "pid",
                         "echo",
                         "late",
                         "where",
                         "spin_three_ok",
                         "spin_three_cancelled",
                         "attempts"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    hd_fn_unregister(names[i]);
}

/* No child of this process is left, running or unreaped. */
static void assert_no_children(void) {
  ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
}

/* n integer values from a C array; freed with unref_all(). */
static hd_value **ints(const int64_t *xs, size_t n) {
  hd_value **v = calloc(n + 1, sizeof(*v));
  ck_assert_ptr_nonnull(v);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(hd_value_new_int(xs[i], &v[i]), HD_OK);
  return v;
}

static void unref_all(hd_value **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    hd_value_unref(v[i]);
  free(v);
}

static int64_t int_of(const hd_value *v) {
  int64_t x = -1;
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(hd_value_get_int(v, &x), HD_OK);
  return x;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

START_TEST(pool_map_is_pathos_map) {
  const char *b = backends[_i];
  const int64_t bs[] = {1, 2, 3, 4, 5}, es[] = {2, 3, 2, 4, 3};
  hd_value **bases = ints(bs, 5), **exps = ints(es, 5);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(b, 4, &p), HD_OK);
  ck_assert_str_eq(hd_pool_backend(p), b);
  ck_assert_uint_eq(hd_pool_nodes(p), 4);
  hd_list lists[] = {{bases, 5}, {exps, 5}};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "power", lists, 2, &r), HD_OK);
  const int64_t want[] = {1, 8, 9, 256, 125};
  ck_assert_uint_eq(hd_results_count(r), 5);
  ck_assert_uint_eq(hd_results_failed(r), 0);
  for (size_t i = 0; i < 5; i++) {
    ck_assert_int_eq(hd_results_status(r, i), HD_OK);
    ck_assert_int_eq(int_of(hd_results_value(r, i)), want[i]);
  }
  ck_assert_ptr_null(hd_results_value(r, 5));
  ck_assert_int_eq(hd_results_status(r, 5), HD_EINVAL);
  hd_results_free(r);
  /* Lists of unequal length: the shortest decides, as in pathos. */
  hd_list shorter[] = {{bases, 5}, {exps, 3}};
  ck_assert_int_eq(hd_pool_map(p, "power", shorter, 2, &r), HD_OK);
  ck_assert_uint_eq(hd_results_count(r), 3);
  ck_assert_int_eq(int_of(hd_results_value(r, 2)), 9);
  hd_results_free(r);
  /* An empty list: no items, no run. */
  hd_list none[] = {{bases, 0}, {exps, 5}};
  ck_assert_int_eq(hd_pool_map(p, "power", none, 2, &r), HD_OK);
  ck_assert_uint_eq(hd_results_count(r), 0);
  hd_results_free(r);
  hd_pool_free(p);
  unref_all(bases, 5);
  unref_all(exps, 5);
  assert_no_children();
}
END_TEST

START_TEST(pool_failed_item_is_reported_and_others_kept) {
  const int64_t xs[] = {1, 2, 3, 4, 5};
  hd_value **v = ints(xs, 5);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_list l = {v, 5};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "no_three", &l, 1, &r), HD_ETASK);
  ck_assert_uint_eq(hd_results_count(r), 5);
  ck_assert_uint_eq(hd_results_failed(r), 1);
  for (size_t i = 0; i < 5; i++) {
    if (i == 2) {
      ck_assert_int_eq(hd_results_status(r, i), HD_ETASK);
      ck_assert_ptr_null(hd_results_value(r, i));
      ck_assert_str_eq(hd_results_error(r, i), "three is not allowed");
    } else {
      ck_assert_int_eq(hd_results_status(r, i), HD_OK);
      ck_assert_int_eq(int_of(hd_results_value(r, i)), 2 * xs[i]);
      ck_assert_ptr_null(hd_results_error(r, i));
    }
  }
  hd_results_free(r);
  /* A function that is not registered fails every item, saying so. */
  ck_assert_int_eq(hd_pool_map(p, "no_such_fn", &l, 1, &r), HD_ETASK);
  ck_assert_uint_eq(hd_results_failed(r), 5);
  ck_assert_ptr_nonnull(strstr(hd_results_error(r, 0), "no_such_fn"));
  hd_results_free(r);
  hd_pool_free(p);
  unref_all(v, 5);
  assert_no_children();
}
END_TEST

/* Item 0 sleeps longest: imap still gives it first, uimap gives it last
 * (with more than one worker). */
START_TEST(pool_imap_in_order_uimap_as_they_finish) {
  const char *b = backends[_i];
  const int64_t xs[] = {10, 11, 12, 13}, ms[] = {300, 1, 1, 1};
  hd_value **v = ints(xs, 4), **w = ints(ms, 4);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(b, 2, &p), HD_OK);
  hd_list lists[] = {{v, 4}, {w, 4}};
  hd_iter *it;
  ck_assert_int_eq(hd_pool_imap(p, "sleepy", lists, 2, &it), HD_OK);
  ck_assert_uint_eq(hd_iter_count(it), 4);
  for (size_t k = 0; k < 4; k++) {
    size_t idx = 99;
    hd_value *x = NULL;
    ck_assert_int_eq(hd_iter_next(it, -1, &idx, &x), HD_OK);
    ck_assert_uint_eq(idx, k);
    ck_assert_int_eq(int_of(x), xs[k]);
    hd_value_unref(x);
  }
  ck_assert_int_eq(hd_iter_next(it, -1, NULL, NULL), HD_EEND);
  ck_assert_int_eq(hd_iter_next(it, 0, NULL, NULL), HD_EEND);
  hd_iter_free(it);

  ck_assert_int_eq(hd_pool_uimap(p, "sleepy", lists, 2, &it), HD_OK);
  int seen[4] = {0};
  size_t first = 99;
  for (size_t k = 0; k < 4; k++) {
    size_t idx = 99;
    hd_value *x = NULL;
    ck_assert_int_eq(hd_iter_next(it, -1, &idx, &x), HD_OK);
    ck_assert_uint_lt(idx, 4);
    ck_assert_int_eq(int_of(x), xs[idx]);
    seen[idx]++;
    if (k == 0)
      first = idx;
    hd_value_unref(x);
  }
  for (size_t k = 0; k < 4; k++)
    ck_assert_int_eq(seen[k], 1);
  if (strcmp(b, "serial") != 0)
    ck_assert_uint_ne(first, 0);
  ck_assert_int_eq(hd_iter_next(it, -1, NULL, NULL), HD_EEND);
  hd_iter_free(it);
  hd_pool_free(p);
  unref_all(v, 4);
  unref_all(w, 4);
  assert_no_children();
}
END_TEST

START_TEST(pool_iterator_times_out_and_reports_failures) {
  const int64_t xs[] = {1, 3, 5}, ms[] = {400, 0, 0};
  hd_value **v = ints(xs, 3), **w = ints(ms, 3);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_list lists[] = {{v, 3}, {w, 3}};
  hd_iter *it;
  ck_assert_int_eq(hd_pool_imap(p, "sleepy", lists, 2, &it), HD_OK);
  double t0 = now_s();
  ck_assert_int_eq(hd_iter_next(it, 0.02, NULL, NULL), HD_ETIMEDOUT);
  ck_assert(now_s() - t0 < 0.35);
  hd_value *x = NULL;
  ck_assert_int_eq(hd_iter_next(it, 30, NULL, &x), HD_OK);
  ck_assert_int_eq(int_of(x), 1);
  hd_value_unref(x);
  /* Freed before the end: the call goes on and nothing leaks. */
  hd_iter_free(it);

  hd_list one = {v, 3};
  ck_assert_int_eq(hd_pool_imap(p, "no_three", &one, 1, &it), HD_OK);
  size_t idx;
  ck_assert_int_eq(hd_iter_next(it, -1, &idx, &x), HD_OK);
  hd_value_unref(x);
  ck_assert_int_eq(hd_iter_next(it, -1, &idx, &x), HD_ETASK);
  ck_assert_uint_eq(idx, 1);
  ck_assert_ptr_null(x);
  ck_assert_str_eq(hd_iter_error(it), "three is not allowed");
  ck_assert_int_eq(hd_iter_next(it, -1, &idx, &x), HD_OK);
  ck_assert_int_eq(int_of(x), 10);
  hd_value_unref(x);
  ck_assert_int_eq(hd_iter_next(it, -1, &idx, &x), HD_EEND);
  hd_iter_free(it);
  hd_pool_free(p);
  unref_all(v, 3);
  unref_all(w, 3);
  assert_no_children();
}
END_TEST

START_TEST(pool_amap_future_waits_with_timeout) {
  const int64_t xs[] = {7, 8}, ms[] = {300, 300};
  hd_value **v = ints(xs, 2), **w = ints(ms, 2);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_list lists[] = {{v, 2}, {w, 2}};
  hd_future *f;
  ck_assert_int_eq(hd_pool_amap(p, "sleepy", lists, 2, &f), HD_OK);
  /* The arguments may go: the call holds its own references. */
  unref_all(v, 2);
  unref_all(w, 2);
  ck_assert_int_eq(hd_future_ready(f), 0);
  ck_assert_int_eq(hd_future_wait(f, 0.01), HD_ETIMEDOUT);
  const hd_results *r = NULL;
  ck_assert_int_eq(hd_future_get(f, 0, &r), HD_ETIMEDOUT);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(hd_future_get(f, 30, &r), HD_OK);
  ck_assert_int_eq(hd_future_ready(f), 1);
  ck_assert_int_eq(hd_future_wait(f, 0), HD_OK);
  ck_assert_uint_eq(hd_results_count(r), 2);
  ck_assert_int_eq(int_of(hd_results_value(r, 0)), 7);
  ck_assert_int_eq(int_of(hd_results_value(r, 1)), 8);
  hd_future_free(f);
  hd_pool_free(p);
  assert_no_children();
}
END_TEST

START_TEST(pool_pipe_and_apipe) {
  const int64_t xs[] = {2, 10, 3};
  hd_value **v = ints(xs, 3);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_value *out = NULL;
  char *err = NULL;
  ck_assert_int_eq(hd_pool_pipe(p, "power", v, 2, &out, &err), HD_OK);
  ck_assert_int_eq(int_of(out), 1024);
  ck_assert_ptr_null(err);
  hd_value_unref(out);
  ck_assert_int_eq(hd_pool_pipe(p, "no_three", v + 2, 1, &out, &err), HD_ETASK);
  ck_assert_ptr_null(out);
  ck_assert_str_eq(err, "three is not allowed");
  hd_pool_string_free(err);
  ck_assert_int_eq(hd_pool_pipe(p, "noargs", NULL, 0, &out, NULL), HD_OK);
  ck_assert_int_eq(int_of(out), 42);
  hd_value_unref(out);
  hd_future *f[3];
  for (int k = 0; k < 3; k++)
    ck_assert_int_eq(hd_pool_apipe(p, "power", v + k % 2, 2, &f[k]), HD_OK);
  for (int k = 0; k < 3; k++) {
    const hd_results *r;
    ck_assert_int_eq(hd_future_get(f[k], 30, &r), HD_OK);
    ck_assert_uint_eq(hd_results_count(r), 1);
    ck_assert_int_eq(int_of(hd_results_value(r, 0)), k % 2 ? 1000 : 1024);
    hd_future_free(f[k]);
  }
  hd_pool_free(p);
  unref_all(v, 3);
  assert_no_children();
}
END_TEST

START_TEST(pool_chunks_keep_failures_per_item) {
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  ck_assert_uint_eq(o.chunk_size, 0); /* automatic */
  o.chunk_size = 4;
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &p), HD_OK);
  int64_t xs[11];
  for (int i = 0; i < 11; i++)
    xs[i] = i;
  hd_value **v = ints(xs, 11);
  hd_list l = {v, 11};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "no_three", &l, 1, &r), HD_ETASK);
  ck_assert_uint_eq(hd_results_count(r), 11);
  ck_assert_uint_eq(hd_results_failed(r), 1);
  for (size_t i = 0; i < 11; i++) {
    if (i == 3) {
      ck_assert_str_eq(hd_results_error(r, i), "three is not allowed");
      continue;
    }
    ck_assert_int_eq(int_of(hd_results_value(r, i)), 2 * (int64_t)i);
  }
  hd_results_free(r);
  hd_iter *it;
  ck_assert_int_eq(
      hd_pool_imap(p, "power", (hd_list[]){{v, 11}, {v, 11}}, 2, &it), HD_OK);
  for (int64_t i = 0; i < 11; i++) {
    hd_value *x;
    ck_assert_int_eq(hd_iter_next(it, -1, NULL, &x), HD_OK);
    int64_t want = 1;
    for (int64_t k = 0; k < i; k++)
      want *= i;
    ck_assert_int_eq(int_of(x), want);
    hd_value_unref(x);
  }
  hd_iter_free(it);
  hd_pool_free(p);
  unref_all(v, 11);
  assert_no_children();
}
END_TEST

START_TEST(pool_close_join_restart_clear) {
  const int64_t xs[] = {2, 3}, ms[] = {100, 100};
  hd_value **v = ints(xs, 2), **w = ints(ms, 2);
  hd_list lists[] = {{v, 2}, {w, 2}};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_future *f;
  ck_assert_int_eq(hd_pool_amap(p, "sleepy", lists, 2, &f), HD_OK);
  ck_assert_int_eq(hd_pool_close(p), HD_OK);
  /* Closed: no new call, and no crash. */
  hd_results *r = (hd_results *)1;
  ck_assert_int_eq(hd_pool_map(p, "power", lists, 2, &r), HD_ESTATE);
  ck_assert_ptr_null(r);
  hd_future *g = (hd_future *)1;
  ck_assert_int_eq(hd_pool_apipe(p, "power", v, 2, &g), HD_ESTATE);
  ck_assert_ptr_null(g);
  /* The call made before close goes on; join waits for it. */
  ck_assert_int_eq(hd_pool_join(p), HD_OK);
  ck_assert_int_eq(hd_future_ready(f), 1);
  const hd_results *fr;
  ck_assert_int_eq(hd_future_get(f, 0, &fr), HD_OK);
  ck_assert_int_eq(int_of(hd_results_value(fr, 1)), 3);
  hd_future_free(f);
  ck_assert_int_eq(hd_pool_restart(p, 0), HD_OK);
  hd_list squares[] = {{v, 2}, {v, 2}};
  ck_assert_int_eq(hd_pool_map(p, "power", squares, 2, &r), HD_OK);
  ck_assert_int_eq(int_of(hd_results_value(r, 0)), 4);
  ck_assert_int_eq(int_of(hd_results_value(r, 1)), 27);
  hd_results_free(r);
  ck_assert_int_eq(hd_pool_terminate(p), HD_OK);
  ck_assert_int_eq(hd_pool_map(p, "power", lists, 2, &r), HD_ESTATE);
  ck_assert_int_eq(hd_pool_clear(p), HD_OK);
  ck_assert_int_eq(hd_pool_map(p, "power", squares, 2, &r), HD_OK);
  hd_results_free(r);
  hd_pool_free(p);
  unref_all(v, 2);
  unref_all(w, 2);
  assert_no_children();
}
END_TEST

/* Terminate during a long map returns promptly: the items end cancelled
 * and no process is left. */
START_TEST(pool_terminate_stops_a_long_map) {
  int64_t xs[6], ms[6];
  for (int i = 0; i < 6; i++) {
    xs[i] = i;
    ms[i] = 60000;
  }
  hd_value **v = ints(xs, 6), **w = ints(ms, 6);
  hd_list lists[] = {{v, 6}, {w, 6}};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_future *f;
  ck_assert_int_eq(hd_pool_amap(p, "sleepy", lists, 2, &f), HD_OK);
  struct timespec ts = {0, 200 * 1000000L};
  nanosleep(&ts, NULL);
  /* The map is running: this call waits in the queue. */
  hd_future *queued;
  ck_assert_int_eq(hd_pool_apipe(p, "power", v, 2, &queued), HD_OK);
  double t0 = now_s();
  ck_assert_int_eq(hd_pool_terminate(p), HD_OK);
  ck_assert(now_s() - t0 < 5.0);
  const hd_results *r;
  ck_assert_int_eq(hd_future_get(f, 5, &r), HD_EINTR);
  ck_assert_uint_eq(hd_results_count(r), 6);
  ck_assert_uint_eq(hd_results_failed(r), 6);
  ck_assert_int_eq(hd_results_status(r, 0), HD_EINTR);
  hd_future_free(f);
  ck_assert_int_eq(hd_future_get(queued, 5, &r), HD_EINTR);
  ck_assert_str_eq(hd_results_error(r, 0),
                   "cancelled: the pool was terminated");
  hd_future_free(queued);
  assert_no_children();
  hd_pool_free(p);
  unref_all(v, 6);
  unref_all(w, 6);
}
END_TEST

/* Workers forked while another thread holds the registry's lock (it
 * registers functions all along) find it free: before, such a worker
 * hung looking up its function, and so did the call. */
static atomic_int churn_stop;

static void *churn_registry(void *arg) {
  (void)arg;
  while (!atomic_load(&churn_stop)) {
    hd_fn_register("churned", fn_power, NULL);
    hd_fn_unregister("churned");
    sched_yield(); /* leaves the CPU to the calls on a busy machine */
  }
  return NULL;
}

START_TEST(pool_workers_forked_while_functions_are_registered) {
  const int64_t bases[] = {1, 2, 3}, exps[] = {2, 3, 2};
  hd_value **b = ints(bases, 3), **e = ints(exps, 3);
  hd_list l[2] = {{b, 3}, {e, 3}};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new("processes", 2, &p), HD_OK);
  atomic_store(&churn_stop, 0);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, churn_registry, NULL), 0);
  /* Each call forks new workers: the registry changed since the last. */
  for (int k = 0; k < 20; k++) {
    hd_results *r;
    ck_assert_int_eq(hd_pool_map(p, "power", l, 2, &r), HD_OK);
    ck_assert_int_eq(int_of(hd_results_value(r, 2)), 9);
    hd_results_free(r);
  }
  atomic_store(&churn_stop, 1);
  pthread_join(th, NULL);
  hd_pool_free(p);
  unref_all(b, 3);
  unref_all(e, 3);
}
END_TEST

/* A worker killed mid-map (SIGKILL, as the OOM killer sends) fails its
 * item, and the map returns with the other results; with retries a
 * crash on the first attempt is retried. */
START_TEST(pool_killed_worker_fails_only_its_item) {
  const int64_t xs[] = {0, 1, 2, 3, 4, 5};
  hd_value **v = ints(xs, 6);
  hd_list l = {v, 6};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new("processes", 2, &p), HD_OK);
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "kill_two", &l, 1, &r), HD_ETASK);
  ck_assert_uint_eq(hd_results_failed(r), 1);
  ck_assert_int_eq(hd_results_status(r, 2), HD_ETASK);
  ck_assert_ptr_nonnull(strstr(hd_results_error(r, 2), "SIGKILL"));
  for (size_t i = 0; i < 6; i++)
    if (i != 2)
      ck_assert_int_eq(int_of(hd_results_value(r, i)), (int64_t)i);
  hd_results_free(r);
  hd_pool_free(p);

  /* In chunks, automatic (40 items on 2 workers: 5 each) or chosen: the
     chunk that died runs again one item at a time, and only the item
     that kills its worker fails. */
  enum { N = 40 };
  int64_t many[N];
  for (int i = 0; i < N; i++)
    many[i] = i;
  hd_value **mv = ints(many, N);
  hd_list ml = {mv, N};
  hd_pool_opts o;
  for (int chunk = 0; chunk <= 3; chunk += 3) {
    hd_pool_opts_init(&o);
    o.chunk_size = (size_t)chunk;
    ck_assert_int_eq(hd_pool_new_opts("processes", 2, &o, &p), HD_OK);
    ck_assert_int_eq(hd_pool_map(p, "kill_two", &ml, 1, &r), HD_ETASK);
    ck_assert_uint_eq(hd_results_failed(r), 1);
    ck_assert_ptr_nonnull(strstr(hd_results_error(r, 2), "SIGKILL"));
    for (size_t i = 0; i < N; i++)
      if (i != 2)
        ck_assert_int_eq(int_of(hd_results_value(r, i)), (int64_t)i);
    hd_results_free(r);
    hd_pool_free(p);
  }
  unref_all(mv, N);

  hd_pool_opts_init(&o);
  o.retries = 1;
  ck_assert_int_eq(hd_pool_new_opts("processes", 2, &o, &p), HD_OK);
  ck_assert_int_eq(hd_pool_map(p, "flaky", &l, 1, &r), HD_OK);
  for (size_t i = 0; i < 6; i++)
    ck_assert_int_eq(int_of(hd_results_value(r, i)), (int64_t)i);
  hd_results_free(r);
  hd_pool_free(p);
  unref_all(v, 6);
  assert_no_children();
}
END_TEST

static void count_event(const hd_event *ev, void *data) {
  size_t *counts = data;
  if (ev->type == HD_EVENT_DONE && ev->index < 8 &&
      strncmp(ev->task, "map", 3) == 0 && strstr(ev->task, ":power[") != NULL)
    counts[ev->index]++;
}

START_TEST(pool_events_name_items) {
  size_t counts[8] = {0};
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.on_event = count_event;
  o.event_data = counts;
  int64_t xs[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  hd_value **v = ints(xs, 8);
  hd_list lists[] = {{v, 8}, {v, 8}};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &p), HD_OK);
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "power", lists, 2, &r), HD_OK);
  hd_results_free(r);
  for (int i = 0; i < 8; i++)
    ck_assert_uint_eq(counts[i], 1);
  hd_pool_free(p);
  unref_all(v, 8);
}
END_TEST

typedef struct from_event {
  hd_pool *p;
  int rc[4]; /* terminate, clear, join, map: what each returned */
  int calls;
} from_event;

/* Calls the pool it belongs to, once: each call is refused at once (the
 * run waits for this callback to return). */
static void call_own_pool(const hd_event *ev, void *data) {
  from_event *f = data;
  if (ev->type != HD_EVENT_DONE || f->calls++ != 0)
    return;
  hd_value *one = NULL;
  ck_assert_int_eq(hd_value_new_int(1, &one), HD_OK);
  hd_list l[] = {{&one, 1}, {&one, 1}};
  hd_results *r = NULL;
  f->rc[0] = hd_pool_terminate(f->p);
  f->rc[1] = hd_pool_clear(f->p);
  f->rc[2] = hd_pool_join(f->p);
  f->rc[3] = hd_pool_map(f->p, "power", l, 2, &r);
  hd_results_free(r);
  hd_value_unref(one);
}

/* A pool's on_event calling the pool (to stop it on a failure, say) is
 * refused with HD_ESTATE, as a task's call is; it hung. */
START_TEST(pool_calls_from_its_own_on_event_are_refused) {
  from_event f = {NULL, {0}, 0};
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.on_event = call_own_pool;
  o.event_data = &f;
  ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &f.p), HD_OK);
  int64_t xs[2] = {2, 3};
  hd_value **v = ints(xs, 2);
  hd_list lists[] = {{v, 2}, {v, 2}};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(f.p, "power", lists, 2, &r), HD_OK);
  hd_results_free(r);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(f.rc[i] == HD_ESTATE, "%s: call %d gave %s", backends[_i], i,
                  hd_err_name(f.rc[i]));
  hd_pool_free(f.p);
  unref_all(v, 2);
}
END_TEST

/* Keeps the names of DONE events of items 0 and 7. */
static void name_event(const hd_event *ev, void *data) {
  char(*names)[2][64] = data;
  if (ev->type == HD_EVENT_DONE && (ev->index == 0 || ev->index == 7))
    snprintf(names[0][ev->index == 7], 64, "%s", ev->task);
}

/* Calls of one shape, one after another (a run each): every one is right,
 * and events name each with its own call number, although the pool
 * reuses its plan. */
START_TEST(pool_calls_of_one_shape) {
  char names[1][2][64];
  memset(names, 0, sizeof(names));
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.chunk_size = 1;
  o.on_event = name_event;
  o.event_data = names;
  int64_t xs[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  hd_value **v = ints(xs, 8);
  hd_list lists[] = {{v, 8}, {v, 8}};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &p), HD_OK);
  for (int call = 1; call <= 3; call++) {
    hd_results *r;
    ck_assert_int_eq(hd_pool_map(p, "power", lists, 2, &r), HD_OK);
    for (size_t i = 0; i < 8; i++) {
      int64_t want = 1;
      for (int64_t k = 0; k < xs[i]; k++)
        want *= xs[i];
      ck_assert_int_eq(int_of(hd_results_value(r, i)), want);
    }
    hd_results_free(r);
    char want0[64], want7[64];
    snprintf(want0, sizeof(want0), "map%d:power[0]", call);
    snprintf(want7, sizeof(want7), "map%d:power[7]", call);
    ck_assert_str_eq(names[0][0], want0);
    ck_assert_str_eq(names[0][1], want7);
  }
  /* Another kind of call over as many items: also right. */
  hd_iter *it;
  ck_assert_int_eq(hd_pool_imap(p, "power", lists, 2, &it), HD_OK);
  for (size_t i = 0; i < 8; i++) {
    hd_value *x;
    ck_assert_int_eq(hd_iter_next(it, -1, NULL, &x), HD_OK);
    ck_assert_int_gt(int_of(x), 0);
    hd_value_unref(x);
  }
  hd_iter_free(it);
  ck_assert_str_eq(names[0][0], "imap4:power[0]");
  hd_pool_free(p);
  unref_all(v, 8);
  assert_no_children();
}
END_TEST

/* Results of every kind come back as they were made, in chunks (packed by
 * process workers) and one by one. */
START_TEST(pool_results_of_every_kind) {
  enum { N = 700 };
  int64_t xs[N];
  for (int i = 0; i < N; i++)
    xs[i] = i;
  hd_value **v = ints(xs, N);
  hd_list l = {v, N};
  for (size_t chunk = 0; chunk <= 1; chunk++) {
    hd_pool_opts o;
    hd_pool_opts_init(&o);
    o.chunk_size = chunk;
    hd_pool *p;
    ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &p), HD_OK);
    hd_results *r;
    ck_assert_int_eq(hd_pool_map(p, "kinds", &l, 1, &r), HD_OK);
    for (size_t i = 0; i < N; i++) {
      const hd_value *x = hd_results_value(r, i);
      ck_assert_ptr_nonnull(x);
      double d;
      char text[32];
      switch (i % 5) {
      case 0:
        ck_assert_int_eq(int_of(x), -(int64_t)i);
        break;
      case 1:
        ck_assert_int_eq(hd_value_get_double(x, &d), HD_OK);
        ck_assert(d == (double)i + 0.5);
        break;
      case 2:
        snprintf(text, sizeof(text), "item %zu", i);
        ck_assert_int_eq(hd_value_kind_of(x), HD_VALUE_TEXT);
        ck_assert_str_eq(hd_value_data(x), text);
        break;
      case 3:
        ck_assert_int_eq(hd_value_kind_of(x), HD_VALUE_BYTES);
        ck_assert_uint_eq(hd_value_size(x), i % 64);
        for (size_t k = 0; k < i % 64; k++)
          ck_assert_uint_eq(((const unsigned char *)hd_value_data(x))[k],
                            (unsigned char)i);
        break;
      default:
        ck_assert_int_eq(hd_value_kind_of(x), HD_VALUE_BYTES);
        ck_assert_uint_eq(hd_value_size(x), 0);
      }
    }
    hd_results_free(r);
    hd_pool_free(p);
  }
  unref_all(v, N);
  assert_no_children();
}
END_TEST

/* Iterators over many items, failures among them: every item once, in
 * order for imap, each failure with its own message. */
START_TEST(pool_iterators_over_many_items_with_failures) {
  enum { N = 3000 };
  int64_t *xs = malloc(N * sizeof(*xs));
  ck_assert_ptr_nonnull(xs);
  for (int i = 0; i < N; i++)
    xs[i] = i;
  hd_value **v = ints(xs, N);
  hd_list l = {v, N};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  for (int unordered = 0; unordered <= 1; unordered++) {
    hd_iter *it;
    ck_assert_int_eq(unordered ? hd_pool_uimap(p, "no_sevens", &l, 1, &it)
                               : hd_pool_imap(p, "no_sevens", &l, 1, &it),
                     HD_OK);
    unsigned char *seen = calloc(N, 1);
    ck_assert_ptr_nonnull(seen);
    size_t got = 0, idx;
    hd_value *x;
    int rc;
    while ((rc = hd_iter_next(it, 60, &idx, &x)) != HD_EEND) {
      ck_assert_uint_lt(idx, N);
      if (!unordered)
        ck_assert_uint_eq(idx, got);
      ck_assert_int_eq(seen[idx]++, 0);
      if (idx % 7 == 0) {
        char want[64];
        snprintf(want, sizeof(want), "%zu is a multiple of seven", idx);
        ck_assert_int_eq(rc, HD_ETASK);
        ck_assert_ptr_null(x);
        ck_assert_str_eq(hd_iter_error(it), want);
      } else {
        ck_assert_int_eq(rc, HD_OK);
        ck_assert_int_eq(int_of(x), 2 * (int64_t)idx);
        hd_value_unref(x);
      }
      got++;
    }
    ck_assert_uint_eq(got, N);
    ck_assert_int_eq(hd_iter_next(it, 0, NULL, NULL), HD_EEND);
    free(seen);
    hd_iter_free(it);
  }
  hd_pool_free(p);
  unref_all(v, N);
  free(xs);
  assert_no_children();
}
END_TEST

/* A chunk on threads that runs past its timeout fails as a whole: only
 * its items that had not ended run again, one task each, and only the
 * slow one fails; items whose results it had handed over ran once. */
START_TEST(pool_chunk_past_its_timeout_reruns_only_unfinished_items) {
  enum { N = 600 };
  memset(calls_per_item, 0, sizeof(calls_per_item));
  int64_t xs[N];
  for (int i = 0; i < N; i++)
    xs[i] = i;
  hd_value **v = ints(xs, N);
  hd_list l = {v, N};
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.chunk_size = N;
  o.timeout = 0.3;
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts("threads", 2, &o, &p), HD_OK);
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "counted", &l, 1, &r), HD_ETASK);
  ck_assert_uint_eq(hd_results_failed(r), 1);
  ck_assert_int_eq(hd_results_status(r, 300), HD_ETASK);
  ck_assert_ptr_nonnull(strstr(hd_results_error(r, 300), "timed out"));
  for (size_t i = 0; i < N; i++)
    if (i != 300)
      ck_assert_int_eq(int_of(hd_results_value(r, i)), (int64_t)i);
  ck_assert_int_eq(calls_per_item[0], 1);
  ck_assert_int_eq(calls_per_item[300], 2);
  ck_assert_int_eq(calls_per_item[N - 1], 1);
  hd_results_free(r);
  hd_pool_free(p);
  unref_all(v, N);
}
END_TEST

/* ThreadSanitizer cannot follow a thread started in a process forked
 * from a multithreaded one (a pool's dispatcher in a process worker), and
 * its allocator (gcc 12's) can be copied locked into a process forked
 * while another thread allocates: a worker forked by a processes pool in
 * a threads pool's task was seen stuck in __tsan::user_alloc_internal on
 * that lock. Those parts do not run under it. AddressSanitizer's
 * allocator (gcc 12's) has no fork handlers either: with two threads
 * pool tasks each forking a processes pool's workers, a worker was seen
 * stuck in LargeMmapAllocator::Allocate on a lock the other task's
 * thread held at the fork, about once in several thousand such maps (more often
 * under load). glibc's malloc and hodos's own locks are held across a fork
 * (core/fork.c), so an unsanitized build does not meet it; that part does not
 * run under AddressSanitizer when the outer pool is a threads pool. */
#if defined(__SANITIZE_THREAD__)
#define HD_TEST_TSAN 1
#else
#define HD_TEST_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__)
#define HD_TEST_ASAN 1
#else
#define HD_TEST_ASAN 0
#endif

START_TEST(pool_in_a_pool) {
  if (HD_TEST_TSAN && strcmp(backends[_i], "processes") == 0)
    return;
  const int64_t xs[] = {2, 3};
  hd_value **v = ints(xs, 2);
  hd_list l = {v, 2};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  /* Set before the pool's first call: a processes pool's workers, kept
     from call to call, see the program as it was when they were forked. */
  self_pool = p;
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "nested", &l, 1, &r), HD_OK);
  ck_assert_int_eq(int_of(hd_results_value(r, 0)), 8);  /* 2^2 + 2^2 */
  ck_assert_int_eq(int_of(hd_results_value(r, 1)), 54); /* 3^3 + 3^3 */
  hd_results_free(r);
  /* Process pools inside a pool's tasks, processes in processes too. */
  if (!HD_TEST_TSAN &&
      !(HD_TEST_ASAN && strcmp(backends[_i], "threads") == 0)) {
    ck_assert_int_eq(hd_pool_map(p, "nested_procs", &l, 1, &r), HD_OK);
    ck_assert_int_eq(int_of(hd_results_value(r, 0)), 8);
    ck_assert_int_eq(int_of(hd_results_value(r, 1)), 54);
    hd_results_free(r);
  }
  /* A task may not call the pool it runs in: that would wait forever. */
  hd_value *out;
  ck_assert_int_eq(hd_pool_pipe(p, "self", NULL, 0, &out, NULL), HD_OK);
  ck_assert_int_eq(int_of(out), HD_ESTATE);
  hd_value_unref(out);
  hd_pool_free(p);
  unref_all(v, 2);
  assert_no_children();
}
END_TEST

/* A call's per-item arrays are kept for the next call of the same size
 * (core/poolcall.c): the next call must find them as new, with no result,
 * state or message of the last one showing through. Failures at other
 * items from one call to the next, on map and on imap. */
START_TEST(pool_kept_arrays_start_empty) {
  int64_t *xs = malloc(2 * BIG_ITEMS * sizeof(*xs));
  ck_assert_ptr_nonnull(xs);
  for (size_t i = 0; i < 2 * BIG_ITEMS; i++)
    xs[i] = (int64_t)i;
  hd_value **v = ints(xs, 2 * BIG_ITEMS);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  for (int round = 0; round < 4; round++) {
    /* Items shifted by round: the multiples of 7 fall elsewhere. */
    hd_list l = {v + round, BIG_ITEMS};
    hd_results *r = NULL;
    hd_iter *it = NULL;
    if (round % 2 == 0) {
      ck_assert_int_eq(hd_pool_map(p, "no_sevens", &l, 1, &r), HD_ETASK);
    } else {
      ck_assert_int_eq(hd_pool_imap(p, "no_sevens", &l, 1, &it), HD_OK);
      size_t idx, got = 0;
      hd_value *out;
      int rc;
      while ((rc = hd_iter_next(it, -1, &idx, &out)) != HD_EEND) {
        ck_assert_uint_eq(idx, got++);
        size_t x = idx + (size_t)round;
        if (x % 7 == 0) {
          ck_assert_int_eq(rc, HD_ETASK);
          ck_assert_ptr_null(out);
          ck_assert_ptr_nonnull(strstr(hd_iter_error(it), "multiple of seven"));
        } else {
          ck_assert_int_eq(rc, HD_OK);
          ck_assert_int_eq(int_of(out), 2 * (int64_t)x);
          hd_value_unref(out);
        }
      }
      ck_assert_uint_eq(got, BIG_ITEMS);
      hd_iter_free(it);
      /* And a map after the iterator, whose arrays it finds kept. */
      ck_assert_int_eq(hd_pool_map(p, "no_sevens", &l, 1, &r), HD_ETASK);
    }
    size_t failed = 0;
    for (size_t i = 0; i < BIG_ITEMS; i++) {
      size_t x = i + (size_t)round;
      if (x % 7 == 0) {
        failed++;
        ck_assert_int_eq(hd_results_status(r, i), HD_ETASK);
        ck_assert_ptr_null(hd_results_value(r, i));
        ck_assert_ptr_nonnull(hd_results_error(r, i));
        char want[64];
        snprintf(want, sizeof(want), "%zu is a multiple of seven", x);
        ck_assert_ptr_nonnull(strstr(hd_results_error(r, i), want));
      } else {
        ck_assert_int_eq(hd_results_status(r, i), HD_OK);
        ck_assert_ptr_null(hd_results_error(r, i));
        ck_assert_int_eq(int_of(hd_results_value(r, i)), 2 * (int64_t)x);
      }
    }
    ck_assert_uint_eq(hd_results_failed(r), failed);
    hd_results_free(r);
  }
  hd_pool_free(p);
  unref_all(v, 2 * BIG_ITEMS);
  free(xs);
  assert_no_children();
}
END_TEST

/* A worker forked after calls left arrays kept in this process (some of
 * them not inherited by forks) runs a large call of its own there. */
START_TEST(pool_worker_forked_after_kept_arrays_makes_its_own) {
  if (HD_TEST_TSAN) /* threads in a forked worker: see pool_in_a_pool */
    return;
  int64_t *xs = malloc(BIG_ITEMS * sizeof(*xs));
  ck_assert_ptr_nonnull(xs);
  for (size_t i = 0; i < BIG_ITEMS; i++)
    xs[i] = (int64_t)i;
  hd_value **v = ints(xs, BIG_ITEMS);
  hd_list l = {v, BIG_ITEMS};
  hd_pool *t;
  ck_assert_int_eq(hd_pool_new("threads", 2, &t), HD_OK);
  hd_results *r = NULL;
  ck_assert_int_eq(hd_pool_map(t, "no_sevens", &l, 1, &r), HD_ETASK);
  hd_results_free(r); /* its arrays are kept now */
  hd_iter *it;
  ck_assert_int_eq(hd_pool_uimap(t, "no_sevens", &l, 1, &it), HD_OK);
  hd_iter_free(it); /* and an iterator's */
  /* Its call ended, before the fork below: under AddressSanitizer a fork
     while another thread allocates can leave the child's allocator
     locked (see pool_in_a_pool). */
  ck_assert_int_eq(hd_pool_join(t), HD_OK);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new("processes", 2, &p), HD_OK);
  hd_list one = {v, 2};
  ck_assert_int_eq(hd_pool_map(p, "big_inner", &one, 1, &r), HD_OK);
  for (size_t i = 0; i < 2; i++)
    ck_assert_int_eq(int_of(hd_results_value(r, i)), (BIG_ITEMS + 6) / 7);
  hd_results_free(r);
  hd_pool_free(p);
  hd_pool_free(t);
  unref_all(v, BIG_ITEMS);
  free(xs);
  assert_no_children();
}
END_TEST

/* A pool between calls uses no CPU: its dispatcher, kept threads and
 * kept workers look for the next call for well under a millisecond, then
 * sleep. Measured over 400 ms after an iterator and a map. */
START_TEST(pool_idle_between_calls_uses_no_cpu) {
  int64_t xs[1000];
  for (int i = 0; i < 1000; i++)
    xs[i] = i;
  hd_value **v = ints(xs, 1000);
  hd_list l = {v, 1000};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_iter *it;
  ck_assert_int_eq(hd_pool_imap(p, "no_three", &l, 1, &it), HD_OK);
  size_t n = 0;
  while (hd_iter_next(it, -1, NULL, NULL) != HD_EEND)
    n++;
  ck_assert_uint_eq(n, 1000);
  hd_iter_free(it);
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "no_three", &l, 1, &r), HD_ETASK);
  hd_results_free(r);
  struct timespec pause = {0, 20 * 1000 * 1000};
  nanosleep(&pause, NULL); /* past every spin */
  double before = test_cpu_seconds();
  struct timespec idle = {0, 400 * 1000 * 1000};
  nanosleep(&idle, NULL);
  double used = test_cpu_seconds() - before;
  ck_assert_msg(used < 0.04, "an idle %s pool used %.3f s of CPU in 0.4 s",
                backends[_i], used);
  hd_pool_free(p);
  unref_all(v, 1000);
}
END_TEST

/* An ssh pool's options: hosts needed, each with a name; copied, so
 * that the caller's may go; nodes counted from the hosts' slots. Nothing
 * is reached before a call (tests/ssh/pool.sh runs calls). */
START_TEST(pool_ssh_options) {
  hd_pool *p = (hd_pool *)1;
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  ck_assert_ptr_null(o.hosts);
  ck_assert_uint_eq(o.nhosts, 0);
  ck_assert_int_eq(hd_pool_new_opts("ssh", 0, &o, &p), HD_EINVAL);
  ck_assert_ptr_null(p);
  hd_host bad[1] = {{.host = NULL, .slots = 2}};
  o.hosts = bad;
  o.nhosts = 1;
  ck_assert_int_eq(hd_pool_new_opts("ssh", 0, &o, &p), HD_EINVAL);
  bad[0].host = "";
  ck_assert_int_eq(hd_pool_new_opts("ssh", 0, &o, &p), HD_EINVAL);
  o.hosts = NULL;
  ck_assert_int_eq(hd_pool_new_opts("ssh", 0, &o, &p), HD_EINVAL);

  char *name1 = strdup("h1"), *name2 = strdup("h2"), *cmd = strdup("w");
  hd_host *hosts = calloc(2, sizeof(hd_host));
  ck_assert_ptr_nonnull(hosts);
  hosts[0] = (hd_host){.host = name1, .slots = 2, .command = cmd};
  hosts[1] = (hd_host){.host = name2, .slots = 3};
  o.hosts = hosts;
  o.nhosts = 2;
  ck_assert_int_eq(hd_pool_new_opts("ssh", 0, &o, &p), HD_OK);
  /* The caller's array and strings go; the pool kept its own. */
  free(name1);
  free(name2);
  free(cmd);
  free(hosts);
  ck_assert_str_eq(hd_pool_backend(p), "ssh");
  ck_assert_uint_eq(hd_pool_nodes(p), 5);
  hd_pool_free(p);

  hd_host two[2] = {{.host = "h1", .slots = 2}, {.host = "h2", .slots = 3}};
  o.hosts = two;
  ck_assert_int_eq(hd_pool_new_opts("ssh", 3, &o, &p), HD_OK);
  ck_assert_uint_eq(hd_pool_nodes(p), 3);
  hd_pool_free(p);
  ck_assert_int_eq(hd_pool_new_opts("ssh", 9, &o, &p), HD_OK);
  ck_assert_uint_eq(hd_pool_nodes(p), 5); /* no more than the slots */
  hd_pool_free(p);
  /* A host without slots counts as one until a call learns its CPUs. */
  two[1].slots = 0;
  ck_assert_int_eq(hd_pool_new_opts("ssh", 0, &o, &p), HD_OK);
  ck_assert_uint_eq(hd_pool_nodes(p), 3);
  hd_pool_free(p);
  ck_assert_int_eq(hd_pool_new_opts("ssh", 9, &o, &p), HD_OK);
  ck_assert_uint_eq(hd_pool_nodes(p), 9);
  hd_pool_free(p);
}
END_TEST

START_TEST(pool_bad_arguments) {
  hd_pool *p = (hd_pool *)1;
  ck_assert_int_eq(hd_pool_new("no-such-backend", 2, &p), HD_ENOTSUP);
  /* An ssh pool without hosts is refused when made, not item by item. */
  ck_assert_int_eq(hd_pool_new("ssh", 2, &p), HD_EINVAL);
  ck_assert_ptr_null(p);
  ck_assert_int_eq(hd_pool_new("threads", 2, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_pool_new(NULL, 0, &p), HD_OK);
  ck_assert_str_eq(hd_pool_backend(p), "threads");
  ck_assert_uint_ge(hd_pool_nodes(p), 1);
  const int64_t xs[] = {1};
  hd_value **v = ints(xs, 1);
  hd_list l = {v, 1};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, NULL, &l, 1, &r), HD_EINVAL);
  ck_assert_int_eq(hd_pool_map(p, "", &l, 1, &r), HD_EINVAL);
  ck_assert_int_eq(hd_pool_map(p, "po\nwer", &l, 1, &r), HD_EINVAL);
  ck_assert_int_eq(hd_pool_map(p, "power", NULL, 1, &r), HD_EINVAL);
  ck_assert_int_eq(hd_pool_map(p, "power", &l, 0, &r), HD_EINVAL);
  hd_list holes = {NULL, 3};
  ck_assert_int_eq(hd_pool_map(p, "power", &holes, 1, &r), HD_EINVAL);
  ck_assert_int_eq(hd_pool_map(p, "power", &l, 1, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_pool_map(NULL, "power", &l, 1, &r), HD_EINVAL);
  ck_assert_int_eq(hd_iter_next(NULL, 0, NULL, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_future_wait(NULL, 0), HD_EINVAL);
  hd_pool_free(p);
  hd_pool_free(NULL);
  hd_iter_free(NULL);
  hd_future_free(NULL);
  hd_results_free(NULL);
  unref_all(v, 1);
}
END_TEST

/* Many items stream through one pool: every result is right. */
START_TEST(pool_many_items) {
  enum { N = 20000 };
  int64_t *xs = malloc(N * sizeof(*xs));
  ck_assert_ptr_nonnull(xs);
  for (int i = 0; i < N; i++)
    xs[i] = i % 1000;
  hd_value **v = ints(xs, N), **two = calloc(N, sizeof(*two));
  ck_assert_int_eq(hd_value_new_int(2, &two[0]), HD_OK);
  for (int i = 1; i < N; i++)
    two[i] = two[0];
  hd_list lists[] = {{v, N}, {two, N}};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_iter *it;
  ck_assert_int_eq(hd_pool_uimap(p, "power", lists, 2, &it), HD_OK);
  size_t got = 0, idx;
  hd_value *x;
  while (hd_iter_next(it, 60, &idx, &x) == HD_OK) {
    ck_assert_int_eq(int_of(x), xs[idx] * xs[idx]);
    hd_value_unref(x);
    got++;
  }
  ck_assert_uint_eq(got, N);
  hd_iter_free(it);
  hd_pool_free(p);
  hd_value_unref(two[0]);
  free(two);
  unref_all(v, N);
  free(xs);
  assert_no_children();
}
END_TEST

/* The distinct worker processes that ran a map of "pid" over n items
 * (chunks of one: each worker takes some), in pids[0..1]; returns how
 * many there were. */
static size_t worker_pids(hd_pool *p, hd_value **v, size_t n, pid_t pids[2]) {
  hd_list l = {v, n};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "pid", &l, 1, &r), HD_OK);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    pid_t pid = (pid_t)int_of(hd_results_value(r, i));
    ck_assert_int_ne(pid, getpid());
    if ((k < 1 || pids[0] != pid) && (k < 2 || pids[1] != pid)) {
      ck_assert_uint_lt(k, 2);
      pids[k++] = pid;
    }
  }
  hd_results_free(r);
  return k;
}

static int same_workers(const pid_t a[2], size_t na, const pid_t b[2],
                        size_t nb) {
  if (na != nb)
    return 0;
  for (size_t i = 0; i < na; i++)
    if (a[i] != b[0] && (nb < 2 || a[i] != b[1]))
      return 0;
  return 1;
}

/* A processes pool keeps its workers from call to call; a function
 * registered (or unregistered) since they were forked makes it fork new
 * ones, which know it; freeing the pool reaps them. */
START_TEST(pool_workers_outlive_calls) {
  int64_t xs[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  hd_value **v = ints(xs, 8);
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.chunk_size = 1;
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts("processes", 2, &o, &p), HD_OK);
  pid_t first[2], again[2], later[2];
  size_t nfirst = worker_pids(p, v, 8, first);
  ck_assert_uint_ge(nfirst, 1);
  /* Between calls the workers wait: they are this process's children. */
  for (size_t i = 0; i < nfirst; i++)
    ck_assert_int_eq(kill(first[i], 0), 0);
  size_t nagain = worker_pids(p, v, 8, again);
  ck_assert(same_workers(again, nagain, first, nfirst));
  /* A function registered after the workers were forked. */
  ck_assert_int_eq(hd_fn_register("late", fn_late, (void *)(intptr_t)100),
                   HD_OK);
  hd_list l = {v, 8};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "late", &l, 1, &r), HD_OK);
  for (size_t i = 0; i < 8; i++)
    ck_assert_int_eq(int_of(hd_results_value(r, i)), 108);
  hd_results_free(r);
  size_t nlater = worker_pids(p, v, 8, later);
  for (size_t i = 0; i < nlater; i++)
    for (size_t j = 0; j < nfirst; j++)
      ck_assert_int_ne(later[i], first[j]);
  /* Unregistered: the kept workers would still have it. */
  ck_assert_int_eq(hd_fn_unregister("late"), HD_OK);
  ck_assert_int_eq(hd_pool_map(p, "late", &l, 1, &r), HD_ETASK);
  ck_assert_uint_eq(hd_results_failed(r), 8);
  ck_assert_ptr_nonnull(strstr(hd_results_error(r, 0), "no function named"));
  hd_results_free(r);
  /* Automatic chunks, several calls, then free: nothing is left. */
  for (int k = 0; k < 5; k++) {
    hd_list two[] = {{v, 8}, {v, 8}};
    ck_assert_int_eq(hd_pool_map(p, "power", two, 2, &r), HD_OK);
    ck_assert_int_eq(int_of(hd_results_value(r, 3)), 27);
    hd_results_free(r);
  }
  hd_pool_free(p);
  assert_no_children();
  unref_all(v, 8);
}
END_TEST

/* A kept worker killed between two calls is replaced: the next call
 * gets every result. Closing a pool, then joining it, reaps its
 * workers. */
START_TEST(pool_worker_killed_between_calls_is_replaced) {
  int64_t xs[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  hd_value **v = ints(xs, 8);
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.chunk_size = 1;
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts("processes", 2, &o, &p), HD_OK);
  pid_t first[2], again[2];
  ck_assert_uint_ge(worker_pids(p, v, 8, first), 1);
  ck_assert_int_eq(kill(first[0], SIGKILL), 0);
  struct timespec ts = {0, 50 * 1000000L};
  nanosleep(&ts, NULL);
  for (int k = 0; k < 3; k++) {
    hd_list two[] = {{v, 8}, {v, 8}};
    hd_results *r;
    ck_assert_int_eq(hd_pool_map(p, "power", two, 2, &r), HD_OK);
    const int64_t want[8] = {1, 1, 4, 27, 256, 3125, 46656, 823543};
    for (size_t i = 0; i < 8; i++)
      ck_assert_int_eq(int_of(hd_results_value(r, i)), want[i]);
    hd_results_free(r);
  }
  size_t nagain = worker_pids(p, v, 8, again);
  for (size_t i = 0; i < nagain; i++)
    ck_assert_int_ne(again[i], first[0]);
  /* Closed and joined: the workers are gone before the pool is. */
  ck_assert_int_eq(hd_pool_close(p), HD_OK);
  ck_assert_int_eq(hd_pool_join(p), HD_OK);
  assert_no_children();
  hd_pool_free(p);
  unref_all(v, 8);
}
END_TEST

/* Arguments of every kind reach kept workers as they were, in chunks,
 * also when the function keeps a reference to them (its result here). */
START_TEST(pool_arguments_of_every_kind) {
  enum { N = 50 };
  hd_value *v[N];
  for (int i = 0; i < N; i++) {
    char text[32];
    switch (i % 5) {
    case 0:
      ck_assert_int_eq(hd_value_new_int(-i, &v[i]), HD_OK);
      break;
    case 1:
      ck_assert_int_eq(hd_value_new_double(i + 0.25, &v[i]), HD_OK);
      break;
    case 2:
      snprintf(text, sizeof(text), "arg %d", i);
      ck_assert_int_eq(hd_value_new_text(text, HD_NUL_TERMINATED, &v[i]),
                       HD_OK);
      break;
    case 3:
      memset(text, i, sizeof(text));
      ck_assert_int_eq(hd_value_new_bytes(text, (size_t)i % 32, &v[i]), HD_OK);
      break;
    default:
      ck_assert_int_eq(hd_value_new_bytes(NULL, 0, &v[i]), HD_OK);
    }
  }
  hd_list l = {v, N};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  for (int k = 0; k < 2; k++) {
    hd_results *r;
    ck_assert_int_eq(hd_pool_map(p, "echo", &l, 1, &r), HD_OK);
    for (int i = 0; i < N; i++)
      ck_assert(hd_value_equal(hd_results_value(r, (size_t)i), v[i]));
    hd_results_free(r);
  }
  hd_pool_free(p);
  for (int i = 0; i < N; i++)
    hd_value_unref(v[i]);
  assert_no_children();
}
END_TEST

/* Blocking calls on an idle pool of threads run in their caller's
 * thread: from the tasks of a graph run on threads, several at once on
 * one pool (the others wait their turn in the queue), each gets its own
 * results, and the graph's run goes on as before. */
START_TEST(pool_blocking_calls_from_graph_tasks) {
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  ck_assert_int_eq(hd_fn_register("uses_pool", fn_uses_pool, p), HD_OK);
  hd_graph *g;
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  enum { TASKS = 12 };
  for (int i = 0; i < TASKS; i++) {
    char name[16];
    snprintf(name, sizeof(name), "t%d", i);
    hd_node *n;
    ck_assert_int_eq(hd_graph_add_fn(g, name, "uses_pool", &n), HD_OK);
  }
  for (int round = 0; round < 3; round++) {
    hd_run_opts o;
    hd_run_opts_init(&o);
    o.backend = "threads";
    o.jobs = 3;
    hd_report *rep;
    ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
    for (size_t i = 0; i < TASKS; i++)
      ck_assert_int_eq(int_of(hd_report_result(rep, i)), 2470);
    hd_report_free(rep);
  }
  hd_graph_free(g);
  hd_pool_free(p);
  ck_assert_int_eq(hd_fn_unregister("uses_pool"), HD_OK);
  assert_no_children();
}
END_TEST

/* Many small calls in a row, blocking and not, of varying sizes: on
 * threads each run reuses the pool's kept threads (started by the first
 * run, joined by free), whichever thread runs it. */
START_TEST(pool_many_small_calls) {
  int64_t xs[64], twos[64];
  for (int i = 0; i < 64; i++) {
    xs[i] = i;
    twos[i] = 2;
  }
  hd_value **v = ints(xs, 64), **w = ints(twos, 64);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 3, &p), HD_OK);
  for (size_t k = 0; k < 300; k++) {
    size_t n = 1 + k % 64;
    hd_list lists[] = {{v, n}, {w, n}};
    const hd_results *r;
    hd_results *mine = NULL;
    hd_future *f = NULL;
    if (k % 3 == 0) {
      ck_assert_int_eq(hd_pool_amap(p, "power", lists, 2, &f), HD_OK);
      ck_assert_int_eq(hd_future_get(f, 30, &r), HD_OK);
    } else {
      ck_assert_int_eq(hd_pool_map(p, "power", lists, 2, &mine), HD_OK);
      r = mine;
    }
    ck_assert_uint_eq(hd_results_count(r), n);
    for (size_t i = 0; i < n; i++)
      ck_assert_int_eq(int_of(hd_results_value(r, i)), (int64_t)(i * i));
    hd_future_free(f);
    hd_results_free(mine);
  }
  hd_pool_free(p);
  unref_all(v, 64);
  unref_all(w, 64);
  assert_no_children();
}
END_TEST

/* A reader that waits for its next result without a time limit runs
 * items of its call itself on serial and threads (never on processes,
 * whose items run in the workers): each still comes once, imap's in
 * order, a failure with its index and message; a function it runs may
 * not call the pool either. */
START_TEST(pool_reader_runs_items_while_it_waits) {
  enum { N = 2000 };
  int64_t *xs = malloc(N * sizeof(*xs));
  ck_assert_ptr_nonnull(xs);
  for (int i = 0; i < N; i++)
    xs[i] = i;
  hd_value **v = ints(xs, N);
  hd_list l = {v, N};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  reader_thread = pthread_self();
  reader_pid = getpid();
  self_pool = p;
  int in_process = strcmp(backends[_i], "processes") != 0;
  for (int unordered = 0; unordered <= 1; unordered++) {
    hd_iter *it;
    ck_assert_int_eq(unordered ? hd_pool_uimap(p, "where", &l, 1, &it)
                               : hd_pool_imap(p, "where", &l, 1, &it),
                     HD_OK);
    unsigned char *seen = calloc(N, 1);
    ck_assert_ptr_nonnull(seen);
    size_t got = 0, here = 0, idx;
    hd_value *x;
    int rc;
    while ((rc = hd_iter_next(it, -1, &idx, &x)) != HD_EEND) {
      ck_assert_uint_lt(idx, N);
      if (!unordered)
        ck_assert_uint_eq(idx, got);
      ck_assert_int_eq(seen[idx]++, 0);
      if (idx % 7 == 0) {
        char want[64];
        snprintf(want, sizeof(want), "%zu is a multiple of seven", idx);
        ck_assert_int_eq(rc, HD_ETASK);
        ck_assert_ptr_null(x);
        ck_assert_str_eq(hd_iter_error(it), want);
      } else {
        ck_assert_int_eq(rc, HD_OK);
        int64_t r = int_of(x);
        ck_assert_int_eq(r / 2, (int64_t)idx);
        here += (size_t)(r % 2);
        hd_value_unref(x);
      }
      got++;
    }
    ck_assert_uint_eq(got, N);
    if (in_process)
      ck_assert_uint_gt(here, 0);
    else
      ck_assert_uint_eq(here, 0);
    free(seen);
    hd_iter_free(it);
  }
  /* Every item of "self" calls the pool it runs in, whichever thread
     runs it: refused. */
  hd_iter *it;
  ck_assert_int_eq(hd_pool_uimap(p, "self", &l, 1, &it), HD_OK);
  size_t got = 0;
  hd_value *x;
  while (hd_iter_next(it, -1, NULL, &x) == HD_OK) {
    ck_assert_int_eq(int_of(x), HD_ESTATE);
    hd_value_unref(x);
    got++;
  }
  ck_assert_uint_eq(got, N);
  hd_iter_free(it);
  hd_pool_free(p);
  unref_all(v, N);
  free(xs);
  assert_no_children();
}
END_TEST

/* Terminating a pool while its iterator's reader runs items: the reader
 * returns promptly, every item comes once, those not run cancelled. */
static void *terminate_soon(void *arg) {
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  hd_pool_terminate(arg);
  return NULL;
}

START_TEST(pool_terminate_while_the_reader_runs_items) {
  enum { N = 50000 };
  int64_t *xs = malloc(N * sizeof(*xs));
  ck_assert_ptr_nonnull(xs);
  for (int i = 0; i < N; i++)
    xs[i] = i;
  hd_value **v = ints(xs, N);
  hd_list l = {v, N};
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  reader_thread = pthread_self();
  reader_pid = getpid();
  hd_iter *it;
  ck_assert_int_eq(hd_pool_imap(p, "where", &l, 1, &it), HD_OK);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, terminate_soon, p), 0);
  size_t got = 0, cancelled = 0, wrong = 0, idx;
  hd_value *x;
  int rc;
  double t0 = now_s();
  /* Checked after the clock: a ck_assert costs a system call. */
  while ((rc = hd_iter_next(it, -1, &idx, &x)) != HD_EEND) {
    wrong += idx != got;
    cancelled += rc == HD_EINTR;
    hd_value_unref(x);
    got++;
  }
  /* 50000 items of 20 us on two workers take 0.5 s at least. */
  ck_assert_double_lt(now_s() - t0, 0.4);
  ck_assert_uint_eq(wrong, 0);
  ck_assert_uint_eq(got, N);
  ck_assert_uint_gt(cancelled, 0);
  pthread_join(th, NULL);
  hd_iter_free(it);
  hd_pool_free(p);
  unref_all(v, N);
  free(xs);
  assert_no_children();
}
END_TEST

/* Calls that other threads keep making on a pool (maps of sleepy items
 * of 2 ms), and what came of them. */
typedef struct looper {
  hd_pool *pool;
  hd_list lists[2];
  atomic_int stop;
  atomic_long ok;     /* calls that returned HD_OK */
  atomic_long closed; /* calls refused with HD_ESTATE */
} looper;

static void *loop_calls(void *arg) {
  looper *l = arg;
  while (!atomic_load(&l->stop)) {
    hd_results *r = NULL;
    int rc = hd_pool_map(l->pool, "sleepy", l->lists, 2, &r);
    hd_results_free(r);
    if (rc == HD_OK)
      atomic_fetch_add(&l->ok, 1);
    else if (rc == HD_ESTATE)
      atomic_fetch_add(&l->closed, 1);
  }
  return NULL;
}

/* Waits (up to 30 s) until the loopers' calls have succeeded more than
 * ok times, and says whether they did. */
static int loopers_go_on(looper *l, long ok) {
  for (double t0 = now_s(); now_s() - t0 < 30;) {
    if (atomic_load(&l->ok) > ok)
      return 1;
    struct timespec ts = {0, 1000000L};
    nanosleep(&ts, NULL);
  }
  return 0;
}

typedef struct failed_seen {
  pthread_mutex_t lock;
  int n;
  char name[64];
  char message[64];
} failed_seen;

static void keep_failed(const hd_event *ev, void *data) {
  failed_seen *f = data;
  if (ev->type != HD_EVENT_FAILED)
    return;
  pthread_mutex_lock(&f->lock);
  f->n++;
  snprintf(f->name, sizeof(f->name), "%s", ev->task);
  snprintf(f->message, sizeof(f->message), "%s",
           ev->message ? ev->message : "");
  pthread_mutex_unlock(&f->lock);
}

/* An item that fails in a chunk of several gets a FAILED event of its
 * own, named after it (its chunk's event is DONE). */
START_TEST(pool_item_failing_in_a_chunk_has_its_event) {
  failed_seen f = {.n = 0};
  pthread_mutex_init(&f.lock, NULL);
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.chunk_size = 4;
  o.on_event = keep_failed;
  o.event_data = &f;
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &p), HD_OK);
  int64_t xs[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  hd_value **v = ints(xs, 8);
  hd_list l = {v, 8};
  hd_results *r;
  ck_assert_int_eq(hd_pool_map(p, "no_three", &l, 1, &r), HD_ETASK);
  ck_assert_int_eq(hd_results_status(r, 2), HD_ETASK);
  hd_results_free(r);
  hd_pool_free(p);
  ck_assert_msg(f.n == 1, "%s: %d FAILED events", backends[_i], f.n);
  ck_assert_msg(strstr(f.name, ":no_three[2]") != NULL, "%s: named '%s'",
                backends[_i], f.name);
  ck_assert_str_eq(f.message, "three is not allowed");
  pthread_mutex_destroy(&f.lock);
  unref_all(v, 8);
}
END_TEST

static void *join_pool(void *arg) {
  hd_pool_join(arg);
  return NULL;
}

/* join waits for the calls made before it, not for one made while it
 * waits, though that one is queued behind a call it waits for (runs took
 * every queued call at once, and join waited for the whole run). */
START_TEST(pool_join_does_not_wait_for_calls_made_meanwhile) {
  int64_t xs[1] = {1}, slow[1] = {1500}, quick[1] = {10}, later[1] = {4000};
  hd_value **v = ints(xs, 1), **s0 = ints(slow, 1), **s1 = ints(quick, 1),
           **s2 = ints(later, 1);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 1, &p), HD_OK);
  hd_future *f0, *f1, *f2;
  hd_list l0[] = {{v, 1}, {s0, 1}}, l1[] = {{v, 1}, {s1, 1}},
          l2[] = {{v, 1}, {s2, 1}};
  ck_assert_int_eq(hd_pool_amap(p, "sleepy", l0, 2, &f0), HD_OK);
  ck_assert_int_eq(hd_pool_amap(p, "sleepy", l1, 2, &f1), HD_OK);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, join_pool, p), 0);
  struct timespec ts = {0, 300 * 1000000L}; /* the join waits by then */
  nanosleep(&ts, NULL);
  ck_assert_int_eq(hd_pool_amap(p, "sleepy", l2, 2, &f2), HD_OK);
  pthread_join(th, NULL);
  const hd_results *r;
  ck_assert_int_eq(hd_future_get(f1, 0, &r), HD_OK);
  ck_assert_msg(hd_future_get(f2, 0, &r) == HD_ETIMEDOUT,
                "%s: join waited for a call made after it", backends[_i]);
  ck_assert_int_eq(hd_future_get(f2, 30, &r), HD_OK);
  hd_future_free(f0);
  hd_future_free(f1);
  hd_future_free(f2);
  hd_pool_free(p);
  unref_all(v, 1);
  unref_all(s0, 1);
  unref_all(s1, 1);
  unref_all(s2, 1);
}
END_TEST

/* A long call made before clear, or before restart with force, ends
 * cancelled; join, clear and restart return while other threads keep
 * making calls (before, each waited until nothing ran, and so for ever),
 * and those calls are neither refused nor lost: they run after. */
START_TEST(pool_clear_join_restart_return_while_calls_go_on) {
  int64_t xs[4] = {1, 2, 3, 4}, ms[4] = {2, 2, 2, 2};
  int64_t longs[2] = {60000, 60000};
  hd_value **v = ints(xs, 4), **w = ints(ms, 4), **lw = ints(longs, 2);
  looper l = {.lists = {{v, 4}, {w, 4}}};
  atomic_init(&l.stop, 0);
  atomic_init(&l.ok, 0);
  atomic_init(&l.closed, 0);
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &l.pool), HD_OK);
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, loop_calls, &l), 0);
  ck_assert(loopers_go_on(&l, 2));

  double t0 = now_s();
  ck_assert_int_eq(hd_pool_join(l.pool), HD_OK);
  ck_assert(now_s() - t0 < 10);
  ck_assert(loopers_go_on(&l, atomic_load(&l.ok)));

  for (int force = 0; force < 2; force++) {
    /* A call made before: it would run for a minute. */
    hd_future *f;
    hd_list long_lists[] = {{v, 2}, {lw, 2}};
    ck_assert_int_eq(hd_pool_amap(l.pool, "sleepy", long_lists, 2, &f), HD_OK);
    t0 = now_s();
    if (force == 0)
      ck_assert_int_eq(hd_pool_clear(l.pool), HD_OK);
    else
      ck_assert_int_eq(hd_pool_restart(l.pool, 1), HD_OK);
    ck_assert(now_s() - t0 < 10);
    const hd_results *r;
    ck_assert_int_eq(hd_future_get(f, 10, &r), HD_EINTR);
    ck_assert_int_eq(hd_results_status(r, 0), HD_EINTR);
    hd_future_free(f);
    ck_assert(loopers_go_on(&l, atomic_load(&l.ok)));
  }
  atomic_store(&l.stop, 1);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  ck_assert_int_eq(atomic_load(&l.closed), 0);
  hd_pool_free(l.pool);
  unref_all(v, 4);
  unref_all(w, 4);
  unref_all(lw, 2);
  assert_no_children();
}
END_TEST

/* An item past its timeout fails with "timed out" whatever it returns,
 * also when it is the last of its chunk (before, its result was kept,
 * or it ended cancelled as if the pool had been terminated). */
START_TEST(pool_item_past_its_timeout_fails_last_in_its_chunk) {
  int64_t xs[8];
  for (int i = 0; i < 8; i++)
    xs[i] = i;
  hd_value **v = ints(xs, 8);
  hd_list l = {v, 8};
  hd_pool_opts o;
  hd_pool_opts_init(&o);
  o.chunk_size = 4; /* item 3 is the last of the first chunk */
  o.timeout = 1;    /* the other items take microseconds */
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &p), HD_OK);
  const char *fns[] = {"spin_three_ok", "spin_three_cancelled"};
  for (int k = 0; k < 2; k++) {
    hd_results *r;
    ck_assert_int_eq(hd_pool_map(p, fns[k], &l, 1, &r), HD_ETASK);
    ck_assert_uint_eq(hd_results_failed(r), 1);
    ck_assert_int_eq(hd_results_status(r, 3), HD_ETASK);
    ck_assert_ptr_null(hd_results_value(r, 3));
    ck_assert_ptr_nonnull(strstr(hd_results_error(r, 3), "timed out after"));
    for (size_t i = 0; i < 8; i++)
      if (i != 3)
        ck_assert_int_eq(int_of(hd_results_value(r, i)), (int64_t)i);
    hd_results_free(r);
  }
  hd_pool_free(p);
  unref_all(v, 8);
  assert_no_children();
}
END_TEST

/* The RETRIED events a pool sent: each one's task, item and attempt. */
typedef struct retried {
  pthread_mutex_t lock;
  size_t n;
  char task[8][32];
  size_t index[8];
  unsigned attempt[8];
  char message[8][64];
} retried;

static void keep_retried(const hd_event *ev, void *data) {
  retried *rt = data;
  if (ev->type != HD_EVENT_RETRIED)
    return;
  pthread_mutex_lock(&rt->lock);
  if (rt->n < 8) {
    snprintf(rt->task[rt->n], sizeof(rt->task[0]), "%s", ev->task);
    rt->index[rt->n] = ev->index;
    rt->attempt[rt->n] = ev->attempt;
    snprintf(rt->message[rt->n], sizeof(rt->message[0]), "%s",
             ev->message ? ev->message : "");
  }
  rt->n++;
  pthread_mutex_unlock(&rt->lock);
}

/* The RETRIED event of task's attempt, or -1. */
static int find_retried(retried *rt, const char *task, unsigned attempt) {
  for (size_t i = 0; i < rt->n && i < 8; i++)
    if (strcmp(rt->task[i], task) == 0 && rt->attempt[i] == attempt)
      return (int)i;
  return -1;
}

/* A function that fails an item in a chunk gets the pool's retries for
 * that item, which sees its attempt number and is reported RETRIED,
 * with chunks given (map, imap, pipe) or chosen automatically (before,
 * the item failed at once). */
START_TEST(pool_retries_apply_to_items_in_chunks) {
  enum { N = 20 };
  int64_t xs[N];
  for (int i = 0; i < N; i++)
    xs[i] = i;
  hd_value **v = ints(xs, N);
  hd_list l = {v, N};
  for (size_t chunk = 0; chunk <= 4; chunk += 4) {
    retried rt;
    memset(&rt, 0, sizeof(rt));
    pthread_mutex_init(&rt.lock, NULL);
    hd_pool_opts o;
    hd_pool_opts_init(&o);
    o.chunk_size = chunk; /* 0: 3 items per task here */
    o.retries = 2;
    o.on_event = keep_retried;
    o.event_data = &rt;
    hd_pool *p;
    ck_assert_int_eq(hd_pool_new_opts(backends[_i], 2, &o, &p), HD_OK);
    hd_results *r;
    ck_assert_int_eq(hd_pool_map(p, "attempts", &l, 1, &r), HD_ETASK);
    ck_assert_uint_eq(hd_results_failed(r), 1);
    for (size_t i = 0; i < N; i++)
      if (i != 5)
        ck_assert_int_eq(int_of(hd_results_value(r, i)), i == 2 ? 2 : 1);
    ck_assert_str_eq(hd_results_error(r, 5), "item 5 fails on attempt 3");
    hd_results_free(r);
    /* Item 2's first attempt and item 5's first two, no more. */
    ck_assert_uint_eq(rt.n, 3);
    int e = find_retried(&rt, "map1:attempts[2]", 1);
    ck_assert_int_ge(e, 0);
    ck_assert_uint_eq(rt.index[e], 2);
    ck_assert_str_eq(rt.message[e], "item 2 fails on its first attempt");
    ck_assert_int_ge(find_retried(&rt, "map1:attempts[5]", 1), 0);
    e = find_retried(&rt, "map1:attempts[5]", 2);
    ck_assert_int_ge(e, 0);
    ck_assert_str_eq(rt.message[e], "item 5 fails on attempt 2");

    hd_iter *it;
    ck_assert_int_eq(hd_pool_imap(p, "attempts", &l, 1, &it), HD_OK);
    for (size_t i = 0; i < N; i++) {
      size_t index;
      hd_value *x = NULL;
      int rc = hd_iter_next(it, -1, &index, &x);
      ck_assert_uint_eq(index, i);
      if (i == 5) {
        ck_assert_int_eq(rc, HD_ETASK);
        ck_assert_str_eq(hd_iter_error(it), "item 5 fails on attempt 3");
        continue;
      }
      ck_assert_int_eq(rc, HD_OK);
      ck_assert_int_eq(int_of(x), i == 2 ? 2 : 1);
      hd_value_unref(x);
    }
    hd_iter_free(it);

    hd_value *out = NULL;
    char *err = NULL;
    ck_assert_int_eq(hd_pool_pipe(p, "attempts", &v[2], 1, &out, &err), HD_OK);
    ck_assert_ptr_null(err);
    ck_assert_int_eq(int_of(out), 2);
    hd_value_unref(out);
    hd_pool_free(p);
    pthread_mutex_destroy(&rt.lock);
  }
  unref_all(v, N);
  assert_no_children();
}
END_TEST

/* Empty lists make a call of no items, whichever they are: {NULL, 0}
 * included (it gave HD_ENOMEM). */
START_TEST(pool_calls_over_empty_lists) {
  const int64_t xs[] = {1};
  hd_value **v = ints(xs, 1);
  hd_pool *p;
  ck_assert_int_eq(hd_pool_new(backends[_i], 2, &p), HD_OK);
  hd_list none = {NULL, 0}, zero = {v, 0};
  hd_list two[] = {{NULL, 0}, {NULL, 0}}, mixed[] = {{v, 1}, {NULL, 0}};
  const hd_list *cases[] = {&none, &zero, two, mixed};
  const size_t ncases[] = {1, 1, 2, 2};
  for (size_t k = 0; k < 4; k++) {
    hd_results *r = NULL;
    ck_assert_int_eq(hd_pool_map(p, "power", cases[k], ncases[k], &r), HD_OK);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(hd_results_count(r), 0);
    hd_results_free(r);
    hd_iter *it;
    ck_assert_int_eq(hd_pool_imap(p, "power", cases[k], ncases[k], &it), HD_OK);
    ck_assert_int_eq(hd_iter_next(it, -1, NULL, NULL), HD_EEND);
    hd_iter_free(it);
    hd_future *f;
    ck_assert_int_eq(hd_pool_amap(p, "power", cases[k], ncases[k], &f), HD_OK);
    const hd_results *fr;
    ck_assert_int_eq(hd_future_get(f, 10, &fr), HD_OK);
    ck_assert_uint_eq(hd_results_count(fr), 0);
    hd_future_free(f);
  }
  hd_pool_free(p);
  unref_all(v, 1);
  assert_no_children();
}
END_TEST

/* A timeout must be a number of seconds, as for a graph's node: not
 * negative, NaN or infinite (an infinite one failed every call). */
START_TEST(pool_bad_timeouts) {
  const double bad[] = {-1, -0.001, NAN, INFINITY, 2e9};
  for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
    hd_pool_opts o;
    hd_pool_opts_init(&o);
    o.timeout = bad[k];
    hd_pool *p = (hd_pool *)1;
    ck_assert_int_eq(hd_pool_new_opts("threads", 2, &o, &p), HD_EINVAL);
    ck_assert_ptr_null(p);
  }
  const double good[] = {0, 60, 1e9};
  for (size_t k = 0; k < sizeof(good) / sizeof(good[0]); k++) {
    hd_pool_opts o;
    hd_pool_opts_init(&o);
    o.timeout = good[k];
    hd_pool *p;
    ck_assert_int_eq(hd_pool_new_opts("threads", 2, &o, &p), HD_OK);
    hd_value *out = NULL;
    ck_assert_int_eq(hd_pool_pipe(p, "noargs", NULL, 0, &out, NULL), HD_OK);
    ck_assert_int_eq(int_of(out), 42);
    hd_value_unref(out);
    hd_pool_free(p);
  }
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("pool");
  TCase *tc = tcase_create("pool");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, pool_map_is_pathos_map, 0, 3);
  tcase_add_loop_test(tc, pool_calls_from_its_own_on_event_are_refused, 0, 3);
  tcase_add_loop_test(tc, pool_item_failing_in_a_chunk_has_its_event, 0, 3);
  tcase_add_loop_test(tc, pool_join_does_not_wait_for_calls_made_meanwhile, 0,
                      3);
  tcase_add_loop_test(tc, pool_failed_item_is_reported_and_others_kept, 0, 3);
  tcase_add_loop_test(tc, pool_imap_in_order_uimap_as_they_finish, 0, 3);
  tcase_add_loop_test(tc, pool_iterator_times_out_and_reports_failures, 0, 3);
  tcase_add_loop_test(tc, pool_amap_future_waits_with_timeout, 0, 3);
  tcase_add_loop_test(tc, pool_pipe_and_apipe, 0, 3);
  tcase_add_loop_test(tc, pool_chunks_keep_failures_per_item, 0, 3);
  tcase_add_loop_test(tc, pool_close_join_restart_clear, 0, 3);
  tcase_add_loop_test(tc, pool_terminate_stops_a_long_map, 0, 3);
  tcase_add_test(tc, pool_killed_worker_fails_only_its_item);
  tcase_add_test(tc, pool_workers_forked_while_functions_are_registered);
  tcase_add_loop_test(tc, pool_events_name_items, 0, 3);
  tcase_add_loop_test(tc, pool_in_a_pool, 0, 3);
  tcase_add_loop_test(tc, pool_kept_arrays_start_empty, 0, 3);
  tcase_add_loop_test(tc, pool_idle_between_calls_uses_no_cpu, 0, 3);
  tcase_add_test(tc, pool_worker_forked_after_kept_arrays_makes_its_own);
  tcase_add_test(tc, pool_bad_arguments);
  tcase_add_test(tc, pool_ssh_options);
  tcase_add_loop_test(tc, pool_many_items, 0, 3);
  tcase_add_loop_test(tc, pool_calls_of_one_shape, 0, 3);
  tcase_add_loop_test(tc, pool_results_of_every_kind, 0, 3);
  tcase_add_loop_test(tc, pool_iterators_over_many_items_with_failures, 0, 3);
  tcase_add_test(tc, pool_chunk_past_its_timeout_reruns_only_unfinished_items);
  tcase_add_test(tc, pool_workers_outlive_calls);
  tcase_add_test(tc, pool_worker_killed_between_calls_is_replaced);
  tcase_add_loop_test(tc, pool_arguments_of_every_kind, 0, 3);
  tcase_add_loop_test(tc, pool_blocking_calls_from_graph_tasks, 0, 3);
  tcase_add_loop_test(tc, pool_many_small_calls, 0, 3);
  tcase_add_loop_test(tc, pool_reader_runs_items_while_it_waits, 0, 3);
  tcase_add_loop_test(tc, pool_terminate_while_the_reader_runs_items, 0, 3);
  tcase_add_loop_test(tc, pool_clear_join_restart_return_while_calls_go_on, 0,
                      3);
  tcase_add_loop_test(tc, pool_item_past_its_timeout_fails_last_in_its_chunk, 0,
                      3);
  tcase_add_loop_test(tc, pool_retries_apply_to_items_in_chunks, 0, 3);
  tcase_add_loop_test(tc, pool_calls_over_empty_lists, 0, 3);
  tcase_add_test(tc, pool_bad_timeouts);
  suite_add_tcase(s, tc);
  return s;
}
