/* Running graphs on the serial backend: results, failures, events, the
 * report and the run folder. */
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
  fn("ghost", "no_such_function");
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.keep_going = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  ck_assert_str_eq(message("plain"),
                   "function 'plain_error' returned EIO (input/output error)");
  ck_assert_str_eq(message("ghost"),
                   "no function named 'no_such_function' is registered");
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
                   "unknown backend 'warp' (available: serial, threads)");
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
  ck_assert_str_eq(s.log, "started:a;done:a;started:b;failed:b;skipped:c;");
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

Suite *make_suite(void) {
  Suite *s = suite_create("run");
  TCase *tc = tcase_create("run");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, run_passes_results_along_a_diamond);
  tcase_add_test(tc, run_inputs_follow_declaration_order);
  tcase_add_test(tc, run_failure_skips_dependents_and_stops);
  tcase_add_test(tc, run_keep_going_runs_what_does_not_depend_on_a_failure);
  tcase_add_test(tc, run_reports_error_codes_and_missing_functions);
  tcase_add_test(tc, run_invalid_graph_returns_diagnostics);
  tcase_add_test(tc, run_unknown_backend);
  tcase_add_test(tc, run_emits_events_in_order);
  tcase_add_test(tc, run_interrupt_cancels_everything_left);
  tcase_add_test(tc, run_graph_can_run_twice);
  tcase_add_test(tc, run_writes_results_and_logs_to_the_run_folder);
  tcase_add_test(tc, run_unwritable_run_folder_is_an_error);
  tcase_add_test(tc, run_survives_allocation_failures);
  tcase_add_test(tc, run_options_defaults);
  tcase_add_test(tc, run_task_without_output_passes_an_empty_value);
  suite_add_tcase(s, tc);
  return s;
}
