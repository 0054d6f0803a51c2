/* Results held within memory limits: compressed past the first limit,
 * spilled to an unlinked file past the second, read back for the tasks
 * after them and for the report, on the serial, threads and processes
 * backends; a damaged spill file is caught by the frame's checksum. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/run.h"
#include "test_util.h"

static const char *const backends[] = {"serial", "threads", "processes"};

static hd_graph *g;
static hd_report *rep;
static char dir[64];

/* The content "make" produces for a seed: text-like lines when the seed
 * is even, pseudo-random bytes when it is odd. */
static void content(unsigned seed, size_t size, unsigned char *out) {
  if (seed % 2 == 0) {
    size_t n = 0;
    for (unsigned line = 0; n < size; line++) {
      char buf[64];
      int len =
          snprintf(buf, sizeof(buf), "task %u, line %u: ok\n", seed, line);
      for (int i = 0; i < len && n < size; i++)
        out[n++] = (unsigned char)buf[i];
    }
    return;
  }
  uint64_t x = 0x9e3779b97f4a7c15u * (seed + 1);
  for (size_t i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = (unsigned char)x;
  }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 0x100000001b3u;
  return h;
}

static int fn_make(hd_task *t, void *data) {
  (void)data;
  unsigned seed = (unsigned)strtoul(hd_task_param(t, "seed"), NULL, 10);
  size_t size = strtoul(hd_task_param(t, "size"), NULL, 10);
  unsigned char *buf = malloc(size + 1);
  if (buf == NULL)
    return HD_ENOMEM;
  content(seed, size, buf);
  hd_value *v;
  int rc = hd_value_new_bytes(buf, size, &v);
  free(buf);
  return rc != HD_OK ? rc : hd_task_set_output(t, v);
}

/* An FNV-1a hash of every input's bytes, in order. */
static int fn_digest(hd_task *t, void *data) {
  (void)data;
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    const hd_value *v = hd_task_input(t, i);
    h = fnv(h, hd_value_data(v), hd_value_size(v));
  }
  hd_value *v;
  if (hd_value_new_int((int64_t)(h >> 1), &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

/* Flip a byte of this process's spill file (the one open in dir). */
static int fn_damage(hd_task *t, void *data) {
  (void)data;
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return hd_task_fail(t, "no /proc/self/fd");
  struct dirent *e;
  int done = 0;
  while (!done && (e = readdir(d)) != NULL) {
    char path[300], target[PATH_MAX];
    snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0)
      continue;
    target[n] = '\0';
    if (strncmp(target, dir, strlen(dir)) != 0 || target[strlen(dir)] != '/')
      continue;
    int fd = (int)strtol(e->d_name, NULL, 10);
    unsigned char b;
    if (pread(fd, &b, 1, 100) == 1) {
      b ^= 0x5a;
      done = pwrite(fd, &b, 1, 100) == 1;
    }
  }
  closedir(d);
  return done ? HD_OK : hd_task_fail(t, "no spill file found in %s", dir);
}

static void setup(void) {
  hd_fn_register("make", fn_make, NULL);
  hd_fn_register("digest", fn_digest, NULL);
  hd_fn_register("damage", fn_damage, NULL);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  snprintf(dir, sizeof(dir), "/tmp/hodos-hold.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static int entries(const char *path) {
  DIR *d = opendir(path);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void teardown(void) {
  hd_report_free(rep);
  rep = NULL;
  hd_graph_free(g);
  g = NULL;
  /* The spill file was never a name in the folder, or was unlinked. */
  ck_assert_int_eq(entries(dir), 0);
  rmdir(dir);
}

static hd_node *make(const char *name, unsigned seed, size_t size) {
  hd_node *n;
  char buf[32];
  ck_assert_int_eq(hd_graph_add_fn(g, name, "make", &n), HD_OK);
  snprintf(buf, sizeof(buf), "%u", seed);
  ck_assert_int_eq(hd_node_set_param(n, "seed", buf), HD_OK);
  snprintf(buf, sizeof(buf), "%zu", size);
  ck_assert_int_eq(hd_node_set_param(n, "size", buf), HD_OK);
  return n;
}

static int64_t expected_digest(const unsigned *seeds, const size_t *sizes,
                               size_t n) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++) {
    unsigned char *b = malloc(sizes[i] + 1);
    content(seeds[i], sizes[i], b);
    h = fnv(h, b, sizes[i]);
    free(b);
  }
  return (int64_t)(h >> 1);
}

static int64_t int_result(const char *name) {
  int64_t x = -1;
  hd_value *v = hd_report_result_by_name(rep, name);
  ck_assert_ptr_nonnull(v);
  ck_assert_int_eq(hd_value_get_int(v, &x), HD_OK);
  return x;
}

static hd_task_info info(const char *name) {
  for (size_t i = 0; i < hd_report_task_count(rep); i++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
    if (strcmp(ti.name, name) == 0)
      return ti;
  }
  ck_abort_msg("no task %s", name);
  return (hd_task_info){0};
}

enum { NMAKE = 40 };

/* NMAKE results of 4 to 40 KiB, text-like and random, each read by a
 * digest task, and all of them by one more; the limits hold a few. */
static void build(unsigned *seeds, size_t *sizes) {
  hd_node *all;
  ck_assert_int_eq(hd_graph_add_fn(g, "all", "digest", &all), HD_OK);
  for (unsigned i = 0; i < NMAKE; i++) {
    char name[32];
    seeds[i] = i;
    sizes[i] = 4096 + (size_t)(i * 997) % 36864;
    snprintf(name, sizeof(name), "make%u", i);
    hd_node *m = make(name, i, sizes[i]);
    hd_node *d;
    snprintf(name, sizeof(name), "digest%u", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "digest", &d), HD_OK);
    ck_assert_int_eq(hd_node_after(d, m), HD_OK);
    ck_assert_int_eq(hd_node_after(all, m), HD_OK);
  }
}

static void check_digests(const unsigned *seeds, const size_t *sizes) {
  for (unsigned i = 0; i < NMAKE; i++) {
    char name[32];
    snprintf(name, sizeof(name), "digest%u", i);
    ck_assert_int_eq(int_result(name),
                     expected_digest(&seeds[i], &sizes[i], 1));
  }
  ck_assert_int_eq(int_result("all"), expected_digest(seeds, sizes, NMAKE));
}

START_TEST(hold_compresses_then_spills_and_reads_back) {
  unsigned seeds[NMAKE];
  size_t sizes[NMAKE];
  build(seeds, sizes);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backends[_i];
  o.jobs = 2;
  o.mem_limit = 16 * 1024;
  o.spill_limit = 96 * 1024;
  o.spill_dir = dir;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  check_digests(seeds, sizes);
  /* Held where the limits put them. */
  int raw = 0, packed = 0, spilled = 0;
  for (unsigned i = 0; i < NMAKE; i++) {
    char name[32];
    snprintf(name, sizeof(name), "make%u", i);
    hd_held h = info(name).held;
    raw += h == HD_HELD_MEMORY;
    packed += h == HD_HELD_COMPRESSED;
    spilled += h == HD_HELD_SPILLED;
  }
  ck_assert_int_ge(raw, 1);
  ck_assert_int_le(raw, 4); /* 16 KiB holds four results at most */
  ck_assert_int_ge(packed, 1);
  ck_assert_int_ge(spilled, 1);
  size_t r, p, s;
  hd__hold_usage(rep->hold, &r, &p, &s);
  ck_assert_uint_le(r, o.mem_limit);
  ck_assert_uint_le(r + p, o.spill_limit);
  ck_assert_uint_gt(s, 0);
  /* The report reads each one back, the same bytes. */
  for (unsigned i = 0; i < NMAKE; i++) {
    char name[32];
    snprintf(name, sizeof(name), "make%u", i);
    hd_value *v = hd_report_result_by_name(rep, name);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(hd_value_size(v), sizes[i]);
    unsigned char *want = malloc(sizes[i] + 1);
    content(seeds[i], sizes[i], want);
    ck_assert_int_eq(memcmp(hd_value_data(v), want, sizes[i]), 0);
    free(want);
    ck_assert_int_eq(info(name).held, HD_HELD_MEMORY);
    ck_assert_ptr_eq(hd_report_result_by_name(rep, name), v);
  }
  hd__hold_usage(rep->hold, &r, &p, &s);
  ck_assert_uint_eq(p, 0);
  ck_assert_uint_eq(s, 0);
}
END_TEST

/* Released results give their memory and their spill space back: what
 * stays held is the final results. */
START_TEST(hold_released_results_give_their_room_back) {
  unsigned seeds[NMAKE];
  size_t sizes[NMAKE];
  build(seeds, sizes);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backends[_i];
  o.jobs = 2;
  o.mem_limit = 8 * 1024;
  o.spill_limit = 16 * 1024;
  o.spill_dir = dir;
  o.release_results = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  check_digests(seeds, sizes);
  size_t r, p, s;
  hd__hold_usage(rep->hold, &r, &p, &s);
  /* Only the digests' integers are left, and those are never held. */
  ck_assert_uint_eq(r, 0);
  ck_assert_uint_eq(p, 0);
  ck_assert_uint_eq(s, 0);
  ck_assert_ptr_null(hd_report_result_by_name(rep, "make0"));
}
END_TEST

/* Results under 64 bytes stay as they are, whatever the limit. */
START_TEST(hold_small_results_stay_as_they_are) {
  make("tiny", 2, 63);
  make("big", 2, 5000);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.mem_limit = 1;
  o.spill_limit = 1;
  o.spill_dir = dir;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  ck_assert_int_eq(info("tiny").held, HD_HELD_MEMORY);
  ck_assert_int_eq(info("big").held, HD_HELD_SPILLED);
  ck_assert_uint_eq(hd_value_size(hd_report_result_by_name(rep, "big")), 5000);
}
END_TEST

/* Without a limit nothing is held: every result stays as it is. */
START_TEST(hold_unlimited_keeps_every_result) {
  make("big", 1, 1 << 20);
  hd_run_opts o;
  hd_run_opts_init(&o);
  ck_assert_uint_eq(o.mem_limit, 0);
  ck_assert_uint_eq(o.spill_limit, 0);
  o.mem_limit = HD_MEM_UNLIMITED;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  ck_assert_ptr_null(rep->hold);
  ck_assert_int_eq(info("big").held, HD_HELD_MEMORY);
}
END_TEST

/* A spilled result damaged on disk is caught when read back: the task
 * after it fails naming it, and the report gives no result. */
START_TEST(hold_damaged_spill_is_caught) {
  hd_node *big = make("big", 1, 32768);
  hd_node *damage, *reader;
  ck_assert_int_eq(hd_graph_add_fn(g, "damage", "damage", &damage), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "reader", "digest", &reader), HD_OK);
  ck_assert_int_eq(hd_node_after(damage, big), HD_OK);
  ck_assert_int_eq(hd_node_after(reader, big), HD_OK);
  ck_assert_int_eq(hd_node_after(reader, damage), HD_OK);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.mem_limit = 1;
  o.spill_limit = 1;
  o.spill_dir = dir;
  o.keep_going = 1;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  ck_assert_int_eq(info("damage").state, HD_STATE_DONE);
  hd_task_info ti = info("reader");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_ptr_nonnull(strstr(ti.message, "the result of 'big' cannot be "
                                           "read back"));
  ck_assert_ptr_null(hd_report_result_by_name(rep, "big"));
}
END_TEST

/* A shell task whose stdin names one task does not read back the others:
 * a damaged spilled result it does not read does not fail it. */
START_TEST(hold_stdin_task_reads_back_only_its_stdin) {
  hd_node *big = make("big", 1, 32768);
  hd_node *damage, *small, *reader;
  ck_assert_int_eq(hd_graph_add_fn(g, "damage", "damage", &damage), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "small", "printf hello", &small), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "reader", "cat", &reader), HD_OK);
  ck_assert_int_eq(hd_node_after(damage, big), HD_OK);
  ck_assert_int_eq(hd_node_after(reader, big), HD_OK);
  ck_assert_int_eq(hd_node_after(reader, damage), HD_OK);
  ck_assert_int_eq(hd_node_after(reader, small), HD_OK);
  ck_assert_int_eq(hd_node_set_stdin(reader, "small"), HD_OK);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.mem_limit = 1;
  o.spill_limit = 1;
  o.spill_dir = dir;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  ck_assert_int_eq(info("big").held, HD_HELD_SPILLED);
  ck_assert_str_eq(hd_value_text(hd_report_result_by_name(rep, "reader")),
                   "hello");
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("hold");
  TCase *tc = tcase_create("hold");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_loop_test(tc, hold_compresses_then_spills_and_reads_back, 0, 3);
  tcase_add_loop_test(tc, hold_released_results_give_their_room_back, 0, 3);
  tcase_add_test(tc, hold_small_results_stay_as_they_are);
  tcase_add_test(tc, hold_unlimited_keeps_every_result);
  tcase_add_test(tc, hold_damaged_spill_is_caught);
  tcase_add_test(tc, hold_stdin_task_reads_back_only_its_stdin);
  suite_add_tcase(s, tc);
  return s;
}
