/* The threads backend: the same results as serial on large and odd
 * graphs, the failure policy, retries, timeouts, events and an idle pool
 * that sleeps. Also run under ThreadSanitizer (scripts/test with
 * HODOS_SANITIZE=thread). */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static hd_graph *g;

/* Output: 1 + the sum of the integer inputs, so that every node's result
 * depends on the whole graph above it. */
static int fn_acc(hd_task *t, void *data) {
  (void)data;
  int64_t total = 1;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    int64_t x;
    if (hd_value_get_int(hd_task_input(t, i), &x) != HD_OK)
      return hd_task_fail(t, "input %zu is not an integer", i);
    total = (total + x) % 1000000007;
  }
  hd_value *v;
  if (hd_value_new_int(total, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

static int fn_fail(hd_task *t, void *data) {
  (void)data;
  return hd_task_fail(t, "no");
}

static atomic_int flaky_calls;
static int fn_flaky(hd_task *t, void *data) {
  (void)data;
  atomic_fetch_add(&flaky_calls, 1);
  if (hd_task_attempt(t) < 3)
    return hd_task_fail(t, "attempt %u fails", hd_task_attempt(t));
  return HD_OK;
}

static int fn_sleep(hd_task *t, void *data) {
  (void)t;
  (void)data;
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return HD_OK;
}

static int fn_slow_cooperative(hd_task *t, void *data) {
  (void)data;
  for (int i = 0; i < 1000 && !hd_task_cancelled(t); i++) {
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return HD_OK;
}

static int fn_nap(hd_task *t, void *data) {
  (void)t;
  (void)data;
  struct timespec ts = {0, 2 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return HD_OK;
}

/* Output: 4 KiB whose first 8 bytes are 1 + the sum of the inputs' first
 * 8 bytes, the rest a pattern made from that sum (compressible, so that
 * results held under a memory limit are compressed, then spilled). */
static int fn_blob(hd_task *t, void *data) {
  (void)data;
  uint64_t total = 1;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    const hd_value *in = hd_task_input(t, i);
    uint64_t x;
    if (hd_value_size(in) != 4096)
      return hd_task_fail(t, "input %zu has %zu bytes", i, hd_value_size(in));
    memcpy(&x, hd_value_data(in), sizeof(x));
    total = (total + x) % 1000000007u;
  }
  unsigned char buf[4096];
  memcpy(buf, &total, sizeof(total));
  for (size_t k = sizeof(total); k < sizeof(buf); k++)
    buf[k] = (unsigned char)(total >> (k % 4 * 8)) & 0x3f;
  hd_value *v;
  if (hd_value_new_bytes(buf, sizeof(buf), &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

/* fn_acc, except that node n<i> fails when i % 17 == 5, and fails its
 * first attempt when i % 13 == 7 (those nodes have a retry). */
static int fn_acc_or_fail(hd_task *t, void *data) {
  size_t i = (size_t)strtoul(hd_task_name(t) + 1, NULL, 10);
  if (i % 17 == 5)
    return hd_task_fail(t, "n%zu fails", i);
  if (i % 13 == 7 && hd_task_attempt(t) == 1)
    return hd_task_fail(t, "n%zu fails once", i);
  return fn_acc(t, data);
}

/* Records the order in which nodes n<i> start. */
static atomic_size_t start_seq;
static size_t start_order[4096];
static int fn_record_order(hd_task *t, void *data) {
  (void)data;
  size_t i = (size_t)strtoul(hd_task_name(t) + 1, NULL, 10);
  if (i < 4096)
    start_order[i] = atomic_fetch_add(&start_seq, 1);
  return HD_OK;
}

static void setup(void) {
  hd_fn_register("blob", fn_blob, NULL);
  hd_fn_register("record_order", fn_record_order, NULL);
  hd_fn_register("acc_or_fail", fn_acc_or_fail, NULL);
  hd_fn_register("acc", fn_acc, NULL);
  hd_fn_register("fail", fn_fail, NULL);
  hd_fn_register("flaky", fn_flaky, NULL);
  hd_fn_register("sleep", fn_sleep, NULL);
  hd_fn_register("slow", fn_slow_cooperative, NULL);
  hd_fn_register("nap", fn_nap, NULL);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
}

static void teardown(void) {
  hd_graph_free(g);
  g = NULL;
}

static hd_node **add_nodes(size_t n, const char *fn) {
  hd_node **nodes = calloc(n, sizeof(*nodes));
  char name[32];
  for (size_t i = 0; i < n; i++) {
    snprintf(name, sizeof(name), "n%zu", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, fn, &nodes[i]), HD_OK);
  }
  return nodes;
}

/* Run the graph on backend with jobs workers (keep_going as given),
 * expecting the run's status expect. */
static hd_report *run_keep(const char *backend, unsigned jobs, int keep_going,
                           int expect) {
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backend;
  o.jobs = jobs;
  o.keep_going = keep_going;
  hd_report *r = NULL;
  ck_assert_int_eq(hd_run(g, &o, &r), expect);
  return r;
}

static hd_report *run_with(const char *backend, unsigned jobs, int expect) {
  return run_keep(backend, jobs, 0, expect);
}

/* Times of tasks a worker takes one after another: a task taken at once
 * after another starts where that one ended (one clock read per task),
 * so each still lasts its 2 ms of work, and a worker's tasks never
 * overlap. */
START_TEST(threads_times_of_tasks_taken_one_after_another) {
  hd_node **n = add_nodes(40, "nap");
  for (int i = 1; i < 20; i++) /* a chain, and 20 tasks after one */
    ck_assert_int_eq(hd_node_after(n[i], n[i - 1]), HD_OK);
  for (int i = 21; i < 40; i++)
    ck_assert_int_eq(hd_node_after(n[i], n[20]), HD_OK);
  free(n);
  const char *backends[] = {"serial", "threads", "threads"};
  unsigned jobs[] = {1, 1, 2};
  for (int b = 0; b < 3; b++) {
    hd_report *r = run_with(backends[b], jobs[b], HD_OK);
    hd_task_info ti[40];
    for (size_t i = 0; i < 40; i++) {
      ck_assert_int_eq(hd_report_task(r, i, &ti[i]), HD_OK);
      ck_assert_uint_ge(ti[i].end_ns - ti[i].start_ns, 2000000);
    }
    for (size_t i = 0; i < 40; i++)
      for (size_t k = 0; k < 40; k++)
        if (k != i && ti[k].worker == ti[i].worker)
          ck_assert(ti[k].end_ns <= ti[i].start_ns ||
                    ti[i].end_ns <= ti[k].start_ns);
    hd_report_free(r);
  }
}
END_TEST

/* A fan-out wide enough that the run's deques and held-results index are
 * large mappings, reserved and populated as they fill: every task runs
 * once, after its source and before the sink, which sees them all. */
static atomic_int fan_ran;
static int fn_fan(hd_task *t, void *data) {
  (void)t;
  (void)data;
  atomic_fetch_add(&fan_ran, 1);
  return HD_OK;
}

START_TEST(threads_wide_fanout) {
  enum { N = 140000 }; /* deques of 2^18 slots: 1 MiB, reserved */
  ck_assert_int_eq(hd_fn_register("fan", fn_fan, NULL), HD_OK);
  hd_node *src, *sink, *mid;
  ck_assert_int_eq(hd_graph_add_fn(g, "src", "fan", &src), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "sink", "fan", &sink), HD_OK);
  for (int i = 0; i < N; i++) {
    char name[16];
    snprintf(name, sizeof(name), "m%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "fan", &mid), HD_OK);
    ck_assert_int_eq(hd_node_after(mid, src), HD_OK);
    ck_assert_int_eq(hd_node_after(sink, mid), HD_OK);
  }
  for (unsigned jobs = 1; jobs <= 2; jobs++) {
    atomic_store(&fan_ran, 0);
    hd_report *r = run_with("threads", jobs, HD_OK);
    ck_assert_int_eq(atomic_load(&fan_ran), N + 2);
    ck_assert_uint_eq(hd_report_count(r, HD_STATE_DONE), N + 2);
    hd_task_info s, k;
    ck_assert_int_eq(hd_report_task(r, 0, &s), HD_OK);
    ck_assert_int_eq(hd_report_task(r, 1, &k), HD_OK);
    ck_assert_uint_ge(k.start_ns, s.end_ns);
    hd_report_free(r);
  }
  hd_fn_unregister("fan");
}
END_TEST

/* A worker may hold back its decrements of a wide fan-in's join counter
 * while it runs other dependencies of that node (sched.c), never while it
 * runs anything else. Here X makes 200 tasks A ready whose one dependent
 * is S, and U (300 ms, not leading to S), which its worker takes first
 * after the A it runs at once; B, S's other dependency, ends at 50 ms on
 * the other worker, which then runs the other A. S must start then, not
 * after U: the A run before U is counted when U starts. */
static int fn_b50(hd_task *t, void *data) {
  (void)t;
  (void)data;
  struct timespec ts = {0, 50 * 1000 * 1000};
  nanosleep(&ts, NULL);
  return HD_OK;
}

START_TEST(threads_fan_in_is_not_held_back_by_other_work) {
  enum { AS = 200 };
  ck_assert_int_eq(hd_fn_register("b50", fn_b50, NULL), HD_OK);
  hd_node *x, *a, *u, *b, *sn;
  ck_assert_int_eq(hd_graph_add_fn(g, "x", "acc", &x), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "b", "b50", &b), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "s", "nap", &sn), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "u", "sleep", &u), HD_OK);
  ck_assert_int_eq(hd_node_after(sn, b), HD_OK);
  for (int i = 0; i < AS; i++) {
    char name[16];
    snprintf(name, sizeof(name), "a%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "acc", &a), HD_OK);
    ck_assert_int_eq(hd_node_after(a, x), HD_OK);
    ck_assert_int_eq(hd_node_after(sn, a), HD_OK);
  }
  /* Pushed last, so taken first by the worker that ran X. */
  ck_assert_int_eq(hd_node_after(u, x), HD_OK);
  for (int round = 0; round < 3; round++) {
    hd_report *r = run_with("threads", 2, HD_OK);
    hd_task_info tb, ts, tu;
    ck_assert_int_eq(hd_report_task(r, 1, &tb), HD_OK);
    ck_assert_int_eq(hd_report_task(r, 2, &ts), HD_OK);
    ck_assert_int_eq(hd_report_task(r, 3, &tu), HD_OK);
    ck_assert_uint_ge(ts.start_ns, tb.end_ns);
    for (size_t i = 0; i < AS; i++) {
      hd_task_info ta;
      ck_assert_int_eq(hd_report_task(r, 4 + i, &ta), HD_OK);
      ck_assert_uint_ge(ts.start_ns, ta.end_ns);
    }
    /* Well before U's end: S was ready once B and the A had ended. */
    ck_assert_uint_lt(ts.start_ns + 100 * 1000 * 1000, tu.end_ns);
    hd_report_free(r);
  }
  hd_fn_unregister("b50");
}
END_TEST

/* Fan-ins side by side on 2 and 4 workers: tasks whose one dependent is
 * one of several sinks, taken in an order that mixes them, so that a
 * worker's held decrements change node often. Every sink runs after all
 * of its dependencies, and the run ends. */
static atomic_int mix_ran;
static int fn_mix(hd_task *t, void *data) {
  (void)data;
  atomic_fetch_add(&mix_ran, 1);
  hd_value *v;
  if (hd_value_new_int((int64_t)hd_task_input_count(t), &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

START_TEST(threads_fan_ins_side_by_side) {
  enum { SINKS = 7, MIDS = 20000 };
  ck_assert_int_eq(hd_fn_register("mix", fn_mix, NULL), HD_OK);
  hd_node *src, *sinks[SINKS], *mid;
  ck_assert_int_eq(hd_graph_add_fn(g, "src", "mix", &src), HD_OK);
  for (int k = 0; k < SINKS; k++) {
    char name[16];
    snprintf(name, sizeof(name), "sink%d", k);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "mix", &sinks[k]), HD_OK);
  }
  for (int i = 0; i < MIDS; i++) {
    char name[16];
    snprintf(name, sizeof(name), "m%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "mix", &mid), HD_OK);
    ck_assert_int_eq(hd_node_after(mid, src), HD_OK);
    /* Runs of three to one sink, then the next; every 11th to two. */
    ck_assert_int_eq(hd_node_before(mid, sinks[(i / 3) % SINKS]), HD_OK);
    if (i % 11 == 0)
      ck_assert_int_eq(hd_node_before(mid, sinks[(i / 3 + 1) % SINKS]), HD_OK);
  }
  for (unsigned jobs = 2; jobs <= 4; jobs += 2) {
    atomic_store(&mix_ran, 0);
    hd_report *r = run_with("threads", jobs, HD_OK);
    ck_assert_int_eq(atomic_load(&mix_ran), 1 + SINKS + MIDS);
    ck_assert_uint_eq(hd_report_count(r, HD_STATE_DONE), 1 + SINKS + MIDS);
    for (int k = 0; k < SINKS; k++) {
      hd_task_info ti;
      ck_assert_int_eq(hd_report_task(r, 1 + (size_t)k, &ti), HD_OK);
      for (int i = 0; i < MIDS; i++)
        if ((i / 3) % SINKS == k || (i % 11 == 0 && (i / 3 + 1) % SINKS == k)) {
          hd_task_info tm;
          ck_assert_int_eq(hd_report_task(r, 1 + SINKS + (size_t)i, &tm),
                           HD_OK);
          ck_assert_uint_ge(ti.start_ns, tm.end_ns);
        }
    }
    hd_report_free(r);
  }
  hd_fn_unregister("mix");
}
END_TEST

/* A plan keeps the memory of its next run (task states, join counters)
 * and hands it from run to run: a run after one that failed starts with
 * every task pending again, a run while another run's report is alive
 * gets its own, and the reports outlive the plan. */
static atomic_int fail_runs; /* "sometimes" fails while this is nonzero */
static int fn_sometimes(hd_task *t, void *data) {
  (void)data;
  if (atomic_load(&fail_runs))
    return hd_task_fail(t, "failing this run");
  return fn_acc(t, NULL);
}

static void expect_clean_run(hd_report *r, size_t n) {
  ck_assert_int_eq(hd_report_status(r), HD_OK);
  for (size_t i = 0; i < n; i++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(r, i, &ti), HD_OK);
    ck_assert_int_eq(ti.state, HD_STATE_DONE);
    ck_assert_uint_eq(ti.attempts, 1);
    ck_assert_ptr_null(ti.message);
    ck_assert_uint_ge(ti.end_ns, ti.start_ns);
    int64_t x;
    ck_assert_int_eq(hd_value_get_int(hd_report_result(r, i), &x), HD_OK);
    ck_assert_int_eq(x, (int64_t)i + 1); /* a chain of "acc" */
  }
}

START_TEST(threads_a_plan_run_again_starts_afresh) {
  enum { N = 300 };
  ck_assert_int_eq(hd_fn_register("sometimes", fn_sometimes, NULL), HD_OK);
  hd_node **n = add_nodes(N, "acc");
  hd_node *odd;
  ck_assert_int_eq(hd_graph_add_fn(g, "odd", "sometimes", &odd), HD_OK);
  for (int i = 1; i < N; i++)
    ck_assert_int_eq(hd_node_after(n[i], n[i - 1]), HD_OK);
  ck_assert_int_eq(hd_node_set_retries(odd, 1), HD_OK);
  ck_assert_int_eq(hd_node_after(odd, n[N - 1]), HD_OK);
  free(n);
  hd_plan *plan;
  ck_assert_int_eq(hd_plan_new(g, &plan), HD_OK);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "threads";
  o.jobs = 2;
  for (int round = 0; round < 2; round++) {
    /* A run that fails at the end, its report kept... */
    atomic_store(&fail_runs, 1);
    hd_report *failed, *ok, *again;
    ck_assert_int_eq(hd_plan_run(plan, &o, &failed), HD_ETASK);
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(failed, N, &ti), HD_OK);
    ck_assert_int_eq(ti.state, HD_STATE_FAILED);
    ck_assert_uint_eq(ti.attempts, 2);
    ck_assert_str_eq(ti.message, "failing this run");
    /* ...another while it is alive... */
    atomic_store(&fail_runs, 0);
    ck_assert_int_eq(hd_plan_run(plan, &o, &ok), HD_OK);
    expect_clean_run(ok, N + 1);
    /* ...and one in the memory the failed run had. */
    hd_report_free(failed);
    ck_assert_int_eq(hd_plan_run(plan, &o, &again), HD_OK);
    expect_clean_run(again, N + 1);
    expect_clean_run(ok, N + 1);
    hd_report_free(ok);
    if (round == 1)
      hd_plan_free(plan); /* the report holds the plan */
    expect_clean_run(again, N + 1);
    hd_report_free(again);
  }
  hd_fn_unregister("sometimes");
}
END_TEST

/* Runs of one plan from several threads at once, each keeping its last
 * report alive while it runs the next: the plan's spare memory goes to
 * one run at a time, and every report is right. */
typedef struct runner {
  hd_plan *plan;
  const char *backend;
  int ok;
} runner;

static void *run_plan_again_and_again(void *arg) {
  runner *a = arg;
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = a->backend;
  o.jobs = 2;
  hd_report *last = NULL;
  a->ok = 1;
  for (int k = 0; k < 25 && a->ok; k++) {
    hd_report *r = NULL;
    if (hd_plan_run(a->plan, &o, &r) != HD_OK)
      a->ok = 0;
    for (size_t i = 0; i < 200 && a->ok; i++) {
      int64_t x;
      if (hd_value_get_int(hd_report_result(r, i), &x) != HD_OK ||
          x != (int64_t)i + 1)
        a->ok = 0;
    }
    hd_report_free(k % 2 ? last : r); /* free this one or the one before */
    last = k % 2 ? r : last;
  }
  hd_report_free(last);
  return NULL;
}

START_TEST(threads_one_plan_run_from_several_threads_at_once) {
  hd_node **n = add_nodes(200, "acc");
  for (int i = 1; i < 200; i++)
    ck_assert_int_eq(hd_node_after(n[i], n[i - 1]), HD_OK);
  free(n);
  hd_plan *plan;
  ck_assert_int_eq(hd_plan_new(g, &plan), HD_OK);
  pthread_t t[4];
  runner a[4];
  for (int i = 0; i < 4; i++) {
    a[i] = (runner){plan, i % 2 ? "serial" : "threads", 0};
    ck_assert_int_eq(
        pthread_create(&t[i], NULL, run_plan_again_and_again, &a[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ck_assert(a[i].ok);
  }
  hd_plan_free(plan);
}
END_TEST

/* Task times are on CLOCK_MONOTONIC's scale whichever clock the workers
 * read: each task's function reads CLOCK_MONOTONIC, and that reading
 * falls between the task's start and end (within 2 us), in
 * chains long enough that the workers' clocks renew their anchors, with
 * tasks that last past an anchor's span among them. */
#define STAMPS 4000
static uint64_t stamp_ns[STAMPS];
static int fn_stamp(hd_task *t, void *data) {
  (void)data;
  size_t i = (size_t)strtoul(hd_task_name(t) + 1, NULL, 10);
  if (i % 500 == 7) { /* now and then, a task of 200 us */
    struct timespec nap = {0, 200 * 1000};
    nanosleep(&nap, NULL);
  }
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  stamp_ns[i] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  return HD_OK;
}

START_TEST(threads_task_times_are_on_the_monotonic_clock) {
  ck_assert_int_eq(hd_fn_register("stamp", fn_stamp, NULL), HD_OK);
  hd_node **n = add_nodes(STAMPS, "stamp");
  for (int i = 1; i < STAMPS; i++)
    if (i % 2000 != 0) /* two chains */
      ck_assert_int_eq(hd_node_after(n[i], n[i - 1]), HD_OK);
  free(n);
  const uint64_t slack = 2000;
  for (unsigned jobs = 1; jobs <= 2; jobs++) {
    hd_report *r = run_with("threads", jobs, HD_OK);
    for (size_t i = 0; i < STAMPS; i++) {
      hd_task_info ti;
      ck_assert_int_eq(hd_report_task(r, i, &ti), HD_OK);
      ck_assert_uint_le(ti.start_ns, stamp_ns[i] + slack);
      ck_assert_uint_ge(ti.end_ns + slack, stamp_ns[i]);
      ck_assert_uint_ge(ti.end_ns, ti.start_ns);
      if (i % 2000 != 0) {
        hd_task_info before;
        ck_assert_int_eq(hd_report_task(r, i - 1, &before), HD_OK);
        ck_assert_uint_ge(ti.start_ns, before.end_ns);
      }
    }
    hd_report_free(r);
  }
  hd_fn_unregister("stamp");
}
END_TEST

/* A worker's clock, read back to back with CLOCK_MONOTONIC for 20 ms
 * (past the counter's calibration and many anchor renewals): it never
 * goes back, and stays within 2 us of the clock. */
START_TEST(threads_worker_clock_follows_the_monotonic_clock) {
  hd__tclock c;
  memset(&c, 0, sizeof(c));
  uint64_t first = hd__now_ns(), last = 0, worst = 0;
  size_t reads = 0;
  for (uint64_t now = first; now - first < 20000000u; reads++) {
    uint64_t before = hd__now_ns();
    uint64_t t = hd__tclock_now(&c);
    now = hd__now_ns();
    ck_assert_uint_ge(t, last);
    last = t;
    /* t was read between before and now. */
    uint64_t off = t < before ? before - t : t > now ? t - now : 0;
    if (off > worst)
      worst = off;
  }
  ck_assert_uint_gt(reads, 1000);
  ck_assert_uint_le(worst, 2000);
}
END_TEST

/* Task i's result is the same in both reports. */
static void same_result(const hd_report *ref, const hd_report *r, size_t i,
                        unsigned jobs) {
  ck_assert_msg(
      hd_value_equal(hd_report_result(ref, i), hd_report_result(r, i)),
      "task %zu differs with %u workers", i, jobs);
}

/* Run on serial and on threads with 1..4 workers; every result equal. */
static void compare_backends(void) {
  hd_report *ref = run_with("serial", 1, HD_OK);
  for (unsigned jobs = 1; jobs <= 4; jobs++) {
    hd_report *r = run_with("threads", jobs, HD_OK);
    ck_assert_uint_eq(hd_report_count(r, HD_STATE_DONE),
                      hd_report_task_count(ref));
    for (size_t i = 0; i < hd_report_task_count(ref); i++)
      same_result(ref, r, i, jobs);
    hd_report_free(r);
  }
  hd_report_free(ref);
}

START_TEST(threads_random_dag_matches_serial) {
  size_t n = 20000;
  hd_node **nodes = add_nodes(n, "acc");
  srand(7);
  for (size_t i = 1; i < n; i++)
    for (int k = 0; k < 4; k++)
      hd_node_after(nodes[i], nodes[(size_t)rand() % i]);
  free(nodes);
  compare_backends();
}
END_TEST

/* Under memory limits most results are compressed or spilled when they
 * end, and read back for the tasks after them: the same results as
 * serial with every result kept as it is. */
START_TEST(threads_results_held_under_memory_limits) {
  size_t n = 400;
  hd_node **nodes = add_nodes(n, "blob");
  srand(11);
  for (size_t i = 1; i < n; i++)
    for (int k = 0; k < 3; k++)
      hd_node_after(nodes[i], nodes[(size_t)rand() % i]);
  free(nodes);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.mem_limit = HD_MEM_UNLIMITED;
  hd_report *ref = NULL;
  ck_assert_int_eq(hd_run(g, &o, &ref), HD_OK);
  for (unsigned jobs = 1; jobs <= 3; jobs++) {
    o.backend = "threads";
    o.jobs = jobs;
    o.mem_limit = 16 * 1024;
    o.spill_limit = 64 * 1024;
    hd_report *r = NULL;
    ck_assert_int_eq(hd_run(g, &o, &r), HD_OK);
    for (size_t i = 0; i < n; i++)
      same_result(ref, r, i, jobs);
    hd_report_free(r);
  }
  hd_report_free(ref);
}
END_TEST

static void *read_all_results(void *arg) {
  hd_report *r = arg;
  for (size_t i = 0; i < hd_report_task_count(r); i++)
    ck_assert_ptr_nonnull(hd_report_result(r, i));
  return NULL;
}

/* Held results read back from several threads at once, as documented
 * (a restore wrote a task's flags while another thread read them). */
START_TEST(threads_held_results_read_from_several_threads) {
  size_t n = 300;
  hd_node **nodes = add_nodes(n, "blob");
  free(nodes);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "threads";
  o.jobs = 2;
  o.mem_limit = 4 * 1024;
  o.spill_limit = 16 * 1024;
  hd_report *r = NULL;
  ck_assert_int_eq(hd_run(g, &o, &r), HD_OK);
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, read_all_results, r), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  hd_report_free(r);
}
END_TEST

/* With failures, retries and keep_going, every task ends as on serial
 * (done with the same result, failed, or skipped), on 1 to 4 workers. */
START_TEST(threads_random_failures_match_serial) {
  size_t n = 5000;
  hd_node **nodes = add_nodes(n, "acc_or_fail");
  srand(13);
  for (size_t i = 1; i < n; i++) {
    int k = rand() % 4;
    for (int j = 0; j < k; j++)
      hd_node_after(nodes[i], nodes[(size_t)rand() % i]);
    if (i % 13 == 7)
      hd_node_set_retries(nodes[i], 1);
  }
  free(nodes);
  hd_report *ref = run_keep("serial", 1, 1, HD_ETASK);
  size_t failed = hd_report_count(ref, HD_STATE_FAILED);
  size_t skipped = hd_report_count(ref, HD_STATE_SKIPPED);
  ck_assert_uint_gt(failed, 100);
  ck_assert_uint_gt(skipped, 100);
  for (unsigned jobs = 1; jobs <= 4; jobs++) {
    hd_report *r = run_keep("threads", jobs, 1, HD_ETASK);
    for (size_t i = 0; i < n; i++) {
      hd_task_info a, b;
      hd_report_task(ref, i, &a);
      hd_report_task(r, i, &b);
      ck_assert_msg(a.state == b.state && a.attempts == b.attempts,
                    "task %zu with %u workers: state %d, %u attempts "
                    "(serial: %d, %u)",
                    i, jobs, (int)b.state, b.attempts, (int)a.state,
                    a.attempts);
      same_result(ref, r, i, jobs);
    }
    hd_report_free(r);
  }
  hd_report_free(ref);
}
END_TEST

/* Sources start by urgency (priority first), whether there are few of
 * them (pushed one by one) or many (handed over as one range that workers
 * split): with one worker, a source never starts before a more urgent
 * one; with more, every one runs. */
START_TEST(threads_sources_start_most_urgent_first) {
  const size_t counts[] = {100, 3000};
  for (size_t c = 0; c < 2; c++) {
    size_t n = counts[c];
    hd_graph_free(g);
    ck_assert_int_eq(hd_graph_new(&g), HD_OK);
    hd_node **nodes = add_nodes(n, "record_order");
    for (size_t i = 0; i < n; i++)
      ck_assert_int_eq(hd_node_set_priority(nodes[i], (int)((i * 7) % 13)),
                       HD_OK);
    free(nodes);
    for (unsigned jobs = 1; jobs <= 3; jobs++) {
      atomic_store(&start_seq, 0);
      hd_report *r = run_with("threads", jobs, HD_OK);
      ck_assert_uint_eq(atomic_load(&start_seq), n);
      if (jobs == 1)
        for (size_t i = 0; i < n; i++)
          for (size_t k = 0; k < n; k += 97) /* a sample of the pairs */
            if ((i * 7) % 13 > (k * 7) % 13)
              ck_assert_msg(start_order[i] < start_order[k],
                            "%zu sources: n%zu (priority %zu) started after "
                            "n%zu (priority %zu)",
                            n, i, (i * 7) % 13, k, (k * 7) % 13);
      hd_report_free(r);
    }
  }
}
END_TEST

START_TEST(threads_chain_fanout_and_gather) {
  size_t n = 20000;
  hd_node **nodes = add_nodes(n, "acc");
  /* A chain over the first half, a fan-out from its end over the rest,
     gathered by the last node. */
  for (size_t i = 1; i < n / 2; i++)
    hd_node_after(nodes[i], nodes[i - 1]);
  for (size_t i = n / 2; i + 1 < n; i++) {
    hd_node_after(nodes[i], nodes[n / 2 - 1]);
    hd_node_after(nodes[n - 1], nodes[i]);
  }
  free(nodes);
  compare_backends();
}
END_TEST

START_TEST(threads_failure_stops_and_keep_going_continues) {
  hd_node **nodes = add_nodes(200, "acc");
  hd_node *bad;
  ck_assert_int_eq(hd_graph_add_fn(g, "bad", "fail", &bad), HD_OK);
  for (size_t i = 100; i < 200; i++)
    hd_node_after(nodes[i], i == 150 ? bad : nodes[i - 100]);
  hd_report *r = run_with("threads", 4, HD_ETASK);
  ck_assert_uint_eq(hd_report_count(r, HD_STATE_FAILED), 1);
  ck_assert_uint_eq(hd_report_count(r, HD_STATE_PENDING), 0);
  ck_assert_uint_eq(hd_report_count(r, HD_STATE_RUNNING), 0);
  hd_report_free(r);

  r = run_keep("threads", 3, 1, HD_ETASK);
  ck_assert_uint_eq(hd_report_count(r, HD_STATE_DONE), 199);
  ck_assert_uint_eq(hd_report_count(r, HD_STATE_SKIPPED), 1);
  hd_task_info ti;
  hd_report_task(r, 150, &ti);
  ck_assert_int_eq(ti.state, HD_STATE_SKIPPED);
  ck_assert_str_eq(ti.message, "dependency 'bad' failed");
  hd_report_free(r);
  free(nodes);
}
END_TEST

/* A wide fan-in (whose join counter workers count in held decrements)
 * with one failing dependency: with keep_going its sink is skipped and
 * everything else runs; without, the run stops, and either way it ends
 * with no task left pending or running. */
START_TEST(threads_wide_fan_in_with_a_failure) {
  enum { MIDS = 3000 };
  hd_node *src, *sink, *mid, *bad;
  ck_assert_int_eq(hd_graph_add_fn(g, "src", "acc", &src), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "sink", "acc", &sink), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "bad", "fail", &bad), HD_OK);
  ck_assert_int_eq(hd_node_after(bad, src), HD_OK);
  ck_assert_int_eq(hd_node_after(sink, bad), HD_OK);
  for (int i = 0; i < MIDS; i++) {
    char name[16];
    snprintf(name, sizeof(name), "m%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "acc", &mid), HD_OK);
    ck_assert_int_eq(hd_node_after(mid, src), HD_OK);
    ck_assert_int_eq(hd_node_after(sink, mid), HD_OK);
  }
  for (int keep = 0; keep <= 1; keep++)
    for (unsigned jobs = 2; jobs <= 3; jobs++) {
      hd_report *r = run_keep("threads", jobs, keep, HD_ETASK);
      ck_assert_uint_eq(hd_report_count(r, HD_STATE_FAILED), 1);
      ck_assert_uint_eq(hd_report_count(r, HD_STATE_PENDING), 0);
      ck_assert_uint_eq(hd_report_count(r, HD_STATE_RUNNING), 0);
      hd_task_info ti;
      ck_assert_int_eq(hd_report_task(r, 1, &ti), HD_OK);
      if (keep) {
        ck_assert_uint_eq(hd_report_count(r, HD_STATE_DONE), MIDS + 1);
        ck_assert_int_eq(ti.state, HD_STATE_SKIPPED);
        ck_assert_str_eq(ti.message, "dependency 'bad' failed");
      } else {
        ck_assert(ti.state == HD_STATE_SKIPPED ||
                  ti.state == HD_STATE_CANCELLED);
      }
      hd_report_free(r);
    }
}
END_TEST

/* A wide fan-in's inputs are gathered when its function first reads one
 * (sched.c, hd__lazy in exec.h), not before it is called: a function
 * that only counts them has their count; one that reads them from
 * several threads of its own gets them all; and when they cannot be
 * gathered (out of memory at its first read here), the function reads
 * empty values, sees hd_task_cancelled() turn true, and its task fails
 * saying why, whatever it returned. */
enum { LAZY_IN = 1000, LAZY_THREADS = 4 };

static int fn_count_only(hd_task *t, void *data) {
  (void)data;
  size_t n = hd_task_input_count(t);
  hd_value *v;
  if (hd_value_new_int((int64_t)n, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

typedef struct lazy_part {
  hd_task *t;
  size_t from, to;
  int64_t sum;
} lazy_part;

static void *sum_part(void *arg) {
  lazy_part *pt = arg;
  for (size_t i = pt->from; i < pt->to; i++) {
    int64_t x = 0;
    if (hd_value_get_int(hd_task_input(pt->t, i), &x) == HD_OK)
      pt->sum += x;
  }
  return NULL;
}

static int fn_sum_in_threads(hd_task *t, void *data) {
  (void)data;
  size_t n = hd_task_input_count(t);
  pthread_t th[LAZY_THREADS];
  lazy_part part[LAZY_THREADS];
  for (size_t k = 0; k < LAZY_THREADS; k++) {
    part[k] =
        (lazy_part){t, n * k / LAZY_THREADS, n * (k + 1) / LAZY_THREADS, 0};
    if (pthread_create(&th[k], NULL, sum_part, &part[k]) != 0)
      return hd_task_fail(t, "pthread_create");
  }
  int64_t sum = 0;
  for (size_t k = 0; k < LAZY_THREADS; k++) {
    pthread_join(th[k], NULL);
    sum += part[k].sum;
  }
  hd_value *v;
  if (hd_value_new_int(sum, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

static atomic_int lazy_saw_cancel;
static int fn_gather_fails(hd_task *t, void *data) {
  (void)data;
  hd__alloc_fail_after(0); /* the array of inputs */
  hd_value *v = hd_task_input(t, 7);
  hd__alloc_fail_after(-1);
  int64_t x = -1;
  /* The empty value: no integer. */
  ck_assert_int_ne(hd_value_get_int(v, &x), HD_OK);
  atomic_store(&lazy_saw_cancel, hd_task_cancelled(t));
  return HD_OK;
}

START_TEST(threads_wide_fan_in_inputs_read_on_first_use) {
  ck_assert_int_eq(hd_fn_register("count_only", fn_count_only, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("sum_threads", fn_sum_in_threads, NULL),
                   HD_OK);
  ck_assert_int_eq(hd_fn_register("gather_fails", fn_gather_fails, NULL),
                   HD_OK);
  const char *fns[] = {"count_only", "sum_threads", "gather_fails"};
  for (int f = 0; f < 3; f++) {
    hd_graph_free(g);
    ck_assert_int_eq(hd_graph_new(&g), HD_OK);
    hd_node *src, *sink, *mid;
    ck_assert_int_eq(hd_graph_add_fn(g, "src", "acc", &src), HD_OK);
    ck_assert_int_eq(hd_graph_add_fn(g, "sink", fns[f], &sink), HD_OK);
    for (int i = 0; i < LAZY_IN; i++) {
      char name[16];
      snprintf(name, sizeof(name), "m%d", i);
      /* Each is 1 + src's 1. */
      ck_assert_int_eq(hd_graph_add_fn(g, name, "acc", &mid), HD_OK);
      ck_assert_int_eq(hd_node_after(mid, src), HD_OK);
      ck_assert_int_eq(hd_node_after(sink, mid), HD_OK);
    }
    const char *backends[] = {"serial", "threads", "threads"};
    unsigned jobs[] = {1, 1, 2};
    for (int b = 0; b < 3; b++) {
      atomic_store(&lazy_saw_cancel, 0);
      hd_report *r = run_with(backends[b], jobs[b], f == 2 ? HD_ETASK : HD_OK);
      hd_task_info ti;
      ck_assert_int_eq(hd_report_task(r, 1, &ti), HD_OK);
      int64_t x = 0;
      if (f == 2) {
        ck_assert_int_eq(ti.state, HD_STATE_FAILED);
        ck_assert_ptr_nonnull(strstr(ti.message, "cannot be gathered"));
        ck_assert_int_eq(atomic_load(&lazy_saw_cancel), 1);
        ck_assert_uint_eq(hd_report_count(r, HD_STATE_DONE), LAZY_IN + 1);
      } else {
        ck_assert_int_eq(ti.state, HD_STATE_DONE);
        ck_assert_int_eq(hd_value_get_int(hd_report_result(r, 1), &x), HD_OK);
        ck_assert_int_eq(x, f == 0 ? LAZY_IN : 2 * LAZY_IN);
      }
      /* Never before the last of its inputs ended. */
      for (size_t i = 2; i < 2 + LAZY_IN; i++) {
        hd_task_info tm;
        ck_assert_int_eq(hd_report_task(r, i, &tm), HD_OK);
        ck_assert_uint_ge(ti.start_ns, tm.end_ns);
      }
      hd_report_free(r);
    }
  }
  hd_fn_unregister("count_only");
  hd_fn_unregister("sum_threads");
  hd_fn_unregister("gather_fails");
}
END_TEST

/* Reads every input of its task, from LAZY_THREADS threads at once, and
 * fails unless all saw the same integers (an input of no output is the
 * empty value, and one past the count is NULL); output: 1 + their sum. */
static void *sum_all(void *arg) {
  lazy_part *pt = arg;
  size_t n = hd_task_input_count(pt->t);
  for (size_t k = 0; k < n; k++) {
    size_t i = (k + pt->from) % n; /* each thread from elsewhere */
    const hd_value *in = hd_task_input(pt->t, i);
    int64_t x = 0;
    if (in == NULL)
      pt->sum = -1000000;
    else if (hd_value_get_int(in, &x) == HD_OK)
      pt->sum += x;
    else if (hd_value_size(in) != 0)
      pt->sum = -1000000;
  }
  if (hd_task_input(pt->t, n) != NULL)
    pt->sum = -1000000;
  return NULL;
}

static int fn_sum_each_thread(hd_task *t, void *data) {
  (void)data;
  pthread_t th[LAZY_THREADS];
  lazy_part part[LAZY_THREADS];
  for (size_t k = 0; k < LAZY_THREADS; k++) {
    part[k] = (lazy_part){t, k, 0, 0};
    if (pthread_create(&th[k], NULL, sum_all, &part[k]) != 0)
      return hd_task_fail(t, "pthread_create");
  }
  for (size_t k = 0; k < LAZY_THREADS; k++)
    pthread_join(th[k], NULL);
  for (size_t k = 1; k < LAZY_THREADS; k++)
    if (part[k].sum != part[0].sum)
      return hd_task_fail(t, "threads saw %lld and %lld",
                          (long long)part[0].sum, (long long)part[k].sum);
  hd_value *v;
  if (hd_value_new_int(part[0].sum + 1, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

static int fn_no_output(hd_task *t, void *data) {
  (void)t;
  (void)data;
  return HD_OK;
}

/* One worker lends a task its inputs when first read (sched.c's lean
 * path): read by several threads of the task at once, in any order,
 * they are the same values as on serial; so with a memory limit that
 * compresses results partway through (inputs then read back). Layers of
 * 8: each node after the 8 of the layer above, one of which has no
 * output. */
START_TEST(threads_one_worker_lends_inputs) {
  ck_assert_int_eq(hd_fn_register("sum_each", fn_sum_each_thread, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("no_output", fn_no_output, NULL), HD_OK);
  enum { WIDTH = 8, LAYERS = 12 };
  hd_node *n[LAYERS][WIDTH];
  for (int l = 0; l < LAYERS; l++)
    for (int i = 0; i < WIDTH; i++) {
      char name[16];
      snprintf(name, sizeof(name), "l%di%d", l, i);
      ck_assert_int_eq(
          hd_graph_add_fn(g, name, i == 3 ? "no_output" : "sum_each", &n[l][i]),
          HD_OK);
      for (int k = 0; l > 0 && k < WIDTH; k++)
        ck_assert_int_eq(hd_node_after(n[l][i], n[l - 1][(i + k) % WIDTH]),
                         HD_OK);
    }
  hd_report *ref = run_with("serial", 1, HD_OK);
  int64_t last = 0;
  ck_assert_int_eq(
      hd_value_get_int(hd_report_result(ref, WIDTH * LAYERS - 1), &last),
      HD_OK);
  ck_assert_int_gt(last, 1000); /* every layer added up */
  for (int limit = 0; limit < 2; limit++) {
    hd_run_opts o;
    hd_run_opts_init(&o);
    o.backend = "threads";
    o.jobs = 1;
    if (limit) { /* an integer is 9 bytes: a few stay raw */
      o.mem_limit = 40;
      o.spill_limit = 1 << 20;
    }
    hd_report *r = NULL;
    ck_assert_int_eq(hd_run(g, &o, &r), HD_OK);
    for (size_t i = 0; i < WIDTH * LAYERS; i++)
      same_result(ref, r, i, 1);
    hd_report_free(r);
  }
  hd_report_free(ref);
  hd_fn_unregister("sum_each");
  hd_fn_unregister("no_output");
}
END_TEST

/* Tasks with thousands of dependents of one bottom level release them as
 * ranges that workers split (sched.c, threads.c). Two sources each lead
 * to the same 2000 tasks, which lead to one sink; one source also leads
 * to a chain of two (its dependents' bottom levels differ: released one
 * by one). Every task runs once, after all of its dependencies; and when
 * the sources fail, with keep_going, every task downstream is skipped,
 * and the run ends. */
START_TEST(threads_wide_fanouts_meet) {
  enum { MIDS = 2000 };
  hd_node *a, *b, *sink, *mid;
  ck_assert_int_eq(hd_graph_add_fn(g, "a", "mix", &a), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "b", "mix", &b), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "sink", "mix", &sink), HD_OK);
  ck_assert_int_eq(hd_fn_register("mix", fn_mix, NULL), HD_OK);
  for (int i = 0; i < MIDS; i++) {
    char name[16];
    snprintf(name, sizeof(name), "m%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "mix", &mid), HD_OK);
    ck_assert_int_eq(hd_node_after(mid, a), HD_OK);
    ck_assert_int_eq(hd_node_after(mid, b), HD_OK);
    ck_assert_int_eq(hd_node_after(sink, mid), HD_OK);
  }
  hd_node *c1, *c2;
  ck_assert_int_eq(hd_graph_add_fn(g, "c1", "mix", &c1), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "c2", "mix", &c2), HD_OK);
  ck_assert_int_eq(hd_node_after(c1, a), HD_OK);
  ck_assert_int_eq(hd_node_after(c2, c1), HD_OK);
  ck_assert_int_eq(hd_node_after(sink, c2), HD_OK);
  for (unsigned jobs = 1; jobs <= 3; jobs++) {
    atomic_store(&mix_ran, 0);
    hd_report *r = run_with("threads", jobs, HD_OK);
    ck_assert_int_eq(atomic_load(&mix_ran), MIDS + 5);
    hd_task_info tc;
    ck_assert_int_eq(hd_report_task(r, 3 + MIDS + 1, &tc), HD_OK);
    ck_assert_int_eq(tc.state, HD_STATE_DONE);
    hd_task_info ta, tb, tk, tm;
    ck_assert_int_eq(hd_report_task(r, 0, &ta), HD_OK);
    ck_assert_int_eq(hd_report_task(r, 1, &tb), HD_OK);
    ck_assert_int_eq(hd_report_task(r, 2, &tk), HD_OK);
    for (size_t i = 0; i < MIDS; i++) {
      ck_assert_int_eq(hd_report_task(r, 3 + i, &tm), HD_OK);
      ck_assert_int_eq(tm.state, HD_STATE_DONE);
      ck_assert_uint_ge(tm.start_ns, ta.end_ns);
      ck_assert_uint_ge(tm.start_ns, tb.end_ns);
      ck_assert_uint_ge(tk.start_ns, tm.end_ns);
      int64_t x;
      ck_assert_int_eq(hd_value_get_int(hd_report_result(r, 3 + i), &x), HD_OK);
      ck_assert_int_eq(x, 2); /* its two inputs */
    }
    ck_assert_uint_ge(tk.start_ns, tc.end_ns);
    ck_assert_int_eq(hd_value_get_int(hd_report_result(r, 2), &(int64_t){0}),
                     HD_OK);
    hd_report_free(r);
  }
  ck_assert_int_eq(hd_fn_unregister("mix"), HD_OK);
  ck_assert_int_eq(hd_fn_register("mix", fn_fail, NULL), HD_OK);
  /* Now every task fails: the sources fail, the rest is skipped. */
  for (unsigned jobs = 1; jobs <= 3; jobs++) {
    hd_report *r = run_keep("threads", jobs, 1, HD_ETASK);
    ck_assert_uint_eq(hd_report_count(r, HD_STATE_FAILED), 2);
    ck_assert_uint_eq(hd_report_count(r, HD_STATE_SKIPPED), MIDS + 3);
    hd_report_free(r);
  }
  hd_fn_unregister("mix");
}
END_TEST

/* A task with hundreds of dependents whose bottom levels differ does not
 * hand them over as a range (which would run them in declaration order):
 * the head of the longest path after it runs first, though declared
 * last. */
START_TEST(threads_wide_fanout_keeps_the_critical_path_first) {
  enum { SHORT = 400 };
  hd_node *x, *n, *c1, *c2, *c3;
  ck_assert_int_eq(hd_graph_add_fn(g, "x", "acc", &x), HD_OK);
  for (int i = 0; i < SHORT; i++) {
    char name[16];
    snprintf(name, sizeof(name), "s%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "acc", &n), HD_OK);
    ck_assert_int_eq(hd_node_after(n, x), HD_OK);
  }
  ck_assert_int_eq(hd_graph_add_fn(g, "c1", "acc", &c1), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "c2", "acc", &c2), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "c3", "acc", &c3), HD_OK);
  ck_assert_int_eq(hd_node_after(c1, x), HD_OK);
  ck_assert_int_eq(hd_node_after(c2, c1), HD_OK);
  ck_assert_int_eq(hd_node_after(c3, c2), HD_OK);
  hd_report *r = run_with("threads", 1, HD_OK);
  hd_task_info head, other;
  ck_assert_int_eq(hd_report_task(r, 1 + SHORT, &head), HD_OK);
  ck_assert_str_eq(head.name, "c1");
  for (size_t i = 1; i <= SHORT; i++) {
    ck_assert_int_eq(hd_report_task(r, i, &other), HD_OK);
    ck_assert_uint_ge(other.start_ns, head.end_ns);
  }
  hd_report_free(r);
}
END_TEST

START_TEST(threads_retries) {
  hd_node *f;
  ck_assert_int_eq(hd_graph_add_fn(g, "f", "flaky", &f), HD_OK);
  atomic_store(&flaky_calls, 0);
  hd_report *r = run_with("threads", 2, HD_ETASK);
  ck_assert_int_eq(atomic_load(&flaky_calls), 1);
  hd_report_free(r);
  hd_node_set_retries(f, 2);
  atomic_store(&flaky_calls, 0);
  r = run_with("threads", 2, HD_OK);
  ck_assert_int_eq(atomic_load(&flaky_calls), 3);
  hd_task_info ti;
  hd_report_task(r, 0, &ti);
  ck_assert_uint_eq(ti.attempts, 3);
  ck_assert_ptr_null(ti.message); /* the earlier failures are not kept */
  hd_report_free(r);
}
END_TEST

/* A retry waits out its delay off the workers: with one worker as with
 * two, the other tasks run meanwhile (a worker used to sleep through the
 * delay, and with one the whole run waited); a retry that then succeeds
 * is done, with its attempts counted, and one that keeps failing fails
 * after all its attempts, its delays between them. */
START_TEST(threads_retry_delay_frees_the_worker) {
  hd_node *x, *f, *y;
  ck_assert_int_eq(hd_graph_add_fn(g, "x", "fail", &x), HD_OK);
  ck_assert_int_eq(hd_node_set_retries(x, 2), HD_OK);
  ck_assert_int_eq(hd_node_set_retry_delay(x, 0.2), HD_OK);
  ck_assert_int_eq(hd_node_set_priority(x, 9), HD_OK); /* first */
  ck_assert_int_eq(hd_graph_add_fn(g, "f", "flaky", &f), HD_OK);
  ck_assert_int_eq(hd_node_set_retries(f, 2), HD_OK);
  ck_assert_int_eq(hd_node_set_retry_delay(f, 0.05), HD_OK);
  for (int i = 0; i < 6; i++) {
    char name[8];
    snprintf(name, sizeof(name), "y%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "nap", &y), HD_OK);
  }
  for (unsigned jobs = 1; jobs <= 2; jobs++) {
    atomic_store(&flaky_calls, 0);
    hd_report *r = run_keep("threads", jobs, 1, HD_ETASK);
    hd_task_info tx, tf, ty;
    hd_report_task(r, 0, &tx);
    hd_report_task(r, 1, &tf);
    ck_assert_int_eq(tx.state, HD_STATE_FAILED);
    ck_assert_uint_eq(tx.attempts, 3);
    ck_assert_str_eq(tx.message, "no");
    ck_assert_int_eq(tf.state, HD_STATE_DONE);
    ck_assert_uint_eq(tf.attempts, 3);
    ck_assert_ptr_null(tf.message);
    for (size_t i = 2; i < 8; i++) {
      hd_report_task(r, i, &ty);
      ck_assert_int_eq(ty.state, HD_STATE_DONE);
      ck_assert_msg(ty.end_ns <= tx.start_ns,
                    "%u workers: %s ended %.1f ms after x's last attempt "
                    "started",
                    jobs, ty.name, (double)(ty.end_ns - tx.start_ns) / 1e6);
    }
    hd_report_free(r);
  }
}
END_TEST

/* The run stops (another task fails, or an interrupt) while a task waits
 * out a long retry delay: it ends at once, that task's last failure
 * standing (it waited the whole delay, 5 s, first). */
static volatile sig_atomic_t retry_stop;
static int fn_fail_or_interrupt(hd_task *t, void *data) {
  (void)data;
  struct timespec ts = {0, 20 * 1000 * 1000};
  nanosleep(&ts, NULL);
  if (strcmp(hd_task_param(t, "how"), "interrupt") == 0) {
    /* (From a thread: atomically, as a signal handler's store is.) */
    __atomic_store_n(&retry_stop, 1, __ATOMIC_RELAXED);
    return HD_OK;
  }
  return hd_task_fail(t, "z fails");
}

START_TEST(threads_run_stopping_during_a_retry_delay_ends_at_once) {
  ck_assert_int_eq(hd_fn_register("z", fn_fail_or_interrupt, NULL), HD_OK);
  const char *how[] = {"fail", "interrupt"};
  for (int h = 0; h < 2; h++)
    for (unsigned jobs = 1; jobs <= 2; jobs++) {
      hd_graph_free(g);
      ck_assert_int_eq(hd_graph_new(&g), HD_OK);
      hd_node *x, *z;
      ck_assert_int_eq(hd_graph_add_fn(g, "x", "fail", &x), HD_OK);
      ck_assert_int_eq(hd_node_set_retries(x, 1), HD_OK);
      ck_assert_int_eq(hd_node_set_retry_delay(x, 5), HD_OK);
      ck_assert_int_eq(hd_node_set_priority(x, 9), HD_OK);
      ck_assert_int_eq(hd_graph_add_fn(g, "z", "z", &z), HD_OK);
      ck_assert_int_eq(hd_node_set_param(z, "how", how[h]), HD_OK);
      hd_run_opts o;
      hd_run_opts_init(&o);
      o.backend = "threads";
      o.jobs = jobs;
      o.interrupt = &retry_stop;
      retry_stop = 0;
      hd_report *r = NULL;
      uint64_t t0 = hd__now_ns();
      ck_assert_int_eq(hd_run(g, &o, &r), h == 0 ? HD_ETASK : HD_EINTR);
      uint64_t took = hd__now_ns() - t0;
      ck_assert_msg(took < 2500000000u, "%s, %u workers: %.1f s", how[h], jobs,
                    (double)took / 1e9);
      hd_task_info tx, tz;
      hd_report_task(r, 0, &tx);
      hd_report_task(r, 1, &tz);
      ck_assert_int_eq(tx.state, HD_STATE_FAILED);
      ck_assert_uint_eq(tx.attempts, 1);
      ck_assert_str_eq(tx.message, "no");
      ck_assert_int_eq(tz.state, h == 0 ? HD_STATE_FAILED : HD_STATE_DONE);
      hd_report_free(r);
    }
  hd_fn_unregister("z");
}
END_TEST

/* A function past its timeout fails when it returns. A timeout under a
 * nanosecond is one nanosecond, not none (it was cut to 0, which is no
 * timeout); over 1e9 s is refused. */
START_TEST(threads_function_timeout) {
  const struct {
    const char *fn;
    double timeout;
    unsigned jobs;
    const char *says;
  } cases[] = {{"slow", 0.1, 2, "timed out after 0.1 s"},
               {"nap", 1e-10, 1, "timed out after 1e-09 s"}};
  for (size_t c = 0; c < 2; c++) {
    hd_graph_free(g);
    ck_assert_int_eq(hd_graph_new(&g), HD_OK);
    hd_node *s;
    ck_assert_int_eq(hd_graph_add_fn(g, "s", cases[c].fn, &s), HD_OK);
    ck_assert_int_eq(hd_node_set_timeout(s, 1e10), HD_EINVAL);
    ck_assert_int_eq(hd_node_set_timeout(s, cases[c].timeout), HD_OK);
    hd_report *r = run_with("threads", cases[c].jobs, HD_ETASK);
    hd_task_info ti;
    hd_report_task(r, 0, &ti);
    ck_assert_int_eq(ti.state, HD_STATE_FAILED);
    ck_assert_ptr_nonnull(strstr(ti.message, cases[c].says));
    hd_report_free(r);
  }
}
END_TEST

/* More workers than the threads backend runs: refused with a diagnostic
 * that names jobs and the limit (it said "could not start: invalid
 * argument"). */
START_TEST(threads_too_many_jobs_are_named) {
  hd_node *s;
  ck_assert_int_eq(hd_graph_add_fn(g, "s", "nap", &s), HD_OK);
  hd_report *r = run_with("threads", 1025, HD_EINVAL);
  ck_assert_uint_eq(hd_report_diag_count(r), 1);
  ck_assert_str_eq(hd_report_diag(r, 0)->message,
                   "jobs is 1025: the threads backend runs at most 1024 "
                   "workers");
  hd_report_free(r);
}
END_TEST

/* With no_task_times no task's times are read, on every backend, and a
 * timeout still ends a task that runs past it. */
START_TEST(threads_no_task_times) {
  size_t n = 3000;
  hd_node **nodes = add_nodes(n, "acc");
  for (size_t i = 1; i < n; i++)
    hd_node_after(nodes[i], nodes[i < n / 2 ? i - 1 : n / 2 - 1]);
  hd_node *s;
  ck_assert_int_eq(hd_graph_add_fn(g, "s", "slow", &s), HD_OK);
  hd_node_set_timeout(s, 0.1);
  hd_node_after(s, nodes[0]);
  free(nodes);
  hd_report *ref = run_keep("serial", 1, 1, HD_ETASK);
  const char *backends[] = {"serial", "threads", "threads", "processes"};
  for (unsigned k = 0; k < 4; k++) {
    hd_run_opts o;
    hd_run_opts_init(&o);
    o.backend = backends[k];
    o.jobs = k == 1 ? 1 : 2;
    o.keep_going = 1;
    o.no_task_times = 1;
    hd_report *r = NULL;
    ck_assert_int_eq(hd_run(g, &o, &r), HD_ETASK);
    ck_assert_uint_eq(hd_report_count(r, HD_STATE_DONE), n);
    for (size_t i = 0; i <= n; i++) {
      hd_task_info ti;
      ck_assert_int_eq(hd_report_task(r, i, &ti), HD_OK);
      ck_assert_msg(ti.start_ns == 0 && ti.end_ns == 0,
                    "%s: task %zu has times", backends[k], i);
      if (i < n)
        ck_assert(
            hd_value_equal(hd_report_result(ref, i), hd_report_result(r, i)));
    }
    hd_task_info ti;
    hd_report_task(r, n, &ti);
    ck_assert_int_eq(ti.state, HD_STATE_FAILED);
    ck_assert_ptr_nonnull(strstr(ti.message, "timed out after 0.1 s"));
    hd_report_free(r);
  }
  hd_report_free(ref);
}
END_TEST

START_TEST(threads_shell_timeout_kills) {
  hd_node *s;
  ck_assert_int_eq(hd_graph_add_cmd(g, "s", "sleep 30", &s), HD_OK);
  hd_node_set_timeout(s, 0.2);
  hd_report *r = run_with("threads", 2, HD_ETASK);
  hd_task_info ti;
  hd_report_task(r, 0, &ti);
  ck_assert_str_eq(ti.message, "timed out after 0.2 s");
  ck_assert_int_eq(ti.term_signal, SIGTERM);
  hd_report_free(r);
}
END_TEST

/* Runs borrow the process's kept threads (threads.c) instead of starting
 * their own: a second run's workers are threads the first one had. A run
 * started by a task while they are lent starts threads of its own, and a
 * forked child, which has none of its parent's threads, runs with its
 * own too (it would wait for ever on threads that are not there). */
enum { TID_MAX = 64 };
static atomic_long tids[TID_MAX];
static atomic_int ntids;

static int fn_tid(hd_task *t, void *data) {
  (void)t;
  (void)data;
  long tid = (long)syscall(SYS_gettid);
  int n = atomic_load(&ntids);
  for (int i = 0; i < n && i < TID_MAX; i++)
    if (atomic_load(&tids[i]) == tid)
      return HD_OK;
  int at = atomic_fetch_add(&ntids, 1);
  if (at < TID_MAX)
    atomic_store(&tids[at], tid);
  struct timespec ts = {0, 200 * 1000}; /* room for the other worker */
  nanosleep(&ts, NULL);
  return HD_OK;
}

static hd_graph *tid_graph(void) {
  hd_graph *tg;
  ck_assert_int_eq(hd_graph_new(&tg), HD_OK);
  for (int i = 0; i < 200; i++) {
    char name[16];
    snprintf(name, sizeof(name), "t%d", i);
    ck_assert_int_eq(hd_graph_add_fn(tg, name, "tid", NULL), HD_OK);
  }
  return tg;
}

static int run_tids(hd_graph *tg, long *seen, int cap) {
  atomic_store(&ntids, 0);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "threads";
  o.jobs = 2;
  hd_report *r;
  ck_assert_int_eq(hd_run(tg, &o, &r), HD_OK);
  hd_report_free(r);
  int n = atomic_load(&ntids);
  ck_assert_int_le(n, cap);
  for (int i = 0; i < n; i++)
    seen[i] = atomic_load(&tids[i]);
  return n;
}

static int fn_nested(hd_task *t, void *data) {
  (void)data;
  hd_graph *tg = tid_graph();
  long seen[TID_MAX];
  int n = run_tids(tg, seen, TID_MAX);
  hd_graph_free(tg);
  return n >= 1 ? HD_OK : hd_task_fail(t, "the nested run ran nothing");
}

/* The threads of this process (/proc/self/task), sorted; how many. */
static int process_tids(long *out, int cap) {
  DIR *d = opendir("/proc/self/task");
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && n < cap)
      out[n++] = strtol(e->d_name, NULL, 10);
  closedir(d);
  for (int i = 1; i < n; i++) /* insertion sort: a few threads */
    for (int k = i; k > 0 && out[k - 1] > out[k]; k--) {
      long t = out[k];
      out[k] = out[k - 1];
      out[k - 1] = t;
    }
  return n;
}

/* How many times thread tid gave up its CPU of its own accord. */
static long switches(long tid) {
  char path[64], line[128];
  snprintf(path, sizeof(path), "/proc/self/task/%ld/status", tid);
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  long n = -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "voluntary_ctxt_switches: %ld", &n) == 1)
      break;
  fclose(f);
  return n;
}

static void *nothing(void *arg) { return arg; }

/* The threads of this process that are not in base (nb of them). */
static int new_tids(const long *base, int nb, long *out) {
  long all[TID_MAX];
  int n = process_tids(all, TID_MAX), k = 0;
  for (int i = 0; i < n; i++) {
    int old = 0;
    for (int j = 0; j < nb; j++)
      old |= all[i] == base[j];
    if (!old)
      out[k++] = all[i];
  }
  return k;
}

START_TEST(threads_kept_between_runs) {
  ck_assert_int_eq(hd_fn_register("tid", fn_tid, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("nested", fn_nested, NULL), HD_OK);
  long self = (long)syscall(SYS_gettid);
  hd_graph *tg = tid_graph();
  /* The threads before any run: this one, and a sanitizer's, which
     ThreadSanitizer starts with the first thread made. */
  pthread_t warm;
  ck_assert_int_eq(pthread_create(&warm, NULL, nothing, NULL), 0);
  pthread_join(warm, NULL);
  long base[TID_MAX], ran[TID_MAX], kept[TID_MAX], still[TID_MAX];
  int nb = process_tids(base, TID_MAX);
  (void)run_tids(tg, ran, TID_MAX);
  /* After the run its worker thread is still there, sleeping ... */
  int nk = new_tids(base, nb, kept);
  ck_assert_int_eq(nk, 1);
  int n2 = run_tids(tg, ran, TID_MAX);
  /* ... and the next run's workers are this thread and that one. */
  ck_assert_int_ge(n2, 1);
  for (int i = 0; i < n2; i++)
    ck_assert_msg(ran[i] == self || ran[i] == kept[0],
                  "the second run's worker %ld was not kept", ran[i]);
  ck_assert_int_eq(new_tids(base, nb, still), 1);
  ck_assert_int_eq(still[0], kept[0]);
  /* A larger run makes a larger set; the smaller runs after it wake only
     the threads they use: of three kept threads, two stay asleep. */
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "threads";
  o.jobs = 4;
  hd_report *r;
  ck_assert_int_eq(hd_run(tg, &o, &r), HD_OK);
  hd_report_free(r);
  struct timespec nap = {0, 30 * 1000 * 1000}; /* past their spinning */
  nanosleep(&nap, NULL);
  long before[TID_MAX];
  nk = new_tids(base, nb, kept);
  ck_assert_int_eq(nk, 3);
  for (int k = 0; k < nk; k++)
    before[k] = switches(kept[k]);
  for (int i = 0; i < 20; i++)
    (void)run_tids(tg, ran, TID_MAX);
  nanosleep(&nap, NULL);
  int asleep = 0;
  for (int k = 0; k < nk; k++)
    asleep += switches(kept[k]) == before[k];
  ck_assert_int_ge(asleep, 2);
  /* A run inside a task of a run that has them. */
  hd_node *x;
  ck_assert_int_eq(hd_graph_add_fn(g, "outer", "nested", &x), HD_OK);
  r = run_with("threads", 2, HD_OK);
  hd_report_free(r);
  /* A forked child (not under ThreadSanitizer, which cannot start threads
     after a fork of a process that has some). */
#ifndef __SANITIZE_THREAD__
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    long seen[TID_MAX];
    _exit(run_tids(tg, seen, TID_MAX) >= 1 ? 0 : 1);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
#endif
  hd_graph_free(tg);
  hd_fn_unregister("tid");
  hd_fn_unregister("nested");
}
END_TEST

/* The threads a run leaves for the next one sleep: an idle process with
 * them uses no CPU. */
START_TEST(threads_kept_threads_sleep_between_runs) {
  hd_node **n = add_nodes(200, "acc");
  free(n);
  hd_report *r = run_with("threads", 4, HD_OK);
  hd_report_free(r);
  double before = test_cpu_seconds();
  struct timespec ts = {0, 300 * 1000 * 1000};
  nanosleep(&ts, NULL);
  double used = test_cpu_seconds() - before;
  ck_assert_msg(used < 0.03, "kept threads used %.3f s of CPU in 0.3 s", used);
}
END_TEST

START_TEST(threads_idle_workers_sleep) {
  /* One task sleeps 300 ms while three workers have nothing to do: they
     must sleep, not spin. */
  hd_node *s;
  ck_assert_int_eq(hd_graph_add_fn(g, "s", "sleep", &s), HD_OK);
  double before = test_cpu_seconds();
  hd_report *r = run_with("threads", 4, HD_OK);
  double used = test_cpu_seconds() - before;
  hd_report_free(r);
  ck_assert_msg(used < 0.15, "an idle pool used %.3f s of CPU", used);
}
END_TEST

typedef struct counter {
  int started, finished;
  int inside; /* events must not overlap */
  int overlap;
  int queued;
  size_t done;      /* the last event's count of finished tasks */
  uint64_t time_ns; /* and its time */
  int backwards;    /* a count or a time went back */
} counter;

static void on_event(const hd_event *ev, void *data) {
  counter *c = data;
  if (c->inside++)
    c->overlap = 1;
  if (ev->type == HD_EVENT_STARTED)
    c->started++;
  else if (ev->type == HD_EVENT_QUEUED)
    c->queued++;
  else
    c->finished++;
  if (ev->done < c->done || ev->time_ns < c->time_ns)
    c->backwards = 1;
  /* done is the count of tasks whose last event was sent, this one
     included: on threads it ran ahead of the events, or repeated. */
  if (ev->done != (size_t)c->finished)
    c->backwards = 1;
  c->done = ev->done;
  c->time_ns = ev->time_ns;
  c->inside--;
}

START_TEST(threads_events_are_serialised) {
  hd_node **nodes = add_nodes(5000, "acc");
  free(nodes);
  counter c = {0};
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "threads";
  o.jobs = 4;
  o.on_event = on_event;
  o.event_data = &c;
  hd_report *r;
  ck_assert_int_eq(hd_run(g, &o, &r), HD_OK);
  ck_assert_int_eq(c.started, 5000);
  ck_assert_int_eq(c.finished, 5000);
  ck_assert_int_eq(c.queued, 5000);
  ck_assert_int_eq(c.overlap, 0);
  ck_assert_int_eq(c.backwards, 0);
  hd_report_free(r);
  /* Tasks released as others end, on four workers: each event's count
     and time are at least the last one's (a count made before the event
     lock went back by one, now and then, on a random DAG). */
  hd_graph_free(g);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  nodes = add_nodes(2000, "acc");
  srand(11);
  for (size_t i = 1; i < 2000; i++)
    hd_node_after(nodes[i], nodes[(size_t)rand() % i]);
  free(nodes);
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  for (int run = 0; run < 20 && !c.backwards; run++) {
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(hd_plan_run(p, &o, &r), HD_OK);
    ck_assert_int_eq(c.finished, 2000);
    ck_assert_uint_eq(c.done, 2000);
    hd_report_free(r);
  }
  ck_assert_int_eq(c.backwards, 0);
  hd_plan_free(p);
}
END_TEST

START_TEST(threads_empty_graph_and_registry) {
  hd_report *r = run_with("threads", 2, HD_OK);
  ck_assert_uint_eq(hd_report_task_count(r), 0);
  hd_report_free(r);
  ck_assert_ptr_nonnull(hd_backend_find("threads"));
  ck_assert_ptr_nonnull(hd_backend_find("serial"));
  ck_assert_ptr_null(hd_backend_find("nope"));
  ck_assert_uint_ge(hd_backend_count(), 2);
  ck_assert_str_eq(hd_backend_at(0)->name, "serial");
  ck_assert_int_eq(hd_backend_register(hd_backend_find("threads")), HD_EEXIST);
  ck_assert_int_eq(hd_backend_register(NULL), HD_EINVAL);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("threads");
  TCase *tc = tcase_create("threads");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, threads_random_dag_matches_serial);
  tcase_add_test(tc, threads_retry_delay_frees_the_worker);
  tcase_add_test(tc, threads_run_stopping_during_a_retry_delay_ends_at_once);
  tcase_add_test(tc, threads_too_many_jobs_are_named);
  tcase_add_test(tc, threads_one_worker_lends_inputs);
  tcase_add_test(tc, threads_results_held_under_memory_limits);
  tcase_add_test(tc, threads_held_results_read_from_several_threads);
  tcase_add_test(tc, threads_random_failures_match_serial);
  tcase_add_test(tc, threads_sources_start_most_urgent_first);
  tcase_add_test(tc, threads_times_of_tasks_taken_one_after_another);
  tcase_add_test(tc, threads_wide_fanout);
  tcase_add_test(tc, threads_fan_in_is_not_held_back_by_other_work);
  tcase_add_test(tc, threads_fan_ins_side_by_side);
  tcase_add_test(tc, threads_a_plan_run_again_starts_afresh);
  tcase_add_test(tc, threads_one_plan_run_from_several_threads_at_once);
  tcase_add_test(tc, threads_task_times_are_on_the_monotonic_clock);
  tcase_add_test(tc, threads_worker_clock_follows_the_monotonic_clock);
  tcase_add_test(tc, threads_chain_fanout_and_gather);
  tcase_add_test(tc, threads_failure_stops_and_keep_going_continues);
  tcase_add_test(tc, threads_wide_fan_in_with_a_failure);
  tcase_add_test(tc, threads_wide_fanouts_meet);
  tcase_add_test(tc, threads_wide_fanout_keeps_the_critical_path_first);
  tcase_add_test(tc, threads_retries);
  tcase_add_test(tc, threads_function_timeout);
  tcase_add_test(tc, threads_no_task_times);
  tcase_add_test(tc, threads_shell_timeout_kills);
  tcase_add_test(tc, threads_wide_fan_in_inputs_read_on_first_use);
  tcase_add_test(tc, threads_kept_between_runs);
  tcase_add_test(tc, threads_kept_threads_sleep_between_runs);
  tcase_add_test(tc, threads_idle_workers_sleep);
  tcase_add_test(tc, threads_events_are_serialised);
  tcase_add_test(tc, threads_empty_graph_and_registry);
  suite_add_tcase(s, tc);
  return s;
}
