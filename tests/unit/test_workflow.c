/* Loading workflow files: the language, and errors at their positions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph/graph_internal.h"
#include "test_util.h"

static hd_workflow *wf;

static void teardown(void) {
  hd_workflow_free(wf);
  wf = NULL;
}

static int load(const char *text) {
  return hd_workflow_load_string(text, strlen(text), "wf.yaml", &wf);
}

/* Assert diagnostic i is at line:col with this message. */
static void expect(size_t i, int line, int col, const char *msg) {
  const hd_diag *d = hd_workflow_diag(wf, i);
  ck_assert_msg(d != NULL, "no diagnostic %zu", i);
  ck_assert_str_eq(d->message, msg);
  ck_assert_str_eq(d->file, "wf.yaml");
  ck_assert_int_eq(d->line, line);
  ck_assert_int_eq(d->column, col);
}

START_TEST(workflow_loads_tasks_and_dependencies) {
  ck_assert_int_eq(load("name: demo\n"
                        "description: a test\n"
                        "tasks:\n"
                        "  - name: a\n"
                        "    run: echo a\n"
                        "  - name: b\n"
                        "    run: cat\n"
                        "    after: a\n"
                        "  - name: c\n"
                        "    run: cat\n"
                        "    after: [b, a]\n"),
                   HD_OK);
  ck_assert_str_eq(hd_workflow_name(wf), "demo");
  ck_assert_str_eq(hd_workflow_description(wf), "a test");
  hd_graph *g = hd_workflow_graph(wf);
  ck_assert_uint_eq(hd_graph_node_count(g), 3);
  hd_node *c = hd_graph_find(g, "c");
  ck_assert_str_eq(hd_node_cmd(c), "cat");
  ck_assert_uint_eq(hd_node_dep_count(c), 2);
  ck_assert_str_eq(hd_node_dep_name(c, 0), "b");
  ck_assert_str_eq(hd_node_dep_name(c, 1), "a");
  ck_assert_uint_eq(hd_node_dep_count(hd_graph_find(g, "b")), 1);
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 0);
}
END_TEST

START_TEST(workflow_name_and_description_are_optional) {
  ck_assert_int_eq(load("tasks:\n  - {name: a, run: 'true'}\n"), HD_OK);
  ck_assert_ptr_null(hd_workflow_name(wf));
  ck_assert_ptr_null(hd_workflow_description(wf));
}
END_TEST

START_TEST(workflow_syntax_error_has_position) {
  ck_assert_int_eq(load("tasks:\n"
                        "  - name: a\n"
                        "    run: \"unclosed\n"),
                   HD_ESYNTAX);
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 1);
  const hd_diag *d = hd_workflow_diag(wf, 0);
  ck_assert_int_eq(d->code, HD_ESYNTAX);
  /* Where the quote opens, not the end of the file. */
  ck_assert_int_eq(d->line, 3);
  ck_assert_int_eq(d->column, 10);
  ck_assert_ptr_nonnull(strstr(d->message, "quoted scalar"));
}
END_TEST

START_TEST(workflow_bad_indentation_is_a_syntax_error) {
  ck_assert_int_eq(load("tasks:\n"
                        "  - name: a\n"
                        "     run: x\n"),
                   HD_ESYNTAX);
  const hd_diag *d = hd_workflow_diag(wf, 0);
  ck_assert_int_eq(d->line, 3);
  ck_assert_int_eq(d->column, 9);
  ck_assert_str_eq(d->message,
                   "mapping values are not allowed in this context (a value "
                   "that holds ': ' must be quoted)");
}
END_TEST

START_TEST(workflow_unknown_keys_suggest_the_right_one) {
  ck_assert_int_eq(load("nmae: x\n"
                        "tasks:\n"
                        "  - name: a\n"
                        "    rnu: echo\n"
                        "    colour: red\n"),
                   HD_ESCHEMA);
  /* The misspelt 'rnu' is reported once, not also as a missing 'run'. */
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 3);
  expect(0, 1, 1, "unknown key 'nmae' in the workflow; did you mean 'name'?");
  expect(1, 4, 5, "unknown key 'rnu' in task 'a'; did you mean 'run'?");
  expect(2, 5, 5, "unknown key 'colour' in task 'a'");
}
END_TEST

START_TEST(workflow_wrong_types_are_reported_at_the_value) {
  ck_assert_int_eq(load("name: [x]\n"
                        "tasks:\n"
                        "  - name: a\n"
                        "    run: [echo, hi]\n"
                        "    after: {b: 1}\n"
                        "  - name: b\n"
                        "    run: ~\n"
                        "    after: [a, [c]]\n"
                        "  - just a string\n"),
                   HD_ESCHEMA);
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 6);
  expect(0, 1, 7, "'name' of the workflow must be a string, not a list");
  expect(1, 4, 10, "'run' of task 'a' must be a string, not a list");
  expect(2, 5, 12,
         "'after' of task 'a' must be a task name or a list of names, not a "
         "mapping");
  expect(3, 7, 10, "'run' of task 'b' must be a string, not null");
  expect(4, 8, 16, "'after' of task 'b' must list task names, not a list");
  expect(
      5, 9, 5,
      "a task must be a mapping with 'name' and one of 'run', 'argv' or 'fn', "
      "not a scalar");
}
END_TEST

START_TEST(workflow_missing_fields) {
  ck_assert_int_eq(load("tasks:\n"
                        "  - run: echo\n"
                        "  - name: b\n"
                        "  - name: c\n"
                        "    run: ''\n"),
                   HD_ESCHEMA);
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 3);
  expect(0, 2, 5, "task 1 has no 'name'");
  expect(1, 3, 5,
         "task 'b' needs one of 'run' (a shell command), 'argv' (a program "
         "and its arguments) or 'fn' (a function)");
  expect(2, 5, 10, "'run' of task 'c' is empty");
}
END_TEST

START_TEST(workflow_duplicate_keys) {
  ck_assert_int_eq(load("tasks:\n"
                        "  - name: a\n"
                        "    run: x\n"
                        "    run: y\n"),
                   HD_ESCHEMA);
  expect(0, 4, 5, "key 'run' appears twice in task 'a' (first at line 3)");
}
END_TEST

START_TEST(workflow_empty_or_not_a_mapping) {
  ck_assert_int_eq(load(""), HD_ESCHEMA);
  const hd_diag *d = hd_workflow_diag(wf, 0);
  ck_assert_str_eq(d->message,
                   "the workflow is empty; it needs at least a 'tasks' list");
  ck_assert_int_eq(d->line, 0);
  teardown();
  ck_assert_int_eq(load("# only a comment\n"), HD_ESCHEMA);
  teardown();
  ck_assert_int_eq(load("- a\n- b\n"), HD_ESCHEMA);
  expect(0, 1, 1,
         "a workflow must be a mapping with a 'tasks' list, not a list");
  teardown();
  ck_assert_int_eq(load("name: x\n"), HD_ESCHEMA);
  expect(0, 1, 1, "the workflow has no 'tasks'");
  teardown();
  ck_assert_int_eq(load("tasks: 3\n"), HD_ESCHEMA);
  expect(0, 1, 8, "'tasks' must be a list of tasks, not a scalar");
  teardown();
  ck_assert_int_eq(load("tasks: []\n---\ntasks: []\n"), HD_ESCHEMA);
  expect(0, 3, 1, "a workflow file holds one YAML document; this is a second");
}
END_TEST

START_TEST(workflow_graph_errors_have_positions) {
  ck_assert_int_eq(load("tasks:\n"
                        "  - name: greet\n"
                        "    run: echo\n"
                        "  - name: shout\n"
                        "    run: cat\n"
                        "    after: [gret]\n"
                        "  - name: greet\n"
                        "    run: echo again\n"),
                   HD_EGRAPH);
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 2);
  expect(0, 6, 13,
         "task 'shout' depends on unknown task 'gret'; did you mean 'greet'?");
  expect(1, 7, 11,
         "duplicate task name 'greet' (first declared at "
         "wf.yaml:2:11)");
  ck_assert_str_eq(hd_workflow_diag(wf, 0)->task, "shout");
}
END_TEST

START_TEST(workflow_cycle_is_reported_with_its_path) {
  ck_assert_int_eq(load("tasks:\n"
                        "  - {name: a, run: x, after: c}\n"
                        "  - {name: b, run: x, after: a}\n"
                        "  - {name: c, run: x, after: b}\n"),
                   HD_ECYCLE);
  expect(0, 2, 12, "dependency cycle: a -> b -> c -> a");
}
END_TEST

START_TEST(workflow_missing_file) {
  ck_assert_int_eq(hd_workflow_load("/nonexistent/wf.yaml", &wf), HD_EIO);
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 1);
  const hd_diag *d = hd_workflow_diag(wf, 0);
  ck_assert_str_eq(d->file, "/nonexistent/wf.yaml");
  ck_assert_str_eq(d->message,
                   "cannot read the workflow: No such file or directory");
  teardown();
  ck_assert_int_eq(hd_workflow_load(NULL, &wf), HD_EINVAL);
  ck_assert_ptr_null(wf);
}
END_TEST

START_TEST(workflow_loads_from_a_file) {
  char path[] = "/tmp/hodos-wf-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  const char *text = "tasks:\n  - name: a\n    run: echo a\n";
  ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  ck_assert_int_eq(hd_workflow_load(path, &wf), HD_OK);
  hd_node *a = hd_graph_find(hd_workflow_graph(wf), "a");
  ck_assert_ptr_nonnull(a);
  unlink(path);
}
END_TEST

START_TEST(workflow_survives_allocation_failures) {
  const char *text = "name: x\n"
                     "tasks:\n"
                     "  - {name: a, run: echo a}\n"
                     "  - {name: b, run: cat, after: [a]}\n"
                     "  - {name: c, run: cat, after: b}\n";
  for (long n = 0; n < 5000; n++) {
    hd__alloc_fail_after(n);
    int rc = load(text);
    hd__alloc_fail_after(-1);
    if (rc == HD_OK) {
      ck_assert_uint_eq(hd_graph_node_count(hd_workflow_graph(wf)), 3);
      return;
    }
    ck_assert_msg(rc == HD_ENOMEM || rc == HD_ESCHEMA, "allocation %ld: %s", n,
                  hd_err_name(rc));
    teardown();
  }
  ck_abort_msg("never succeeded");
}
END_TEST

START_TEST(workflow_settings_and_defaults_reach_the_nodes) {
  ck_assert_int_eq(load("backend: serial\n"
                        "jobs: 3\n"
                        "env: {A: top}\n"
                        "defaults:\n"
                        "  retries: 2\n"
                        "  retry_delay: 1.5s\n"
                        "  timeout: 1h30m\n"
                        "  mem: 512M\n"
                        "  env: {B: dflt}\n"
                        "tasks:\n"
                        "  - name: a\n"
                        "    run: echo {x}\n"
                        "    params: {x: 1}\n"
                        "    timeout: 500ms\n"
                        "    cpus: 2\n"
                        "    priority: -3\n"
                        "    cache: false\n"
                        "    allow_failure: true\n"
                        "    env: {A: mine}\n"
                        "  - name: b\n"
                        "    argv: [printf, '%s', '{y}']\n"
                        "    params: {y: 'two words'}\n"
                        "    retries: 0\n"
                        "    mem: 4G\n"),
                   HD_OK);
  ck_assert_str_eq(hd_workflow_backend(wf), "serial");
  ck_assert_uint_eq(hd_workflow_jobs(wf), 3);
  hd_node *a = hd_graph_find(hd_workflow_graph(wf), "a");
  hd_node *b = hd_graph_find(hd_workflow_graph(wf), "b");
  ck_assert_uint_eq(hd__node_settings(a)->retries, 2);
  ck_assert_uint_eq(hd__node_settings(a)->retry_delay_ns, 1500000000ull);
  ck_assert_uint_eq(hd__node_settings(a)->timeout_ns, 500000000ull);
  ck_assert_uint_eq(hd__node_settings(b)->timeout_ns, 5400ull * 1000000000ull);
  ck_assert_uint_eq(hd__node_settings(a)->mem, 512ull << 20);
  ck_assert_uint_eq(hd__node_settings(b)->mem, 4ull << 30);
  ck_assert_uint_eq(hd__node_settings(a)->cpus, 2);
  ck_assert_int_eq(hd__node_settings(a)->priority, -3);
  ck_assert_int_eq(hd__node_settings(a)->cache, 0);
  ck_assert_int_eq(hd__node_settings(a)->allow_failure, 1);
  ck_assert_uint_eq(hd__node_settings(b)->retries, 0);
  ck_assert_int_eq(hd__node_settings(b)->allow_failure, 0);
  /* The task's env over the defaults' over the workflow's. */
  ck_assert_uint_eq(hd__node_io(a)->env.count, 2);
  ck_assert_str_eq(hd__node_io(a)->env.items[0].s, "A=mine");
  ck_assert_str_eq(hd__node_io(a)->env.items[1].s, "B=dflt");
  ck_assert_int_eq(hd_node_kind_of(b), HD_NODE_ARGV);
  ck_assert_uint_eq(hd__node_io(b)->argv.count, 3);
  ck_assert_str_eq(hd__node_io(b)->argv.items[2].s, "{y}");
}
END_TEST

START_TEST(workflow_hosts_in_both_forms) {
  ck_assert_int_eq(load("hosts:\n"
                        "  - alice@node1:2222\n"
                        "  - node2\n"
                        "  - {host: node3, user: bob, port: 22, slots: 8, "
                        "hodos: /opt/bin/hodos}\n"
                        "tasks:\n"
                        "  - {name: a, run: 'true'}\n"),
                   HD_OK);
  ck_assert_uint_eq(hd_workflow_host_count(wf), 3);
  const hd_workflow_host *h = hd_workflow_host_at(wf, 0);
  ck_assert_str_eq(h->host, "node1");
  ck_assert_str_eq(h->user, "alice");
  ck_assert_uint_eq(h->port, 2222);
  h = hd_workflow_host_at(wf, 1);
  ck_assert_str_eq(h->host, "node2");
  ck_assert_ptr_null(h->user);
  ck_assert_uint_eq(h->port, 0);
  h = hd_workflow_host_at(wf, 2);
  ck_assert_str_eq(h->user, "bob");
  ck_assert_uint_eq(h->slots, 8);
  ck_assert_str_eq(h->hodos, "/opt/bin/hodos");
  ck_assert_ptr_null(hd_workflow_host_at(wf, 3));
}
END_TEST

START_TEST(workflow_strict_scalars_are_reported_at_the_value) {
  ck_assert_int_eq(load("jobs: 010\n"
                        "tasks:\n"
                        "  - name: a\n"
                        "    run: 'true'\n"
                        "    retries: 3x\n"
                        "    timeout: 10x\n"
                        "    mem: 4Q\n"
                        "    cache: yes\n"
                        "    cpus: '2'\n"),
                   HD_ESCHEMA);
  expect(0, 1, 7,
         "'jobs' of the workflow must be a whole number from 1 to 1024, not "
         "'010' (leading zeros are not allowed)");
  expect(1, 5, 14,
         "'retries' of task 'a' must be a whole number from 0 to 1000000, not "
         "'3x'");
  expect(2, 6, 14,
         "'timeout' of task 'a' must be a duration such as 30s, 1.5m, 2h or "
         "1h30m, not '10x' (unknown unit (use ms, s, m, h or d))");
  expect(3, 7, 10,
         "'mem' of task 'a' must be a size such as 512M, 4G or 1048576, not "
         "'4Q' (unknown unit (use K, M, G or T))");
  expect(4, 8, 12, "'cache' of task 'a' must be true or false, not 'yes'");
  expect(5, 9, 11,
         "'cpus' of task 'a' must be a whole number from 1 to 65535, not '2' "
         "(a number is written without quotes)");
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 6);
}
END_TEST

START_TEST(workflow_kinds_are_exclusive_and_checked) {
  ck_assert_int_eq(load("tasks:\n"
                        "  - name: a\n"
                        "    run: x\n"
                        "    fn: y\n"
                        "  - name: b\n"
                        "    argv: []\n"
                        "  - name: c\n"
                        "    fn: not_registered_anywhere\n"
                        "    env: {A: 1}\n"),
                   HD_ESCHEMA);
  expect(0, 4, 5, "task 'a' has both 'run' and 'fn'; give only one");
  expect(1, 6, 11,
         "'argv' of task 'b' is empty; it needs at least the program");
  expect(2, 8, 9,
         "task 'c' calls function 'not_registered_anywhere', which is not "
         "registered (load the plugin that defines it with 'plugins')");
  expect(3, 9, 5,
         "task 'c' calls a function, which runs inside hodos: 'env' is for "
         "'run' and 'argv' tasks");
}
END_TEST

START_TEST(workflow_alias_bombs_are_refused) {
  ck_assert_int_eq(load("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                        "tasks: []\n"),
                   HD_ESCHEMA);
  const hd_diag *d = hd_workflow_diag(wf, 0);
  ck_assert_ptr_nonnull(strstr(d->message, "aliases expand this document"));
  teardown();
  ck_assert_int_eq(load("&r [*r]\n"), HD_ESCHEMA);
  ck_assert_ptr_nonnull(
      strstr(hd_workflow_diag(wf, 0)->message, "refers to a node that holds"));
}
END_TEST

/* Text of n nested flow sequences (open + n '[' + n ']'), or block
 * mappings each indented a column more than the last (block). */
static char *nested(const char *open, size_t n, int block) {
  size_t len = strlen(open), cap = len + (block ? n * (n + 8) : 2 * n) + 2;
  char *s = malloc(cap), *at = s + len;
  ck_assert_ptr_nonnull(s);
  memcpy(s, open, len);
  for (size_t i = 0; i < n; i++)
    if (block) {
      memset(at, ' ', i);
      memcpy(at + i, "k:\n", 3);
      at += i + 3;
    } else {
      at[i] = '[';
      at[2 * n - 1 - i] = ']';
    }
  if (!block)
    at += 2 * n;
  memcpy(at, "\n", 2);
  return s;
}

START_TEST(workflow_deep_nesting_is_refused_at_once) {
  /* libyaml's time per token grows with the depth: 100,000 nested lists
     took 84 s to refuse before the loader stopped at 1000 levels. */
  char *deep = nested("tasks:\n  - name: a\n    run: echo\n    params:\n"
                      "      x: ",
                      100000, 0);
  ck_assert_int_eq(load(deep), HD_ESYNTAX);
  expect(0, 5, 1006, "collections are nested more than 1000 deep");
  free(deep);
  teardown();
  deep = nested("x:\n", 3000, 1); /* block mappings, 4.5 MB */
  ck_assert_int_eq(load(deep), HD_ESYNTAX);
  expect(0, 1002, 1001, "collections are nested more than 1000 deep");
  free(deep);
  teardown();
  /* 990 levels are still read (and refused only as a param's value). */
  deep = nested("tasks:\n  - name: a\n    run: echo\n    params:\n"
                "      x: ",
                990, 0);
  ck_assert_int_eq(load(deep), HD_ESCHEMA);
  expect(0, 5, 10, "param 'x' of task 'a' must be a scalar, not a list");
  free(deep);
}
END_TEST

/* Write text to dir/name. */
static void put(const char *dir, const char *name, const char *text) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(workflow_includes_once_and_refuses_cycles) {
  char dir[] = "/tmp/hodos-wf-XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char sub[600];
  snprintf(sub, sizeof(sub), "%s/sub", dir);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  put(dir, "main.yaml",
      "include: [sub/one.yaml, sub/one.yaml]\n"
      "tasks:\n"
      "  - {name: m, run: 'true', after: one}\n");
  put(sub, "one.yaml",
      "include: two.yaml\n"
      "defaults: {retries: 4}\n"
      "tasks:\n"
      "  - {name: one, run: 'true', after: two}\n");
  put(sub, "two.yaml",
      "include: ../main.yaml\n"
      "tasks:\n"
      "  - {name: two, run: 'true'}\n");
  char path[700];
  snprintf(path, sizeof(path), "%s/main.yaml", dir);
  ck_assert_int_eq(hd_workflow_load(path, &wf), HD_ESCHEMA);
  ck_assert_uint_eq(hd_workflow_diag_count(wf), 1);
  const hd_diag *d = hd_workflow_diag(wf, 0);
  ck_assert_int_eq(d->line, 1);
  ck_assert_int_eq(d->column, 10);
  ck_assert_ptr_nonnull(strstr(d->file, "sub/two.yaml"));
  ck_assert_ptr_nonnull(strstr(d->message, "include cycle: "));
  hd_workflow_free(wf);
  wf = NULL;
  /* Without the cycle: three tasks, the included file's defaults on its
     own task only. */
  put(sub, "two.yaml", "tasks:\n  - {name: two, run: 'true'}\n");
  ck_assert_int_eq(hd_workflow_load(path, &wf), HD_OK);
  hd_graph *g = hd_workflow_graph(wf);
  ck_assert_uint_eq(hd_graph_node_count(g), 3);
  ck_assert_uint_eq(hd__node_settings(hd_graph_find(g, "one"))->retries, 4);
  ck_assert_uint_eq(hd__node_settings(hd_graph_find(g, "two"))->retries, 4);
  ck_assert_uint_eq(hd__node_settings(hd_graph_find(g, "m"))->retries, 0);
  char cmd[800];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("workflow");
  TCase *tc = tcase_create("workflow");
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, workflow_loads_tasks_and_dependencies);
  tcase_add_test(tc, workflow_name_and_description_are_optional);
  tcase_add_test(tc, workflow_syntax_error_has_position);
  tcase_add_test(tc, workflow_bad_indentation_is_a_syntax_error);
  tcase_add_test(tc, workflow_unknown_keys_suggest_the_right_one);
  tcase_add_test(tc, workflow_wrong_types_are_reported_at_the_value);
  tcase_add_test(tc, workflow_missing_fields);
  tcase_add_test(tc, workflow_duplicate_keys);
  tcase_add_test(tc, workflow_empty_or_not_a_mapping);
  tcase_add_test(tc, workflow_graph_errors_have_positions);
  tcase_add_test(tc, workflow_cycle_is_reported_with_its_path);
  tcase_add_test(tc, workflow_missing_file);
  tcase_add_test(tc, workflow_loads_from_a_file);
  tcase_add_test(tc, workflow_survives_allocation_failures);
  tcase_add_test(tc, workflow_settings_and_defaults_reach_the_nodes);
  tcase_add_test(tc, workflow_hosts_in_both_forms);
  tcase_add_test(tc, workflow_strict_scalars_are_reported_at_the_value);
  tcase_add_test(tc, workflow_kinds_are_exclusive_and_checked);
  tcase_add_test(tc, workflow_alias_bombs_are_refused);
  tcase_add_test(tc, workflow_deep_nesting_is_refused_at_once);
  tcase_add_test(tc, workflow_includes_once_and_refuses_cycles);
  suite_add_tcase(s, tc);
  return s;
}
