/* The store and the cache: records written and read back, damage found
 * and recomputed, a pack cut short by a kill repaired, the lock taken
 * from a dead process and refused while its holder lives, the journal
 * of a resumed run; and runs that reuse what did not change. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/cachekey.h"
#include "core/store.h"
#include "test_util.h"

static char dir[64];

static void setup(void) {
  snprintf(dir, sizeof(dir), "/tmp/hodos-store-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

static hd__key key_of(uint64_t n) {
  return (hd__key){n * 0x9e3779b97f4a7c15u, n};
}

static hd_value *text(const char *s) {
  hd_value *v;
  ck_assert_int_eq(hd_value_new_text(s, strlen(s), &v), HD_OK);
  return v;
}

/* Whether the store has a result for key (read back to know). */
static int has(hd__store *s, hd__key key) {
  hd_value *v = NULL;
  uint32_t n;
  int rc = hd__store_get(s, key, &v, NULL, 0, &n);
  hd_value_unref(v);
  ck_assert(rc == HD_OK || rc == HD_ENOENT);
  return rc == HD_OK;
}

static hd__store *open_store(int resume) {
  hd__store *s = NULL;
  char *msg = NULL;
  int rc = hd__store_open(dir, resume, &s, &msg);
  ck_assert_msg(rc == HD_OK, "open: %s", msg ? msg : "");
  return s;
}

static char *path(const char *name) {
  static char p[128];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  return p;
}

static off_t file_size(const char *name) {
  struct stat st;
  ck_assert_int_eq(stat(path(name), &st), 0);
  return st.st_size;
}

static void flip_byte(const char *name, off_t at) {
  int fd = open(path(name), O_RDWR);
  ck_assert_int_ge(fd, 0);
  unsigned char c;
  ck_assert_int_eq(pread(fd, &c, 1, at), 1);
  c ^= 0x5a;
  ck_assert_int_eq(pwrite(fd, &c, 1, at), 1);
  close(fd);
}

START_TEST(store_records_round_trip_and_last_one_wins) {
  hd__store *s = open_store(0);
  hd__key outs[2] = {{1, 2}, {3, 4}};
  /* A large, compressible value and a small one, with output hashes. */
  char *big = malloc(1 << 20);
  memset(big, 'a', 1 << 20);
  big[(1 << 20) - 1] = '\0';
  hd_value *b = text(big), *small = text("small"), *again = text("again");
  free(big);
  ck_assert_int_eq(hd__store_put(s, key_of(1), b, outs, 2), HD_OK);
  ck_assert_int_eq(hd__store_put(s, key_of(2), small, NULL, 0), HD_OK);
  /* Read back at once, before the writer has written it. */
  hd_value *v;
  hd__key got[2];
  uint32_t n;
  ck_assert_int_eq(hd__store_get(s, key_of(2), &v, got, 2, &n), HD_OK);
  ck_assert(hd_value_equal(v, small));
  ck_assert_uint_eq(n, 0);
  hd_value_unref(v);
  ck_assert_int_eq(hd__store_put(s, key_of(2), again, NULL, 0), HD_OK);
  /* Large and incompressible: written straight to the pack, raw. */
  size_t nrand = 3u << 20;
  unsigned char *noise = malloc(nrand);
  uint64_t x = 88172645463325252u;
  for (size_t i = 0; i < nrand; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    noise[i] = (unsigned char)x;
  }
  hd_value *rnd;
  ck_assert_int_eq(hd_value_new_bytes(noise, nrand, &rnd), HD_OK);
  free(noise);
  ck_assert_int_eq(hd__store_put(s, key_of(4), rnd, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_put(s, key_of(5), small, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_get(s, key_of(4), &v, got, 2, &n), HD_OK);
  ck_assert(hd_value_equal(v, rnd));
  hd_value_unref(v);
  ck_assert(has(s, key_of(1)));
  ck_assert(!has(s, key_of(3)));
  ck_assert_int_eq(hd__store_get(s, key_of(3), &v, got, 2, &n), HD_ENOENT);
  hd__store_close(s);
  /* The megabyte of text compressed; the noise raw, never inflated. */
  ck_assert_int_lt(file_size("pack"), (off_t)nrand + (64 << 10));
  ck_assert_int_gt(file_size("pack"), (off_t)nrand);

  s = open_store(0);
  ck_assert_int_eq(hd__store_get(s, key_of(1), &v, got, 2, &n), HD_OK);
  ck_assert(hd_value_equal(v, b));
  ck_assert_uint_eq(n, 2);
  ck_assert(got[0].lo == 1 && got[0].hi == 2 && got[1].lo == 3 &&
            got[1].hi == 4);
  hd_value_unref(v);
  ck_assert_int_eq(hd__store_get(s, key_of(2), &v, got, 2, &n), HD_OK);
  ck_assert(hd_value_equal(v, again));
  hd_value_unref(v);
  ck_assert_int_eq(hd__store_get(s, key_of(4), &v, got, 2, &n), HD_OK);
  ck_assert(hd_value_equal(v, rnd));
  hd_value_unref(v);
  ck_assert_int_eq(hd__store_get(s, key_of(5), &v, got, 2, &n), HD_OK);
  ck_assert(hd_value_equal(v, small));
  hd_value_unref(v);
  hd__store_close(s);
  hd_value_unref(rnd);
  hd_value_unref(b);
  hd_value_unref(small);
  hd_value_unref(again);
}
END_TEST

START_TEST(store_damage_is_found_and_forgotten) {
  hd__store *s = open_store(0);
  hd_value *a = text("first result, long enough to be worth a look"),
           *b = text("second result");
  ck_assert_int_eq(hd__store_put(s, key_of(1), a, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_put(s, key_of(2), b, NULL, 0), HD_OK);
  hd__store_close(s);
  /* A byte of the first record's payload (past its 48-byte header). */
  flip_byte("pack", 60);
  s = open_store(0);
  hd_value *v;
  uint32_t n;
  ck_assert_int_eq(hd__store_get(s, key_of(1), &v, NULL, 0, &n), HD_ECHECKSUM);
  ck_assert_ptr_null(v);
  /* Forgotten: asked again, it is not there. */
  ck_assert_int_eq(hd__store_get(s, key_of(1), &v, NULL, 0, &n), HD_ENOENT);
  ck_assert_int_eq(hd__store_get(s, key_of(2), &v, NULL, 0, &n), HD_OK);
  ck_assert(hd_value_equal(v, b));
  hd_value_unref(v);
  hd__store_close(s);

  /* A damaged header: the record is passed over, the next one found. */
  flip_byte("pack", 5);
  s = open_store(0);
  ck_assert(!has(s, key_of(1)));
  ck_assert_int_eq(hd__store_get(s, key_of(2), &v, NULL, 0, &n), HD_OK);
  hd_value_unref(v);
  hd__store_close(s);
  hd_value_unref(a);
  hd_value_unref(b);
}
END_TEST

static uint64_t le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void put_le64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* A record whose checksums hold but whose value frame claims more content
 * than any record holds (64 GiB and 1 byte): damaged like any other, not
 * an error of the whole store (status and run -n failed as a whole). */
START_TEST(store_record_claiming_too_much_is_damaged) {
  hd__store *s = open_store(0);
  char *big = malloc(100001);
  memset(big, 'x', 100000);
  big[100000] = '\0';
  hd_value *a = text(big); /* compressed: a frame with zstd */
  free(big);
  ck_assert_int_eq(hd__store_put(s, key_of(1), a, NULL, 0), HD_OK);
  hd__store_close(s);
  int fd = open(path("pack"), O_RDWR);
  ck_assert_int_ge(fd, 0);
  unsigned char head[48];
  ck_assert_int_eq(pread(fd, head, 48, 0), 48);
  uint64_t len = le64(head + 24);
  unsigned char *pl = malloc(len);
  ck_assert_int_eq(pread(fd, pl, len, 48), (ssize_t)len);
  /* The frame follows the 8 bytes of output count; its content size is
     at 8 in it. */
  ck_assert_int_eq(memcmp(pl + 8, "HDV", 3), 0);
  put_le64(pl + 16, ((uint64_t)1 << 36) + 1);
  put_le64(head + 32, XXH3_64bits(pl, len));
  put_le64(head + 40, XXH3_64bits(head, 40));
  ck_assert_int_eq(pwrite(fd, pl, len, 48), (ssize_t)len);
  ck_assert_int_eq(pwrite(fd, head, 48, 0), 48);
  close(fd);
  free(pl);
  s = open_store(0);
  hd_value *v = NULL;
  uint32_t n;
  ck_assert_int_eq(hd__store_get(s, key_of(1), &v, NULL, 0, &n), HD_ECORRUPT);
  ck_assert_ptr_null(v);
  ck_assert_int_eq(hd__store_get(s, key_of(1), &v, NULL, 0, &n), HD_ENOENT);
  hd__store_close(s);
  hd_value_unref(a);
}
END_TEST

START_TEST(store_pack_cut_short_is_repaired) {
  hd__store *s = open_store(0);
  hd_value *a = text("kept"), *b = text("cut short by a kill");
  ck_assert_int_eq(hd__store_put(s, key_of(1), a, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_put(s, key_of(2), b, NULL, 0), HD_OK);
  hd__store_close(s);
  off_t size = file_size("pack");
  ck_assert_int_eq(truncate(path("pack"), size - 3), 0);
  s = open_store(0);
  ck_assert(has(s, key_of(1)));
  ck_assert(!has(s, key_of(2)));
  /* New records go where the cut one was, and are found again. */
  ck_assert_int_eq(hd__store_put(s, key_of(3), b, NULL, 0), HD_OK);
  hd__store_close(s);
  s = open_store(0);
  hd_value *v;
  uint32_t n;
  ck_assert_int_eq(hd__store_get(s, key_of(3), &v, NULL, 0, &n), HD_OK);
  ck_assert(hd_value_equal(v, b));
  hd_value_unref(v);
  hd__store_close(s);
  hd_value_unref(a);
  hd_value_unref(b);
}
END_TEST

START_TEST(store_lock_names_its_holder_and_outlives_no_one) {
  int ready[2], go[2];
  ck_assert_int_eq(pipe(ready), 0);
  ck_assert_int_eq(pipe(go), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    hd__store *s = NULL;
    char *msg = NULL;
    char c = hd__store_open(dir, 0, &s, &msg) == HD_OK ? 'y' : 'n';
    if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
      _exit(3);
    _exit(0); /* dies holding the lock */
  }
  char c;
  ck_assert_int_eq(read(ready[0], &c, 1), 1);
  ck_assert_int_eq(c, 'y');
  hd__store *s = NULL;
  char *msg = NULL;
  ck_assert_int_eq(hd__store_open(dir, 0, &s, &msg), HD_ESTATE);
  ck_assert_ptr_null(s);
  char want[64];
  snprintf(want, sizeof(want), "(process %ld)", (long)pid);
  ck_assert_msg(strstr(msg, want) != NULL && strstr(msg, "in use") != NULL,
                "message: %s", msg);
  hd__free(msg);
  ck_assert_int_eq(write(go[1], "x", 1), 1);
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  s = open_store(0); /* the dead process's lock is taken */
  hd__store_close(s);
  close(ready[0]);
  close(ready[1]);
  close(go[0]);
  close(go[1]);
  /* Owner only. */
  struct stat st;
  ck_assert_int_eq(stat(dir, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0700);
  const char *files[] = {"lock", "pack", "journal"};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(stat(path(files[i]), &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
  }
}
END_TEST

/* A run killed just after it forked: its lock is still held for a while
 * by the child, which has not yet closed its copy (or exec'd). The next
 * run waits for it instead of saying the store is in use by a process
 * that is gone. */
START_TEST(store_lock_of_a_dead_run_held_by_its_child_is_waited_for) {
  int ready[2];
  ck_assert_int_eq(pipe(ready), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    hd__store *s = NULL;
    char *msg = NULL;
    char c = hd__store_open(dir, 0, &s, &msg) == HD_OK ? 'y' : 'n';
    if (fork() == 0) {
      /* Holds the lock's descriptor 0.3 s, then ends. */
      struct timespec ts = {0, 300 * 1000 * 1000};
      nanosleep(&ts, NULL);
      _exit(0);
    }
    if (write(ready[1], &c, 1) != 1)
      _exit(3);
    _exit(0); /* dies, its child holding the lock */
  }
  char c;
  ck_assert_int_eq(read(ready[0], &c, 1), 1);
  ck_assert_int_eq(c, 'y');
  ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
  hd__store *s = NULL;
  char *msg = NULL;
  ck_assert_msg(hd__store_open(dir, 0, &s, &msg) == HD_OK, "message: %s",
                msg ? msg : "");
  hd__store_close(s);
  close(ready[0]);
  close(ready[1]);
}
END_TEST

START_TEST(store_journal_lists_what_a_resumed_run_reuses) {
  hd__store *s = open_store(0);
  uint64_t files[] = {7, 8};
  hd__keyparts parts = {11, 12, files, 2};
  ck_assert_int_eq(hd__store_journal(s, key_of(1), NULL, "one"), HD_OK);
  ck_assert_int_eq(hd__store_journal(s, key_of(2), &parts, "two\nlines"),
                   HD_OK);
  hd__store_close(s);
  /* Read without the lock: each task's last entry, by name. */
  s = open_store(HD__STORE_READ);
  hd__key k;
  hd__keyparts got;
  ck_assert_int_eq(hd__store_last(s, "one", &k, &got), 1);
  ck_assert(k.lo == key_of(1).lo && k.hi == key_of(1).hi);
  ck_assert_int_eq(hd__store_last(s, "two lines", &k, &got), 2);
  ck_assert(got.def == 11 && got.values == 12 && got.nfiles == 2 &&
            got.files[0] == 7 && got.files[1] == 8);
  ck_assert_int_eq(hd__store_last(s, "three", &k, &got), 0);
  hd__store_close(s);
  s = open_store(1); /* resumed: what the last run did counts */
  ck_assert(hd__store_resumed(s, key_of(1)));
  ck_assert(hd__store_resumed(s, key_of(2)));
  ck_assert(!hd__store_resumed(s, key_of(3)));
  ck_assert_int_eq(hd__store_journal(s, key_of(3), NULL, "three"), HD_OK);
  hd__store_close(s);
  s = open_store(1); /* resumed again: both runs count */
  ck_assert(hd__store_resumed(s, key_of(1)));
  ck_assert(hd__store_resumed(s, key_of(3)));
  hd__store_close(s);
  s = open_store(0); /* a fresh run starts a new journal */
  ck_assert(!hd__store_resumed(s, key_of(1)));
  hd__store_close(s);
  s = open_store(1);
  ck_assert(!hd__store_resumed(s, key_of(1)));
  hd__store_close(s);
}
END_TEST

/* ---- runs with a store ---- */

static size_t calls;

/* Counts the tasks that start: functions called, in any process. */
static void count_started(const hd_event *ev, void *data) {
  (void)data;
  if (ev->type == HD_EVENT_STARTED)
    calls++;
}

static int fn_count(hd_task *t, void *data) {
  (void)data;
  int64_t sum = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    int64_t x = 0;
    hd_value_get_int(hd_task_input(t, i), &x);
    sum += x;
  }
  const char *add = hd_task_param(t, "add");
  sum += add ? strtoll(add, NULL, 10) : 1;
  hd_value *v;
  ck_assert_int_eq(hd_value_new_int(sum, &v), HD_OK);
  return hd_task_set_output(t, v);
}

/* A chain a -> b -> c, d alone, on backend; returns the number of tasks
 * that ran, and c's result in *c. */
/* The chain a -> b -> c (b adds b_add) and d alone (its cache as
 * cache_d). */
static hd_graph *graph_abcd(const char *b_add, int cache_d) {
  hd_graph *g;
  hd_node *a, *b, *cn, *d;
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "a", "s_count", &a), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "b", "s_count", &b), HD_OK);
  ck_assert_int_eq(hd_node_set_param(b, "add", b_add), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "c", "s_count", &cn), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "d", "s_count", &d), HD_OK);
  ck_assert_int_eq(hd_node_set_cache(d, cache_d), HD_OK);
  ck_assert_int_eq(hd_node_after(b, a), HD_OK);
  ck_assert_int_eq(hd_node_after(cn, b), HD_OK);
  return g;
}

static size_t run_abcd(const char *backend, const char *b_add, int cache_d,
                       int64_t *c, size_t *cached) {
  hd_graph *g = graph_abcd(b_add, cache_d);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backend;
  o.jobs = 2;
  o.store = dir;
  o.on_event = count_started;
  hd_report *rep;
  calls = 0;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  ck_assert_int_eq(hd_value_get_int(hd_report_result(rep, 2), c), HD_OK);
  *cached = 0;
  for (size_t i = 0; i < 4; i++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
    ck_assert_int_eq(ti.state, HD_STATE_DONE);
    *cached += ti.cached != 0;
  }
  hd_report_free(rep);
  hd_graph_free(g);
  return calls;
}

START_TEST(store_run_reuses_what_did_not_change) {
  static const char *const backends[] = {"serial", "threads", "processes"};
  const char *backend = backends[_i];
  ck_assert_int_eq(hd_fn_register("s_count", fn_count, NULL), HD_OK);
  int64_t c;
  size_t cached;
  ck_assert_uint_eq(run_abcd(backend, "10", 1, &c, &cached), 4);
  ck_assert_int_eq(c, 12); /* 1, +10, +1 */
  ck_assert_uint_eq(cached, 0);
  /* Nothing changed: nothing runs. */
  ck_assert_uint_eq(run_abcd(backend, "10", 1, &c, &cached), 0);
  ck_assert_int_eq(c, 12);
  ck_assert_uint_eq(cached, 4);
  /* b's param changed: b and c run, a and d do not. */
  ck_assert_uint_eq(run_abcd(backend, "20", 1, &c, &cached), 2);
  ck_assert_int_eq(c, 22);
  ck_assert_uint_eq(cached, 2);
  /* d opts out: it runs every time. */
  ck_assert_uint_eq(run_abcd(backend, "20", 0, &c, &cached), 1);
  ck_assert_uint_eq(cached, 3);
  hd_fn_unregister("s_count");
}
END_TEST

/* A flipped byte in the pack: the task runs again, the run ends well. */
START_TEST(store_run_recomputes_a_damaged_result) {
  ck_assert_int_eq(hd_fn_register("s_count", fn_count, NULL), HD_OK);
  int64_t c;
  size_t cached;
  ck_assert_uint_eq(run_abcd("serial", "10", 1, &c, &cached), 4);
  /* The records are in run order: a's is first; its payload starts at
     48. */
  flip_byte("pack", 50);
  ck_assert_uint_eq(run_abcd("serial", "10", 1, &c, &cached), 1);
  ck_assert_int_eq(c, 12);
  ck_assert_uint_eq(cached, 3);
  ck_assert_uint_eq(run_abcd("serial", "10", 1, &c, &cached), 0);
  hd_fn_unregister("s_count");
}
END_TEST

/* Input files count by content, not by time; outputs must be as made. */
START_TEST(store_files_count_by_content) {
  char in[128], out[128], cmd[512];
  snprintf(in, sizeof(in), "%s/in.txt", dir);
  snprintf(out, sizeof(out), "%s/out.txt", dir);
  FILE *f = fopen(in, "w");
  fputs("one\n", f);
  fclose(f);
  snprintf(cmd, sizeof(cmd), "cat {inputs.0} > {outputs.0}; echo ran");
  for (int round = 0; round < 5; round++) {
    hd_graph *g;
    hd_node *n;
    ck_assert_int_eq(hd_graph_new(&g), HD_OK);
    ck_assert_int_eq(hd_graph_add_cmd(g, "copy", cmd, &n), HD_OK);
    ck_assert_int_eq(hd_node_add_input(n, in), HD_OK);
    ck_assert_int_eq(hd_node_add_output(n, out), HD_OK);
    hd_run_opts o;
    hd_run_opts_init(&o);
    o.store = dir;
    hd_report *rep;
    if (round == 2) {
      /* Touched, same content: still cached. */
      ck_assert_int_eq(utimensat(AT_FDCWD, in, NULL, 0), 0);
    } else if (round == 3) {
      f = fopen(in, "w");
      fputs("two\n", f);
      fclose(f);
    } else if (round == 4) {
      f = fopen(out, "w"); /* the output changed by hand */
      fputs("edited\n", f);
      fclose(f);
    }
    ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, 0, &ti), HD_OK);
    int want_cached = round == 1 || round == 2;
    ck_assert_msg(ti.cached == want_cached, "round %d: cached %d", round,
                  ti.cached);
    hd_report_free(rep);
    hd_graph_free(g);
  }
}
END_TEST

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

/* An output named by a placeholder is written under its staged name and
 * put in place only when its task succeeds. */
START_TEST(store_outputs_appear_only_whole) {
  char out[128], staged[160], cmd[256];
  snprintf(out, sizeof(out), "%s/result.csv", dir);
  snprintf(staged, sizeof(staged), "%s/.hodos-part.result.csv", dir);
  for (int ok = 0; ok < 2; ok++) {
    hd_graph *g;
    hd_node *n;
    ck_assert_int_eq(hd_graph_new(&g), HD_OK);
    snprintf(cmd, sizeof(cmd),
             "printf 'half written' > {outputs.0}; test -e %s || exit 9; "
             "exit %d",
             staged, ok ? 0 : 3);
    ck_assert_int_eq(hd_graph_add_cmd(g, "write", cmd, &n), HD_OK);
    ck_assert_int_eq(hd_node_add_output(n, out), HD_OK);
    hd_report *rep;
    int rc = hd_run(g, NULL, &rep);
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, 0, &ti), HD_OK);
    ck_assert_int_eq(ti.exit_status, ok ? 0 : 3);
    ck_assert_int_eq(rc, ok ? HD_OK : HD_ETASK);
    ck_assert_int_eq(exists(out), ok);
    ck_assert(!exists(staged));
    hd_report_free(rep);
    hd_graph_free(g);
  }
}
END_TEST

/* graph_abcd() with d cached, as a plan. */
static hd_plan *plan_abcd(const char *b_add) {
  hd_graph *g = graph_abcd(b_add, 1);
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  hd_graph_free(g);
  return p;
}

static const char *reason_of(const hd_status *st, const char *name) {
  for (size_t i = 0; i < hd_status_count(st); i++) {
    hd_task_status ts;
    ck_assert_int_eq(hd_status_task(st, i, &ts), HD_OK);
    if (strcmp(ts.name, name) == 0)
      return ts.up_to_date ? "up to date" : ts.reason;
  }
  ck_abort_msg("no task %s", name);
  return NULL;
}

START_TEST(store_status_says_what_would_run_and_why) {
  ck_assert_int_eq(hd_fn_register("s_count", fn_count, NULL), HD_OK);
  hd_status *st;
  /* No store yet: everything runs. */
  hd_plan *p = plan_abcd("10");
  ck_assert_int_eq(hd_plan_status(p, dir, &st), HD_OK);
  ck_assert_uint_eq(hd_status_up_to_date(st), 0);
  hd_status_free(st);
  int64_t c;
  size_t cached;
  run_abcd("serial", "10", 1, &c, &cached);
  ck_assert_int_eq(hd_plan_status(p, dir, &st), HD_OK);
  ck_assert_uint_eq(hd_status_up_to_date(st), 4);
  ck_assert_str_eq(reason_of(st, "c"), "up to date");
  hd_status_free(st);
  hd_plan_free(p);
  /* b changed: b says so, c waits for it, a and d stay. */
  p = plan_abcd("99");
  ck_assert_int_eq(hd_plan_status(p, dir, &st), HD_OK);
  ck_assert_uint_eq(hd_status_up_to_date(st), 2);
  ck_assert_str_eq(reason_of(st, "a"), "up to date");
  ck_assert_ptr_nonnull(strstr(reason_of(st, "b"), "definition changed"));
  ck_assert_str_eq(reason_of(st, "c"), "it runs after 'b', which runs");
  hd_status_free(st);
  hd_plan_free(p);
  hd_fn_unregister("s_count");
}
END_TEST

START_TEST(store_status_names_a_changed_input_file) {
  char in[128], cmd[256];
  snprintf(in, sizeof(in), "%s/in.txt", dir);
  FILE *f = fopen(in, "w");
  fputs("one\n", f);
  fclose(f);
  snprintf(cmd, sizeof(cmd), "cat {inputs.0}");
  hd_graph *g;
  hd_node *n;
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "read", cmd, &n), HD_OK);
  ck_assert_int_eq(hd_node_add_input(n, in), HD_OK);
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.store = dir;
  hd_report *rep;
  ck_assert_int_eq(hd_plan_run(p, &o, &rep), HD_OK);
  hd_report_free(rep);
  f = fopen(in, "w");
  fputs("two\n", f);
  fclose(f);
  hd_status *st;
  ck_assert_int_eq(hd_plan_status(p, dir, &st), HD_OK);
  char want[256];
  snprintf(want, sizeof(want), "input file '%s' changed", in);
  ck_assert_str_eq(reason_of(st, "read"), want);
  hd_status_free(st);
  unlink(in);
  ck_assert_int_eq(hd_plan_status(p, dir, &st), HD_OK);
  ck_assert_ptr_nonnull(strstr(reason_of(st, "read"), "cannot read"));
  hd_status_free(st);
  hd_plan_free(p);
  hd_graph_free(g);
}
END_TEST

START_TEST(store_clean_keeps_what_the_last_run_used) {
  ck_assert_int_eq(hd_fn_register("s_count", fn_count, NULL), HD_OK);
  int64_t c;
  size_t cached;
  run_abcd("serial", "10", 1, &c, &cached);
  run_abcd("serial", "20", 1, &c, &cached); /* b and c made again */
  hd_clean_result res;
  ck_assert_int_eq(hd_store_clean(dir, 0, &res), HD_OK);
  ck_assert_uint_eq(res.kept, 4);
  ck_assert_uint_eq(res.removed, 2);
  ck_assert_uint_eq((uint64_t)file_size("pack"), res.kept_bytes);
  ck_assert_uint_gt(res.freed_bytes, 0);
  /* What was kept is still reused; what was dropped runs again. */
  ck_assert_uint_eq(run_abcd("serial", "20", 1, &c, &cached), 0);
  ck_assert_uint_eq(run_abcd("serial", "10", 1, &c, &cached), 2);
  /* A size limit: only some fit, the last run's first. */
  ck_assert_int_eq(hd_store_clean(dir, 200, &res), HD_OK);
  ck_assert_uint_gt(res.kept, 0);
  ck_assert_uint_lt(res.kept, 4);
  ck_assert_uint_le(res.kept_bytes, 200);
  /* While a run holds the store, clean changes nothing. */
  hd__store *s = open_store(0);
  ck_assert_int_eq(hd_store_clean(dir, 0, &res), HD_ESTATE);
  ck_assert_ptr_nonnull(strstr(res.message, "in use"));
  hd__store_close(s);
  ck_assert_int_eq(hd_store_clean("/nonexistent/store", 0, &res), HD_ENOENT);
  hd_fn_unregister("s_count");
}
END_TEST

/* Past a size, clean keeps the last run's results, then the most
 * recently used: a result reused lately outlives one made after it. */
START_TEST(store_clean_keeps_the_most_recently_used) {
  hd_value *v = text("a result of some length");
  hd__key a = key_of(1), b = key_of(2), c = key_of(3);
  hd__store *s = open_store(HD__STORE_FRESH);
  ck_assert_int_eq(hd__store_put(s, a, v, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_journal(s, a, NULL, "a"), HD_OK);
  hd__store_close(s);
  s = open_store(HD__STORE_FRESH);
  ck_assert_int_eq(hd__store_put(s, b, v, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_journal(s, b, NULL, "b"), HD_OK);
  hd__store_close(s);
  s = open_store(HD__STORE_FRESH); /* a reused: no record, a use */
  ck_assert_int_eq(hd__store_journal(s, a, NULL, "a"), HD_OK);
  hd__store_close(s);
  s = open_store(HD__STORE_FRESH);
  ck_assert_int_eq(hd__store_put(s, c, v, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_journal(s, c, NULL, "c"), HD_OK);
  hd__store_close(s);
  hd_value_unref(v);
  off_t record = file_size("pack") / 3;
  hd_clean_result res;
  ck_assert_int_eq(hd_store_clean(dir, (uint64_t)(2 * record), &res), HD_OK);
  ck_assert_uint_eq(res.kept, 2);
  ck_assert_uint_eq(res.removed, 1);
  s = open_store(HD__STORE_READ);
  ck_assert(has(s, c)); /* the last run's */
  ck_assert(has(s, a)); /* used after b was made */
  ck_assert(!has(s, b));
  hd__store_close(s);
  /* The use file now holds the times of the two kept, and a second
     clean to one record keeps the last run's. */
  ck_assert_int_eq(file_size("used"), 2 * 32);
  ck_assert_int_eq(hd_store_clean(dir, (uint64_t)record, &res), HD_OK);
  ck_assert_uint_eq(res.kept, 1);
  s = open_store(HD__STORE_READ);
  ck_assert(has(s, c));
  hd__store_close(s);
}
END_TEST

/* A key kept again at each run (a task with cache: false) has a record
 * per run. When the header of the last run's record is damaged, the
 * scan passes it over and finds the one before: a resumed run must not
 * take that older result for the last run's. */
START_TEST(store_resume_takes_the_last_runs_record_only) {
  hd_value *one = text("the first run's result"),
           *two = text("the second run's result");
  hd__store *s = open_store(HD__STORE_FRESH);
  ck_assert_int_eq(hd__store_put(s, key_of(1), one, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_journal(s, key_of(1), NULL, "now"), HD_OK);
  hd__store_close(s);
  off_t second = file_size("pack");
  s = open_store(HD__STORE_FRESH);
  ck_assert_int_eq(hd__store_put(s, key_of(1), two, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_journal(s, key_of(1), NULL, "now"), HD_OK);
  hd__store_close(s);
  /* Intact, the last record is the one resumed. */
  s = open_store(HD__STORE_RESUME);
  ck_assert(hd__store_resumed(s, key_of(1)));
  hd_value *v;
  uint32_t n;
  ck_assert_int_eq(hd__store_get(s, key_of(1), &v, NULL, 0, &n), HD_OK);
  ck_assert(hd_value_equal(v, two));
  hd_value_unref(v);
  /* Reused, it is named again in the journal of the resumed run. */
  ck_assert_int_eq(hd__store_journal(s, key_of(1), NULL, "now"), HD_OK);
  hd__store_close(s);
  /* A byte of its header (its key) flipped: the first run's record is
     the key's now, and is not the last run's result. */
  flip_byte("pack", second + 10);
  s = open_store(HD__STORE_RESUME);
  ck_assert(!hd__store_resumed(s, key_of(1)));
  /* For a task with the cache on any intact record of the key is its
     result: the store still has it. */
  ck_assert_int_eq(hd__store_get(s, key_of(1), &v, NULL, 0, &n), HD_OK);
  ck_assert(hd_value_equal(v, one));
  hd_value_unref(v);
  hd__store_close(s);
  hd_value_unref(one);
  hd_value_unref(two);
}
END_TEST

/* A plain clean keeps what the last run used, known from its journal
 * only: with the journal missing or not a journal it refuses and drops
 * nothing; a clean to a size still works. */
START_TEST(store_clean_refuses_without_a_journal) {
  hd_value *v = text("a result of some length");
  hd__store *s = open_store(HD__STORE_FRESH);
  ck_assert_int_eq(hd__store_put(s, key_of(1), v, NULL, 0), HD_OK);
  ck_assert_int_eq(hd__store_journal(s, key_of(1), NULL, "a"), HD_OK);
  hd__store_close(s);
  hd_value_unref(v);
  off_t size = file_size("pack");
  ck_assert_int_eq(unlink(path("journal")), 0);
  hd_clean_result res;
  ck_assert_int_eq(hd_store_clean(dir, 0, &res), HD_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(res.message, "journal is missing"));
  ck_assert_int_eq(file_size("pack"), size);
  ck_assert_int_eq(access(path("journal"), F_OK), -1); /* not made */
  /* Bytes that are not a journal. */
  FILE *f = fopen(path("journal"), "w");
  ck_assert_ptr_nonnull(f);
  fputs("\x93\x11garbage\nkey zz\n", f);
  fclose(f);
  ck_assert_int_eq(hd_store_clean(dir, 0, &res), HD_ECORRUPT);
  ck_assert_ptr_nonnull(strstr(res.message, "is not a journal"));
  ck_assert_int_eq(file_size("pack"), size);
  /* To a size: the results that fit are kept. */
  ck_assert_int_eq(hd_store_clean(dir, (uint64_t)size, &res), HD_OK);
  ck_assert_uint_eq(res.kept, 1);
  ck_assert_uint_eq(res.removed, 0);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("store");
  TCase *tc = tcase_create("store");
  tcase_set_timeout(tc, 30);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, store_records_round_trip_and_last_one_wins);
  tcase_add_test(tc, store_clean_keeps_the_most_recently_used);
  tcase_add_test(tc, store_damage_is_found_and_forgotten);
  tcase_add_test(tc, store_pack_cut_short_is_repaired);
  tcase_add_test(tc, store_record_claiming_too_much_is_damaged);
  tcase_add_test(tc, store_lock_names_its_holder_and_outlives_no_one);
  tcase_add_test(tc, store_lock_of_a_dead_run_held_by_its_child_is_waited_for);
  tcase_add_test(tc, store_journal_lists_what_a_resumed_run_reuses);
  tcase_add_test(tc, store_resume_takes_the_last_runs_record_only);
  tcase_add_loop_test(tc, store_run_reuses_what_did_not_change, 0, 3);
  tcase_add_test(tc, store_run_recomputes_a_damaged_result);
  tcase_add_test(tc, store_files_count_by_content);
  tcase_add_test(tc, store_outputs_appear_only_whole);
  tcase_add_test(tc, store_status_says_what_would_run_and_why);
  tcase_add_test(tc, store_status_names_a_changed_input_file);
  tcase_add_test(tc, store_clean_keeps_what_the_last_run_used);
  tcase_add_test(tc, store_clean_refuses_without_a_journal);
  suite_add_tcase(s, tc);
  return s;
}
