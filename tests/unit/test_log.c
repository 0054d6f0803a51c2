/* Logging: the library hands messages to the application's callback. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

typedef struct got {
  int count;
  hd_log_level level;
  char text[2048];
} got;

static void on_log(hd_log_level level, const char *message, void *data) {
  got *g = data;
  g->count++;
  g->level = level;
  snprintf(g->text, sizeof(g->text), "%s", message);
}

START_TEST(log_levels_filter_messages) {
  got g = {0, HD_LOG_ERROR, ""};
  hd_log_set_cb(on_log, &g, HD_LOG_WARN);
  hd__log(HD_LOG_INFO, "hidden %d", 1);
  ck_assert_int_eq(g.count, 0);
  hd__log(HD_LOG_WARN, "shown %d", 2);
  ck_assert_int_eq(g.count, 1);
  ck_assert_int_eq(g.level, HD_LOG_WARN);
  ck_assert_str_eq(g.text, "shown 2");
  hd__log(HD_LOG_ERROR, "error");
  ck_assert_int_eq(g.count, 2);
  hd_log_set_cb(on_log, &g, HD_LOG_TRACE);
  hd__log(HD_LOG_TRACE, "trace");
  ck_assert_int_eq(g.count, 3);
  hd_log_set_cb(NULL, NULL, HD_LOG_TRACE);
  hd__log(HD_LOG_ERROR, "nobody listens");
  ck_assert_int_eq(g.count, 3);
}
END_TEST

START_TEST(log_long_messages_arrive_whole) {
  got g = {0, HD_LOG_ERROR, ""};
  hd_log_set_cb(on_log, &g, HD_LOG_INFO);
  char big[1500];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  hd__log(HD_LOG_INFO, "<%s>", big);
  ck_assert_uint_eq(strlen(g.text), sizeof(big) + 1);
  ck_assert_int_eq(g.text[0], '<');
  ck_assert_int_eq(g.text[sizeof(big)], '>');
  hd_log_set_cb(NULL, NULL, HD_LOG_INFO);
}
END_TEST

START_TEST(log_level_names) {
  ck_assert_str_eq(hd_log_level_name(HD_LOG_ERROR), "error");
  ck_assert_str_eq(hd_log_level_name(HD_LOG_WARN), "warning");
  ck_assert_str_eq(hd_log_level_name(HD_LOG_INFO), "info");
  ck_assert_str_eq(hd_log_level_name(HD_LOG_DEBUG), "debug");
  ck_assert_str_eq(hd_log_level_name(HD_LOG_TRACE), "trace");
  ck_assert_str_eq(hd_log_level_name((hd_log_level)42), "unknown");
}
END_TEST

START_TEST(log_retries_are_logged_at_info) {
  /* The scheduler says when it retries a task. */
  got g = {0, HD_LOG_ERROR, ""};
  hd_log_set_cb(on_log, &g, HD_LOG_INFO);
  hd_graph *gr;
  hd_node *n;
  hd_graph_new(&gr);
  hd_graph_add_cmd(gr, "flaky", "exit 1", &n);
  hd_node_set_retries(n, 1);
  hd_report *r;
  ck_assert_int_eq(hd_run(gr, NULL, &r), HD_ETASK);
  ck_assert_int_eq(g.count, 1);
  ck_assert_str_eq(g.text, "task 'flaky' failed (command exited with status "
                           "1); attempt 2 of 2");
  hd_report_free(r);
  hd_graph_free(gr);
  hd_log_set_cb(NULL, NULL, HD_LOG_INFO);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("log");
  TCase *tc = tcase_create("log");
  tcase_add_test(tc, log_levels_filter_messages);
  tcase_add_test(tc, log_long_messages_arrive_whole);
  tcase_add_test(tc, log_level_names);
  tcase_add_test(tc, log_retries_are_logged_at_info);
  suite_add_tcase(s, tc);
  return s;
}
