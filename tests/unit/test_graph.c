/* The graph builder, validation and the plan. */
#include <string.h>

#include "graph/graph_internal.h"
#include "test_util.h"

static hd_graph *g;

static void setup(void) { ck_assert_int_eq(hd_graph_new(&g), HD_OK); }
static void teardown(void) {
  hd_graph_free(g);
  g = NULL;
}

static hd_node *cmd(const char *name) {
  hd_node *n = NULL;
  ck_assert_int_eq(hd_graph_add_cmd(g, name, "true", &n), HD_OK);
  return n;
}

static const char *diag_msg(size_t i) {
  const hd_diag *d = hd_graph_diag(g, i);
  ck_assert_ptr_nonnull(d);
  return d->message;
}

START_TEST(graph_add_find_iterate) {
  hd_node *a = cmd("a"), *b = NULL;
  ck_assert_int_eq(hd_graph_add_fn(g, "b", "fn_b", &b), HD_OK);
  ck_assert_uint_eq(hd_graph_node_count(g), 2);
  ck_assert_ptr_eq(hd_graph_find(g, "a"), a);
  ck_assert_ptr_eq(hd_graph_find(g, "b"), b);
  ck_assert_ptr_null(hd_graph_find(g, "c"));
  ck_assert_ptr_eq(hd_graph_node(g, 1), b);
  ck_assert_ptr_null(hd_graph_node(g, 2));
  ck_assert_str_eq(hd_node_name(b), "b");
  ck_assert_int_eq(hd_node_kind_of(a), HD_NODE_CMD);
  ck_assert_int_eq(hd_node_kind_of(b), HD_NODE_FN);
  ck_assert_str_eq(hd_node_cmd(a), "true");
  ck_assert_ptr_null(hd_node_cmd(b));
  ck_assert_str_eq(hd_node_fn(b), "fn_b");
  ck_assert_ptr_null(hd_node_fn(a));
}
END_TEST

START_TEST(graph_rejects_bad_arguments) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_new(NULL), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_cmd(g, "", "true", &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_cmd(g, NULL, "true", &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_cmd(g, "a\nb", "true", &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_cmd(g, "a", "", &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_fn(g, "a", NULL, &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_cmd(NULL, "a", "true", &n), HD_EINVAL);
  ck_assert_uint_eq(hd_graph_node_count(g), 0);
  hd_graph *other;
  ck_assert_int_eq(hd_graph_new(&other), HD_OK);
  hd_node *x, *a = cmd("a");
  ck_assert_int_eq(hd_graph_add_cmd(other, "x", "true", &x), HD_OK);
  ck_assert_int_eq(hd_node_after(a, x), HD_EINVAL);
  ck_assert_int_eq(hd_node_after(a, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_node_after_name(a, ""), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_param(a, "", "v"), HD_EINVAL);
  hd_graph_free(other);
  hd_graph_free(NULL);
}
END_TEST

START_TEST(graph_dependencies_both_ways_and_deduplicated) {
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c");
  ck_assert_int_eq(hd_node_after(b, a), HD_OK);
  ck_assert_int_eq(hd_node_after(b, a), HD_OK);
  ck_assert_int_eq(hd_node_before(a, c), HD_OK);
  ck_assert_int_eq(hd_node_after_name(c, "b"), HD_OK);
  ck_assert_int_eq(hd_node_after_name(c, "b"), HD_OK);
  ck_assert_uint_eq(hd_node_dep_count(b), 1);
  ck_assert_uint_eq(hd_node_dep_count(c), 2);
  ck_assert_str_eq(hd_node_dep_name(c, 0), "a");
  ck_assert_str_eq(hd_node_dep_name(c, 1), "b");
  ck_assert_ptr_null(hd_node_dep_name(c, 2));
  ck_assert_int_eq(hd_graph_validate(g), HD_OK);
  ck_assert_uint_eq(hd_graph_diag_count(g), 0);
}
END_TEST

START_TEST(graph_params_set_and_replace) {
  hd_node *a = cmd("a");
  ck_assert_int_eq(hd_node_set_param(a, "k", "1"), HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "k", "2"), HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "j", "3"), HD_OK);
  ck_assert_uint_eq(a->nparams, 2);
  ck_assert_str_eq(a->params[0].value, "2");
}
END_TEST

START_TEST(graph_reports_duplicate_names) {
  hd_node *a1 = cmd("a");
  cmd("b");
  hd_node *a2 = cmd("a");
  hd_node_set_origin(a1, "wf.yaml", 3, 11);
  hd_node_set_origin(a2, "wf.yaml", 9, 11);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 1);
  ck_assert_str_eq(diag_msg(0),
                   "duplicate task name 'a' (first declared at wf.yaml:3:11)");
  const hd_diag *d = hd_graph_diag(g, 0);
  ck_assert_int_eq(d->line, 9);
  ck_assert_int_eq(d->column, 11);
  ck_assert_str_eq(d->file, "wf.yaml");
  ck_assert_str_eq(d->task, "a");
}
END_TEST

START_TEST(graph_unknown_dependency_suggests_a_name) {
  hd_node *b = cmd("bravo");
  cmd("greet");
  hd_node_after_name(b, "gret");
  hd_node_after_name(b, "zzzzzz");
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 2);
  ck_assert_str_eq(diag_msg(0), "task 'bravo' depends on unknown task "
                                "'gret'; did you mean 'greet'?");
  ck_assert_str_eq(diag_msg(1),
                   "task 'bravo' depends on unknown task 'zzzzzz'");
}
END_TEST

START_TEST(graph_dependency_position_wins_over_node_position) {
  hd_node *b = cmd("b");
  hd_node_set_origin(b, "f.yaml", 2, 3);
  hd_node_after_name_at(b, "nope", 5, 12);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  const hd_diag *d = hd_graph_diag(g, 0);
  ck_assert_int_eq(d->line, 5);
  ck_assert_int_eq(d->column, 12);
}
END_TEST

START_TEST(graph_reports_self_dependency) {
  hd_node *a = cmd("a");
  hd_node_after(a, a);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 1);
  ck_assert_str_eq(diag_msg(0), "task 'a' depends on itself");
}
END_TEST

START_TEST(graph_reports_cycle_path) {
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c");
  hd_node_after(a, c);
  hd_node_after(b, a);
  hd_node_after(c, b);
  ck_assert_int_eq(hd_graph_validate(g), HD_ECYCLE);
  ck_assert_uint_eq(hd_graph_diag_count(g), 1);
  ck_assert_str_eq(diag_msg(0), "dependency cycle: a -> b -> c -> a");
  ck_assert_int_eq(hd_graph_diag(g, 0)->code, HD_ECYCLE);
}
END_TEST

START_TEST(graph_reports_every_cycle) {
  /* Two separate cycles and a clean part: x -> y -> x, p -> q -> r -> p. */
  hd_node *x = cmd("x"), *y = cmd("y"), *ok = cmd("ok");
  hd_node *p = cmd("p"), *q = cmd("q"), *r = cmd("r");
  hd_node_after(y, x);
  hd_node_after(x, y);
  hd_node_after(q, p);
  hd_node_after(r, q);
  hd_node_after(p, r);
  hd_node_after(ok, x);
  ck_assert_int_eq(hd_graph_validate(g), HD_ECYCLE);
  ck_assert_uint_eq(hd_graph_diag_count(g), 2);
  ck_assert_str_eq(diag_msg(0), "dependency cycle: x -> y -> x");
  ck_assert_str_eq(diag_msg(1), "dependency cycle: p -> q -> r -> p");
}
END_TEST

START_TEST(graph_reports_all_problems_in_one_pass) {
  hd_node *a = cmd("a"), *b = cmd("b");
  cmd("a");
  hd_node_after(a, b);
  hd_node_after(b, a);
  hd_node_after_name(b, "missing");
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 3);
  ck_assert_str_eq(diag_msg(0), "task 'b' depends on unknown task 'missing'");
  ck_assert_str_eq(diag_msg(1), "duplicate task name 'a'");
  ck_assert_str_eq(diag_msg(2), "dependency cycle: a -> b -> a");
  /* Fixing the graph clears the old diagnostics. */
  hd_graph_free(g);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  cmd("a");
  ck_assert_int_eq(hd_graph_validate(g), HD_OK);
  ck_assert_uint_eq(hd_graph_diag_count(g), 0);
}
END_TEST

START_TEST(graph_plan_orders_and_links) {
  /* d depends on c then a; c on b; a and b are roots. */
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c"), *d = cmd("d");
  hd_node_after(d, c);
  hd_node_after(d, a);
  hd_node_after(c, b);
  hd_node_set_param(c, "k", "v");
  ck_assert_int_eq(hd_graph_validate(g), HD_OK);
  hd__plan *p;
  ck_assert_int_eq(hd__plan_build(g, &p), HD_OK);
  ck_assert_uint_eq(p->count, 4);
  uint32_t order[] = {0, 1, 2, 3};
  for (int i = 0; i < 4; i++)
    ck_assert_uint_eq(p->order[i], order[i]);
  /* d's predecessors in declaration order: c, a. */
  ck_assert_uint_eq(p->pred_off[3], 1);
  ck_assert_uint_eq(p->pred_off[4], 3);
  ck_assert_uint_eq(p->preds[1], 2);
  ck_assert_uint_eq(p->preds[2], 0);
  /* Successors: a -> d, b -> c, c -> d, d -> none. */
  ck_assert_uint_eq(p->succ_off[1] - p->succ_off[0], 1);
  ck_assert_uint_eq(p->succs[p->succ_off[0]], 3);
  ck_assert_uint_eq(p->succs[p->succ_off[1]], 2);
  ck_assert_uint_eq(p->succs[p->succ_off[2]], 3);
  ck_assert_uint_eq(p->succ_off[4] - p->succ_off[3], 0);
  ck_assert_str_eq(p->nodes[2].name, "c");
  ck_assert_str_eq(p->nodes[2].cmd, "true");
  ck_assert_uint_eq(p->nodes[2].nparams, 1);
  ck_assert_str_eq(p->params[2 * p->nodes[2].param_off], "k");
  /* The plan is a copy: changing the graph does not touch it. */
  hd_graph_free(g);
  g = NULL;
  ck_assert_str_eq(p->nodes[3].name, "d");
  hd__plan_free(p);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
}
END_TEST

START_TEST(graph_plan_puts_dependencies_first) {
  /* Declared in reverse: the order must still respect the edges. */
  hd_node *z = cmd("z"), *y = cmd("y"), *x = cmd("x");
  hd_node_after(z, y);
  hd_node_after(y, x);
  ck_assert_int_eq(hd__plan_build(g, &(hd__plan *){NULL}), HD_EGRAPH);
  ck_assert_int_eq(hd_graph_validate(g), HD_OK);
  hd__plan *p;
  ck_assert_int_eq(hd__plan_build(g, &p), HD_OK);
  ck_assert_uint_eq(p->order[0], 2);
  ck_assert_uint_eq(p->order[1], 1);
  ck_assert_uint_eq(p->order[2], 0);
  hd__plan_free(p);
  /* An edit invalidates the validation. */
  hd_node_after_name(x, "z");
  ck_assert_int_eq(hd__plan_build(g, &p), HD_EGRAPH);
}
END_TEST

START_TEST(graph_survives_allocation_failures) {
  /* Fail the n-th allocation for growing n, until a whole build and
     validation succeed: never a crash, never a leak. */
  for (long n = 0; n < 2000; n++) {
    hd_graph *h = NULL;
    hd__alloc_fail_after(n);
    int ok = hd_graph_new(&h) == HD_OK;
    hd_node *a = NULL, *b = NULL;
    ok = ok && hd_graph_add_cmd(h, "a", "true", &a) == HD_OK;
    ok = ok && hd_graph_add_cmd(h, "b", "true", &b) == HD_OK;
    ok = ok && hd_node_after(b, a) == HD_OK;
    ok = ok && hd_node_after_name(a, "b") == HD_OK;
    int rc = ok ? hd_graph_validate(h) : HD_ENOMEM;
    hd__alloc_fail_after(-1);
    hd_graph_free(h);
    if (ok && rc == HD_ECYCLE)
      return;
    ck_assert(rc == HD_ENOMEM || rc == HD_ECYCLE || rc == HD_EINTERNAL);
  }
  ck_abort_msg("never succeeded");
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("graph");
  TCase *tc = tcase_create("graph");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, graph_add_find_iterate);
  tcase_add_test(tc, graph_rejects_bad_arguments);
  tcase_add_test(tc, graph_dependencies_both_ways_and_deduplicated);
  tcase_add_test(tc, graph_params_set_and_replace);
  tcase_add_test(tc, graph_reports_duplicate_names);
  tcase_add_test(tc, graph_unknown_dependency_suggests_a_name);
  tcase_add_test(tc, graph_dependency_position_wins_over_node_position);
  tcase_add_test(tc, graph_reports_self_dependency);
  tcase_add_test(tc, graph_reports_cycle_path);
  tcase_add_test(tc, graph_reports_every_cycle);
  tcase_add_test(tc, graph_reports_all_problems_in_one_pass);
  tcase_add_test(tc, graph_plan_orders_and_links);
  tcase_add_test(tc, graph_plan_puts_dependencies_first);
  tcase_add_test(tc, graph_survives_allocation_failures);
  suite_add_tcase(s, tc);
  return s;
}
