/* The named function registry. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

static int fn_a(hd_task *t, void *data) {
  (void)t;
  (void)data;
  return HD_OK;
}

static int fn_b(hd_task *t, void *data) {
  (void)t;
  (void)data;
  return HD_EIO;
}

START_TEST(registry_register_lookup_unregister) {
  int tag = 7;
  ck_assert_int_eq(hd_fn_register("reg_a", fn_a, &tag), HD_OK);
  ck_assert_int_eq(hd_fn_register("reg_a", fn_b, NULL), HD_EEXIST);
  hd_fn_cb fn = NULL;
  void *data = NULL;
  ck_assert_int_eq(hd_fn_lookup("reg_a", &fn, &data), HD_OK);
  ck_assert(fn == fn_a);
  ck_assert_ptr_eq(data, &tag);
  ck_assert_int_eq(hd_fn_lookup("reg_a", NULL, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_lookup("reg_none", &fn, &data), HD_ENOENT);
  ck_assert_int_eq(hd_fn_unregister("reg_a"), HD_OK);
  ck_assert_int_eq(hd_fn_unregister("reg_a"), HD_ENOENT);
  ck_assert_int_eq(hd_fn_lookup("reg_a", &fn, &data), HD_ENOENT);
  /* The name is free again. */
  ck_assert_int_eq(hd_fn_register("reg_a", fn_b, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_lookup("reg_a", &fn, NULL), HD_OK);
  ck_assert(fn == fn_b);
  ck_assert_int_eq(hd_fn_unregister("reg_a"), HD_OK);
}
END_TEST

START_TEST(registry_rejects_bad_arguments) {
  ck_assert_int_eq(hd_fn_register(NULL, fn_a, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_fn_register("", fn_a, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_fn_register("x", NULL, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_fn_lookup(NULL, NULL, NULL), HD_EINVAL);
  ck_assert_int_eq(hd_fn_unregister(NULL), HD_EINVAL);
  char **names;
  size_t n;
  ck_assert_int_eq(hd_fn_list(NULL, &n), HD_EINVAL);
  ck_assert_int_eq(hd_fn_list(&names, NULL), HD_EINVAL);
  /* A NULL task reads as one with nothing (hd_task_cancelled crashed). */
  ck_assert_ptr_null(hd_task_name(NULL));
  ck_assert_uint_eq(hd_task_input_count(NULL), 0);
  ck_assert_ptr_null(hd_task_input(NULL, 0));
  ck_assert_ptr_null(hd_task_param(NULL, "k"));
  ck_assert_int_eq(hd_task_cancelled(NULL), 0);
  ck_assert_uint_eq(hd_task_attempt(NULL), 0);
  ck_assert_int_eq(hd_task_fail(NULL, "x"), HD_ETASK);
  hd__alloc_fail_after(0);
  ck_assert_int_eq(hd_fn_register("oom", fn_a, NULL), HD_ENOMEM);
  hd__alloc_fail_after(-1);
  ck_assert_int_eq(hd_fn_lookup("oom", NULL, NULL), HD_ENOENT);
}
END_TEST

START_TEST(registry_lists_names_sorted) {
  hd_fn_register("zeta", fn_a, NULL);
  hd_fn_register("alpha", fn_a, NULL);
  hd_fn_register("mid", fn_a, NULL);
  char **names;
  size_t n;
  ck_assert_int_eq(hd_fn_list(&names, &n), HD_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(names[0], "alpha");
  ck_assert_str_eq(names[1], "mid");
  ck_assert_str_eq(names[2], "zeta");
  hd_fn_list_free(names, n);
  hd_fn_list_free(NULL, 0);
}
END_TEST

static void *register_many(void *arg) {
  int base = (int)(intptr_t)arg;
  char name[32];
  for (int i = 0; i < 500; i++) {
    snprintf(name, sizeof(name), "t%d_%d", base, i);
    if (hd_fn_register(name, fn_a, NULL) != HD_OK)
      return (void *)1;
    if (hd_fn_lookup(name, NULL, NULL) != HD_OK)
      return (void *)1;
  }
  return NULL;
}

START_TEST(registry_is_thread_safe) {
  pthread_t th[4];
  for (intptr_t i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, register_many, (void *)i);
  for (int i = 0; i < 4; i++) {
    void *res;
    pthread_join(th[i], &res);
    ck_assert_ptr_null(res);
  }
  char **names;
  size_t n;
  ck_assert_int_eq(hd_fn_list(&names, &n), HD_OK);
  ck_assert_uint_eq(n, 2000);
  hd_fn_list_free(names, n);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("registry");
  TCase *tc = tcase_create("registry");
  tcase_add_test(tc, registry_register_lookup_unregister);
  tcase_add_test(tc, registry_rejects_bad_arguments);
  tcase_add_test(tc, registry_lists_names_sorted);
  tcase_add_test(tc, registry_is_thread_safe);
  suite_add_tcase(s, tc);
  return s;
}
