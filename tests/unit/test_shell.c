/* Shell tasks: real /bin/sh children, their pipes, statuses, signals,
 * interrupts, and that nothing is left behind. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/exec.h"
#include "test_util.h"

static hd_graph *g;
static hd_report *rep;

static void setup(void) { ck_assert_int_eq(hd_graph_new(&g), HD_OK); }

static void teardown(void) {
  hd_report_free(rep);
  rep = NULL;
  hd_graph_free(g);
  g = NULL;
  /* No child of ours may be left, running or unreaped. */
  ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
  ck_assert_int_eq(errno, ECHILD);
}

static hd_node *sh(const char *name, const char *cmd) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_cmd(g, name, cmd, &n), HD_OK);
  return n;
}

static hd_task_info info(size_t i) {
  hd_task_info ti;
  ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
  return ti;
}

START_TEST(shell_captures_stdout_as_result) {
  sh("a", "printf 'hello\\0world'");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  hd_value *v = hd_report_result(rep, 0);
  ck_assert_int_eq(hd_value_kind_of(v), HD_VALUE_BYTES);
  ck_assert_uint_eq(hd_value_size(v), 11);
  ck_assert_mem_eq(hd_value_data(v), "hello\0world", 11);
  ck_assert_int_eq(info(0).exit_status, 0);
}
END_TEST

START_TEST(shell_stdin_is_the_inputs_concatenated) {
  hd_node *a = sh("a", "printf A"), *b = sh("b", "printf B");
  hd_node *c = sh("c", "cat; printf .");
  hd_node_after(c, b);
  hd_node_after(c, a);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 2)), "BA.");
}
END_TEST

START_TEST(shell_without_inputs_reads_empty_stdin) {
  sh("a", "wc -c");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 0)), "0\n");
}
END_TEST

START_TEST(shell_exit_status_fails_the_task) {
  sh("a", "echo partial; echo 'something broke' >&2; exit 3");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_ETASK);
  hd_task_info ti = info(0);
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_int_eq(ti.exit_status, 3);
  ck_assert_int_eq(ti.term_signal, 0);
  ck_assert_str_eq(ti.message, "command exited with status 3");
  ck_assert_str_eq(ti.stderr_tail, "something broke\n");
  ck_assert_ptr_null(hd_report_result(rep, 0));
}
END_TEST

START_TEST(shell_signal_is_named) {
  sh("a", "kill -9 $$");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_ETASK);
  hd_task_info ti = info(0);
  ck_assert_int_eq(ti.term_signal, 9);
  ck_assert_str_eq(ti.message, "command killed by SIGKILL");
  char buf[16];
  ck_assert_str_eq(hd__signal_name(SIGSEGV, buf, sizeof(buf)), "SIGSEGV");
  ck_assert_str_eq(hd__signal_name(77, buf, sizeof(buf)), "signal 77");
}
END_TEST

START_TEST(shell_missing_program) {
  sh("a", "/no/such/program");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_ETASK);
  ck_assert_int_eq(info(0).exit_status, 127);
  ck_assert_ptr_nonnull(strstr(info(0).stderr_tail, "/no/such/program"));
}
END_TEST

START_TEST(shell_large_output_passes_through_a_chain) {
  /* 8 MiB through three processes: pipes must be drained while written. */
  hd_node *a = sh("a", "head -c 8388608 /dev/zero | tr '\\0' x");
  hd_node *b = sh("b", "cat");
  hd_node *c = sh("c", "wc -c");
  hd_node_after(b, a);
  hd_node_after(c, b);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_uint_eq(hd_value_size(hd_report_result(rep, 1)), 8388608);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 2)), "8388608\n");
}
END_TEST

START_TEST(shell_task_may_ignore_its_input) {
  /* The reader exits at once; writing the rest must not kill the run. */
  hd_node *a = sh("a", "head -c 4194304 /dev/zero");
  hd_node *b = sh("b", "echo ignored");
  hd_node_after(b, a);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 1)), "ignored\n");
}
END_TEST

START_TEST(shell_stderr_tail_is_bounded) {
  sh("a", "i=0; while [ $i -lt 3000 ]; do echo line $i >&2; i=$((i+1)); "
          "done");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  const char *tail = info(0).stderr_tail;
  ck_assert_uint_le(strlen(tail), HD__STDERR_TAIL);
  ck_assert_ptr_nonnull(strstr(tail, "line 2999\n"));
  ck_assert_ptr_null(strstr(tail, "line 1\n"));
}
END_TEST

START_TEST(shell_background_children_do_not_outlive_the_task) {
  /* A child left running would hold stdout open forever; it is
     terminated with the task's process group. */
  sh("a", "sleep 300 & echo started");
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 0)), "started\n");
}
END_TEST

/* The interrupt flag is set from a signal handler, as the API says: a
 * timer raises SIGALRM 200 ms into the run. */
static volatile sig_atomic_t stop;

static void on_alarm(int sig) {
  (void)sig;
  stop = 1;
}

static void interrupt_later(void) {
  stop = 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, 0}, {0, 200 * 1000}};
  setitimer(ITIMER_REAL, &it, NULL);
}

START_TEST(shell_interrupt_terminates_the_running_task) {
  sh("a", "sleep 300");
  sh("b", "echo never");
  interrupt_later();
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.interrupt = &stop;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_EINTR);
  ck_assert_int_eq(info(0).state, HD_STATE_CANCELLED);
  ck_assert_str_eq(info(0).message, "interrupted");
  ck_assert_int_eq(info(1).state, HD_STATE_CANCELLED);
}
END_TEST

START_TEST(shell_interrupt_escalates_to_sigkill) {
  /* A task that ignores SIGTERM is killed after the grace period. */
  sh("a", "trap '' TERM; sleep 300");
  interrupt_later();
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.interrupt = &stop;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_EINTR);
  ck_assert_int_eq(info(0).state, HD_STATE_CANCELLED);
}
END_TEST

START_TEST(shell_integer_inputs_arrive_as_text) {
  hd_node *c = sh("c", "cat");
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, "n", "test_shell_int", &n), HD_OK);
  hd_node_after(c, n);
  ck_assert_int_eq(hd_run(g, NULL, &rep), HD_OK);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 0)), "-42");
}
END_TEST

static int fn_int(hd_task *t, void *data) {
  (void)data;
  hd_value *v;
  hd_value_new_int(-42, &v);
  return hd_task_set_output(t, v);
}

Suite *make_suite(void) {
  hd_fn_register("test_shell_int", fn_int, NULL);
  Suite *s = suite_create("shell");
  TCase *tc = tcase_create("shell");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 10);
  tcase_add_test(tc, shell_captures_stdout_as_result);
  tcase_add_test(tc, shell_stdin_is_the_inputs_concatenated);
  tcase_add_test(tc, shell_without_inputs_reads_empty_stdin);
  tcase_add_test(tc, shell_exit_status_fails_the_task);
  tcase_add_test(tc, shell_signal_is_named);
  tcase_add_test(tc, shell_missing_program);
  tcase_add_test(tc, shell_large_output_passes_through_a_chain);
  tcase_add_test(tc, shell_task_may_ignore_its_input);
  tcase_add_test(tc, shell_stderr_tail_is_bounded);
  tcase_add_test(tc, shell_background_children_do_not_outlive_the_task);
  tcase_add_test(tc, shell_interrupt_terminates_the_running_task);
  tcase_add_test(tc, shell_interrupt_escalates_to_sigkill);
  tcase_add_test(tc, shell_integer_inputs_arrive_as_text);
  suite_add_tcase(s, tc);
  return s;
}
