/* The internal string map. */
#include <stdio.h>
#include <string.h>

#include "test_util.h"

START_TEST(strmap_put_add_get_del) {
  hd__strmap m = {0};
  size_t v = 0;
  ck_assert(!hd__strmap_get(&m, "a", &v));
  ck_assert_int_eq(hd__strmap_add(&m, "a", 1), HD_OK);
  ck_assert_int_eq(hd__strmap_add(&m, "a", 2), HD_EEXIST);
  ck_assert(hd__strmap_get(&m, "a", &v));
  ck_assert_uint_eq(v, 1);
  ck_assert_int_eq(hd__strmap_put(&m, "a", 3), HD_OK);
  ck_assert(hd__strmap_get(&m, "a", &v));
  ck_assert_uint_eq(v, 3);
  ck_assert_uint_eq(m.count, 1);
  ck_assert_int_eq(hd__strmap_del(&m, "a"), HD_OK);
  ck_assert_int_eq(hd__strmap_del(&m, "a"), HD_ENOENT);
  ck_assert(!hd__strmap_get(&m, "a", NULL));
  ck_assert_uint_eq(m.count, 0);
  ck_assert_int_eq(hd__strmap_add(&m, "a", 4), HD_OK);
  ck_assert(hd__strmap_get(&m, "a", &v));
  ck_assert_uint_eq(v, 4);
  ck_assert(!hd__strmap_get(&m, "", &v));
  ck_assert_int_eq(hd__strmap_add(&m, "", 5), HD_OK);
  ck_assert(hd__strmap_get(&m, "", &v));
  ck_assert_uint_eq(v, 5);
  hd__strmap_cleanup(&m);
  ck_assert_uint_eq(m.count, 0);
}
END_TEST

static void count_each(const char *key, size_t value, void *data) {
  size_t *seen = data;
  size_t i;
  ck_assert_int_eq(sscanf(key, "k%zu", &i), 1);
  ck_assert_uint_eq(value, i * 7);
  seen[i]++;
}

START_TEST(strmap_many_keys_with_deletes) {
  enum { N = 100000 };
  hd__strmap m = {0};
  char key[32];
  for (size_t i = 0; i < N; i++) {
    snprintf(key, sizeof(key), "k%zu", i);
    ck_assert_int_eq(hd__strmap_add(&m, key, i * 7), HD_OK);
  }
  ck_assert_uint_eq(m.count, N);
  /* Delete the odd keys, then insert and delete many more: tombstones
     must never fill the table. */
  for (size_t i = 1; i < N; i += 2) {
    snprintf(key, sizeof(key), "k%zu", i);
    ck_assert_int_eq(hd__strmap_del(&m, key), HD_OK);
  }
  for (size_t r = 0; r < 3; r++)
    for (size_t i = N; i < N + 20000; i++) {
      snprintf(key, sizeof(key), "k%zu", i);
      ck_assert_int_eq(hd__strmap_add(&m, key, i * 7), HD_OK);
      ck_assert_int_eq(hd__strmap_del(&m, key), HD_OK);
    }
  ck_assert_uint_eq(m.count, N / 2);
  for (size_t i = 0; i < N; i++) {
    snprintf(key, sizeof(key), "k%zu", i);
    size_t v;
    ck_assert_int_eq(hd__strmap_get(&m, key, &v), i % 2 == 0);
  }
  static size_t seen[N];
  memset(seen, 0, sizeof(seen));
  hd__strmap_each(&m, count_each, seen);
  for (size_t i = 0; i < N; i++)
    ck_assert_uint_eq(seen[i], i % 2 == 0 ? 1 : 0);
  hd__strmap_cleanup(&m);
}
END_TEST

START_TEST(strmap_out_of_memory_leaves_it_usable) {
  hd__strmap m = {0};
  hd__alloc_fail_after(0);
  ck_assert_int_eq(hd__strmap_add(&m, "a", 1), HD_ENOMEM);
  hd__alloc_fail_after(-1);
  ck_assert_int_eq(hd__strmap_add(&m, "a", 1), HD_OK);
  hd__alloc_fail_after(0); /* the key copy fails */
  ck_assert_int_eq(hd__strmap_add(&m, "b", 2), HD_ENOMEM);
  hd__alloc_fail_after(-1);
  ck_assert(!hd__strmap_get(&m, "b", NULL));
  ck_assert(hd__strmap_get(&m, "a", NULL));
  hd__strmap_cleanup(&m);
}
END_TEST

START_TEST(strmap_reserve_makes_room_once) {
  hd__strmap m = {0};
  char key[32];
  /* Past a MiB of slots: the table comes from hd__big_calloc. */
  const size_t N = 50000;
  ck_assert_int_eq(hd__strmap_reserve(&m, N), HD_OK);
  size_t cap = m.cap;
  ck_assert_uint_ge(cap, 2 * N);
  for (size_t i = 0; i < N; i++) {
    snprintf(key, sizeof(key), "k%zu", i);
    ck_assert_int_eq(hd__strmap_add(&m, key, i), HD_OK);
  }
  ck_assert_uint_eq(m.cap, cap); /* no growth while adding them */
  /* Fewer than it holds: nothing shrinks. */
  ck_assert_int_eq(hd__strmap_reserve(&m, 10), HD_OK);
  ck_assert_uint_eq(m.cap, cap);
  /* Tombstones count: room for N more after deleting half. */
  for (size_t i = 0; i < N; i += 2) {
    snprintf(key, sizeof(key), "k%zu", i);
    ck_assert_int_eq(hd__strmap_del(&m, key), HD_OK);
  }
  ck_assert_int_eq(hd__strmap_reserve(&m, m.count + N), HD_OK);
  ck_assert_uint_eq(m.used, m.count);
  for (size_t i = 0; i < N; i++) {
    snprintf(key, sizeof(key), "k%zu", i);
    size_t v = 0;
    ck_assert_int_eq(hd__strmap_get(&m, key, &v), i % 2 == 1);
    if (i % 2 == 1)
      ck_assert_uint_eq(v, i);
  }
  hd__strmap_cleanup(&m);
  /* Out of memory: the map stays as it was. */
  ck_assert_int_eq(hd__strmap_add(&m, "a", 1), HD_OK);
  hd__alloc_fail_after(0);
  ck_assert_int_eq(hd__strmap_reserve(&m, N), HD_ENOMEM);
  hd__alloc_fail_after(-1);
  ck_assert(hd__strmap_get(&m, "a", NULL));
  hd__strmap_cleanup(&m);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("strmap");
  TCase *tc = tcase_create("strmap");
  tcase_set_timeout(tc, 30); /* 10^5 keys under sanitizers on a busy machine */
  tcase_add_test(tc, strmap_put_add_get_del);
  tcase_add_test(tc, strmap_many_keys_with_deletes);
  tcase_add_test(tc, strmap_out_of_memory_leaves_it_usable);
  tcase_add_test(tc, strmap_reserve_makes_room_once);
  suite_add_tcase(s, tc);
  return s;
}
