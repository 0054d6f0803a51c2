/* The graph builder, validation and the plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/wire.h"
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

/* A function node without files has no command part (the memory of a
 * large graph); one is made by the first setter that needs it, and the
 * empty one reads as none. */
START_TEST(graph_command_part_made_on_first_use) {
  hd_node *f = NULL, *h = NULL, *a = cmd("a");
  ck_assert_int_eq(hd_graph_add_fn(g, "f", "fn_f", &f), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "h", "fn_h", &h), HD_OK);
  ck_assert_ptr_null(f->io);
  ck_assert_ptr_null(a->io);
  ck_assert_int_eq(hd__node_io(f)->cmd_shift, -1);
  ck_assert_uint_eq(hd__node_io(f)->argv.count, 0);
  ck_assert_ptr_null(hd__node_io(f)->stdin_dep.name);
  ck_assert_int_eq(hd_node_add_input(f, "in.txt"), HD_OK);
  ck_assert_ptr_nonnull(f->io);
  ck_assert_uint_eq(f->io->inputs.count, 1);
  ck_assert_int_eq(f->io->cmd_shift, -1);
  ck_assert_int_eq(hd_node_set_env(a, "X", "1"), HD_OK);
  ck_assert_int_eq(hd_node_set_workdir(a, "/tmp"), HD_OK);
  ck_assert_int_eq(hd_node_set_stdin(a, "f"), HD_OK);
  ck_assert_uint_eq(a->io->env.count, 1);
  ck_assert_str_eq(a->io->workdir.s, "/tmp");
  ck_assert_str_eq(a->io->stdin_dep.name, "f");
  ck_assert_int_eq(hd_graph_validate(g), HD_OK);
  ck_assert_ptr_null(h->io);
}
END_TEST

/* A node's command or function the same as the last node's is kept once
 * (most graphs run one function many times); each node still reads its
 * own, and a plan runs each node's. */
START_TEST(graph_same_command_kept_once) {
  hd_node *n[5];
  const char *fns[] = {"fn_f", "fn_f", "fn_h", "fn_f", "fn_f"};
  for (int i = 0; i < 5; i++) {
    char name[8];
    snprintf(name, sizeof(name), "n%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, fns[i], &n[i]), HD_OK);
  }
  hd_node *c1, *c2, *c3;
  ck_assert_int_eq(hd_graph_add_cmd(g, "c1", "echo a", &c1), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "c2", "echo a", &c2), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "c3", "echo b", &c3), HD_OK);
  for (int i = 0; i < 5; i++)
    ck_assert_str_eq(n[i]->fn, fns[i]);
  ck_assert_ptr_eq(n[0]->fn, n[1]->fn);
  ck_assert_ptr_ne(n[1]->fn, n[2]->fn);
  ck_assert_ptr_eq(n[3]->fn, n[4]->fn);
  ck_assert_ptr_eq(c1->cmd, c2->cmd);
  ck_assert_str_eq(c2->cmd, "echo a");
  ck_assert_str_eq(c3->cmd, "echo b");
  ck_assert_ptr_null(c1->fn);
  ck_assert_ptr_null(n[0]->cmd);
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  for (size_t i = 0; i < 5; i++)
    ck_assert_str_eq(hd__plan_what(p, i), fns[i]);
  ck_assert_str_eq(hd__plan_what(p, 6), "echo a");
  ck_assert_str_eq(hd__plan_what(p, 7), "echo b");
  hd_plan_free(p);
}
END_TEST

/* Settings: a node that keeps the defaults has none of its own; the
 * first other value makes them, and the plan reads both right. */
START_TEST(graph_settings_made_on_first_change) {
  hd_node *f = NULL, *h = NULL;
  ck_assert_int_eq(hd_graph_add_fn(g, "f", "fn_f", &f), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "h", "fn_h", &h), HD_OK);
  ck_assert_int_eq(hd_node_set_retries(f, 0), HD_OK);
  ck_assert_int_eq(hd_node_set_cpus(f, 1), HD_OK);
  ck_assert_int_eq(hd_node_set_cost(f, 1.0), HD_OK);
  ck_assert_ptr_null(f->set); /* defaults: nothing made */
  ck_assert_uint_eq(hd__node_settings(f)->cpus, 1);
  ck_assert_int_eq(hd__node_settings(f)->cache, 1);
  ck_assert_int_eq(hd_node_set_retries(h, 3), HD_OK);
  ck_assert_int_eq(hd_node_set_cache(h, 0), HD_OK);
  ck_assert_ptr_nonnull(h->set);
  ck_assert_uint_eq(h->set->cpus, 1); /* the others stay defaults */
  hd_plan *p = NULL;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  ck_assert_uint_eq(hd__plan_settings(p, 0)->retries, 0);
  ck_assert_uint_eq(hd__plan_settings(p, 0)->cache, 1);
  ck_assert_uint_eq(hd__plan_settings(p, 1)->retries, 3);
  ck_assert_uint_eq(hd__plan_settings(p, 1)->cache, 0);
  ck_assert_uint_eq(hd__plan_settings(p, 1)->cpus, 1);
  hd_plan_free(p);
}
END_TEST

/* A dependency takes 8 bytes: one added by its node keeps nothing else;
 * one added by a name not yet in the graph keeps the name, resolved by
 * validation, and one declared at a place in a file keeps that place,
 * which the diagnostics name. */
START_TEST(graph_dependencies_in_eight_bytes) {
  ck_assert_uint_eq(sizeof(hd__dep), 8);
  if (sizeof(void *) == 8) /* and a node in 120 */
    ck_assert_uint_le(sizeof(hd_node), 120);
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c");
  ck_assert_int_eq(hd_node_after(b, a), HD_OK);
  hd_node *both[] = {a, b};
  ck_assert_int_eq(hd_node_after_all(c, both, 2), HD_OK);
  ck_assert_uint_eq(g->ndep_at, 0);
  ck_assert_uint_eq(hd__dep_index(&c->deps[1]), 1);
  ck_assert_ptr_null(hd__dep_at(g, &c->deps[0]));
  ck_assert_int_eq(hd_node_after_name(a, "later"), HD_OK);
  ck_assert_uint_eq(g->ndep_at, 1);
  ck_assert_uint_eq(hd__dep_index(&a->deps[0]), HD__NO_INDEX);
  ck_assert_str_eq(hd__dep_name(g, &a->deps[0]), "later");
  ck_assert_str_eq(hd_node_dep_name(a, 0), "later");
  ck_assert_str_eq(hd_node_dep_name(c, 1), "b");
  ck_assert_int_eq(hd__dep_set_at(c, 1, 7, 9), HD_OK);
  ck_assert_int_eq(hd__dep_at(g, &c->deps[1])->line, 7);
  ck_assert_int_eq(hd__dep_at(g, &c->deps[1])->column, 9);
  ck_assert_ptr_null(hd__dep_name(g, &c->deps[1]));
  hd_node *later = cmd("later");
  ck_assert_int_eq(hd_graph_validate(g), HD_OK);
  ck_assert_uint_eq(hd__dep_index(&a->deps[0]), later->index);
}
END_TEST

/* Names go into the graph's name map at the first lookup after they were
 * added, all at once: finds, dependencies by name and duplicates behave as
 * if each had gone in when its node was added. */
START_TEST(graph_names_indexed_at_first_lookup) {
  char name[16];
  hd_node *nodes[1002];
  for (size_t i = 0; i < 1000; i++) {
    snprintf(name, sizeof(name), "n%zu", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "f", &nodes[i]), HD_OK);
  }
  ck_assert_int_eq(hd_graph_add_fn(g, "n5", "f", &nodes[1000]), HD_OK);
  ck_assert_uint_lt(g->named, g->count);
  ck_assert_ptr_eq(hd_graph_find(g, "n5"), nodes[5]);
  ck_assert_ptr_eq(hd_graph_find(g, "n999"), nodes[999]);
  ck_assert_uint_eq(g->named, g->count);
  ck_assert_int_eq(hd_graph_add_fn(g, "last", "f", &nodes[1001]), HD_OK);
  ck_assert_int_eq(hd_node_after_name(nodes[1001], "n999"), HD_OK);
  ck_assert_uint_eq(nodes[1001]->deps[0].index, 999); /* resolved at once */
  ck_assert_ptr_null(hd__dep_name(g, &nodes[1001]->deps[0]));
  /* Out of memory at a lookup: the nodes not in the map yet are looked
     through one by one. */
  hd_node *late = NULL;
  for (size_t i = 0; i < 100; i++) {
    snprintf(name, sizeof(name), "late%zu", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "f", &late), HD_OK);
  }
  hd__alloc_fail_after(0);
  ck_assert_ptr_eq(hd_graph_find(g, "late99"), late);
  hd__alloc_fail_after(-1);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 1);
  ck_assert_ptr_nonnull(strstr(diag_msg(0), "duplicate task name 'n5'"));
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
  /* Declarations are kept as made; the plan collapses duplicates. */
  ck_assert_uint_eq(hd_node_dep_count(b), 2);
  ck_assert_uint_eq(hd_node_dep_count(c), 3);
  ck_assert_str_eq(hd_node_dep_name(c, 0), "a");
  ck_assert_str_eq(hd_node_dep_name(c, 1), "b");
  ck_assert_ptr_null(hd_node_dep_name(c, 3));
  ck_assert_int_eq(hd_graph_validate(g), HD_OK);
  ck_assert_uint_eq(hd_graph_diag_count(g), 0);
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  ck_assert_uint_eq(hd_plan_edge_count(p), 3);
  uint32_t preds[2];
  ck_assert_uint_eq(hd_plan_node_preds(p, 2, preds, 2), 2);
  ck_assert_uint_eq(preds[0], 0);
  ck_assert_uint_eq(preds[1], 1);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_params_set_and_replace) {
  hd_node *a = cmd("a");
  ck_assert_int_eq(hd_node_set_param(a, "k", "1"), HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "k", "2"), HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "j", "3"), HD_OK);
  ck_assert_uint_eq(a->nparams, 2);
  ck_assert_str_eq(hd_node_param(a, "k"), "2");
  ck_assert_str_eq(hd_node_param(a, "j"), "3");
  ck_assert_ptr_null(hd_node_param(a, "x"));
  ck_assert_int_eq(hd_node_set_param(a, "9lives", "v"), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_param(a, "a-b", "v"), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_param(a, "_ok9", "v"), HD_OK);
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
  /* By level (a, b | c | d), then by index. */
  uint32_t order[] = {0, 1, 2, 3};
  for (int i = 0; i < 4; i++)
    ck_assert_uint_eq(p->order[i], order[i]);
  /* d's predecessors in declaration order: c, a. */
  uint32_t preds[3];
  ck_assert_uint_eq(hd_plan_node_preds(p, 3, preds, 3), 2);
  ck_assert_uint_eq(preds[0], 2);
  ck_assert_uint_eq(preds[1], 0);
  ck_assert_uint_eq(hd__plan_npreds(p, 3), 2);
  ck_assert_uint_eq(p->nodes[3].npreds, 2);
  ck_assert_uint_eq(p->nodes[2].npreds, 1);
  ck_assert_uint_eq(p->nodes[0].npreds, 0);
  /* As bytes (plan.h), counted in the nodes: a and b none; c, b (1 - 2 =
     -1, zigzag 1); d, c (-1: 1) then a (0 - 2 = -2: 3). */
  const uint8_t bytes[] = {1, 1, 3};
  const uint32_t at[] = {0, 0, 0, 1, 3};
  ck_assert_uint_eq(p->predb_len, sizeof(bytes));
  ck_assert_int_eq(memcmp(p->predb, bytes, sizeof(bytes)), 0);
  ck_assert_int_eq(memcmp(p->pred_at, at, sizeof(at)), 0);
  /* Successors: a -> d, b -> c, c -> d, d -> none. */
  ck_assert_uint_eq(p->succ_off[1] - p->succ_off[0], 1);
  ck_assert_uint_eq(p->succs[p->succ_off[0]], 3);
  ck_assert_uint_eq(p->succs[p->succ_off[1]], 2);
  ck_assert_uint_eq(p->succs[p->succ_off[2]], 3);
  ck_assert_uint_eq(p->succ_off[4] - p->succ_off[3], 0);
  ck_assert_str_eq(hd__plan_name(p, 2), "c");
  ck_assert_str_eq(hd__plan_what(p, 2), "true");
  ck_assert_uint_eq(p->nodes[2].nparams, 1);
  ck_assert_str_eq(p->strings + p->params[2 * p->nodes[2].param_off], "k");
  /* The plan is a copy: changing the graph does not touch it. */
  hd_graph_free(g);
  g = NULL;
  ck_assert_str_eq(hd__plan_name(p, 3), "d");
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

static hd_plan *compile(void) {
  hd_plan *p = NULL;
  int rc = hd_plan_new(g, &p);
  if (rc != HD_OK)
    ck_abort_msg("hd_plan_new: %s: %s", hd_err_name(rc),
                 hd_graph_diag_count(g) ? diag_msg(0) : "");
  return p;
}

START_TEST(graph_zip_fanout_names_params_and_commands) {
  hd_node *t;
  ck_assert_int_eq(
      hd_graph_add_cmd(g, "align", "align {sample} -k {k} --ref {ref}", &t),
      HD_OK);
  const char *samples[] = {"a", "b c", "it's"};
  const char *ks[] = {"1", "2", "3"};
  ck_assert_int_eq(hd_node_map_param(t, "sample", samples, 3), HD_OK);
  ck_assert_int_eq(hd_node_map_param(t, "k", ks, 3), HD_OK);
  ck_assert_int_eq(hd_node_set_param(t, "ref", "/data/hg38.fa"), HD_OK);
  hd_plan *p = compile();
  ck_assert_uint_eq(hd_plan_node_count(p), 3);
  ck_assert_str_eq(hd_plan_node_name(p, 0), "align[sample=a,k=1]");
  ck_assert_str_eq(hd_plan_node_name(p, 1), "align[sample=b c,k=2]");
  ck_assert_str_eq(hd_plan_node_cmd(p, 0), "align a -k 1 --ref /data/hg38.fa");
  ck_assert_str_eq(hd_plan_node_cmd(p, 1),
                   "align 'b c' -k 2 --ref /data/hg38.fa");
  ck_assert_str_eq(hd_plan_node_cmd(p, 2),
                   "align 'it'\\''s' -k 3 --ref /data/hg38.fa");
  ck_assert_ptr_null(hd_plan_node_fn(p, 0));
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_product_fanout_and_gather_order) {
  hd_node *src = cmd("src"), *t = NULL;
  ck_assert_int_eq(hd_graph_add_fn(g, "sweep", "f", &t), HD_OK);
  hd_node *all = cmd("all");
  const char *xs[] = {"1", "2"};
  const char *ys[] = {"a", "b", "c"};
  hd_node_map_param(t, "x", xs, 2);
  hd_node_map_param(t, "y", ys, 3);
  ck_assert_int_eq(hd_node_set_fanout(t, HD_FANOUT_PRODUCT), HD_OK);
  ck_assert_int_eq(hd_node_set_fanout(t, 7), HD_EINVAL);
  hd_node_after(t, src);
  hd_node_after(all, t);
  hd_node_after(all, src);
  hd_plan *p = compile();
  /* src, then six expansions (x slowest), then all. */
  ck_assert_uint_eq(hd_plan_node_count(p), 8);
  const char *names[] = {"src",
                         "sweep[x=1,y=a]",
                         "sweep[x=1,y=b]",
                         "sweep[x=1,y=c]",
                         "sweep[x=2,y=a]",
                         "sweep[x=2,y=b]",
                         "sweep[x=2,y=c]",
                         "all"};
  for (int i = 0; i < 8; i++)
    ck_assert_str_eq(hd_plan_node_name(p, (size_t)i), names[i]);
  ck_assert_str_eq(hd_plan_node_fn(p, 3), "f");
  /* Each expansion runs after src. */
  uint32_t preds[8];
  ck_assert_uint_eq(hd_plan_node_preds(p, 4, preds, 8), 1);
  ck_assert_uint_eq(preds[0], 0);
  /* all gathers the expansions in order, then src. */
  ck_assert_uint_eq(hd_plan_node_preds(p, 7, preds, 8), 7);
  for (uint32_t i = 0; i < 6; i++)
    ck_assert_uint_eq(preds[i], i + 1);
  ck_assert_uint_eq(preds[6], 0);
  ck_assert_uint_eq(hd_plan_edge_count(p), 6 + 7);
  /* Params of an expansion: its own items. */
  ck_assert_uint_eq(p->nodes[5].nparams, 2);
  ck_assert_str_eq(p->strings + p->params[2 * p->nodes[5].param_off + 1], "2");
  ck_assert_str_eq(p->strings + p->params[2 * p->nodes[5].param_off + 3], "b");
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_empty_list_expands_to_nothing) {
  hd_node *t = cmd("t"), *after = cmd("after");
  hd_node_map_param(t, "x", NULL, 0);
  hd_node_after(after, t);
  hd_plan *p = compile();
  ck_assert_uint_eq(hd_plan_node_count(p), 1);
  ck_assert_str_eq(hd_plan_node_name(p, 0), "after");
  ck_assert_uint_eq(hd_plan_node_preds(p, 0, NULL, 0), 0);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_zip_lengths_must_agree) {
  hd_node *t = cmd("t");
  const char *a[] = {"1", "2", "3"}, *b[] = {"x", "y"};
  hd_node_map_param(t, "sample", a, 3);
  hd_node_map_param(t, "k", b, 2);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_str_eq(diag_msg(0), "task 't' zips lists of different lengths: "
                                "sample has 3, k has 2");
  /* As a product the lengths may differ. */
  hd_node_set_fanout(t, HD_FANOUT_PRODUCT);
  hd_plan *p = compile();
  ck_assert_uint_eq(hd_plan_node_count(p), 6);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_placeholders_must_be_params) {
  hd_node *a;
  ck_assert_int_eq(hd_graph_add_cmd(g, "a", "run {sample} {smaple} {zzz}", &a),
                   HD_OK);
  hd_node_set_param(a, "sample", "s");
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 2);
  ck_assert_str_eq(diag_msg(0), "task 'a' uses {smaple} in its command but "
                                "has no param 'smaple'; did you mean "
                                "'sample'?");
  ck_assert_str_eq(diag_msg(1),
                   "task 'a' uses {zzz} in its command but has no param 'zzz' "
                   "(write {{zzz}} for a literal {zzz})");
}
END_TEST

START_TEST(graph_shell_braces_are_left_alone) {
  hd_node *a;
  ck_assert_int_eq(hd_graph_add_cmd(g, "a",
                                    "awk '{print $1}' ${HOME} {{x}} "
                                    "{ echo; } {v}",
                                    &a),
                   HD_OK);
  hd_node_set_param(a, "v", "");
  hd_plan *p = compile();
  ck_assert_str_eq(hd_plan_node_cmd(p, 0),
                   "awk '{print $1}' ${HOME} {x} { echo; } ''");
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_param_cannot_be_value_and_list) {
  hd_node *a = cmd("a");
  const char *v[] = {"1"};
  hd_node_set_param(a, "k", "0");
  hd_node_map_param(a, "k", v, 1);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_str_eq(diag_msg(0),
                   "param 'k' of task 'a' is both a value and a list");
}
END_TEST

START_TEST(graph_analysis_levels_widths_and_critical_path) {
  /* a -> b -> d, a -> c -> d, c is costly; e stands alone. */
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c"), *d = cmd("d");
  cmd("e");
  hd_node_after(b, a);
  hd_node_after(c, a);
  hd_node_after(d, b);
  hd_node_after(d, c);
  ck_assert_int_eq(hd_node_set_cost(c, 5), HD_OK);
  ck_assert_int_eq(hd_node_set_cost(c, 0), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_cost(c, -1), HD_EINVAL);
  hd_plan *p = compile();
  ck_assert_uint_eq(hd_plan_depth(p), 3);
  ck_assert_uint_eq(hd_plan_level_width(p, 0), 2);
  ck_assert_uint_eq(hd_plan_level_width(p, 1), 2);
  ck_assert_uint_eq(hd_plan_level_width(p, 2), 1);
  ck_assert_uint_eq(hd_plan_level_width(p, 3), 0);
  ck_assert_uint_eq(hd_plan_node_level(p, 3), 2);
  ck_assert_double_eq(hd_plan_node_bottom_level(p, 0), 7);
  ck_assert_double_eq(hd_plan_node_bottom_level(p, 1), 2);
  ck_assert_double_eq(hd_plan_node_bottom_level(p, 2), 6);
  ck_assert_double_eq(hd_plan_node_bottom_level(p, 4), 1);
  const uint32_t *path;
  ck_assert_uint_eq(hd_plan_critical_path(p, &path), 3);
  ck_assert_uint_eq(path[0], 0);
  ck_assert_uint_eq(path[1], 2);
  ck_assert_uint_eq(path[2], 3);
  ck_assert_double_eq(hd_plan_critical_cost(p), 7);
  const uint32_t *order = hd_plan_order(p);
  uint32_t want[] = {0, 4, 1, 2, 3};
  for (int i = 0; i < 5; i++)
    ck_assert_uint_eq(order[i], want[i]);
  ck_assert_uint_gt(hd_plan_bytes(p), 0);
  hd_plan_free(p);
}
END_TEST

static int collect(const char *data, size_t len, void *ctx) {
  hd__buf *b = ctx;
  return hd__buf_append(b, data, len);
}

START_TEST(graph_dot_and_json_output) {
  hd_node *a = cmd("a \"quoted\""), *b = NULL;
  ck_assert_int_eq(hd_graph_add_fn(g, "b", "fn", &b), HD_OK);
  hd_node_after(b, a);
  hd_plan *p = compile();
  hd__buf out = {0};
  ck_assert_int_eq(hd_plan_write_dot(p, collect, &out), HD_OK);
  ck_assert_str_eq(out.data, "digraph hodos {\n"
                             "  rankdir=LR;\n"
                             "  node [shape=box];\n"
                             "  n0 [label=\"a \\\"quoted\\\"\"];\n"
                             "  n1 [label=\"b\"];\n"
                             "  n0 -> n1;\n"
                             "}\n");
  hd__buf_cleanup(&out);
  ck_assert_int_eq(hd_plan_write_json(p, collect, &out), HD_OK);
  ck_assert_str_eq(
      out.data,
      "{\n"
      "  \"nodes\": [\n"
      "    {\"id\": 0, \"name\": \"a \\\"quoted\\\"\", \"kind\": \"cmd\", "
      "\"cmd\": \"true\", \"level\": 0, \"bottom_level\": 2, \"after\": []},\n"
      "    {\"id\": 1, \"name\": \"b\", \"kind\": \"fn\", \"fn\": \"fn\", "
      "\"level\": 1, \"bottom_level\": 1, \"after\": [0]}\n"
      "  ],\n"
      "  \"edges\": 1,\n"
      "  \"depth\": 2,\n"
      "  \"critical_path\": [0, 1],\n"
      "  \"critical_cost\": 2\n"
      "}\n");
  hd__buf_cleanup(&out);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_batches_and_settings) {
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c"), *d = cmd("d");
  hd_node *deps[] = {c, a, b};
  ck_assert_int_eq(hd_node_after_all(d, deps, 3), HD_OK);
  ck_assert_int_eq(hd_node_after_all(d, NULL, 1), HD_EINVAL);
  hd_node *succs[] = {b, c};
  ck_assert_int_eq(hd_node_before_all(a, succs, 2), HD_OK);
  ck_assert_int_eq(hd_node_set_retries(b, 3), HD_OK);
  ck_assert_int_eq(hd_node_set_timeout(b, 1.5), HD_OK);
  ck_assert_int_eq(hd_node_set_timeout(b, -1), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_cpus(b, 0), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_cpus(c, 4), HD_OK);
  ck_assert_int_eq(hd_node_set_mem(c, 1u << 30), HD_OK);
  ck_assert_int_eq(hd_node_set_priority(c, -2), HD_OK);
  ck_assert_int_eq(hd_node_set_cache(d, 0), HD_OK);
  hd_plan *p = compile();
  uint32_t preds[3];
  ck_assert_uint_eq(hd_plan_node_preds(p, 3, preds, 3), 3);
  ck_assert_uint_eq(preds[0], 2);
  ck_assert_uint_eq(preds[1], 0);
  ck_assert_uint_eq(preds[2], 1);
  /* a and the defaults share one settings entry; b, c, d have their own. */
  ck_assert_uint_eq(p->nsettings, 4);
  const hd__psettings *sb = hd__plan_settings(p, 1);
  ck_assert_uint_eq(sb->retries, 3);
  ck_assert_uint_eq(sb->timeout_ns, 1500000000u);
  const hd__psettings *sc = hd__plan_settings(p, 2);
  ck_assert_uint_eq(sc->cpus, 4);
  ck_assert_uint_eq(sc->mem, 1u << 30);
  ck_assert_int_eq(sc->priority, -2);
  ck_assert_uint_eq(hd__plan_settings(p, 3)->cache, 0);
  ck_assert_uint_eq(hd__plan_settings(p, 0)->cpus, 1);
  ck_assert_uint_eq(hd__plan_settings(p, 0)->cache, 1);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_plan_outlives_graph_and_reports) {
  hd_node *a = cmd("a");
  hd_plan *p = compile();
  hd_graph_free(g);
  g = NULL;
  ck_assert_str_eq(hd_plan_node_name(p, 0), "a");
  ck_assert_ptr_null(hd_plan_node_name(p, 1));
  (void)a;
  hd_plan_free(p);
  hd_plan_free(NULL);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  ck_assert_int_eq(hd_plan_new(g, NULL), HD_EINVAL);
  hd_plan *empty = compile();
  ck_assert_uint_eq(hd_plan_node_count(empty), 0);
  ck_assert_uint_eq(hd_plan_depth(empty), 0);
  ck_assert_uint_eq(hd_plan_critical_path(empty, NULL), 0);
  hd_plan_free(empty);
}
END_TEST

START_TEST(graph_template_params_and_files_in_the_command) {
  hd_node *a;
  ck_assert_int_eq(
      hd_graph_add_cmd(g, "a",
                       "tool {name:raw} {name} {inputs} {inputs.1} "
                       "{outputs.0} {outputs} {msg} {{lit}} "
                       "awk '{print $1}' {inputs.0}",
                       &a),
      HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "name", "a b"), HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "msg", "say \"hi\", it's"), HD_OK);
  ck_assert_int_eq(hd_node_add_input(a, "in 1.txt"), HD_OK);
  ck_assert_int_eq(hd_node_add_input(a, "{name}/in2.txt"), HD_OK);
  ck_assert_int_eq(hd_node_add_output(a, "out.txt"), HD_OK);
  hd_plan *p = compile();
  /* Params and paths are quoted for the shell unless :raw; a file's own
     placeholders are put in as they are; outputs are written under their
     staged names until the task succeeds. */
  ck_assert_str_eq(hd_plan_node_cmd(p, 0),
                   "tool a b 'a b' 'in 1.txt' 'a b/in2.txt' "
                   "'a b/in2.txt' .hodos-part.out.txt .hodos-part.out.txt "
                   "'say \"hi\", it'\\''s' {lit} awk '{print $1}' "
                   "'in 1.txt'");
  const hd__pio *io = hd__plan_io(p, 0);
  ck_assert_ptr_nonnull(io);
  ck_assert_uint_eq(io->ninputs, 2);
  ck_assert_str_eq(hd__plan_list(p, io->inputs, 0), "in 1.txt");
  ck_assert_str_eq(hd__plan_list(p, io->inputs, 1), "a b/in2.txt");
  ck_assert_uint_eq(io->noutputs, 1);
  ck_assert_str_eq(hd__plan_list(p, io->outputs, 0), "out.txt");
  ck_assert_uint_eq(io->late, 0);
  ck_assert_uint_eq(io->staged, 1);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_template_files_follow_each_expansion) {
  hd_node *t;
  ck_assert_int_eq(
      hd_graph_add_cmd(g, "t", "sort {inputs.0} > {outputs.0}", &t), HD_OK);
  const char *samples[] = {"x", "y z"};
  hd_node_map_param(t, "s", samples, 2);
  hd_node_add_input(t, "raw/{s}.txt");
  hd_node_add_output(t, "sorted/{s:raw}.txt");
  hd_plan *p = compile();
  ck_assert_uint_eq(hd_plan_node_count(p), 2);
  ck_assert_str_eq(hd_plan_node_cmd(p, 0),
                   "sort raw/x.txt > sorted/.hodos-part.x.txt");
  ck_assert_str_eq(hd_plan_node_cmd(p, 1),
                   "sort 'raw/y z.txt' > 'sorted/.hodos-part.y z.txt'");
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_template_errors_say_what_is_wrong) {
  hd_node *dep = cmd("dep"), *x = cmd("x");
  hd_node *n1, *n2, *n3, *n4, *n5, *n6;
  ck_assert_int_eq(hd_graph_add_cmd(g, "n1", "run {foo.bar}", &n1), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "n2", "cat {inputs.3}", &n2), HD_OK);
  hd_node_add_input(n2, "a.txt");
  hd_node_add_input(n2, "b.txt");
  ck_assert_int_eq(hd_graph_add_cmd(g, "n3", "touch {outputs.0}", &n3), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "n4", "cat {after.x}", &n4), HD_OK);
  hd_node_after(n4, dep);
  ck_assert_int_eq(hd_graph_add_cmd(g, "n5", "echo {name:wat}", &n5), HD_OK);
  hd_node_set_param(n5, "name", "v");
  ck_assert_int_eq(hd_graph_add_cmd(g, "n6", "echo hi", &n6), HD_OK);
  ck_assert_int_eq(hd_node_set_env(n6, "FILES", "{inputs}"), HD_OK);
  hd_node_add_input(n6, "a.txt");
  (void)x;
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 6);
  ck_assert_str_eq(diag_msg(0), "task 'n1' uses {foo.bar} in its command: "
                                "unknown placeholder (write {{foo.bar}} for "
                                "literal braces)");
  ck_assert_str_eq(diag_msg(1), "task 'n2' uses {inputs.3} in its command but "
                                "has 2 inputs (numbered from 0)");
  ck_assert_str_eq(diag_msg(2), "task 'n3' uses {outputs.0} in its command "
                                "but declares no outputs");
  ck_assert_str_eq(diag_msg(3), "task 'n4' uses {after.x} in its command, but "
                                "'x' is not among its dependencies ('after')");
  ck_assert_str_eq(diag_msg(4), "task 'n5' uses {name:wat} in its command: "
                                "unknown modifier ':wat' (the only one is "
                                "':raw')");
  ck_assert_str_eq(diag_msg(5),
                   "{inputs} cannot be used in the env of task 'n6'");
  ck_assert_str_eq(hd_graph_diag(g, 3)->task, "n4");
  ck_assert_int_eq(hd_graph_diag(g, 3)->code, HD_EGRAPH);
}
END_TEST

START_TEST(graph_after_placeholder_needs_the_same_fanout) {
  hd_node *b = cmd("b"), *a, *ok;
  const char *samples[] = {"s1", "s2"};
  hd_node_map_param(b, "sample", samples, 2);
  ck_assert_int_eq(hd_graph_add_cmd(g, "a", "cat {after.b}", &a), HD_OK);
  hd_node_after(a, b);
  /* Fanning out over the same key names one file per expansion. */
  ck_assert_int_eq(hd_graph_add_cmd(g, "ok", "cat {after.b}", &ok), HD_OK);
  hd_node_map_param(ok, "sample", samples, 2);
  hd_node_after(ok, b);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 1);
  ck_assert_str_eq(diag_msg(0),
                   "task 'a' uses {after.b} in its command, but 'b' fans out "
                   "over 'sample' into several tasks; name a file per "
                   "expansion only when 'a' fans out over 'sample' too");
}
END_TEST

START_TEST(graph_after_placeholder_is_kept_for_the_run) {
  hd_node *a = cmd("a"), *b;
  ck_assert_int_eq(hd_graph_add_cmd(g, "b", "cat {after.a} {x} '{{y}}'", &b),
                   HD_OK);
  hd_node_set_param(b, "x", "v{1}");
  hd_node_after(b, a);
  hd_plan *p = compile();
  /* Rendered again when b runs: the placeholder stays, and the braces of
     what was put in are doubled so that they come out single then. */
  ck_assert_str_eq(hd_plan_node_cmd(p, 1), "cat {after.a} 'v{{1}}' '{{y}}'");
  ck_assert_uint_eq(hd__plan_io(p, 1)->late, 1);
  ck_assert_ptr_null(hd__plan_io(p, 0));
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_argv_nodes) {
  const char *words[] = {"printf", "%s|", "{who}", "a b", "{who:raw}"};
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_argv(g, "p", words, 5, &n), HD_OK);
  ck_assert_int_eq(hd_node_kind_of(n), HD_NODE_ARGV);
  ck_assert_str_eq(hd_node_cmd(n), "printf");
  ck_assert_ptr_null(hd_node_fn(n));
  hd_node_set_param(n, "who", "x 'y'");
  hd_plan *p = compile();
  ck_assert_ptr_null(hd_plan_node_cmd(p, 0));
  ck_assert_ptr_null(hd_plan_node_fn(p, 0));
  const hd__pio *io = hd__plan_io(p, 0);
  ck_assert_ptr_nonnull(io);
  ck_assert_uint_eq(io->argc, 5);
  /* Words are never quoted: each is one argument as it is. */
  const char *want[] = {"printf", "%s|", "x 'y'", "a b", "x 'y'"};
  for (uint32_t k = 0; k < 5; k++)
    ck_assert_str_eq(hd__plan_list(p, io->argv, k), want[k]);
  /* The public readers and the JSON say it is an argv node, with its
     words (they said "fn" with the program's name). */
  ck_assert_int_eq(hd_plan_node_kind(p, 0), HD_NODE_ARGV);
  ck_assert_int_eq(hd_plan_node_kind(p, 1), 0);
  const char *got[5] = {NULL};
  ck_assert_uint_eq(hd_plan_node_argv(p, 0, NULL, 0), 5);
  ck_assert_uint_eq(hd_plan_node_argv(p, 0, got, 2), 5);
  ck_assert_str_eq(got[0], "printf");
  ck_assert_str_eq(got[1], "%s|");
  ck_assert_ptr_null(got[2]);
  ck_assert_uint_eq(hd_plan_node_argv(p, 0, got, 5), 5);
  ck_assert_str_eq(got[4], "x 'y'");
  hd__buf out = {0};
  ck_assert_int_eq(hd_plan_write_json(p, collect, &out), HD_OK);
  ck_assert_ptr_nonnull(
      strstr(out.data, "\"kind\": \"argv\", \"argv\": [\"printf\", \"%s|\", "
                       "\"x 'y'\", \"a b\", \"x 'y'\"], \"level\""));
  hd__buf_cleanup(&out);
  hd_plan_free(p);

  const char *empty[] = {""}, *with_null[] = {"echo", NULL};
  ck_assert_int_eq(hd_graph_add_argv(g, "q", words, 0, &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_argv(g, "q", NULL, 1, &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_argv(g, "q", empty, 1, &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_argv(g, "q", with_null, 2, &n), HD_EINVAL);
  ck_assert_int_eq(hd_graph_add_argv(g, "", words, 1, &n), HD_EINVAL);
  ck_assert_uint_eq(hd_graph_node_count(g), 1);
  ck_assert_ptr_null(hd_graph_find(g, "q"));
  /* A NULL node reads as nothing (it crashed). */
  ck_assert_ptr_null(hd_node_name(NULL));
  ck_assert_int_eq(hd_node_kind_of(NULL), 0);
  ck_assert_ptr_null(hd_node_cmd(NULL));
  ck_assert_ptr_null(hd_node_fn(NULL));
  ck_assert_uint_eq(hd_node_dep_count(NULL), 0);
  ck_assert_ptr_null(hd_node_dep_name(NULL, 0));
}
END_TEST

START_TEST(graph_argv_placeholders_are_checked) {
  const char *words[] = {"echo", "{nope}", "{outputs.0}"};
  ck_assert_int_eq(hd_graph_add_argv(g, "p", words, 3, NULL), HD_OK);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 2);
  ck_assert_str_eq(diag_msg(0), "task 'p' uses {nope} in its argv but has no "
                                "param 'nope' (write {{nope}} for a literal "
                                "{nope})");
  ck_assert_str_eq(diag_msg(1), "task 'p' uses {outputs.0} in its argv but "
                                "declares no outputs");
}
END_TEST

START_TEST(graph_argv_survives_allocation_failures) {
  /* A node that could not be completed is taken back out: its name is
     free again, and no duplicate is reported. */
  const char *words[] = {"printf", "%s", "x", "y"};
  for (long n = 0; n < 200; n++) {
    hd__alloc_fail_after(n);
    hd_node *out = NULL;
    int rc = hd_graph_add_argv(g, "p", words, 4, &out);
    hd__alloc_fail_after(-1);
    if (rc == HD_OK) {
      ck_assert_uint_eq(hd_graph_node_count(g), 1);
      ck_assert_ptr_eq(hd_graph_find(g, "p"), out);
      ck_assert_int_eq(hd_graph_validate(g), HD_OK);
      return;
    }
    ck_assert_int_eq(rc, HD_ENOMEM);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(hd_graph_node_count(g), 0);
    ck_assert_ptr_null(hd_graph_find(g, "p"));
  }
  ck_abort_msg("never succeeded");
}
END_TEST

static void assert_preds(const hd_plan *p, size_t i, const uint32_t *want,
                         size_t count) {
  uint32_t preds[64];
  size_t n = hd_plan_node_preds(p, i, preds, 64);
  ck_assert_msg(n == count && n <= 64, "%s has %zu predecessors, not %zu",
                hd_plan_node_name(p, i), n, count);
  for (size_t k = 0; k < count; k++)
    ck_assert_msg(preds[k] == want[k], "%s: predecessor %zu is %s, not %s",
                  hd_plan_node_name(p, i), k, hd_plan_node_name(p, preds[k]),
                  hd_plan_node_name(p, want[k]));
}

START_TEST(graph_shared_key_links_expansion_to_expansion) {
  hd_node *clean = cmd("clean"), *stats = cmd("stats"), *merge = cmd("merge");
  const char *chunks[] = {"1", "2", "3"};
  const char *reversed[] = {"3", "1", "2"};
  hd_node_map_param(clean, "chunk", chunks, 3);
  /* Matched by value, not by position. */
  hd_node_map_param(stats, "chunk", reversed, 3);
  hd_node_after(stats, clean);
  hd_node_after(merge, stats);
  hd_plan *p = compile();
  ck_assert_uint_eq(hd_plan_node_count(p), 7);
  ck_assert_str_eq(hd_plan_node_name(p, 3), "stats[chunk=3]");
  assert_preds(p, 3, (uint32_t[]){2}, 1);
  assert_preds(p, 4, (uint32_t[]){0}, 1);
  assert_preds(p, 5, (uint32_t[]){1}, 1);
  /* Without the key: all of them, in expansion order. */
  assert_preds(p, 6, (uint32_t[]){3, 4, 5}, 3);
  ck_assert_uint_eq(hd_plan_edge_count(p), 6);
  const uint32_t *succs;
  ck_assert_uint_eq(hd_plan_node_succs(p, 0, &succs), 1);
  ck_assert_uint_eq(succs[0], 4);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_shared_key_with_other_keys_on_either_side) {
  /* up fans out over chunk and k (2 x 2); one fans out over chunk only and
     gathers the two k of its chunk; more fans out over chunk and rep and
     depends on the one of its chunk; lone has a chunk up does not. */
  hd_node *up = cmd("up"), *one = cmd("one"), *more = cmd("more");
  const char *chunks[] = {"a", "b"}, *ks[] = {"1", "2"}, *reps[] = {"x", "y"};
  hd_node_map_param(up, "chunk", chunks, 2);
  hd_node_map_param(up, "k", ks, 2);
  hd_node_set_fanout(up, HD_FANOUT_PRODUCT);
  hd_node_map_param(one, "chunk", chunks, 2);
  hd_node_after(one, up);
  hd_node_map_param(more, "chunk", chunks, 2);
  hd_node_map_param(more, "rep", reps, 2);
  hd_node_set_fanout(more, HD_FANOUT_PRODUCT);
  hd_node_after(more, one);
  hd_node *lone = cmd("lone");
  const char *other[] = {"c"};
  hd_node_map_param(lone, "chunk", other, 1);
  hd_node_after(lone, one);
  hd_plan *p = compile();
  /* up: 0 [a,1], 1 [a,2], 2 [b,1], 3 [b,2]; one: 4 [a], 5 [b];
     more: 6 [a,x], 7 [a,y], 8 [b,x], 9 [b,y]; lone: 10. */
  ck_assert_uint_eq(hd_plan_node_count(p), 11);
  ck_assert_str_eq(hd_plan_node_name(p, 1), "up[chunk=a,k=2]");
  ck_assert_str_eq(hd_plan_node_name(p, 7), "more[chunk=a,rep=y]");
  assert_preds(p, 4, (uint32_t[]){0, 1}, 2);
  assert_preds(p, 5, (uint32_t[]){2, 3}, 2);
  assert_preds(p, 6, (uint32_t[]){4}, 1);
  assert_preds(p, 7, (uint32_t[]){4}, 1);
  assert_preds(p, 8, (uint32_t[]){5}, 1);
  assert_preds(p, 9, (uint32_t[]){5}, 1);
  assert_preds(p, 10, NULL, 0);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_stdin_adds_its_dependency) {
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c");
  const char *xs[] = {"1", "2"};
  hd_node_map_param(b, "x", xs, 2);
  ck_assert_int_eq(hd_node_after(c, a), HD_OK);
  ck_assert_int_eq(hd_node_set_stdin(c, "b"), HD_OK);
  ck_assert_uint_eq(hd_node_dep_count(c), 2);
  ck_assert_str_eq(hd_node_dep_name(c, 1), "b");
  ck_assert_int_eq(hd_node_set_stdin(c, ""), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_stdin(NULL, "a"), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_stdin(c, NULL), HD_EINVAL);
  hd_plan *p = compile();
  /* a is 0, b's expansions 1 and 2, c 3: c reads only b's. */
  assert_preds(p, 3, (uint32_t[]){0, 1, 2}, 3);
  const hd__pio *io = hd__plan_io(p, 3);
  ck_assert_ptr_nonnull(io);
  ck_assert_uint_eq(io->stdin_lo, 1);
  ck_assert_uint_eq(io->stdin_hi, 3);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_stdin_already_declared_counts_once) {
  hd_node *a = cmd("a"), *b = cmd("b");
  hd_node_after(b, a);
  ck_assert_int_eq(hd_node_set_stdin(b, "a"), HD_OK);
  hd_plan *p = compile();
  assert_preds(p, 1, (uint32_t[]){0}, 1);
  ck_assert_uint_eq(hd__plan_io(p, 1)->stdin_lo, 0);
  ck_assert_uint_eq(hd__plan_io(p, 1)->stdin_hi, 1);
  hd_plan_free(p);
}
END_TEST

START_TEST(graph_stdin_from_an_unknown_task) {
  hd_node *b = cmd("b");
  cmd("alpha");
  ck_assert_int_eq(hd_node_set_stdin(b, "alpah"), HD_OK);
  ck_assert_int_eq(hd_graph_validate(g), HD_EGRAPH);
  ck_assert_uint_eq(hd_graph_diag_count(g), 1);
  ck_assert_str_eq(diag_msg(0), "task 'b' depends on unknown task 'alpah'; "
                                "did you mean 'alpha'?");
}
END_TEST

START_TEST(graph_env_workdir_and_files_settings) {
  hd_node *a = cmd("a");
  ck_assert_int_eq(hd_node_set_env(a, "MODE", "{m}"), HD_OK);
  ck_assert_int_eq(hd_node_set_env(a, "LANG", "C"), HD_OK);
  ck_assert_int_eq(hd_node_set_env(a, "MODE", "fast {m}"), HD_OK);
  ck_assert_int_eq(hd_node_set_env(a, "1BAD", "x"), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_env(a, "A=B", "x"), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_env(a, "OK", NULL), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_workdir(a, ""), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_workdir(a, "/tmp/{m}"), HD_OK);
  ck_assert_int_eq(hd_node_add_input(a, ""), HD_EINVAL);
  ck_assert_int_eq(hd_node_add_output(a, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_retry_delay(a, -1), HD_EINVAL);
  ck_assert_int_eq(hd_node_set_retry_delay(a, 0.25), HD_OK);
  ck_assert_int_eq(hd_node_set_allow_failure(a, 7), HD_OK);
  hd_node_set_param(a, "m", "q r");
  hd_plan *p = compile();
  const hd__pio *io = hd__plan_io(p, 0);
  ck_assert_ptr_nonnull(io);
  ck_assert_uint_eq(io->nenv, 2);
  /* Values are put in as they are, never quoted; setting a name again
     replaces it in place. */
  ck_assert_str_eq(hd__plan_list(p, io->env, 0), "MODE=fast q r");
  ck_assert_str_eq(hd__plan_list(p, io->env, 1), "LANG=C");
  ck_assert_str_eq(p->strings + io->workdir, "/tmp/q r");
  ck_assert_uint_eq(hd__plan_settings(p, 0)->retry_delay_ns, 250000000u);
  ck_assert_uint_eq(hd__plan_settings(p, 0)->allow_failure, 1);
  hd_plan_free(p);
}
END_TEST

static size_t varint_len(uint32_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7)
    n++;
  return n;
}

static uint32_t zz(int64_t d) {
  return d < 0 ? (uint32_t)(-2 * d - 1) : (uint32_t)(2 * d);
}

START_TEST(graph_plan_predecessor_bytes) {
  /* hub (node 0) runs after 300 nodes declared later, in an order that
     jumps both ways: x299, x0, x298, x1, ...; far, 9000 nodes on, runs
     after hub and x5. */
  enum { NX = 300, NFILL = 9000 };
  hd_node *hub = cmd("hub");
  hd_node *x[NX];
  char name[32];
  for (int k = 0; k < NX; k++) {
    snprintf(name, sizeof(name), "x%d", k);
    x[k] = cmd(name);
  }
  for (int k = 0; k < NFILL; k++) {
    snprintf(name, sizeof(name), "fill%d", k);
    cmd(name);
  }
  hd_node *far = cmd("far");
  uint32_t want[NX];
  for (int k = 0; k < NX; k++) {
    int xi = k % 2 ? k / 2 : NX - 1 - k / 2;
    ck_assert_int_eq(hd_node_after(hub, x[xi]), HD_OK);
    want[k] = (uint32_t)(1 + xi);
  }
  ck_assert_int_eq(hd_node_after(far, hub), HD_OK);
  ck_assert_int_eq(hd_node_after(far, x[5]), HD_OK);
  hd__plan *p = compile();
  uint32_t nfar = 1 + NX + NFILL;
  ck_assert_uint_eq(p->count, nfar + 1);
  ck_assert_uint_eq(p->nedges, NX + 2);
  /* Gather order, counts and the copy-out's bound. */
  uint32_t got[NX + 1];
  got[3] = 12345;
  ck_assert_uint_eq(hd_plan_node_preds(p, 0, got, 3), NX);
  ck_assert_uint_eq(got[0], want[0]);
  ck_assert_uint_eq(got[2], want[2]);
  ck_assert_uint_eq(got[3], 12345); /* past cap: untouched */
  ck_assert_uint_eq(hd_plan_node_preds(p, 0, got, NX + 1), NX);
  for (int k = 0; k < NX; k++)
    ck_assert_uint_eq(got[k], want[k]);
  ck_assert_uint_eq(hd_plan_node_preds(p, nfar, got, NX + 1), 2);
  ck_assert_uint_eq(got[0], 0);
  ck_assert_uint_eq(got[1], 6);
  ck_assert_uint_eq(hd_plan_node_preds(p, 1, got, 1), 0);
  ck_assert_uint_eq(hd_plan_node_preds(p, 0, NULL, 5), NX);
  ck_assert_uint_eq(hd_plan_node_preds(NULL, 0, got, 1), 0);
  ck_assert_uint_eq(hd_plan_node_preds(p, nfar + 1, got, 1), 0);
  ck_assert_uint_eq(hd__plan_npreds(p, 0), NX);
  ck_assert_uint_eq(p->nodes[0].npreds, HD__PN_MANY);
  ck_assert_uint_eq(p->nodes[nfar].npreds, 2);
  ck_assert_uint_eq(p->nodes[1].npreds, 0);
  /* hub's bytes: its count, 300, leads them (0xac 0x02); x299 is 300 on
     (zigzag 600: 0xd8 0x04); x0 then 299 back (zigzag 597: 0xd5 0x04). */
  const uint8_t *b = p->predb + p->pred_at[0];
  const uint8_t head[] = {0xac, 0x02, 0xd8, 0x04, 0xd5, 0x04};
  ck_assert_int_eq(memcmp(b, head, sizeof(head)), 0);
  /* far's first is 9301 back (zigzag 18601: three bytes). */
  b = p->predb + p->pred_at[nfar];
  const uint8_t fhead[] = {0xa9, 0x91, 0x01};
  ck_assert_int_eq(memcmp(b, fhead, sizeof(fhead)), 0);
  /* Every node's bytes are as long as the encoding says, no longer. */
  size_t len = 0;
  for (size_t i = 0; i < p->count; i++) {
    ck_assert_uint_eq(p->pred_at[i], len);
    uint32_t n = (uint32_t)hd_plan_node_preds(p, i, got, NX + 1);
    len += n >= HD__PN_MANY ? varint_len(n) : 0;
    int64_t last = (int64_t)i;
    for (uint32_t k = 0; k < n; k++) {
      len += varint_len(zz((int64_t)got[k] - last));
      last = got[k];
    }
  }
  ck_assert_uint_eq(p->predb_len, len);
  ck_assert_uint_eq(p->pred_at[p->count], len);
  /* Successors the other way: each x after hub, x5 also before far. */
  const uint32_t *succ;
  ck_assert_uint_eq(hd_plan_node_succs(p, 1, &succ), 1);
  ck_assert_uint_eq(succ[0], 0);
  ck_assert_uint_eq(hd_plan_node_succs(p, 6, &succ), 2);
  ck_assert_uint_eq(succ[0], 0);
  ck_assert_uint_eq(succ[1], nfar);
  hd_plan_free(p);
}
END_TEST

/* Issue 3's goal for the plan, 64 bytes per node and 4 per edge, on a
 * random layered graph (10 layers of 1000, each node after 4 distinct
 * nodes of the layer above) and a 100 x 100 grid. */
START_TEST(graph_plan_fits_its_memory_goal) {
  enum { W = 1000, L = 10 };
  static hd_node *n[W * L];
  char name[32];
  uint64_t x = 0x9e3779b97f4a7c15u;
  for (int i = 0; i < W * L; i++) {
    snprintf(name, sizeof(name), "n%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "f", &n[i]), HD_OK);
    for (int k = 0; i >= W && k < 4;) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      hd_node *d = n[(i / W - 1) * W + (int)(x % W)];
      int seen = 0;
      for (size_t j = 0; j < hd_node_dep_count(n[i]); j++)
        seen |= strcmp(hd_node_dep_name(n[i], j), hd_node_name(d)) == 0;
      if (!seen && hd_node_after(n[i], d) == HD_OK)
        k++;
    }
  }
  hd_plan *p = compile();
  size_t nodes = hd_plan_node_count(p), edges = hd_plan_edge_count(p);
  ck_assert_uint_eq(edges, 4 * W * (L - 1));
  ck_assert_uint_le(hd_plan_bytes(p), 64 * nodes + 4 * edges);
  hd_plan_free(p);
  hd_graph_free(g);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  for (int i = 0; i < 100 * 100; i++) {
    snprintf(name, sizeof(name), "c%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "f", &n[i]), HD_OK);
    if (i % 100 > 0)
      ck_assert_int_eq(hd_node_after(n[i], n[i - 1]), HD_OK);
    if (i >= 100)
      ck_assert_int_eq(hd_node_after(n[i], n[i - 100]), HD_OK);
  }
  p = compile();
  nodes = hd_plan_node_count(p), edges = hd_plan_edge_count(p);
  ck_assert_uint_eq(edges, 2 * 100 * 99);
  ck_assert_uint_le(hd_plan_bytes(p), 64 * nodes + 4 * edges);
  hd_plan_free(p);
}
END_TEST

/* A packed plan with one byte of its predecessors changed to v. */
static int unpack_changed(const hd__buf *b, size_t at, uint8_t v,
                          const char **why) {
  char *copy = malloc(b->len);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, b->data, b->len);
  copy[at] = (char)v;
  hd__plan *q = NULL;
  int rc = hd__plan_unpack(copy, b->len, &q, why);
  if (rc != HD_OK)
    ck_assert_ptr_null(q);
  hd__plan_free(q);
  free(copy);
  return rc;
}

START_TEST(graph_planwire_refuses_corrupt_predecessors) {
  /* d after c and a; c after b: the bytes (c) 1 | (d) 1 3. */
  hd_node *a = cmd("a"), *b = cmd("b"), *c = cmd("c"), *d = cmd("d");
  hd_node_after(d, c);
  hd_node_after(d, a);
  hd_node_after(c, b);
  hd__plan *p = compile();
  hd__buf w = {0};
  ck_assert_int_eq(hd__plan_pack(p, &w), HD_OK);
  /* Where the bytes travel: after the header (2 u32, 6 u64), the nodes
     (10 u32 each, the 8th their count), the order, pred_at and the
     bytes' length. */
  size_t at =
      4 * 2 + 8 * 6 + p->count * 40 + p->count * 4 + (p->count + 1) * 4 + 8;
  size_t c_count = 4 * 2 + 8 * 6 + 2 * 40 + 7 * 4, d_count = c_count + 40;
  ck_assert_uint_eq(p->predb_len, 3);
  ck_assert_uint_le(at + p->predb_len, w.len);
  ck_assert_int_eq(memcmp(w.data + at, p->predb, p->predb_len), 0);
  ck_assert_int_eq((uint8_t)w.data[d_count], 2);
  const char *why = NULL;
  hd__plan *q = NULL;
  ck_assert_int_eq(hd__plan_unpack(w.data, w.len, &q, &why), HD_OK);
  hd__plan_free(q);
  /* d's second predecessor 0 - 2 = -2 becomes -3: before node 0. */
  ck_assert_int_eq(unpack_changed(&w, at + 2, 5, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "its edges refer outside the plan");
  /* ... or +2: node 4, past the last; or +1: d itself. */
  ck_assert_int_eq(unpack_changed(&w, at + 2, 4, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "its edges refer outside the plan");
  ck_assert_int_eq(unpack_changed(&w, at + 2, 2, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "its edges refer outside the plan");
  /* ... or -1: b, an edge b -> d that b's successors do not have. */
  ck_assert_int_eq(unpack_changed(&w, at + 2, 1, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "its predecessors and successors do not agree");
  /* c after itself. */
  ck_assert_int_eq(unpack_changed(&w, at, 0, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "its edges refer outside the plan");
  /* d's last byte says more follows: the varint runs past d's bytes. */
  ck_assert_int_eq(unpack_changed(&w, at + 2, 0x83, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "a node's predecessors run past their bytes");
  /* d counts 3 predecessors, or 1: too few bytes, or one left over. */
  ck_assert_int_eq(unpack_changed(&w, d_count, 3, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "a node's predecessors run past their bytes");
  ck_assert_int_eq(unpack_changed(&w, d_count, 1, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "a node has bytes past its predecessors");
  /* c counts none: its byte is left over. */
  ck_assert_int_eq(unpack_changed(&w, c_count, 0, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "a node has bytes past its predecessors");
  /* d says its bytes hold its count: they say 1, which the node holds. */
  ck_assert_int_eq(unpack_changed(&w, d_count, HD__PN_MANY, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "a node's predecessors are counted in the wrong place");
  /* A count past a byte. */
  ck_assert_int_eq(unpack_changed(&w, d_count + 1, 1, &why), HD_ECORRUPT);
  /* pred_at[1] past the end of the bytes. */
  ck_assert_int_eq(unpack_changed(&w, at - 8 - 4 * 4, 200, &why), HD_ECORRUPT);
  ck_assert_str_eq(why, "its edges refer outside the plan");
  hd__buf_cleanup(&w);
  hd_plan_free(p);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("graph");
  TCase *tc = tcase_create("graph");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, graph_add_find_iterate);
  tcase_add_test(tc, graph_rejects_bad_arguments);
  tcase_add_test(tc, graph_command_part_made_on_first_use);
  tcase_add_test(tc, graph_names_indexed_at_first_lookup);
  tcase_add_test(tc, graph_same_command_kept_once);
  tcase_add_test(tc, graph_dependencies_in_eight_bytes);
  tcase_add_test(tc, graph_settings_made_on_first_change);
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
  tcase_add_test(tc, graph_plan_predecessor_bytes);
  tcase_add_test(tc, graph_plan_fits_its_memory_goal);
  tcase_add_test(tc, graph_planwire_refuses_corrupt_predecessors);
  tcase_add_test(tc, graph_survives_allocation_failures);
  tcase_add_test(tc, graph_zip_fanout_names_params_and_commands);
  tcase_add_test(tc, graph_product_fanout_and_gather_order);
  tcase_add_test(tc, graph_empty_list_expands_to_nothing);
  tcase_add_test(tc, graph_zip_lengths_must_agree);
  tcase_add_test(tc, graph_placeholders_must_be_params);
  tcase_add_test(tc, graph_shell_braces_are_left_alone);
  tcase_add_test(tc, graph_param_cannot_be_value_and_list);
  tcase_add_test(tc, graph_analysis_levels_widths_and_critical_path);
  tcase_add_test(tc, graph_dot_and_json_output);
  tcase_add_test(tc, graph_batches_and_settings);
  tcase_add_test(tc, graph_plan_outlives_graph_and_reports);
  tcase_add_test(tc, graph_template_params_and_files_in_the_command);
  tcase_add_test(tc, graph_template_files_follow_each_expansion);
  tcase_add_test(tc, graph_template_errors_say_what_is_wrong);
  tcase_add_test(tc, graph_after_placeholder_needs_the_same_fanout);
  tcase_add_test(tc, graph_after_placeholder_is_kept_for_the_run);
  tcase_add_test(tc, graph_argv_nodes);
  tcase_add_test(tc, graph_argv_placeholders_are_checked);
  tcase_add_test(tc, graph_argv_survives_allocation_failures);
  tcase_add_test(tc, graph_shared_key_links_expansion_to_expansion);
  tcase_add_test(tc, graph_shared_key_with_other_keys_on_either_side);
  tcase_add_test(tc, graph_stdin_adds_its_dependency);
  tcase_add_test(tc, graph_stdin_already_declared_counts_once);
  tcase_add_test(tc, graph_stdin_from_an_unknown_task);
  tcase_add_test(tc, graph_env_workdir_and_files_settings);
  suite_add_tcase(s, tc);
  return s;
}
