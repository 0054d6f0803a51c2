/* Running graphs: results, failures, events, the report and the run
 * folder on the serial backend; argv tasks, env, workdir, input and output
 * files, stdin, allowed failures, retry delays and {after.TASK} on the
 * serial, threads and processes backends. */
#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static hd_graph *g;
static hd_report *rep;

/* Output: the integer sum of all integer inputs plus the param "add". */
static int fn_sum(hd_task *t, void *data) {
  (void)data;
  int64_t total = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    int64_t x;
    if (hd_value_get_int(hd_task_input(t, i), &x) != HD_OK)
      return hd_task_fail(t, "input %zu is not an integer", i);
    total += x;
  }
  const char *add = hd_task_param(t, "add");
  if (add != NULL)
    total += strtoll(add, NULL, 10);
  hd_value *v;
  if (hd_value_new_int(total, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

/* Output: the inputs' text joined with '+', in input order. */
static int fn_join(hd_task *t, void *data) {
  (void)data;
  char buf[256] = "";
  size_t len = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    const char *s = hd_value_text(hd_task_input(t, i));
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? "+" : "",
                            s ? s : "?");
  }
  hd_value *v;
  if (hd_value_new_text(buf, len, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

static int fn_fail(hd_task *t, void *data) {
  (void)data;
  return hd_task_fail(t, "%s refused", hd_task_name(t));
}

static int fn_plain_error(hd_task *t, void *data) {
  (void)t;
  (void)data;
  return HD_EIO;
}

static int fn_seven(hd_task *t, void *data) {
  (void)t;
  (void)data;
  return 7;
}

static int calls;
static int fn_count(hd_task *t, void *data) {
  (void)t;
  (void)data;
  calls++;
  return HD_OK;
}

static void setup(void) {
  hd_fn_register("sum", fn_sum, NULL);
  hd_fn_register("join", fn_join, NULL);
  hd_fn_register("fail", fn_fail, NULL);
  hd_fn_register("plain_error", fn_plain_error, NULL);
  hd_fn_register("seven", fn_seven, NULL);
  hd_fn_register("count", fn_count, NULL);
  calls = 0;
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
}

static void teardown(void) {
  hd_report_free(rep);
  rep = NULL;
  hd_graph_free(g);
  g = NULL;
}

static hd_node *fn(const char *name, const char *f) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, name, f, &n), HD_OK);
  return n;
}

static hd_state state(const char *name) {
  for (size_t i = 0; i < hd_report_task_count(rep); i++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
    if (strcmp(ti.name, name) == 0)
      return ti.state;
  }
  ck_abort_msg("no task %s", name);
  return HD_STATE_PENDING;
}

static const char *message(const char *name) {
  for (size_t i = 0; i < hd_report_task_count(rep); i++) {
    hd_task_info ti;
    hd_report_task(rep, i, &ti);
    if (strcmp(ti.name, name) == 0)
      return ti.message;
  }
  return NULL;
}

static int64_t int_result(const char *name) {
  int64_t x = -1;
  ck_assert_int_eq(hd_value_get_int(hd_report_result_by_name(rep, name), &x),
                   HD_OK);
  return x;
}

/* Run g on backend (NULL: the default) with jobs workers (0: the default),
 * every event to cb with data; the report in rep. */
static int run_watched(const char *backend, unsigned jobs, hd_event_cb cb,
                       void *data) {
  hd_run_opts o;
  hd_run_opts_init(&o);
  if (backend != NULL)
    o.backend = backend;
  if (jobs != 0)
    o.jobs = jobs;
  o.on_event = cb;
  o.event_data = data;
  return hd_run(g, &o, &rep);
}

START_TEST(run_passes_results_along_a_diamond) {
  hd_node *a = fn("a", "sum"), *b = fn("b", "sum"), *c = fn("c", "sum");
  hd_node *d = fn("d", "sum");
  hd_node_set_param(a, "add", "1");
  hd_node_set_param(b, "add", "10");
  hd_node_set_param(c, "add", "100");
  hd_node_after(b, a);
  hd_node_after(c, a);
  hd_node_after(d, b);
  hd_node_after(d, c);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_int_eq(hd_report_status(rep), HD_OK);
  ck_assert_int_eq(int_result("a"), 1);
  ck_assert_int_eq(int_result("b"), 11);
  ck_assert_int_eq(int_result("c"), 101);
  ck_assert_int_eq(int_result("d"), 112);
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_DONE), 4);
  ck_assert(!hd_report_is_sink(rep, 0));
  ck_assert(hd_report_is_sink(rep, 3));
  hd_task_info ti;
  ck_assert_int_eq(hd_report_task(rep, 3, &ti), HD_OK);
  ck_assert_uint_eq(ti.attempts, 1);
  ck_assert_uint_ge(ti.end_ns, ti.start_ns);
  ck_assert_int_eq(hd_report_task(rep, 4, &ti), HD_EINVAL);
}
END_TEST

/* With release_results, a result is freed once every task after it has
 * ended, on every backend; the final ones stay. */
START_TEST(run_release_results_keeps_only_the_final_ones) {
  static const char *const backends[] = {"serial", "threads", "processes"};
  hd_node *a = fn("a", "sum"), *b = fn("b", "sum"), *c = fn("c", "sum");
  hd_node *d = fn("d", "sum");
  hd_node_set_param(a, "add", "1");
  hd_node_set_param(b, "add", "10");
  hd_node_set_param(c, "add", "100");
  hd_node_after(b, a);
  hd_node_after(c, a);
  hd_node_after(d, b);
  hd_node_after(d, c);
  hd_run_opts o;
  hd_run_opts_init(&o);
  ck_assert_int_eq(o.release_results, 0);
  o.backend = backends[_i];
  o.jobs = 2;
  o.release_results = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  ck_assert_int_eq(int_result("d"), 112); /* computed from freed ones */
  ck_assert_ptr_null(hd_report_result_by_name(rep, "a"));
  ck_assert_ptr_null(hd_report_result_by_name(rep, "b"));
  ck_assert_ptr_null(hd_report_result_by_name(rep, "c"));
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_DONE), 4);
}
END_TEST

START_TEST(run_inputs_follow_declaration_order) {
  hd_node *x, *y, *z;
  ck_assert_int_eq(hd_graph_add_cmd(g, "x", "printf x", &x), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "y", "printf y", &y), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "z", "printf z", &z), HD_OK);
  hd_node *j = fn("j", "join");
  hd_node_after(j, z);
  hd_node_after(j, x);
  hd_node_after(j, y);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_str_eq(hd_value_text(hd_report_result_by_name(rep, "j")), "z+x+y");
}
END_TEST

START_TEST(run_failure_skips_dependents_and_stops) {
  hd_node *bad = fn("bad", "fail");
  hd_node *after_bad = fn("after_bad", "count");
  hd_node *later = fn("later", "count");
  hd_node_after(after_bad, bad);
  (void)later;
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_ETASK);
  ck_assert_int_eq(state("bad"), HD_STATE_FAILED);
  ck_assert_str_eq(message("bad"), "bad refused");
  ck_assert_int_eq(state("after_bad"), HD_STATE_SKIPPED);
  ck_assert_str_eq(message("after_bad"), "dependency 'bad' failed");
  ck_assert_int_eq(state("later"), HD_STATE_CANCELLED);
  ck_assert_str_eq(message("later"), "stopped after a failure");
  ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(run_keep_going_runs_what_does_not_depend_on_a_failure) {
  hd_node *bad = fn("bad", "fail");
  hd_node *after_bad = fn("after_bad", "count");
  hd_node *deeper = fn("deeper", "count");
  fn("later", "count");
  hd_node_after(after_bad, bad);
  hd_node_after(deeper, after_bad);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.keep_going = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  ck_assert_int_eq(state("after_bad"), HD_STATE_SKIPPED);
  ck_assert_str_eq(message("after_bad"), "dependency 'bad' failed");
  ck_assert_int_eq(state("deeper"), HD_STATE_SKIPPED);
  ck_assert_str_eq(message("deeper"), "dependency 'after_bad' was skipped");
  ck_assert_int_eq(state("later"), HD_STATE_DONE);
  ck_assert_int_eq(calls, 1);
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_SKIPPED), 2);
}
END_TEST

START_TEST(run_reports_error_codes_and_missing_functions) {
  fn("plain", "plain_error");
  fn("seven", "seven");
  fn("ghost", "no_such_function");
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.keep_going = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  ck_assert_str_eq(message("plain"), "function 'plain_error' returned -5 "
                                     "(EIO: input/output error)");
  ck_assert_str_eq(message("seven"), "function 'seven' returned 7 (not one of "
                                     "hodos's error codes)");
  ck_assert_str_eq(message("ghost"),
                   "no function named 'no_such_function' is registered");
}
END_TEST

/* Returns the number it was registered with. */
static int fn_ident(hd_task *t, void *data) {
  hd_value *v;
  if (hd_value_new_int((int64_t)(intptr_t)data, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

/* Each function name is looked up once per run, whatever the order of
 * the tasks that call it: 40 names (more than the run's first table
 * holds) called in turn, one unknown, and one registered only between
 * two runs of the same plan. */
START_TEST(run_resolves_function_names_per_run) {
  char name[32], task[32];
  for (int k = 0; k < 40; k++) {
    snprintf(name, sizeof(name), "ident%d", k);
    ck_assert_int_eq(hd_fn_register(name, fn_ident, (void *)(intptr_t)k),
                     HD_OK);
  }
  for (int i = 0; i < 200; i++) {
    snprintf(task, sizeof(task), "t%d", i);
    snprintf(name, sizeof(name), "ident%d", (i * 7) % 40);
    fn(task, i % 50 == 49 ? "late_ident" : name);
  }
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  const char *backends[] = {"serial", "threads", "processes"};
  for (int b = 0; b < 3; b++)
    for (int round = 0; round < 2; round++) {
      if (round == 1)
        ck_assert_int_eq(
            hd_fn_register("late_ident", fn_ident, (void *)(intptr_t)1000),
            HD_OK);
      hd_run_opts o;
      hd_run_opts_init(&o);
      o.backend = backends[b];
      o.jobs = 2;
      o.keep_going = 1;
      ck_assert_int_eq(hd_plan_run(p, &o, &rep), round ? HD_OK : HD_ETASK);
      for (int i = 0; i < 200; i++) {
        snprintf(task, sizeof(task), "t%d", i);
        int64_t v = -1;
        if (i % 50 == 49 && round == 0) {
          ck_assert_str_eq(message(task),
                           "no function named 'late_ident' is registered");
          continue;
        }
        ck_assert_int_eq(
            hd_value_get_int(hd_report_result_by_name(rep, task), &v), HD_OK);
        ck_assert_int_eq(v, i % 50 == 49 ? 1000 : (i * 7) % 40);
      }
      hd_report_free(rep);
      rep = NULL;
      if (round == 1)
        hd_fn_unregister("late_ident");
    }
  hd_plan_free(p);
  for (int k = 0; k < 40; k++) {
    snprintf(name, sizeof(name), "ident%d", k);
    hd_fn_unregister(name);
  }
}
END_TEST

START_TEST(run_invalid_graph_returns_diagnostics) {
  hd_node *a = fn("a", "count");
  hd_node_after(a, a);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_EGRAPH);
  ck_assert_ptr_nonnull(rep);
  ck_assert_uint_eq(hd_report_task_count(rep), 0);
  ck_assert_uint_eq(hd_report_diag_count(rep), 1);
  ck_assert_str_eq(hd_report_diag(rep, 0)->message,
                   "task 'a' depends on itself");
  ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(run_unknown_backend) {
  fn("a", "count");
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "warp";
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ENOTSUP);
  ck_assert_str_eq(hd_report_diag(rep, 0)->message,
                   "unknown backend 'warp' (available: serial, threads, "
                   "processes, ssh)");
  ck_assert_int_eq(calls, 0);
}
END_TEST

typedef struct seen {
  char log[512];
  size_t len;
  size_t last_done;
} seen;

static void on_event(const hd_event *ev, void *data) {
  seen *s = data;
  s->len += (size_t)snprintf(s->log + s->len, sizeof(s->log) - s->len, "%s:%s;",
                             hd_event_type_name(ev->type), ev->task);
  ck_assert_uint_eq(ev->total, 3);
  s->last_done = ev->done;
}

static int flaky_calls;

/* Fails on its first call, then succeeds. */
static int fn_flaky(hd_task *t, void *data) {
  (void)data;
  if (flaky_calls++ == 0)
    return hd_task_fail(t, "not yet");
  return HD_OK;
}

/* A task that fails and is tried again: RETRIED, with the failure, between
 * its two starts; then DONE. */
START_TEST(run_emits_retried_between_attempts) {
  hd_fn_register("flaky", fn_flaky, NULL);
  flaky_calls = 0;
  hd_node *x = fn("x", "flaky");
  fn("y", "count");
  fn("z", "count");
  ck_assert_int_eq(hd_node_set_retries(x, 1), HD_OK);
  seen s = {"", 0, 0};
  ck_assert_int_eq(run_watched(NULL, 0, on_event, &s), HD_OK);
  ck_assert_ptr_nonnull(strstr(s.log, "started:x;retried:x;started:x;done:x;"));
  ck_assert_ptr_nonnull(strstr(s.log, "queued:x;"));
  hd_fn_unregister("flaky");
}
END_TEST

static void on_started(const hd_event *ev, void *data) {
  seen *s = data;
  if (ev->type == HD_EVENT_STARTED)
    s->len += (size_t)snprintf(s->log + s->len, sizeof(s->log) - s->len, "%s;",
                               ev->task);
}

/* Priorities order every ready task on the backends that keep a ready set
 * (one slot: one task at a time), not only the first ones; ties keep the
 * plan's order. */
START_TEST(run_priority_orders_ready_tasks) {
  hd_node *r = fn("r", "count");
  const char *names[] = {"a", "b", "c", "d", "e"};
  const int prio[] = {0, 10, -3, 5, 10};
  for (int i = 0; i < 5; i++) {
    hd_node *n = fn(names[i], "count");
    hd_node_after(n, r);
    ck_assert_int_eq(hd_node_set_priority(n, prio[i]), HD_OK);
  }
  const char *backends[] = {"serial", "processes"};
  for (int k = 0; k < 2; k++) {
    seen s = {"", 0, 0};
    ck_assert_int_eq(run_watched(backends[k], 1, on_started, &s), HD_OK);
    ck_assert_msg(strcmp(s.log, "r;b;e;d;a;c;") == 0, "%s: %s", backends[k],
                  s.log);
    hd_report_free(rep);
    rep = NULL;
  }
}
END_TEST

START_TEST(run_emits_events_in_order) {
  hd_node *a = fn("a", "count"), *b = fn("b", "fail"), *c = fn("c", "count");
  hd_node_after(b, a);
  hd_node_after(c, b);
  seen s = {"", 0, 0};
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.on_event = on_event;
  o.event_data = &s;
  o.keep_going = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  ck_assert_str_eq(s.log, "queued:a;started:a;done:a;queued:b;started:b;"
                          "failed:b;queued:c;skipped:c;");
  ck_assert_uint_eq(s.last_done, 3);
}
END_TEST

START_TEST(run_interrupt_cancels_everything_left) {
  fn("a", "count");
  fn("b", "count");
  volatile sig_atomic_t stop = 1;
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.interrupt = &stop;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_EINTR);
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_CANCELLED), 2);
  ck_assert_str_eq(message("a"), "interrupted");
  ck_assert_int_eq(calls, 0);
}
END_TEST

static volatile sig_atomic_t stop_on_start;

static void stop_when_started(const hd_event *ev, void *data) {
  (void)data;
  if (ev->type == HD_EVENT_STARTED)
    stop_on_start = 1;
}

/* Waits until the run is interrupted, then says so with HD_ECANCELED. */
static int fn_until_cancelled(hd_task *t, void *data) {
  (void)data;
  while (!hd_task_cancelled(t)) {
    struct timespec ts = {0, 1000000L};
    nanosleep(&ts, NULL);
  }
  return HD_ECANCELED;
}

/* A function that stops for an interrupt ends cancelled with the same
 * message as the tasks the interrupt kept from starting (it read
 * "function 'x' returned ECANCELED (cancelled)"). */
START_TEST(run_function_stopped_by_an_interrupt_says_interrupted) {
  hd_fn_register("until_cancelled", fn_until_cancelled, NULL);
  fn("a", "until_cancelled");
  const char *backends[] = {"serial", "threads"};
  for (int k = 0; k < 2; k++) {
    stop_on_start = 0;
    hd_run_opts o;
    hd_run_opts_init(&o);
    o.backend = backends[k];
    o.interrupt = &stop_on_start;
    o.on_event = stop_when_started;
    ck_assert_int_eq(hd_run(g, &o, &rep), HD_EINTR);
    ck_assert_uint_eq(hd_report_count(rep, HD_STATE_CANCELLED), 1);
    ck_assert_str_eq(message("a"), "interrupted");
    hd_report_free(rep);
    rep = NULL;
  }
  hd_fn_unregister("until_cancelled");
}
END_TEST

START_TEST(run_graph_can_run_twice) {
  hd_node *a = fn("a", "sum");
  hd_node_set_param(a, "add", "7");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_int_eq(int_result("a"), 7);
  hd_report_free(rep);
  hd_node_set_param(a, "add", "8");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_int_eq(int_result("a"), 8);
}
END_TEST

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

START_TEST(run_writes_results_and_logs_to_the_run_folder) {
  char dir[] = "/tmp/hodos-run-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char run_dir[128], path[256];
  snprintf(run_dir, sizeof(run_dir), "%s/deep/run", dir);
  hd_node *a;
  ck_assert_int_eq(hd_graph_add_cmd(g, "a/b", "echo out; echo err >&2", &a),
                   HD_OK);
  hd_node *n = fn(".hidden%", "sum");
  hd_node_set_param(n, "add", "42");
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.run_dir = run_dir;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  snprintf(path, sizeof(path), "%s/results/a%%2Fb", run_dir);
  ck_assert_str_eq(slurp(path), "out\n");
  snprintf(path, sizeof(path), "%s/logs/a%%2Fb.stderr", run_dir);
  ck_assert_str_eq(slurp(path), "err\n");
  snprintf(path, sizeof(path), "%s/results/%%2Ehidden%%25", run_dir);
  ck_assert_str_eq(slurp(path), "42\n");
  hd_task_info ti;
  hd_report_task(rep, 0, &ti);
  ck_assert_str_eq(ti.stderr_tail, "err\n");
  ck_assert_int_eq(ti.exit_status, 0);
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(run_unwritable_run_folder_is_an_error) {
  fn("a", "count");
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.run_dir = "/proc/hodos-cannot-be-here";
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_EIO);
  ck_assert_uint_eq(hd_report_diag_count(rep), 1);
  ck_assert_int_eq(calls, 0);
}
END_TEST

START_TEST(run_survives_allocation_failures) {
  hd_node *a = fn("a", "sum"), *b = fn("b", "sum");
  hd_node_after(b, a);
  hd_node_set_param(a, "add", "2");
  for (long n = 0; n < 5000; n++) {
    hd__alloc_fail_after(n);
    int rc = hd_run(g, NULL, &rep);
    hd__alloc_fail_after(-1);
    if (rc == HD_OK) {
      ck_assert_int_eq(int_result("b"), 2);
      return;
    }
    ck_assert_msg(rc == HD_ENOMEM || rc == HD_ETASK, "allocation %ld: %s", n,
                  hd_err_name(rc));
    hd_report_free(rep);
    rep = NULL;
  }
  ck_abort_msg("never succeeded");
}
END_TEST

START_TEST(run_task_without_output_passes_an_empty_value) {
  hd_node *a = fn("a", "count"), *j = fn("j", "join");
  hd_node_after(j, a);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  hd_value *v = hd_report_result_by_name(rep, "a");
  ck_assert_ptr_nonnull(v);
  ck_assert_uint_eq(hd_value_size(v), 0);
  ck_assert_str_eq(hd_value_text(hd_report_result_by_name(rep, "j")), "");
}
END_TEST

START_TEST(run_options_defaults) {
  hd_run_opts o;
  memset(&o, 0xff, sizeof(o));
  hd_run_opts_init(&o);
  ck_assert_str_eq(o.backend, "serial");
  ck_assert_uint_eq(o.jobs, 0);
  ck_assert_int_eq(o.keep_going, 0);
  ck_assert_ptr_null(o.run_dir);
  ck_assert(o.interrupt == NULL);
  ck_assert(o.on_event == NULL);
  ck_assert_str_eq(hd_state_name(HD_STATE_SKIPPED), "skipped");
  ck_assert_str_eq(hd_event_type_name(HD_EVENT_CANCELLED), "cancelled");
  ck_assert_int_eq(hd_run(NULL, NULL, &rep), HD_EINVAL);
  ck_assert_ptr_null(rep);
  hd_report_free(NULL);
}
END_TEST

/* ---- command, argv and file features, on every backend ---- */

static const char *backends[] = {"serial", "threads", "processes"};

/* Run g on backend _i (serial, threads, processes) with two workers. */
static int run_on(int i, const char *run_dir) {
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backends[i];
  o.jobs = 2;
  o.run_dir = run_dir;
  return hd_run(g, &o, &rep);
}

static hd_task_info info(const char *name) {
  for (size_t i = 0; i < hd_report_task_count(rep); i++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
    if (strcmp(ti.name, name) == 0)
      return ti;
  }
  ck_abort_msg("no task %s", name);
  return (hd_task_info){0};
}

/* A task's result as a string (results need not end with a NUL). */
static const char *text(const char *name) {
  static char buf[4096];
  hd_value *v = hd_report_result_by_name(rep, name);
  ck_assert_msg(v != NULL, "task %s has no result", name);
  size_t n = hd_value_size(v);
  ck_assert_uint_lt(n, sizeof(buf));
  memcpy(buf, hd_value_data(v), n);
  buf[n] = '\0';
  return buf;
}

static hd_node *sh(const char *name, const char *cmd) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_cmd(g, name, cmd, &n), HD_OK);
  return n;
}

static void make_temp_dir(char *dir, size_t len) {
  snprintf(dir, len, "/tmp/hodos-test-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_tree(const char *dir) {
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

static int exists(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  struct stat st;
  return stat(path, &st) == 0;
}

static size_t entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

START_TEST(run_argv_words_are_arguments_without_a_shell) {
  const char *words[] = {"printf", "[%s]\n", "a b", "{who}", "$HOME;*", "c"};
  hd_node *p;
  ck_assert_int_eq(hd_graph_add_argv(g, "p", words, 6, &p), HD_OK);
  hd_node_set_param(p, "who", "x 'y'");
  ck_assert_int_eq(run_on(_i, NULL), HD_OK);
  ck_assert_str_eq(text("p"), "[a b]\n[x 'y']\n[$HOME;*]\n[c]\n");
  hd_task_info ti = info("p");
  ck_assert_int_eq(ti.state, HD_STATE_DONE);
  ck_assert_int_eq(ti.exit_status, 0);
}
END_TEST

START_TEST(run_argv_program_not_found) {
  const char *words[] = {"hodos-no-such-program", "x"};
  ck_assert_int_eq(hd_graph_add_argv(g, "p", words, 2, NULL), HD_OK);
  ck_assert_int_eq(run_on(_i, NULL), HD_ETASK);
  ck_assert_int_eq(state("p"), HD_STATE_FAILED);
  ck_assert_str_eq(message("p"), "cannot start 'hodos-no-such-program': no "
                                 "such file or directory");
}
END_TEST

/* A program is looked for on the PATH of the task's own environment, as
 * execvp would with that environment, or in the workdir when its name has
 * a slash; one found but not executable is reported as such. */
START_TEST(run_argv_program_on_the_tasks_path) {
  char dir[64], path[600], file[128];
  make_temp_dir(dir, sizeof(dir));
  snprintf(file, sizeof(file), "%s/hodos-test-prog", dir);
  FILE *f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fputs("#!/bin/sh\necho found \"$1\"\n", f);
  fclose(f);
  ck_assert_int_eq(chmod(file, 0755), 0);
  snprintf(file, sizeof(file), "%s/hodos-test-plain", dir);
  f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fclose(f);
  const char *words[] = {"hodos-test-prog", "it"};
  hd_node *a, *b;
  ck_assert_int_eq(hd_graph_add_argv(g, "a", words, 2, &a), HD_OK);
  snprintf(path, sizeof(path), "/nonexistent:%s:%s", dir, getenv("PATH"));
  ck_assert_int_eq(hd_node_set_env(a, "PATH", path), HD_OK);
  const char *plain[] = {"hodos-test-plain"};
  ck_assert_int_eq(hd_graph_add_argv(g, "b", plain, 1, &b), HD_OK);
  ck_assert_int_eq(hd_node_set_env(b, "PATH", path), HD_OK);
  /* A name with a slash is taken from the workdir. */
  const char *here[] = {"./hodos-test-prog", "here"};
  hd_node *c;
  ck_assert_int_eq(hd_graph_add_argv(g, "c", here, 2, &c), HD_OK);
  ck_assert_int_eq(hd_node_set_workdir(c, dir), HD_OK);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backends[_i];
  o.jobs = 2;
  o.keep_going = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  ck_assert_str_eq(text("a"), "found it\n");
  ck_assert_str_eq(text("c"), "found here\n");
  ck_assert_int_eq(state("b"), HD_STATE_FAILED);
  ck_assert_str_eq(message("b"), "cannot start 'hodos-test-plain': "
                                 "permission denied");
  remove_tree(dir);
}
END_TEST

/* A task starts with every standard signal at its default and none
 * blocked, even when the program that runs it ignores or blocks some.
 * (glibc's two reserved real-time signals, 32 and 33, are left ignored by
 * its posix_spawn: no program may use them.) */
START_TEST(run_task_signals_start_at_their_defaults) {
  struct sigaction ign, old;
  memset(&ign, 0, sizeof(ign));
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ck_assert_int_eq(sigaction(SIGPIPE, &ign, &old), 0);
  sigset_t usr1, oldmask;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &usr1, &oldmask), 0);
  const char *words[] = {"grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"};
  ck_assert_int_eq(hd_graph_add_argv(g, "a", words, 4, NULL), HD_OK);
  int rc = run_on(_i, NULL);
  sigaction(SIGPIPE, &old, NULL);
  pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
  ck_assert_int_eq(rc, HD_OK);
  unsigned long long blocked, ignored;
  ck_assert_int_eq(
      sscanf(text("a"), "SigBlk: %llx SigIgn: %llx", &blocked, &ignored), 2);
  ck_assert_uint_eq(blocked, 0);
  ck_assert_uint_eq(ignored & 0x7fffffffull, 0); /* signals 1 to 31 */
}
END_TEST

START_TEST(run_env_is_set_over_the_inherited_one) {
  ck_assert_int_eq(setenv("HD_TEST_INHERITED", "parent", 1), 0);
  ck_assert_int_eq(setenv("HD_TEST_REPLACED", "parent", 1), 0);
  hd_node *a = sh("a", "printf '%s|%s|%s' \"$HD_TEST_MODE\" "
                       "\"$HD_TEST_INHERITED\" \"$HD_TEST_REPLACED\"");
  hd_node_set_param(a, "m", "1 2");
  ck_assert_int_eq(hd_node_set_env(a, "HD_TEST_MODE", "fast {m}"), HD_OK);
  ck_assert_int_eq(hd_node_set_env(a, "HD_TEST_REPLACED", "mine"), HD_OK);
  const char *words[] = {"printenv", "HD_TEST_MODE"};
  hd_node *b;
  ck_assert_int_eq(hd_graph_add_argv(g, "b", words, 2, &b), HD_OK);
  ck_assert_int_eq(hd_node_set_env(b, "HD_TEST_MODE", "argv"), HD_OK);
  /* Another task does not see them. */
  sh("c", "printf '%s|%s' \"${HD_TEST_MODE-unset}\" \"$HD_TEST_REPLACED\"");
  ck_assert_int_eq(run_on(_i, NULL), HD_OK);
  ck_assert_str_eq(text("a"), "fast 1 2|parent|mine");
  ck_assert_str_eq(text("b"), "argv\n");
  ck_assert_str_eq(text("c"), "unset|parent");
}
END_TEST

START_TEST(run_workdir_is_where_the_task_runs) {
  char dir[64], real[PATH_MAX], want[PATH_MAX + 2];
  make_temp_dir(dir, sizeof(dir));
  ck_assert_ptr_nonnull(realpath(dir, real));
  hd_node *a = sh("a", "pwd");
  ck_assert_int_eq(hd_node_set_workdir(a, dir), HD_OK);
  const char *words[] = {"pwd"};
  hd_node *b;
  ck_assert_int_eq(hd_graph_add_argv(g, "b", words, 1, &b), HD_OK);
  ck_assert_int_eq(hd_node_set_workdir(b, dir), HD_OK);
  /* Relative inputs and outputs are taken from the workdir. */
  hd_node *c = sh("c", "cat in.txt > out.txt");
  hd_node_set_workdir(c, dir);
  hd_node_add_input(c, "in.txt");
  hd_node_add_output(c, "out.txt");
  hd_node_after(c, a);
  hd_node *d = sh("d", "printf in > in.txt");
  hd_node_set_workdir(d, dir);
  hd_node_after(c, d);
  ck_assert_int_eq(run_on(_i, NULL), HD_OK);
  snprintf(want, sizeof(want), "%s\n", real);
  ck_assert_str_eq(text("a"), want);
  ck_assert_str_eq(text("b"), want);
  ck_assert(exists(dir, "out.txt"));
  remove_tree(dir);
}
END_TEST

START_TEST(run_workdir_that_does_not_exist) {
  hd_node *a = sh("a", "pwd");
  hd_node_set_workdir(a, "/nonexistent/hodos-dir");
  ck_assert_int_eq(run_on(_i, NULL), HD_ETASK);
  ck_assert_str_eq(message("a"), "cannot enter its workdir "
                                 "'/nonexistent/hodos-dir': No such file or "
                                 "directory");
}
END_TEST

START_TEST(run_missing_input_fails_before_the_task_runs) {
  char dir[64];
  make_temp_dir(dir, sizeof(dir));
  hd_node *a = sh("a", "touch ran");
  hd_node_set_workdir(a, dir);
  hd_node_add_input(a, "missing.txt");
  hd_node *b = sh("b", "touch ran-too");
  hd_node_set_workdir(b, dir);
  hd_node_after(b, a);
  ck_assert_int_eq(run_on(_i, NULL), HD_ETASK);
  hd_task_info ti = info("a");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_str_eq(ti.message, "input file 'missing.txt' does not exist (No "
                               "such file or directory)");
  ck_assert_uint_eq(ti.attempts, 1);
  ck_assert_ptr_null(ti.stderr_tail);
  ck_assert_int_eq(state("b"), HD_STATE_SKIPPED);
  int ran = exists(dir, "ran") || exists(dir, "ran-too");
  remove_tree(dir);
  ck_assert_msg(!ran, "a task ran although its input was missing");
  /* No process ran, so there is no exit status. */
  ck_assert_int_eq(ti.exit_status, -1);
}
END_TEST

START_TEST(run_output_not_produced_fails_the_task) {
  char dir[64], out[128];
  make_temp_dir(dir, sizeof(dir));
  hd_node *a = sh("a", "echo hi; touch made.txt");
  hd_node_set_workdir(a, dir);
  hd_node_add_output(a, "made.txt");
  hd_node_add_output(a, "never.txt");
  hd_node *b = fn("b", "count");
  hd_node_after(b, a);
  hd_node *c = sh("c", "true");
  snprintf(out, sizeof(out), "%s/absent", dir);
  hd_node_add_output(c, out);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backends[_i];
  o.keep_going = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  hd_task_info ti = info("a");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_str_eq(ti.message, "did not produce its output 'never.txt' (No "
                               "such file or directory)");
  ck_assert_int_eq(ti.exit_status, 0);
  ck_assert_ptr_null(hd_report_result_by_name(rep, "a"));
  ck_assert_int_eq(state("b"), HD_STATE_SKIPPED);
  ck_assert_int_eq(calls, 0);
  char want[256];
  snprintf(want, sizeof(want),
           "did not produce its output '%s' (No such file or directory)", out);
  ck_assert_str_eq(message("c"), want);
  remove_tree(dir);
}
END_TEST

START_TEST(run_stdin_takes_one_task_only) {
  hd_node *a = sh("a", "printf A");
  hd_node *b = sh("b", "printf B");
  hd_node *c = sh("c", "cat");
  hd_node_after(c, a);
  ck_assert_int_eq(hd_node_set_stdin(c, "b"), HD_OK);
  hd_node *all = sh("all", "cat");
  hd_node_after(all, a);
  hd_node_after(all, b);
  const char *words[] = {"cat"};
  hd_node *d;
  ck_assert_int_eq(hd_graph_add_argv(g, "d", words, 1, &d), HD_OK);
  hd_node_after(d, b);
  hd_node_set_stdin(d, "a");
  /* A function still sees all of its inputs. */
  hd_node *j = fn("j", "join");
  hd_node_after(j, a);
  hd_node_set_stdin(j, "b");
  ck_assert_int_eq(run_on(_i, NULL), HD_OK);
  ck_assert_str_eq(text("c"), "B");
  ck_assert_str_eq(text("all"), "AB");
  ck_assert_str_eq(text("d"), "A");
  ck_assert_str_eq(text("j"), "A+B");
}
END_TEST

START_TEST(run_stdin_from_a_fanned_out_task) {
  hd_node *m = sh("m", "printf '%s,' {x}");
  const char *xs[] = {"1", "2", "3"};
  hd_node_map_param(m, "x", xs, 3);
  hd_node *other = sh("other", "printf other");
  hd_node *c = sh("c", "cat");
  hd_node_after(c, other);
  hd_node_set_stdin(c, "m");
  ck_assert_int_eq(run_on(_i, NULL), HD_OK);
  ck_assert_str_eq(text("c"), "1,2,3,");
}
END_TEST

/* Output: for each input, its text, "empty" or "none", joined with ','. */
static int fn_describe(hd_task *t, void *data) {
  (void)data;
  char buf[256] = "";
  size_t len = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    hd_value *v = hd_task_input(t, i);
    const char *what = v == NULL               ? "none"
                       : hd_value_size(v) == 0 ? "empty"
                                               : hd_value_data(v);
    int n = v != NULL && hd_value_size(v) > 0 ? (int)hd_value_size(v) : 5;
    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.*s",
                            i ? "," : "", n, what);
  }
  hd_value *v;
  if (hd_value_new_text(buf, len, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

typedef struct allowed_seen {
  int failed_events;
  int failure_allowed;
} allowed_seen;

static void on_allowed_event(const hd_event *ev, void *data) {
  allowed_seen *s = data;
  if (ev->type == HD_EVENT_FAILED) {
    s->failed_events++;
    s->failure_allowed = ev->failure_allowed;
  }
}

START_TEST(run_allowed_failure_lets_the_run_go_on) {
  hd_fn_register("describe", fn_describe, NULL);
  hd_node *bad = sh("bad", "echo partial; echo oops >&2; exit 3");
  ck_assert_int_eq(hd_node_set_allow_failure(bad, 1), HD_OK);
  hd_node *good = sh("good", "printf good");
  hd_node *after = sh("after", "cat; echo ran");
  hd_node_after(after, bad);
  hd_node_after(after, good);
  hd_node *d = fn("d", "describe");
  hd_node_after(d, bad);
  hd_node_after(d, good);
  allowed_seen as = {0, 0};
  ck_assert_int_eq(run_watched(backends[_i], 2, on_allowed_event, &as), HD_OK);
  ck_assert_int_eq(hd_report_status(rep), HD_OK);
  hd_task_info ti = info("bad");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_int_eq(ti.failure_allowed, 1);
  ck_assert_int_eq(ti.exit_status, 3);
  ck_assert_str_eq(ti.message, "command exited with status 3");
  ck_assert_str_eq(ti.stderr_tail, "oops\n");
  ck_assert_ptr_null(hd_report_result_by_name(rep, "bad"));
  /* Its dependents run, with no result from it: an empty input. */
  ck_assert_int_eq(state("after"), HD_STATE_DONE);
  ck_assert_str_eq(text("after"), "goodran\n");
  ck_assert_str_eq(text("d"), "empty,good");
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_FAILED), 1);
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_DONE), 3);
  ck_assert_int_eq(as.failed_events, 1);
  ck_assert_int_eq(as.failure_allowed, 1);
  ck_assert_int_eq(info("good").failure_allowed, 0);
}
END_TEST

START_TEST(run_failure_not_allowed_is_not_marked) {
  hd_node *bad = sh("bad", "exit 3");
  hd_node_set_allow_failure(bad, 1);
  hd_node_set_allow_failure(bad, 0);
  ck_assert_int_eq(run_on(_i, NULL), HD_ETASK);
  hd_task_info ti = info("bad");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_int_eq(ti.failure_allowed, 0);
}
END_TEST

typedef struct retry_seen {
  int started;
  uint64_t first_start, failed_at;
} retry_seen;

static void on_retry_event(const hd_event *ev, void *data) {
  retry_seen *s = data;
  if (ev->type == HD_EVENT_STARTED && s->started++ == 0)
    s->first_start = ev->time_ns;
  if (ev->type == HD_EVENT_FAILED)
    s->failed_at = ev->time_ns;
}

START_TEST(run_retry_delay_waits_before_each_retry) {
  char dir[64], cmd[128], path[128];
  make_temp_dir(dir, sizeof(dir));
  snprintf(cmd, sizeof(cmd), "echo x >> '%s/attempts'; exit 1", dir);
  hd_node *a = sh("a", cmd);
  ck_assert_int_eq(hd_node_set_retries(a, 2), HD_OK);
  ck_assert_int_eq(hd_node_set_retry_delay(a, 0.2), HD_OK);
  retry_seen rs = {0, 0, 0};
  ck_assert_int_eq(run_watched(backends[_i], 2, on_retry_event, &rs), HD_ETASK);
  hd_task_info ti = info("a");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_uint_eq(ti.attempts, 3);
  ck_assert_str_eq(ti.message, "command exited with status 1");
  ck_assert_int_eq(rs.started, 3);
  snprintf(path, sizeof(path), "%s/attempts", dir);
  ck_assert_str_eq(slurp(path), "x\nx\nx\n");
  /* Two pauses of 0.2 s between the first start and the end. */
  ck_assert_uint_ge(rs.failed_at - rs.first_start, 400000000u);
  ck_assert_uint_ge(ti.end_ns - rs.first_start, 400000000u);
  ck_assert_uint_ge(hd_report_elapsed_ns(rep), 400000000u);
  remove_tree(dir);
}
END_TEST

START_TEST(run_after_file_exists_while_the_task_runs) {
  char tmp[64];
  make_temp_dir(tmp, sizeof(tmp));
  ck_assert_int_eq(setenv("TMPDIR", tmp, 1), 0);
  sh("a", "printf hello");
  hd_node *b = sh("b", "test -f {after.a} && cat {after.a} && echo && "
                       "echo {after.a}");
  hd_node_after(b, hd_graph_find(g, "a"));
  hd_node *c = sh("c", "printf '%s|%s|%s' \"$(cat {after.a})\" {x} '{{y}}'");
  hd_node_set_param(c, "x", "v{1}");
  hd_node_after(c, hd_graph_find(g, "a"));
  const char *words[] = {"cat", "{after.a}"};
  hd_node *d;
  ck_assert_int_eq(hd_graph_add_argv(g, "d", words, 2, &d), HD_OK);
  hd_node_after(d, hd_graph_find(g, "a"));
  ck_assert_int_eq(run_on(_i, NULL), HD_OK);
  /* The file was in a folder made under TMPDIR for the run... */
  char prefix[128];
  snprintf(prefix, sizeof(prefix), "hello\n%s/hodos-", tmp);
  const char *out = text("b");
  ck_assert_msg(strncmp(out, prefix, strlen(prefix)) == 0, "b printed '%s'",
                out);
  ck_assert_str_eq(out + strlen(out) - 3, "/a\n");
  ck_assert_str_eq(text("c"), "hello|v{1}|{y}");
  ck_assert_str_eq(text("d"), "hello");
  /* ...which is gone after the run. */
  ck_assert_uint_eq(entries(tmp), 0);
  remove_tree(tmp);
}
END_TEST

START_TEST(run_after_file_of_the_matching_expansion) {
  char tmp[64];
  make_temp_dir(tmp, sizeof(tmp));
  ck_assert_int_eq(setenv("TMPDIR", tmp, 1), 0);
  const char *chunks[] = {"1", "2", "3"};
  hd_node *clean = sh("clean", "printf 'c%s' {chunk}");
  hd_node_map_param(clean, "chunk", chunks, 3);
  hd_node *stats = sh("stats", "printf '%s-' \"$(cat {after.clean})\" {chunk}");
  hd_node_map_param(stats, "chunk", chunks, 3);
  hd_node_after(stats, clean);
  ck_assert_int_eq(run_on(_i, NULL), HD_OK);
  ck_assert_str_eq(text("stats[chunk=1]"), "c1-1-");
  ck_assert_str_eq(text("stats[chunk=2]"), "c2-2-");
  ck_assert_str_eq(text("stats[chunk=3]"), "c3-3-");
  ck_assert_uint_eq(entries(tmp), 0);
  remove_tree(tmp);
}
END_TEST

START_TEST(run_after_file_in_the_run_folder) {
  char tmp[64], dir[64], run_dir[128], want[256], path[256];
  make_temp_dir(tmp, sizeof(tmp));
  make_temp_dir(dir, sizeof(dir));
  ck_assert_int_eq(setenv("TMPDIR", tmp, 1), 0);
  snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
  sh("a", "printf hello");
  hd_node *b = sh("b", "cat {after.a}; echo; echo {after.a}");
  hd_node_after(b, hd_graph_find(g, "a"));
  ck_assert_int_eq(run_on(_i, run_dir), HD_OK);
  snprintf(want, sizeof(want), "hello\n%s/results/a\n", run_dir);
  ck_assert_str_eq(text("b"), want);
  snprintf(path, sizeof(path), "%s/results/a", run_dir);
  ck_assert_str_eq(slurp(path), "hello");
  /* No other folder was needed. */
  ck_assert_uint_eq(entries(tmp), 0);
  remove_tree(tmp);
  remove_tree(dir);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("run");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, run_passes_results_along_a_diamond);
  tcase_add_loop_test(tc, run_release_results_keeps_only_the_final_ones, 0, 3);
  tcase_add_test(tc, run_inputs_follow_declaration_order);
  tcase_add_test(tc, run_failure_skips_dependents_and_stops);
  tcase_add_test(tc, run_keep_going_runs_what_does_not_depend_on_a_failure);
  tcase_add_test(tc, run_reports_error_codes_and_missing_functions);
  tcase_add_test(tc, run_resolves_function_names_per_run);
  tcase_add_test(tc, run_invalid_graph_returns_diagnostics);
  tcase_add_test(tc, run_unknown_backend);
  tcase_add_test(tc, run_emits_events_in_order);
  tcase_add_test(tc, run_emits_retried_between_attempts);
  tcase_add_test(tc, run_interrupt_cancels_everything_left);
  tcase_add_test(tc, run_graph_can_run_twice);
  tcase_add_test(tc, run_writes_results_and_logs_to_the_run_folder);
  tcase_add_test(tc, run_unwritable_run_folder_is_an_error);
  tcase_add_test(tc, run_survives_allocation_failures);
  tcase_add_test(tc, run_options_defaults);
  tcase_add_test(tc, run_priority_orders_ready_tasks);
  tcase_add_test(tc, run_function_stopped_by_an_interrupt_says_interrupted);
  tcase_add_test(tc, run_task_without_output_passes_an_empty_value);
  tcase_add_loop_test(tc, run_argv_words_are_arguments_without_a_shell, 0, 3);
  tcase_add_loop_test(tc, run_argv_program_not_found, 0, 3);
  tcase_add_loop_test(tc, run_argv_program_on_the_tasks_path, 0, 3);
  tcase_add_loop_test(tc, run_task_signals_start_at_their_defaults, 0, 3);
  tcase_add_loop_test(tc, run_env_is_set_over_the_inherited_one, 0, 3);
  tcase_add_loop_test(tc, run_workdir_is_where_the_task_runs, 0, 3);
  tcase_add_loop_test(tc, run_workdir_that_does_not_exist, 0, 3);
  tcase_add_loop_test(tc, run_missing_input_fails_before_the_task_runs, 0, 3);
  tcase_add_loop_test(tc, run_output_not_produced_fails_the_task, 0, 3);
  tcase_add_loop_test(tc, run_stdin_takes_one_task_only, 0, 3);
  tcase_add_loop_test(tc, run_stdin_from_a_fanned_out_task, 0, 3);
  tcase_add_loop_test(tc, run_allowed_failure_lets_the_run_go_on, 0, 3);
  tcase_add_loop_test(tc, run_failure_not_allowed_is_not_marked, 0, 3);
  tcase_add_loop_test(tc, run_retry_delay_waits_before_each_retry, 0, 3);
  tcase_add_loop_test(tc, run_after_file_exists_while_the_task_runs, 0, 3);
  tcase_add_loop_test(tc, run_after_file_of_the_matching_expansion, 0, 3);
  tcase_add_loop_test(tc, run_after_file_in_the_run_folder, 0, 3);
  suite_add_tcase(s, tc);
  return s;
}
