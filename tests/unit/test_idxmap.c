/* The index by name of items that keep their names (core/idxmap.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* The items: names in an array, as a graph keeps its nodes. */
typedef struct items {
  char **names;
  size_t count;
  size_t *dups; /* the indices dup() was called with */
  size_t ndups;
} items;

static const char *name_of(void *ctx, size_t i) {
  const items *it = ctx;
  ck_assert_uint_lt(i, it->count);
  return it->names[i];
}

static void dup_seen(void *ctx, size_t i) {
  items *it = ctx;
  it->dups[it->ndups++] = i;
}

static items make_items(size_t n) {
  items it = {calloc(n, sizeof(char *)), n, calloc(n, sizeof(size_t)), 0};
  ck_assert_ptr_nonnull(it.names);
  ck_assert_ptr_nonnull(it.dups);
  for (size_t i = 0; i < n; i++) {
    it.names[i] = malloc(24);
    ck_assert_ptr_nonnull(it.names[i]);
    snprintf(it.names[i], 24, "n%zu", i);
  }
  return it;
}

static void free_items(items *it) {
  for (size_t i = 0; i < it->count; i++)
    free(it->names[i]);
  free(it->names);
  free(it->dups);
}

START_TEST(idxmap_add_get_del_and_duplicates) {
  items it = make_items(6);
  snprintf(it.names[3], 24, "n1"); /* the same name as item 1 */
  it.names[5][0] = '\0';           /* the empty name is a name */
  hd__idxmap m = {0};
  m.name = name_of;
  m.ctx = &it;
  size_t i = 99;
  ck_assert(!hd__idxmap_get(&m, "n0", &i));
  ck_assert_int_eq(hd__idxmap_add_many(&m, 0, 6, dup_seen), HD_OK);
  ck_assert_uint_eq(m.count, 5);
  ck_assert_uint_eq(it.ndups, 1);
  ck_assert_uint_eq(it.dups[0], 3);
  ck_assert(hd__idxmap_get(&m, "n1", &i));
  ck_assert_uint_eq(i, 1); /* the first with that name */
  ck_assert(hd__idxmap_get(&m, "", &i));
  ck_assert_uint_eq(i, 5);
  ck_assert(hd__idxmap_get(&m, "n4", NULL));
  ck_assert(!hd__idxmap_get(&m, "n3", NULL));
  ck_assert(!hd__idxmap_get(&m, "n10", NULL));
  ck_assert_int_eq(hd__idxmap_del(&m, "n1"), HD_OK);
  ck_assert_int_eq(hd__idxmap_del(&m, "n1"), HD_ENOENT);
  ck_assert(!hd__idxmap_get(&m, "n1", NULL));
  ck_assert(hd__idxmap_get(&m, "n2", &i)); /* probes go past a tombstone */
  ck_assert_uint_eq(i, 2);
  /* Adding the same range again: each there under its own index is
     skipped; item 1 goes back in, and item 3 is its duplicate again. */
  it.ndups = 0;
  ck_assert_int_eq(hd__idxmap_add_many(&m, 0, 6, dup_seen), HD_OK);
  ck_assert_uint_eq(it.ndups, 1);
  ck_assert_uint_eq(it.dups[0], 3);
  ck_assert(hd__idxmap_get(&m, "n1", &i));
  ck_assert_uint_eq(i, 1);
  ck_assert_uint_eq(m.count, 5);
  hd__idxmap_cleanup(&m);
  ck_assert_uint_eq(m.count, 0);
  ck_assert(!hd__idxmap_get(&m, "n0", NULL));
  free_items(&it);
}
END_TEST

/* Many names, added in batches of every size (the index grows and is
 * rehashed from the names), a third of them deleted, then added again. */
START_TEST(idxmap_many_names_batches_and_deletes) {
  enum { N = 100000 };
  items it = make_items(N);
  hd__idxmap m = {0};
  m.name = name_of;
  m.ctx = &it;
  size_t at = 0, batch = 1;
  while (at < N) {
    size_t n = batch < N - at ? batch : N - at;
    ck_assert_int_eq(hd__idxmap_add_many(&m, at, n, dup_seen), HD_OK);
    at += n;
    batch = batch * 3 + 1;
  }
  ck_assert_uint_eq(m.count, N);
  ck_assert_uint_eq(it.ndups, 0);
  ck_assert_uint_le(m.cap, 4 * (size_t)N);
  for (size_t i = 0; i < N; i++) {
    size_t got;
    ck_assert(hd__idxmap_get(&m, it.names[i], &got));
    ck_assert_uint_eq(got, i);
  }
  for (size_t i = 0; i < N; i += 3)
    ck_assert_int_eq(hd__idxmap_del(&m, it.names[i]), HD_OK);
  for (size_t i = 0; i < N; i++)
    ck_assert_int_eq(hd__idxmap_get(&m, it.names[i], NULL), i % 3 != 0);
  ck_assert_int_eq(hd__idxmap_add_many(&m, 0, N, dup_seen), HD_OK);
  ck_assert_uint_eq(m.count, N);
  ck_assert_uint_eq(it.ndups, 0);
  for (size_t i = 0; i < N; i++)
    ck_assert(hd__idxmap_get(&m, it.names[i], NULL));
  hd__idxmap_cleanup(&m);
  free_items(&it);
}
END_TEST

/* Out of memory while growing: the call fails, what was there stays, and
 * the next call adds the rest. */
START_TEST(idxmap_out_of_memory_leaves_it_usable) {
  items it = make_items(40);
  hd__idxmap m = {0};
  m.name = name_of;
  m.ctx = &it;
  ck_assert_int_eq(hd__idxmap_add_many(&m, 0, 4, dup_seen), HD_OK);
  hd__alloc_fail_after(0);
  ck_assert_int_eq(hd__idxmap_add_many(&m, 4, 36, dup_seen), HD_ENOMEM);
  hd__alloc_fail_after(-1);
  ck_assert_uint_eq(m.count, 4);
  ck_assert(hd__idxmap_get(&m, "n3", NULL));
  ck_assert(!hd__idxmap_get(&m, "n4", NULL));
  ck_assert_int_eq(hd__idxmap_add_many(&m, 4, 36, dup_seen), HD_OK);
  ck_assert_uint_eq(m.count, 40);
  ck_assert_uint_eq(it.ndups, 0);
  hd__idxmap_cleanup(&m);
  free_items(&it);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("idxmap");
  TCase *tc = tcase_create("idxmap");
  tcase_add_test(tc, idxmap_add_get_del_and_duplicates);
  tcase_add_test(tc, idxmap_many_names_batches_and_deletes);
  tcase_add_test(tc, idxmap_out_of_memory_leaves_it_usable);
  suite_add_tcase(s, tc);
  return s;
}
