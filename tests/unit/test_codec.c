/* The frame codec: round trips, and refusal of every damaged frame. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "test_util.h"

#define BOUND ((size_t)1 << 30)

static hd_value *bytes_of(size_t n, int random) {
  hd_value *v;
  ck_assert_int_eq(hd__value_alloc(HD_VALUE_BYTES, n, &v), HD_OK);
  unsigned char *p = hd__value_mut(v);
  uint64_t x = 0x2545f4914f6cdd1dull;
  for (size_t i = 0; i < n; i++) {
    if (random) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      p[i] = (unsigned char)x;
    } else {
      p[i] = (unsigned char)("hodos runs a DAG of tasks\n"[i % 26]);
    }
  }
  return v;
}

static void round_trip(hd_value *v, int level) {
  hd_value *frame, *back;
  ck_assert_int_eq(hd_value_encode(v, level, &frame), HD_OK);
  ck_assert_int_eq(
      hd_value_decode(hd_value_data(frame), hd_value_size(frame), BOUND, &back),
      HD_OK);
  ck_assert(hd_value_equal(v, back));
  uint64_t size = 0;
  ck_assert_int_eq(
      hd_value_frame_size(hd_value_data(frame), hd_value_size(frame), &size),
      HD_OK);
  ck_assert_uint_eq(size, hd_value_size(v));
  hd_value_unref(frame);
  hd_value_unref(back);
}

START_TEST(codec_round_trips_small_values) {
  size_t sizes[] = {0, 1, 63, 64, 65, 4096};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    hd_value *v = bytes_of(sizes[i], 0);
    round_trip(v, 0);
    round_trip(v, 19);
    hd_value_unref(v);
  }
  hd_value *t;
  hd_value_new_text("", 0, &t);
  round_trip(t, 1);
  hd_value_unref(t);
}
END_TEST

START_TEST(codec_round_trips_numbers) {
  int64_t ints[] = {0, 1, -1, INT64_MIN, INT64_MAX};
  for (size_t i = 0; i < 5; i++) {
    hd_value *v;
    hd_value_new_int(ints[i], &v);
    round_trip(v, 1);
    hd_value_unref(v);
  }
  double ds[] = {0.0, -0.0, 1.5, -1e300, INFINITY, NAN};
  for (size_t i = 0; i < 6; i++) {
    hd_value *v;
    hd_value_new_double(ds[i], &v);
    round_trip(v, 1);
    hd_value_unref(v);
  }
}
END_TEST

START_TEST(codec_compresses_text_and_never_inflates_noise) {
  hd_value *text = bytes_of(1 << 20, 0), *noise = bytes_of(1 << 20, 1);
  hd_value *ft, *fn;
  ck_assert_int_eq(hd_value_encode(text, 1, &ft), HD_OK);
  ck_assert_int_eq(hd_value_encode(noise, 1, &fn), HD_OK);
  ck_assert_uint_lt(hd_value_size(ft), (1 << 20) / 20);
  /* Incompressible content is stored raw: header plus content. */
  ck_assert_uint_eq(hd_value_size(fn), HD_FRAME_HEADER_SIZE + (1 << 20));
  ck_assert_int_eq(((const unsigned char *)hd_value_data(fn))[5], 0);
  ck_assert_int_eq(((const unsigned char *)hd_value_data(ft))[5], 1);
  round_trip(text, 1);
  round_trip(noise, 1);
  hd_value_unref(text);
  hd_value_unref(noise);
  hd_value_unref(ft);
  hd_value_unref(fn);
}
END_TEST

START_TEST(codec_round_trips_64_mib) {
  hd_value *v = bytes_of((size_t)64 << 20, 0);
  round_trip(v, 1);
  hd_value_unref(v);
}
END_TEST

static void expect_refused(const unsigned char *p, size_t len, size_t bound) {
  hd_value *out = NULL;
  int rc = hd_value_decode(p, len, bound, &out);
  ck_assert_msg(rc == HD_ETRUNC || rc == HD_ECORRUPT || rc == HD_ECHECKSUM ||
                    rc == HD_ETOOBIG,
                "decode returned %s", hd_err_name(rc));
  ck_assert_ptr_null(out);
}

static void check_damage(hd_value *v) {
  hd_value *frame;
  ck_assert_int_eq(hd_value_encode(v, 3, &frame), HD_OK);
  size_t len = hd_value_size(frame);
  unsigned char *copy = malloc(len + 16);
  /* Every truncation. */
  for (size_t cut = 0; cut < len; cut++) {
    memcpy(copy, hd_value_data(frame), cut);
    expect_refused(copy, cut, BOUND);
  }
  /* Every flipped byte. */
  for (size_t i = 0; i < len; i++) {
    memcpy(copy, hd_value_data(frame), len);
    copy[i] ^= 0x20;
    expect_refused(copy, len, BOUND);
  }
  /* Trailing garbage. */
  memcpy(copy, hd_value_data(frame), len);
  memset(copy + len, 0, 16);
  hd_value *out;
  ck_assert_int_eq(hd_value_decode(copy, len + 1, BOUND, &out), HD_ECORRUPT);
  free(copy);
  hd_value_unref(frame);
}

START_TEST(codec_refuses_truncated_and_flipped_frames) {
  hd_value *raw = bytes_of(40, 1), *packed = bytes_of(600, 0);
  check_damage(raw);
  check_damage(packed);
  hd_value *i;
  hd_value_new_int(42, &i);
  check_damage(i);
  hd_value_unref(raw);
  hd_value_unref(packed);
  hd_value_unref(i);
  hd_value *out;
  ck_assert_int_eq(hd_value_decode(NULL, 0, BOUND, &out), HD_EINVAL);
  ck_assert_int_eq(hd_value_decode("x", 1, BOUND, NULL), HD_EINVAL);
}
END_TEST

static void put_le64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

START_TEST(codec_refuses_a_1_tib_claim_before_allocating) {
  hd_value *v = bytes_of(1000, 0), *frame;
  ck_assert_int_eq(hd_value_encode(v, 1, &frame), HD_OK);
  size_t len = hd_value_size(frame);
  unsigned char *copy = malloc(len);
  memcpy(copy, hd_value_data(frame), len);
  put_le64(copy + 8, (uint64_t)1 << 40); /* content size: 1 TiB */
  hd__alloc_largest_reset();
  hd_value *out = NULL;
  ck_assert_int_eq(hd_value_decode(copy, len, BOUND, &out), HD_ETOOBIG);
  ck_assert_ptr_null(out);
  ck_assert_uint_lt(hd__alloc_largest_reset(), 1 << 20);
  /* Even with no bound at all, the zstd frame inside disagrees. */
  ck_assert_int_eq(hd_value_decode(copy, len, SIZE_MAX, &out), HD_ECORRUPT);
  ck_assert_uint_lt(hd__alloc_largest_reset(), 1 << 20);
  free(copy);
  hd_value_unref(frame);
  hd_value_unref(v);
}
END_TEST

START_TEST(codec_refuses_a_zstd_payload_claiming_more) {
  /* A zstd frame declaring 1 TiB of zeros, under a header declaring 100
     bytes: refused without allocating. */
  unsigned char frame[HD_FRAME_HEADER_SIZE + 64];
  memset(frame, 0, sizeof(frame));
  memcpy(frame, "HDV\1", 4);
  frame[4] = HD_VALUE_BYTES;
  frame[5] = 1;
  put_le64(frame + 8, 100);
  /* zstd frame header: magic, descriptor with an 8-byte content size. */
  unsigned char *z = frame + HD_FRAME_HEADER_SIZE;
  z[0] = 0x28, z[1] = 0xb5, z[2] = 0x2f, z[3] = 0xfd;
  z[4] = 0xe0; /* FCS 8 bytes, single segment */
  put_le64(z + 5, (uint64_t)1 << 40);
  put_le64(frame + 16, 64);
  ck_assert_uint_eq(ZSTD_getFrameContentSize(z, 64), (uint64_t)1 << 40);
  hd__alloc_largest_reset();
  hd_value *out = NULL;
  ck_assert_int_eq(hd_value_decode(frame, sizeof(frame), BOUND, &out),
                   HD_ECORRUPT);
  ck_assert_ptr_null(out);
  ck_assert_uint_lt(hd__alloc_largest_reset(), 1 << 20);
}
END_TEST

START_TEST(codec_respects_the_bound_exactly) {
  hd_value *v = bytes_of(5000, 0), *frame, *out;
  hd_value_encode(v, 1, &frame);
  ck_assert_int_eq(
      hd_value_decode(hd_value_data(frame), hd_value_size(frame), 5000, &out),
      HD_OK);
  hd_value_unref(out);
  ck_assert_int_eq(
      hd_value_decode(hd_value_data(frame), hd_value_size(frame), 4999, &out),
      HD_ETOOBIG);
  hd_value_unref(frame);
  hd_value_unref(v);
}
END_TEST

START_TEST(codec_out_of_memory_is_clean) {
  hd_value *v = bytes_of(10000, 0), *frame = NULL, *out = NULL;
  for (long n = 0; n < 4; n++) {
    hd__alloc_fail_after(n);
    int rc = hd_value_encode(v, 1, &frame);
    hd__alloc_fail_after(-1);
    if (rc == HD_OK)
      break;
    ck_assert_int_eq(rc, HD_ENOMEM);
    frame = NULL;
  }
  ck_assert_ptr_nonnull(frame);
  hd__alloc_fail_after(0);
  ck_assert_int_eq(
      hd_value_decode(hd_value_data(frame), hd_value_size(frame), BOUND, &out),
      HD_ENOMEM);
  hd__alloc_fail_after(-1);
  ck_assert_ptr_null(out);
  hd_value_unref(frame);
  hd_value_unref(v);
}
END_TEST

static void *encode_decode_loop(void *arg) {
  size_t n = (size_t)(uintptr_t)arg;
  for (int i = 0; i < 50; i++) {
    hd_value *v = bytes_of(n + (size_t)i * 37, i % 2), *f, *b;
    if (hd_value_encode(v, 1, &f) != HD_OK ||
        hd_value_decode(hd_value_data(f), hd_value_size(f), BOUND, &b) != HD_OK)
      return (void *)1;
    int same = hd_value_equal(v, b);
    hd_value_unref(v);
    hd_value_unref(f);
    hd_value_unref(b);
    if (!same)
      return (void *)1;
  }
  return NULL;
}

START_TEST(codec_is_thread_safe) {
  pthread_t th[4];
  for (uintptr_t i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, encode_decode_loop, (void *)(1000 * i + 70));
  for (int i = 0; i < 4; i++) {
    void *res;
    pthread_join(th[i], &res);
    ck_assert_ptr_null(res);
  }
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("codec");
  TCase *tc = tcase_create("codec");
  tcase_set_timeout(tc, 20);
  tcase_add_test(tc, codec_round_trips_small_values);
  tcase_add_test(tc, codec_round_trips_numbers);
  tcase_add_test(tc, codec_compresses_text_and_never_inflates_noise);
  tcase_add_test(tc, codec_round_trips_64_mib);
  tcase_add_test(tc, codec_refuses_truncated_and_flipped_frames);
  tcase_add_test(tc, codec_refuses_a_1_tib_claim_before_allocating);
  tcase_add_test(tc, codec_refuses_a_zstd_payload_claiming_more);
  tcase_add_test(tc, codec_respects_the_bound_exactly);
  tcase_add_test(tc, codec_out_of_memory_is_clean);
  tcase_add_test(tc, codec_is_thread_safe);
  suite_add_tcase(s, tc);
  return s;
}
