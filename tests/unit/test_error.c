/* Error codes, their names and messages, and diagnostics. */
#include <string.h>

#include "test_util.h"

START_TEST(error_codes_are_distinct_and_named) {
  static const int codes[] = {
#define XX(name, num, msg) HD_##name,
      HD_ERRNO_MAP(XX)
#undef XX
  };
  static const char *const names[] = {
#define XX(name, num, msg) #name,
      HD_ERRNO_MAP(XX)
#undef XX
  };
  size_t n = sizeof(codes) / sizeof(codes[0]);
  ck_assert_uint_ge(n, 20);
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_lt(codes[i], 0);
    ck_assert_str_eq(hd_err_name(codes[i]), names[i]);
    ck_assert_str_ne(hd_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++)
      ck_assert_int_ne(codes[i], codes[j]);
  }
}
END_TEST

START_TEST(error_messages_and_unknown_codes) {
  ck_assert_int_eq(HD_OK, 0);
  ck_assert_str_eq(hd_err_name(HD_OK), "OK");
  ck_assert_str_eq(hd_strerror(HD_OK), "success");
  ck_assert_str_eq(hd_err_name(HD_ENOMEM), "ENOMEM");
  ck_assert_str_eq(hd_strerror(HD_ENOMEM), "out of memory");
  ck_assert_str_eq(hd_strerror(HD_ECYCLE), "dependency cycle");
  ck_assert_str_eq(hd_err_name(-9999), "UNKNOWN");
  ck_assert_str_eq(hd_strerror(-9999), "unknown error");
  ck_assert_str_eq(hd_strerror(12345), "unknown error");
  /* Numbers are part of the wire format: they never change. */
  ck_assert_int_eq(HD_ENOMEM, -1);
  ck_assert_int_eq(HD_ETASK, -15);
}
END_TEST

START_TEST(error_diag_format_shapes) {
  char buf[128];
  hd_diag d = {HD_ESCHEMA, "bad key", "wf.yaml", 3, 7, "t"};
  ck_assert_uint_eq(hd_diag_format(&d, buf, sizeof(buf)),
                    strlen("wf.yaml:3:7: bad key"));
  ck_assert_str_eq(buf, "wf.yaml:3:7: bad key");
  d.column = 0;
  hd_diag_format(&d, buf, sizeof(buf));
  ck_assert_str_eq(buf, "wf.yaml:3: bad key");
  d.line = 0;
  hd_diag_format(&d, buf, sizeof(buf));
  ck_assert_str_eq(buf, "wf.yaml: bad key");
  d.file = NULL;
  hd_diag_format(&d, buf, sizeof(buf));
  ck_assert_str_eq(buf, "bad key");
  d.message = NULL;
  hd_diag_format(&d, buf, sizeof(buf));
  ck_assert_str_eq(buf, "invalid workflow");
  hd_diag_format(NULL, buf, sizeof(buf));
  ck_assert_str_eq(buf, "(no diagnostic)");
}
END_TEST

START_TEST(error_diag_format_truncates_like_snprintf) {
  char buf[8];
  hd_diag d = {HD_EIO, "a long message", "file", 1, 2, NULL};
  size_t need = hd_diag_format(&d, buf, sizeof(buf));
  ck_assert_uint_eq(need, strlen("file:1:2: a long message"));
  ck_assert_str_eq(buf, "file:1:");
  ck_assert_uint_eq(hd_diag_format(&d, NULL, 0), need);
}
END_TEST

START_TEST(error_diag_list_add_copy_clear) {
  hd__diags a = {0}, b = {0};
  ck_assert_int_eq(hd__diags_add(&a, HD_EGRAPH, "f", 1, 2, "t", "n=%d", 5),
                   HD_OK);
  for (int i = 0; i < 40; i++)
    ck_assert_int_eq(hd__diags_add(&a, HD_EIO, NULL, 0, 0, NULL, "%d", i),
                     HD_OK);
  ck_assert_uint_eq(a.count, 41);
  ck_assert_str_eq(a.items[0].message, "n=5");
  ck_assert_str_eq(a.items[0].file, "f");
  ck_assert_str_eq(a.items[0].task, "t");
  ck_assert_ptr_null(a.items[1].file);
  ck_assert_int_eq(hd__diags_copy(&b, &a), HD_OK);
  hd__diags_clear(&a);
  ck_assert_uint_eq(a.count, 0);
  ck_assert_uint_eq(b.count, 41);
  ck_assert_str_eq(b.items[40].message, "39");
  ck_assert_int_eq(b.items[0].line, 1);
  hd__diags_clear(&b);
  /* Out of memory leaves the list as it was. */
  hd__alloc_fail_after(0);
  ck_assert_int_eq(hd__diags_add(&a, HD_EIO, "f", 0, 0, "t", "x"), HD_ENOMEM);
  hd__alloc_fail_after(-1);
  ck_assert_uint_eq(a.count, 0);
  hd__diags_clear(&a);
}
END_TEST

START_TEST(error_edit_distance) {
  ck_assert_uint_eq(hd__edit_distance("greet", "greet", 3), 0);
  ck_assert_uint_eq(hd__edit_distance("gret", "greet", 3), 1);
  ck_assert_uint_eq(hd__edit_distance("kitten", "sitting", 5), 3);
  ck_assert_uint_eq(hd__edit_distance("", "abc", 5), 3);
  /* Capped: anything past the limit reads as limit + 1. */
  ck_assert_uint_eq(hd__edit_distance("kitten", "sitting", 2), 3);
  ck_assert_uint_eq(hd__edit_distance("a", "abcdefgh", 2), 3);
}
END_TEST

/* The whole table, for reference. */
static size_t full_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), d[16][16];
  for (size_t i = 0; i <= la; i++)
    d[i][0] = i;
  for (size_t j = 0; j <= lb; j++)
    d[0][j] = j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      size_t v = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < v)
        v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v)
        v = d[i][j - 1] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

/* Only a band around the diagonal is computed: the same answers as the
 * whole table, on random short strings over three letters. */
START_TEST(error_edit_distance_matches_the_whole_table) {
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int t = 0; t < 200000; t++) {
    char a[16], b[16];
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    size_t la = x % 12, lb = (x >> 8) % 12, limit = (x >> 16) % 5;
    for (size_t i = 0; i < la; i++)
      a[i] = (char)('a' + (x >> (20 + i)) % 3);
    for (size_t i = 0; i < lb; i++)
      b[i] = (char)('a' + (x >> (32 + i)) % 3);
    a[la] = b[lb] = '\0';
    size_t want = full_distance(a, b);
    if (want > limit)
      want = limit + 1;
    ck_assert_msg(hd__edit_distance(a, b, limit) == want,
                  "'%s' '%s' limit %zu: %zu, not %zu", a, b, limit,
                  hd__edit_distance(a, b, limit), want);
  }
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("error");
  TCase *tc = tcase_create("error");
  tcase_add_test(tc, error_codes_are_distinct_and_named);
  tcase_add_test(tc, error_messages_and_unknown_codes);
  tcase_add_test(tc, error_diag_format_shapes);
  tcase_add_test(tc, error_diag_format_truncates_like_snprintf);
  tcase_add_test(tc, error_diag_list_add_copy_clear);
  tcase_add_test(tc, error_edit_distance);
  tcase_add_test(tc, error_edit_distance_matches_the_whole_table);
  suite_add_tcase(s, tc);
  return s;
}
