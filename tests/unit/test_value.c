/* Values: kinds, accessors, reference counting across threads. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "test_util.h"

START_TEST(value_bytes_and_text) {
  hd_value *b, *t, *e;
  ck_assert_int_eq(hd_value_new_bytes("a\0b", 3, &b), HD_OK);
  ck_assert_int_eq(hd_value_kind_of(b), HD_VALUE_BYTES);
  ck_assert_uint_eq(hd_value_size(b), 3);
  ck_assert_mem_eq(hd_value_data(b), "a\0b", 3);
  /* Always followed by a NUL that the size does not count. */
  ck_assert_int_eq(((const char *)hd_value_data(b))[3], '\0');
  ck_assert_int_eq(hd_value_new_text("hello", HD_NUL_TERMINATED, &t), HD_OK);
  ck_assert_int_eq(hd_value_kind_of(t), HD_VALUE_TEXT);
  ck_assert_uint_eq(hd_value_size(t), 5);
  ck_assert_str_eq(hd_value_text(t), "hello");
  ck_assert_int_eq(hd_value_new_text("hello", 2, &e), HD_OK);
  ck_assert_str_eq(hd_value_text(e), "he");
  hd_value_unref(e);
  ck_assert_int_eq(hd_value_new_bytes(NULL, 0, &e), HD_OK);
  ck_assert_uint_eq(hd_value_size(e), 0);
  ck_assert_str_eq(hd_value_text(e), "");
  hd_value_unref(e);
  ck_assert_str_eq(hd_value_text(b), "a");
  hd_value_unref(b);
  hd_value_unref(t);
}
END_TEST

START_TEST(value_numbers_and_types) {
  hd_value *i, *d;
  ck_assert_int_eq(hd_value_new_int(INT64_MIN, &i), HD_OK);
  ck_assert_int_eq(hd_value_new_double(-0.5, &d), HD_OK);
  int64_t iv = 0;
  double dv = 0;
  ck_assert_int_eq(hd_value_get_int(i, &iv), HD_OK);
  ck_assert(iv == INT64_MIN);
  ck_assert_int_eq(hd_value_get_double(d, &dv), HD_OK);
  ck_assert(dv == -0.5);
  ck_assert_uint_eq(hd_value_size(i), 8);
  ck_assert_int_eq(hd_value_get_double(i, &dv), HD_ETYPE);
  ck_assert_int_eq(hd_value_get_int(d, &iv), HD_ETYPE);
  ck_assert_int_eq(hd_value_get_int(NULL, &iv), HD_EINVAL);
  ck_assert_int_eq(hd_value_get_int(i, NULL), HD_EINVAL);
  ck_assert_ptr_null(hd_value_text(i));
  ck_assert_str_eq(hd_value_kind_name(HD_VALUE_INT), "int");
  ck_assert_str_eq(hd_value_kind_name(HD_VALUE_DOUBLE), "double");
  ck_assert_str_eq(hd_value_kind_name(HD_VALUE_BYTES), "bytes");
  ck_assert_str_eq(hd_value_kind_name(HD_VALUE_TEXT), "text");
  ck_assert_str_eq(hd_value_kind_name((hd_value_kind)9), "unknown");
  hd_value_unref(i);
  hd_value_unref(d);
}
END_TEST

START_TEST(value_equality) {
  hd_value *a, *b, *c, *t;
  hd_value_new_bytes("xy", 2, &a);
  hd_value_new_bytes("xy", 2, &b);
  hd_value_new_bytes("xz", 2, &c);
  hd_value_new_text("xy", 2, &t);
  ck_assert(hd_value_equal(a, b));
  ck_assert(!hd_value_equal(a, c));
  ck_assert(!hd_value_equal(a, t)); /* the kind counts */
  ck_assert(hd_value_equal(NULL, NULL));
  ck_assert(!hd_value_equal(a, NULL));
  hd_value_unref(a);
  hd_value_unref(b);
  hd_value_unref(c);
  hd_value_unref(t);
}
END_TEST

START_TEST(value_bad_arguments) {
  hd_value *v = NULL;
  ck_assert_int_eq(hd_value_new_bytes(NULL, 3, &v), HD_EINVAL);
  ck_assert_int_eq(hd_value_new_bytes("x", 1, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_value_new_text(NULL, HD_NUL_TERMINATED, &v), HD_EINVAL);
  ck_assert_ptr_null(v);
  ck_assert_ptr_null(hd_value_ref(NULL));
  hd_value_unref(NULL);
  /* The readers take NULL as an empty bytes value (they crashed). */
  ck_assert_int_eq(hd_value_kind_of(NULL), HD_VALUE_BYTES);
  ck_assert_uint_eq(hd_value_size(NULL), 0);
  ck_assert_str_eq(hd_value_data(NULL), "");
  ck_assert_str_eq(hd_value_text(NULL), ""); /* as for an empty bytes */
  hd__alloc_fail_after(0);
  ck_assert_int_eq(hd_value_new_int(1, &v), HD_ENOMEM);
  hd__alloc_fail_after(-1);
}
END_TEST

#define THREADS 4
#define ROUNDS 100000

static void *ref_unref(void *arg) {
  hd_value *v = arg;
  for (int i = 0; i < ROUNDS; i++) {
    hd_value_ref(v);
    hd_value_unref(v);
  }
  return NULL;
}

START_TEST(value_refcount_is_thread_safe) {
  hd_value *v;
  hd_value_new_text("shared", HD_NUL_TERMINATED, &v);
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++)
    pthread_create(&th[i], NULL, ref_unref, v);
  for (int i = 0; i < THREADS; i++)
    pthread_join(th[i], NULL);
  /* Still alive with one reference: ours (ASan would catch a free). */
  ck_assert_str_eq(hd_value_text(v), "shared");
  ck_assert_ptr_eq(hd_value_ref(v), v);
  hd_value_unref(v);
  hd_value_unref(v);
}
END_TEST

/* Scalars made in one block: each is a value like any other, the block
 * outlives its filler while a value of it lives, and what does not fit
 * (another kind, a full block) is made alone. */
START_TEST(value_scalars_in_a_block) {
  hd__vslab *s = hd__vslab_new(3);
  ck_assert_ptr_nonnull(s);
  hd_value *a, *b, *c, *d, *t;
  hd__vslab_use(s);
  ck_assert_int_eq(hd_value_new_int(7, &a), HD_OK);
  ck_assert_int_eq(hd_value_new_double(2.5, &b), HD_OK);
  ck_assert_int_eq(hd_value_new_text("x", HD_NUL_TERMINATED, &t), HD_OK);
  ck_assert_int_eq(hd__value_alloc_in(s, HD_VALUE_INT, 8, &c), HD_OK);
  memset(hd__value_mut(c), 0, 8);
  ck_assert_int_eq(hd_value_new_int(9, &d), HD_OK); /* full: alone */
  hd__vslab_use(NULL);
  hd__vslab_done(s);
  int64_t i;
  double x;
  ck_assert_int_eq(hd_value_get_int(a, &i), HD_OK);
  ck_assert_int_eq(i, 7);
  ck_assert_int_eq(hd_value_get_double(b, &x), HD_OK);
  ck_assert(x == 2.5);
  ck_assert_int_eq(((const char *)hd_value_data(b))[8], '\0');
  ck_assert_int_eq(hd_value_get_int(d, &i), HD_OK);
  ck_assert_int_eq(i, 9);
  ck_assert_str_eq(hd_value_text(t), "x");
  /* Shared, then released in any order: the block goes with the last. */
  hd_value *a2 = hd_value_ref(a);
  hd_value_unref(a);
  ck_assert_int_eq(hd__value_reuse(b, HD_VALUE_INT, 8), 1);
  ck_assert_int_eq(hd_value_kind_of(b), HD_VALUE_INT);
  ck_assert_int_eq(hd__value_reuse(a2, HD_VALUE_INT, 4), 0);
  hd_value_unref(b);
  hd_value_unref(c);
  hd_value_unref(a2);
  hd_value_unref(d);
  hd_value_unref(t);
  /* A block whose values were all freed is filled again; not while one
     lives on. (No block kept from above: this one has room for two.) */
  hd__vslab_trim();
  s = hd__vslab_new(2);
  ck_assert_ptr_nonnull(s);
  ck_assert_int_eq(hd__value_alloc_in(s, HD_VALUE_INT, 8, &a), HD_OK);
  ck_assert_int_eq(hd__value_alloc_in(s, HD_VALUE_DOUBLE, 8, &b), HD_OK);
  hd_value_unref(b);
  ck_assert_int_eq(hd__vslab_reset(s), 0);
  hd_value_unref(a);
  ck_assert_int_eq(hd__vslab_reset(s), 1);
  ck_assert_int_eq(hd__value_alloc_in(s, HD_VALUE_INT, 8, &a), HD_OK);
  ck_assert_int_eq(hd__value_alloc_in(s, HD_VALUE_INT, 8, &b), HD_OK);
  ck_assert_int_eq(hd__value_alloc_in(s, HD_VALUE_INT, 8, &c), HD_OK);
  hd__vslab_done(s);
  hd_value_unref(a);
  hd_value_unref(c); /* made alone: the block was full */
  hd_value_unref(b); /* the block goes with it */
  /* A block nothing was taken from goes with its filler. */
  hd__vslab_done(hd__vslab_new(100000));
  hd__vslab_done(NULL);
}
END_TEST

/* A freed block is kept for the next one of about its size (at most
 * twice), which gets all its room; a much smaller one is made anew. */
START_TEST(value_blocks_are_kept_for_reuse) {
  hd__vslab_trim();
  hd__vslab *s = hd__vslab_new(1000);
  ck_assert_ptr_nonnull(s);
  hd_value *a;
  ck_assert_int_eq(hd__value_alloc_in(s, HD_VALUE_INT, 8, &a), HD_OK);
  hd__vslab_done(s);
  hd_value_unref(a); /* the block is freed: kept */
  hd__vslab *again = hd__vslab_new(900);
  ck_assert_ptr_eq(again, s);
  hd_value *v[1000];
  for (int i = 0; i < 1000; i++) {
    ck_assert_int_eq(hd__value_alloc_in(again, HD_VALUE_INT, 8, &v[i]), HD_OK);
    memcpy(hd__value_mut(v[i]), &(int64_t){i}, 8);
  }
  hd__vslab_done(again);
  hd__vslab *small = hd__vslab_new(10);
  ck_assert_ptr_nonnull(small);
  int64_t x;
  for (int i = 0; i < 1000; i++) {
    ck_assert_int_eq(hd_value_get_int(v[i], &x), HD_OK);
    ck_assert_int_eq(x, i);
    hd_value_unref(v[i]);
  }
  hd__vslab *tiny = hd__vslab_new(10); /* kept blocks are too large */
  ck_assert_ptr_ne(tiny, s);
  hd__vslab_done(small);
  hd__vslab_done(tiny);
  hd__vslab_trim();
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("value");
  TCase *tc = tcase_create("value");
  tcase_add_test(tc, value_bytes_and_text);
  tcase_add_test(tc, value_numbers_and_types);
  tcase_add_test(tc, value_equality);
  tcase_add_test(tc, value_bad_arguments);
  tcase_add_test(tc, value_refcount_is_thread_safe);
  tcase_add_test(tc, value_scalars_in_a_block);
  tcase_add_test(tc, value_blocks_are_kept_for_reuse);
  suite_add_tcase(s, tc);
  return s;
}
