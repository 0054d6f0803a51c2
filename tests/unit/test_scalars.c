/* Strict scalars of workflow files: integers, booleans, durations, sizes. */
#include <limits.h>
#include <string.h>

#include "../../schemas/scalars.h"
#include "test_util.h"

/* Parse s as an integer in [min, max]: the value on success, or the
 * reason (NULL when none is given) on failure; out is left alone then. */
static long long int_ok(const char *s, long long min, long long max) {
  long long v = -12345;
  const char *why = "unset";
  int rc = hd__parse_int(s, min, max, &v, &why);
  ck_assert_msg(rc == HD_OK, "'%s': %s (%s)", s, hd_err_name(rc),
                why ? why : "no reason");
  ck_assert_ptr_null(why);
  return v;
}

static const char *int_bad(const char *s, long long min, long long max) {
  long long v = -12345;
  const char *why = "unset";
  ck_assert_int_eq(hd__parse_int(s, min, max, &v, &why), HD_EINVAL);
  ck_assert_msg(v == -12345, "'%s' changed the output to %lld", s, v);
  return why;
}

START_TEST(scalars_int_accepts_plain_decimals_in_range) {
  ck_assert_int_eq(int_ok("0", 0, 10), 0);
  ck_assert_int_eq(int_ok("7", 0, 10), 7);
  ck_assert_int_eq(int_ok("10", 0, 10), 10);
  ck_assert_int_eq(int_ok("-5", -10, 10), -5);
  ck_assert_int_eq(int_ok("+7", 0, 10), 7);
  ck_assert_int_eq(int_ok("-0", 0, 10), 0);
  ck_assert_int_eq(int_ok("65535", 1, 65535), 65535);
  ck_assert(int_ok("9223372036854775807", LLONG_MIN, LLONG_MAX) == LLONG_MAX);
  ck_assert(int_ok("-9223372036854775807", LLONG_MIN, LLONG_MAX) == -LLONG_MAX);
}
END_TEST

START_TEST(scalars_int_refuses_leading_zeros_and_trailing_text) {
  ck_assert_str_eq(int_bad("010", 0, 100), "leading zeros are not allowed");
  ck_assert_str_eq(int_bad("-007", -100, 100), "leading zeros are not allowed");
  ck_assert_str_eq(int_bad("00", 0, 100), "leading zeros are not allowed");
  /* Not a number at all: no reason beyond what was wanted. */
  ck_assert_ptr_null(int_bad("3x", 0, 100));
  ck_assert_ptr_null(int_bad("0x10", 0, 100));
  ck_assert_ptr_null(int_bad("1.5", 0, 100));
  ck_assert_ptr_null(int_bad("1e3", 0, 10000));
  ck_assert_ptr_null(int_bad("", 0, 100));
  ck_assert_ptr_null(int_bad("-", 0, 100));
  ck_assert_ptr_null(int_bad(" 1", 0, 100));
  ck_assert_ptr_null(int_bad("1 ", 0, 100));
  ck_assert_ptr_null(int_bad("--1", -100, 100));
  ck_assert_ptr_null(int_bad("ten", 0, 100));
}
END_TEST

START_TEST(scalars_int_range_and_overflow) {
  ck_assert_str_eq(int_bad("-1", 0, 100), "it cannot be negative");
  ck_assert_str_eq(int_bad("0", 1, 100), "too small");
  ck_assert_str_eq(int_bad("-11", -10, 10), "too small");
  ck_assert_str_eq(int_bad("101", 0, 100), "too large");
  ck_assert_str_eq(int_bad("65536", 1, 65535), "too large");
  ck_assert_str_eq(int_bad("9223372036854775808", LLONG_MIN, LLONG_MAX),
                   "too large");
  ck_assert_str_eq(int_bad("99999999999999999999999", LLONG_MIN, LLONG_MAX),
                   "too large");
  ck_assert_str_eq(int_bad("-99999999999999999999999", LLONG_MIN, LLONG_MAX),
                   "too small");
}
END_TEST

START_TEST(scalars_bool_true_false_only) {
  const char *yes[] = {"true", "True", "TRUE"};
  const char *no[] = {"false", "False", "FALSE"};
  for (int i = 0; i < 3; i++) {
    int b = -1;
    ck_assert_int_eq(hd__parse_bool(yes[i], &b), HD_OK);
    ck_assert_int_eq(b, 1);
    b = -1;
    ck_assert_int_eq(hd__parse_bool(no[i], &b), HD_OK);
    ck_assert_int_eq(b, 0);
  }
  const char *bad[] = {"yes",  "no", "on", "off", "1",     "0",
                       "tRUE", "",   "t",  "y",   "true ", "falsey"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int b = -1;
    ck_assert_msg(hd__parse_bool(bad[i], &b) == HD_EINVAL, "'%s' accepted",
                  bad[i]);
    ck_assert_int_eq(b, -1);
  }
}
END_TEST

static double duration_ok(const char *s) {
  double v = -1;
  const char *why = "unset";
  int rc = hd__parse_duration(s, &v, &why);
  ck_assert_msg(rc == HD_OK, "'%s': %s (%s)", s, hd_err_name(rc),
                why ? why : "no reason");
  ck_assert_ptr_null(why);
  return v;
}

static const char *duration_bad(const char *s) {
  double v = -1;
  const char *why = "unset";
  ck_assert_msg(hd__parse_duration(s, &v, &why) == HD_EINVAL,
                "'%s' accepted as %g", s, v);
  ck_assert_double_eq(v, -1);
  return why;
}

START_TEST(scalars_duration_units_and_compounds) {
  ck_assert_double_eq_tol(duration_ok("1.5s"), 1.5, 1e-12);
  ck_assert_double_eq(duration_ok("10m"), 600);
  ck_assert_double_eq(duration_ok("2h"), 7200);
  ck_assert_double_eq_tol(duration_ok("500ms"), 0.5, 1e-12);
  ck_assert_double_eq(duration_ok("1h30m"), 5400);
  ck_assert_double_eq(duration_ok("2m30s"), 150);
  ck_assert_double_eq_tol(duration_ok("1s500ms"), 1.5, 1e-12);
  ck_assert_double_eq(duration_ok("1d2h3m4s"), 86400 + 7200 + 180 + 4);
  ck_assert_double_eq(duration_ok("30"), 30);
  ck_assert_double_eq_tol(duration_ok("0.25"), 0.25, 1e-12);
  ck_assert_double_eq(duration_ok("0"), 0);
  ck_assert_double_eq(duration_ok("1d"), 86400);
  ck_assert_double_eq_tol(duration_ok("1.5m"), 90, 1e-9);
}
END_TEST

START_TEST(scalars_duration_refusals_and_reasons) {
  ck_assert_str_eq(duration_bad("10x"), "unknown unit (use ms, s, m, h or d)");
  ck_assert_str_eq(duration_bad("10 m"), "unknown unit (use ms, s, m, h or d)");
  ck_assert_ptr_null(duration_bad("1.5.2s")); /* two points, not a unit */
  /* Said: a last part with no unit, an exponent (they gave no reason, or
     "unknown unit"). */
  ck_assert_str_eq(duration_bad("1h30"), "a part without a unit");
  ck_assert_str_eq(duration_bad("1e3s"), "no exponent");
  ck_assert_str_eq(duration_bad("-1s"), "it cannot be negative");
  ck_assert_str_eq(duration_bad("-30"), "it cannot be negative");
  ck_assert_str_eq(duration_bad("30m1h"),
                   "units must go from the largest to the smallest, each once");
  ck_assert_str_eq(duration_bad("1m1m"),
                   "units must go from the largest to the smallest, each once");
  ck_assert_str_eq(duration_bad("500ms1s"),
                   "units must go from the largest to the smallest, each once");
  ck_assert_str_eq(duration_bad("20000d"), "too long");
  /* No number where one is needed: nothing more to say. */
  ck_assert_ptr_null(duration_bad("h"));
  ck_assert_ptr_null(duration_bad("s"));
  ck_assert_ptr_null(duration_bad(""));
  ck_assert_ptr_null(duration_bad(".5s"));
  ck_assert_ptr_null(duration_bad("1.s"));
  ck_assert_ptr_null(duration_bad("forever"));
  /* "5s" reads as a part; "ec" then has no number. */
  ck_assert_ptr_null(duration_bad("5sec"));
}
END_TEST

START_TEST(scalars_duration_bare_seconds_have_the_same_limit) {
  /* A bare number is seconds, so it is bounded like the same number with
     's': both are too long, neither is accepted silently. */
  ck_assert_str_eq(duration_bad("2000000000s"), "too long");
  ck_assert_str_eq(duration_bad("2000000000"), "too long");
}
END_TEST

static uint64_t size_ok(const char *s) {
  uint64_t v = 7;
  const char *why = "unset";
  int rc = hd__parse_size(s, &v, &why);
  ck_assert_msg(rc == HD_OK, "'%s': %s (%s)", s, hd_err_name(rc),
                why ? why : "no reason");
  ck_assert_ptr_null(why);
  return v;
}

static const char *size_bad(const char *s) {
  uint64_t v = 7;
  const char *why = "unset";
  ck_assert_msg(hd__parse_size(s, &v, &why) == HD_EINVAL, "'%s' accepted", s);
  ck_assert_uint_eq(v, 7);
  return why;
}

START_TEST(scalars_size_suffixes) {
  ck_assert_uint_eq(size_ok("512M"), 536870912u);
  ck_assert_uint_eq(size_ok("4G"), 4294967296u);
  ck_assert_uint_eq(size_ok("4GB"), 4294967296u);
  ck_assert_uint_eq(size_ok("4GiB"), 4294967296u);
  ck_assert_uint_eq(size_ok("4Gi"), 4294967296u);
  ck_assert_uint_eq(size_ok("1.5G"), 1610612736u);
  ck_assert_uint_eq(size_ok("100K"), 102400u);
  ck_assert_uint_eq(size_ok("100k"), 102400u);
  ck_assert_uint_eq(size_ok("1KiB"), 1024u);
  ck_assert_uint_eq(size_ok("1KB"), 1024u);
  ck_assert_uint_eq(size_ok("2GB"), 2147483648u);
  ck_assert_uint_eq(size_ok("2T"), 2199023255552u);
  ck_assert_uint_eq(size_ok("0.5K"), 512u);
  ck_assert_uint_eq(size_ok("64B"), 64u);
  ck_assert_uint_eq(size_ok("1048576"), 1048576u);
  ck_assert_uint_eq(size_ok("0"), 0u);
  ck_assert_uint_eq(size_ok("16777215T"), 18446742974197923840u);
}
END_TEST

START_TEST(scalars_size_refusals_and_reasons) {
  ck_assert_str_eq(size_bad("4Q"), "unknown unit (use K, M, G or T)");
  ck_assert_str_eq(size_bad("4X"), "unknown unit (use K, M, G or T)");
  ck_assert_str_eq(size_bad("4 G"), "unknown unit (use K, M, G or T)");
  ck_assert_str_eq(size_bad("4g"), "unknown unit (use K, M, G or T)");
  ck_assert_str_eq(size_bad("4GX"), "unknown unit (use K, M, G or T)");
  ck_assert_str_eq(size_bad("4Bi"), "unknown unit (use K, M, G or T)");
  ck_assert_ptr_null(size_bad("1.5.5M")); /* two points, not a unit */
  ck_assert_str_eq(size_bad("-1G"), "it cannot be negative");
  ck_assert_str_eq(size_bad("-1"), "it cannot be negative");
  ck_assert_str_eq(size_bad("1.5"), "a number of bytes is whole");
  ck_assert_str_eq(size_bad("1.5B"), "a number of bytes is whole");
  ck_assert_str_eq(size_bad("16777216T"), "too large");
  ck_assert_str_eq(size_bad("99999999999999999999"), "too large");
  ck_assert_ptr_null(size_bad("G"));
  ck_assert_ptr_null(size_bad(""));
  ck_assert_ptr_null(size_bad("lots"));
  ck_assert_ptr_null(size_bad(".5G"));
}
END_TEST

START_TEST(scalars_size_whole_bytes_are_exact) {
  /* A number of bytes is an integer: it must come back unchanged, also
     above 2^53 where a double cannot hold every integer. */
  ck_assert_uint_eq(size_ok("9007199254740993"), 9007199254740993u);
  ck_assert_uint_eq(size_ok("18446744073709551614"), 18446744073709551614u);
}
END_TEST

START_TEST(scalars_number_positive_decimals) {
  double v = -1;
  const char *why = "unset";
  ck_assert_int_eq(hd__parse_number("2", &v, &why), HD_OK);
  ck_assert_double_eq(v, 2);
  ck_assert_ptr_null(why);
  ck_assert_int_eq(hd__parse_number("0.5", &v, &why), HD_OK);
  ck_assert_double_eq_tol(v, 0.5, 1e-12);
  ck_assert_int_eq(hd__parse_number("12.125", &v, &why), HD_OK);
  ck_assert_double_eq_tol(v, 12.125, 1e-12);
  v = -1;
  ck_assert_int_eq(hd__parse_number("-1", &v, &why), HD_EINVAL);
  ck_assert_str_eq(why, "it cannot be negative");
  ck_assert_double_eq(v, -1);
  const char *bad[] = {"",   "1.", ".5",    "1e3", "inf", "nan",
                       "+1", "1x", "1.2.3", " 1",  "0x10"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    why = "unset";
    ck_assert_msg(hd__parse_number(bad[i], &v, &why) == HD_EINVAL,
                  "'%s' accepted", bad[i]);
    ck_assert_ptr_null(why);
    ck_assert_double_eq(v, -1);
  }
  /* Too many digits for a finite double. */
  char huge[400];
  memset(huge, '9', sizeof(huge) - 1);
  huge[sizeof(huge) - 1] = '\0';
  ck_assert_int_eq(hd__parse_number(huge, &v, &why), HD_EINVAL);
  ck_assert_double_eq(v, -1);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("scalars");
  TCase *tc = tcase_create("scalars");
  tcase_add_test(tc, scalars_int_accepts_plain_decimals_in_range);
  tcase_add_test(tc, scalars_int_refuses_leading_zeros_and_trailing_text);
  tcase_add_test(tc, scalars_int_range_and_overflow);
  tcase_add_test(tc, scalars_bool_true_false_only);
  tcase_add_test(tc, scalars_duration_units_and_compounds);
  tcase_add_test(tc, scalars_duration_refusals_and_reasons);
  tcase_add_test(tc, scalars_duration_bare_seconds_have_the_same_limit);
  tcase_add_test(tc, scalars_size_suffixes);
  tcase_add_test(tc, scalars_size_refusals_and_reasons);
  tcase_add_test(tc, scalars_size_whole_bytes_are_exact);
  tcase_add_test(tc, scalars_number_positive_decimals);
  suite_add_tcase(s, tc);
  return s;
}
