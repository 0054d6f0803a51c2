/* A plan as bytes for remote workers: packed and unpacked to the same
 * plan; cut short at every length, or with any byte changed, it is
 * refused or still a plan whose every index is in range, never a
 * crash. */
#include <stdlib.h>
#include <string.h>

#include "backends/wire.h"
#include "core/plan.h"
#include "test_util.h"

static hd_plan *make_plan(void) {
  hd_graph *g;
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  hd_node *a, *b, *c, *d;
  ck_assert_int_eq(hd_graph_add_cmd(g, "a", "echo {x} > out.txt", &a), HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "x", "1"), HD_OK);
  ck_assert_int_eq(hd_node_add_output(a, "out.txt"), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "b", "double", &b), HD_OK);
  ck_assert_int_eq(hd_node_set_param(b, "k", "v"), HD_OK);
  ck_assert_int_eq(hd_node_set_timeout(b, 2.5), HD_OK);
  const char *words[] = {"printf", "%s", "z"};
  ck_assert_int_eq(hd_graph_add_argv(g, "c", words, 3, &c), HD_OK);
  ck_assert_int_eq(hd_node_set_env(c, "LANG", "C"), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "d", "cat", &d), HD_OK);
  ck_assert_int_eq(hd_node_after(b, a), HD_OK);
  ck_assert_int_eq(hd_node_after(d, b), HD_OK);
  ck_assert_int_eq(hd_node_after(d, c), HD_OK);
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  hd_graph_free(g);
  return p;
}

START_TEST(wire_plan_round_trip) {
  hd_plan *p = make_plan();
  hd__buf b = {0};
  ck_assert_int_eq(hd__plan_pack(p, &b), HD_OK);
  hd__plan *q = NULL;
  const char *why = "unset";
  ck_assert_int_eq(hd__plan_unpack(b.data, b.len, &q, &why), HD_OK);
  ck_assert_ptr_null(why);
  ck_assert_uint_eq(q->count, p->count);
  ck_assert_uint_eq(q->nedges, p->nedges);
  for (size_t i = 0; i < p->count; i++) {
    ck_assert_str_eq(hd__plan_name(q, i), hd__plan_name(p, i));
    ck_assert_str_eq(hd__plan_what(q, i), hd__plan_what(p, i));
    ck_assert_int_eq(memcmp(hd__plan_settings(q, i), hd__plan_settings(p, i),
                            sizeof(hd__psettings)),
                     0);
    ck_assert_int_eq(q->nodes[i].nparams, p->nodes[i].nparams);
    ck_assert_int_eq(q->nodes[i].kind, p->nodes[i].kind);
    const hd__pio *x = hd__plan_io(p, i), *y = hd__plan_io(q, i);
    ck_assert_int_eq(x == NULL, y == NULL);
    if (x != NULL)
      ck_assert_int_eq(memcmp(x, y, sizeof(*x)), 0);
  }
  ck_assert_uint_eq(q->predb_len, p->predb_len);
  ck_assert_int_eq(memcmp(q->pred_at, p->pred_at, (p->count + 1) * 4), 0);
  ck_assert_int_eq(memcmp(q->predb, p->predb, p->predb_len), 0);
  for (size_t i = 0; i < p->count; i++)
    ck_assert_uint_eq(q->nodes[i].npreds, p->nodes[i].npreds);
  ck_assert_int_eq(memcmp(q->succs, p->succs, p->nedges * 4), 0);
  ck_assert_int_eq(memcmp(q->order, p->order, p->count * 4), 0);
  ck_assert_int_eq(memcmp(q->strings, p->strings, p->strings_len), 0);
  hd__plan_free(q);
  hd__buf_cleanup(&b);
  hd_plan_free(p);
}
END_TEST

/* Every index of an accepted plan is inside it. */
static void check_sane(const hd__plan *q) {
  for (size_t i = 0; i < q->count; i++) {
    ck_assert_uint_lt(q->nodes[i].name, q->strings_len);
    ck_assert_uint_lt(q->nodes[i].settings, q->nsettings);
    ck_assert_uint_lt(q->nodes[i].io, q->nio);
    hd__preds it;
    for (hd__preds_begin(q, i, &it); it.left > 0;)
      ck_assert_uint_lt(hd__preds_next(&it), q->count);
  }
}

START_TEST(wire_plan_damage_is_refused) {
  hd_plan *p = make_plan();
  hd__buf b = {0};
  ck_assert_int_eq(hd__plan_pack(p, &b), HD_OK);
  const char *why;
  hd__plan *q;
  for (size_t n = 0; n < b.len; n++) {
    q = NULL;
    ck_assert_int_eq(hd__plan_unpack(b.data, n, &q, &why), HD_ECORRUPT);
    ck_assert_ptr_null(q);
    ck_assert_ptr_nonnull(why);
  }
  char *copy = malloc(b.len);
  size_t refused = 0;
  for (size_t i = 0; i < b.len; i++)
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(copy, b.data, b.len);
      copy[i] ^= (char)(1 << bit);
      q = NULL;
      int rc = hd__plan_unpack(copy, b.len, &q, &why);
      ck_assert(rc == HD_OK || rc == HD_ECORRUPT);
      if (rc == HD_OK)
        check_sane(q);
      else
        refused++;
      hd__plan_free(q);
    }
  ck_assert_uint_gt(refused, 0);
  free(copy);
  hd__buf_cleanup(&b);
  hd_plan_free(p);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("wire");
  TCase *tc = tcase_create("wire");
  tcase_add_test(tc, wire_plan_round_trip);
  tcase_add_test(tc, wire_plan_damage_is_refused);
  suite_add_tcase(s, tc);
  return s;
}
