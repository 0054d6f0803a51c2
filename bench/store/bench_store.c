/* bench/store: value frames (hd_value_encode at level 1, hd_value_decode)
 * and the store of task results (core/store.h) on three data sets, each
 * made deterministically from a fixed seed, one measurement per call,
 * each printed as one line of numbers for run.sh to gather.
 *
 *   bench_store run SET DIR [MIB [KIB]]
 *       SET is text, numeric or random: MIB MiB (default 64) in results
 *       of KIB KiB (default 1024). First the frames: every result encoded
 *       at level 1, then every frame decoded and compared with its result.
 *       Then the store in DIR (created; it must not hold a store): every
 *       result put, the store closed (flushed and synced), opened again,
 *       every result got and compared. Prints: raw_bytes frame_bytes
 *       pack_bytes values raw_frames, then six figures of wall-clock time
 *       and the same six of CPU time: encode_MBps decode_MBps put_MBps
 *       get_MBps close_ms reopen_ms, then the minor page faults per MiB
 *       of results of encoding, decoding, put (with close) and get.
 *   bench_store gen SET DIR [MIB [KIB]]
 *       Writes the same results as files DIR/000000, DIR/000001, ... (DIR
 *       is created), for the zstd command to read. Prints: raw_bytes files.
 *   bench_store time CMD [ARG...]
 *       Runs CMD with its standard output on /dev/null. Prints: wall_ms
 *       cpu_ms (the command's user and system time).
 *
 * The data sets:
 *   text     log lines and CSV rows: timestamps that go up, a few dozen
 *            words, ids, durations and sizes that vary (a task's output)
 *   numeric  little-endian arrays, alternately float64 and int32, of a
 *            smooth function plus noise (a task's numeric result)
 *   random   bytes of a xorshift generator (already compressed data)
 *
 * encode_MBps and decode_MBps count the result bytes (raw) per second of
 * hd_value_encode() and hd_value_decode() calls alone; comparing happens
 * outside the clock. put_MBps is the raw bytes over the hd__store_put()
 * calls and the hd__store_close() that writes and syncs what waits
 * (close_ms, also on its own); reopen_ms is hd__store_open() on the
 * store just written (it reads every record's header); get_MBps is the
 * raw bytes over the hd__store_get() calls, with the pack in the page
 * cache. CPU time is the whole process's (CLOCK_PROCESS_CPUTIME_ID), so
 * that the store's writer thread counts; it leaves out waiting for the
 * disk. frame_bytes adds up the frames (32-byte header and content),
 * pack_bytes is the pack's size (48-byte record header, 8 bytes of output
 * count, then the frame, per result). raw_frames counts the frames that
 * hold their content raw (not compressed). MB is 10^6 bytes.
 *
 * Fails (exit 1, and says why) when a frame or a record is larger than
 * its result plus its headers, that is when anything is inflated, when a
 * result of the random set is not stored raw, when a decoded or read
 * value differs from its result, or on any error. */
#include <errno.h>
#include <hodos/hodos.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/store.h"

#define SEED 0x686f646f73ull /* "hodos" */
/* The store's bytes around a frame: record header, output count. */
#define RECORD_OVERHEAD (48 + 8)

static double seconds(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_s(void) { return seconds(CLOCK_MONOTONIC); }

/* Wall-clock time, CPU time (user and system) and minor page faults,
   the last two of every thread of the process: the store's writer
   thread too. */
typedef struct span {
  double wall, cpu, faults;
} span;

static span now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (span){now_s(), seconds(CLOCK_PROCESS_CPUTIME_ID),
                (double)ru.ru_minflt};
}

/* Add the time since t0 to *acc. */
static void add_since(span *acc, span t0) {
  span t = now();
  acc->wall += t.wall - t0.wall;
  acc->cpu += t.cpu - t0.cpu;
  acc->faults += t.faults - t0.faults;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_store: %s: %s\n", what, hd_strerror(rc));
  exit(1);
}

static void check(int rc, const char *what) {
  if (rc != HD_OK)
    die(what, rc);
}

static size_t arg_size(int argc, char **argv, int i, size_t def) {
  if (i >= argc)
    return def;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(argv[i], &end, 10);
  if (errno != 0 || *end != '\0' || end == argv[i] || v == 0 ||
      v > (1ull << 20)) {
    fprintf(stderr, "bench_store: bad number '%s'\n", argv[i]);
    exit(2);
  }
  return (size_t)v;
}

/* ---- a small deterministic generator (xorshift64*) ---- */

typedef struct rng {
  uint64_t s;
} rng;

static rng rng_new(uint64_t seed) {
  /* splitmix64 of the seed, never 0 */
  uint64_t z = seed + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (rng){z ? z : 1};
}

static uint64_t next(rng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545f4914f6cdd1dull;
}

/* In [0, n). */
static uint32_t below(rng *r, uint32_t n) {
  return (uint32_t)((next(r) >> 32) * n >> 32);
}

/* In [0, 1). */
static double unit(rng *r) { return (double)(next(r) >> 11) * 0x1p-53; }

/* ---- the data sets: result i of a set, into buf (cap bytes); returns
   the length ---- */

static const char *const words[] = {
    "scheduler", "worker", "cache",   "store",    "fetch",   "parse",
    "compile",   "link",   "test",    "upload",   "resize",  "index",
    "merge",     "split",  "train",   "evaluate", "export",  "import",
    "checksum",  "retry",  "timeout", "queue",    "reader",  "writer",
    "alpha",     "beta",   "gamma",   "delta",    "epsilon", "zeta",
    "north",     "south",  "east",    "west",     "ok",      "skipped"};
#define NWORDS (sizeof(words) / sizeof(words[0]))
static const char *const levels[] = {"INFO ", "INFO ", "INFO ", "DEBUG",
                                     "DEBUG", "WARN ", "ERROR", "INFO "};

static size_t gen_text(size_t i, char *buf, size_t cap) {
  rng r = rng_new(SEED ^ 0x7465787400000000ull ^ i);
  /* Seconds since midnight and microseconds, going up line by line. */
  uint64_t us = (uint64_t)i * 3600000000ull + below(&r, 1000000);
  char line[256];
  size_t len = 0;
  for (uint64_t k = 0;; k++) {
    us += 1 + below(&r, 20000);
    uint64_t s = us / 1000000 % 86400;
    unsigned h = (unsigned)(s / 3600), m = (unsigned)(s / 60 % 60),
             sec = (unsigned)(s % 60), frac = (unsigned)(us % 1000000);
    /* Every draw in its own statement: the order in which a call's
       arguments are evaluated is the compiler's, and the data must not
       depend on it. */
    unsigned kind = below(&r, 5);
    const char *lv = levels[below(&r, 8)];
    const char *w1 = words[below(&r, NWORDS)];
    const char *w2 = words[below(&r, NWORDS)];
    const char *w3 = words[below(&r, NWORDS)];
    unsigned a = below(&r, 200000), b = below(&r, 5000), c = below(&r, 1000);
    unsigned d = 20000 + below(&r, 400000);
    unsigned e = below(&r, 16) == 0 ? 1u : 0u;
    unsigned long long id = next(&r) >> 32;
    double x = unit(&r);
    double y = 100.0 * (unit(&r) - 0.5);
    int n;
    switch (kind) {
    case 0:
    case 1:
      n = snprintf(line, sizeof(line),
                   "2026-03-14T%02u:%02u:%02u.%06uZ %s [%s] task %s-%06u "
                   "finished in %u.%03u ms (rss %u KiB, exit %u)\n",
                   h, m, sec, frac, lv, w1, w2, a, b, c, d, e);
      break;
    case 2:
      n = snprintf(line, sizeof(line),
                   "2026-03-14T%02u:%02u:%02u.%06uZ %s [%s] %s %s: %u of %u "
                   "items, id %08llx\n",
                   h, m, sec, frac, lv, w1, w2, w3, (unsigned)(k % 1000),
                   1000u + e, id);
      break;
    default:
      /* CSV: row, node, two measurements, a time, a word. */
      n = snprintf(line, sizeof(line), "%llu,node-%02u,%.4f,%.3f,%llu,%s\n",
                   (unsigned long long)k, a % 32, x, y,
                   (unsigned long long)(1773446400ull + us / 1000000), w1);
      break;
    }
    if (n <= 0 || len + (size_t)n > cap)
      return len;
    memcpy(buf + len, line, (size_t)n);
    len += (size_t)n;
  }
}

static void put_le(unsigned char *p, uint64_t v, int bytes) {
  for (int b = 0; b < bytes; b++)
    p[b] = (unsigned char)(v >> (8 * b));
}

/* Even results: float64 of two sines (up to 120) plus noise of +-0.05;
   odd results: int32 of a sine around 5000 plus noise of +-50. */
static size_t gen_numeric(size_t i, char *buf, size_t cap) {
  rng r = rng_new(SEED ^ 0x6e756d0000000000ull ^ i);
  unsigned char *p = (unsigned char *)buf;
  const double two_pi = 6.283185307179586;
  double phase = two_pi * unit(&r);
  if (i % 2 == 0) {
    size_t n = cap / 8;
    for (size_t k = 0; k < n; k++) {
      double x = (double)k / (double)n;
      double v = 100.0 * sin(two_pi * 3.0 * x + phase) +
                 20.0 * cos(two_pi * 17.0 * x) + 0.1 * (unit(&r) - 0.5);
      uint64_t bits;
      memcpy(&bits, &v, 8);
      put_le(p + 8 * k, bits, 8);
    }
    return 8 * n;
  }
  size_t n = cap / 4;
  for (size_t k = 0; k < n; k++) {
    double x = (double)k / (double)n;
    int32_t v =
        (int32_t)lround(5000.0 + 3000.0 * sin(two_pi * 5.0 * x + phase)) +
        (int32_t)below(&r, 101) - 50;
    put_le(p + 4 * k, (uint32_t)v, 4);
  }
  return 4 * n;
}

static size_t gen_random(size_t i, char *buf, size_t cap) {
  rng r = rng_new(SEED ^ 0x72616e6400000000ull ^ i);
  size_t k = 0;
  for (; k + 8 <= cap; k += 8)
    put_le((unsigned char *)buf + k, next(&r), 8);
  if (k < cap)
    put_le((unsigned char *)buf + k, next(&r), (int)(cap - k));
  return cap;
}

typedef size_t (*gen_fn)(size_t, char *, size_t);

static gen_fn set_of(const char *name, hd_value_kind *kind) {
  *kind = HD_VALUE_BYTES;
  if (strcmp(name, "text") == 0) {
    *kind = HD_VALUE_TEXT;
    return gen_text;
  }
  if (strcmp(name, "numeric") == 0)
    return gen_numeric;
  if (strcmp(name, "random") == 0)
    return gen_random;
  fprintf(stderr,
          "bench_store: unknown data set '%s' (text, numeric, "
          "random)\n",
          name);
  exit(2);
}

/* The results of a set, as values. */
static hd_value **make_set(const char *name, size_t n, size_t bytes,
                           double *raw) {
  hd_value_kind kind;
  gen_fn gen = set_of(name, &kind);
  char *buf = malloc(bytes);
  hd_value **v = calloc(n, sizeof(*v));
  if (buf == NULL || v == NULL)
    die("make_set", HD_ENOMEM);
  *raw = 0;
  for (size_t i = 0; i < n; i++) {
    size_t len = gen(i, buf, bytes);
    check(kind == HD_VALUE_TEXT ? hd_value_new_text(buf, len, &v[i])
                                : hd_value_new_bytes(buf, len, &v[i]),
          "hd_value_new");
    *raw += (double)len;
  }
  free(buf);
  return v;
}

static hd__key key_of(size_t i) {
  return (hd__key){(uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull, SEED + i};
}

/* Open the store in dir as a new run opens it (a new journal). */
static hd__store *open_store(const char *dir) {
  hd__store *s = NULL;
  char *msg = NULL;
  int rc = hd__store_open(dir, HD__STORE_FRESH, &s, &msg);
  if (rc != HD_OK) {
    fprintf(stderr, "bench_store: cannot open the store %s: %s\n", dir,
            msg ? msg : hd_strerror(rc));
    exit(1);
  }
  hd__free(msg);
  return s;
}

static int mode_run(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "bench_store: run needs SET DIR\n");
    return 2;
  }
  const char *set = argv[2], *dir = argv[3];
  size_t mib = arg_size(argc, argv, 4, 64);
  size_t bytes = arg_size(argc, argv, 5, 1024) * 1024;
  size_t n = mib * 1024 * 1024 / bytes;
  if (n == 0)
    n = 1;
  struct stat st;
  char pack[4096];
  snprintf(pack, sizeof(pack), "%s/pack", dir);
  if (stat(pack, &st) == 0) {
    fprintf(stderr, "bench_store: %s holds a store already\n", dir);
    return 2;
  }
  double raw;
  hd_value **v = make_set(set, n, bytes, &raw);

  /* Frames. Encoding and decoding are timed in loops of their own, each
     call's value freed before the next call, so that the allocator hands
     the same memory back as it does to a worker that frees each frame
     once sent. The frames wait in one buffer, copied there outside the
     clock; the buffer is touched first, so that its page faults do not
     fall into the decoding. */
  size_t slot = bytes + HD_FRAME_HEADER_SIZE;
  unsigned char *frames = malloc(n * slot);
  size_t *flen = malloc(n * sizeof(*flen));
  if (frames == NULL || flen == NULL)
    die("malloc", HD_ENOMEM);
  memset(frames, 0, n * slot);
  span t_enc = {0, 0, 0}, t_dec = {0, 0, 0};
  double framed = 0;
  size_t raw_frames = 0;
  for (size_t i = 0; i < n; i++) {
    hd_value *f;
    span t0 = now();
    int rc = hd_value_encode(v[i], 1, &f);
    add_since(&t_enc, t0);
    check(rc, "hd_value_encode");
    size_t vs = hd_value_size(v[i]), fs = hd_value_size(f);
    if (fs > vs + HD_FRAME_HEADER_SIZE) {
      fprintf(stderr,
              "bench_store: %s result %zu: INFLATED: %zu bytes "
              "became a frame of %zu (more than %zu + %d)\n",
              set, i, vs, fs, vs, HD_FRAME_HEADER_SIZE);
      return 1;
    }
    raw_frames += fs == vs + HD_FRAME_HEADER_SIZE;
    framed += (double)fs;
    memcpy(frames + i * slot, hd_value_data(f), fs);
    flen[i] = fs;
    hd_value_unref(f);
  }
  for (size_t i = 0; i < n; i++) {
    hd_value *d;
    span t0 = now();
    int rc =
        hd_value_decode(frames + i * slot, flen[i], hd_value_size(v[i]), &d);
    add_since(&t_dec, t0);
    check(rc, "hd_value_decode");
    if (!hd_value_equal(d, v[i])) {
      fprintf(stderr, "bench_store: %s result %zu: decoded differs\n", set, i);
      return 1;
    }
    hd_value_unref(d);
  }
  free(frames);
  free(flen);
  if (strcmp(set, "random") == 0 && raw_frames != n) {
    fprintf(stderr,
            "bench_store: random: only %zu of %zu results stored "
            "raw\n",
            raw_frames, n);
    return 1;
  }

  /* The store. */
  hd__store *s = open_store(dir);
  span t_put = {0, 0, 0}, t_close = {0, 0, 0}, t_open = {0, 0, 0},
       t_get = {0, 0, 0};
  span t0 = now();
  for (size_t i = 0; i < n; i++)
    check(hd__store_put(s, key_of(i), v[i], NULL, 0), "hd__store_put");
  add_since(&t_put, t0);
  t0 = now();
  hd__store_close(s);
  add_since(&t_close, t0);
  t0 = now();
  s = open_store(dir);
  add_since(&t_open, t0);
  for (size_t i = 0; i < n; i++) {
    hd_value *d;
    uint32_t nout;
    hd__key out;
    t0 = now();
    int rc = hd__store_get(s, key_of(i), &d, &out, 1, &nout);
    add_since(&t_get, t0);
    check(rc, "hd__store_get");
    if (nout != 0 || !hd_value_equal(d, v[i])) {
      fprintf(stderr, "bench_store: %s result %zu: read back differs\n", set,
              i);
      return 1;
    }
    hd_value_unref(d);
  }
  hd__store_close(s);
  if (stat(pack, &st) != 0) {
    fprintf(stderr, "bench_store: %s: %s\n", pack, strerror(errno));
    return 1;
  }
  double packed = (double)st.st_size;
  if (packed > raw + (double)n * (RECORD_OVERHEAD + HD_FRAME_HEADER_SIZE)) {
    fprintf(stderr,
            "bench_store: %s: INFLATED: the pack holds %.0f bytes "
            "for %.0f of results\n",
            set, packed, raw);
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    hd_value_unref(v[i]);
  free(v);
  double mb = raw / 1e6;
  printf("%.0f %.0f %.0f %zu %zu", raw, framed, packed, n, raw_frames);
  printf(" %.1f %.1f %.1f %.1f %.2f %.3f", mb / t_enc.wall, mb / t_dec.wall,
         mb / (t_put.wall + t_close.wall), mb / t_get.wall, t_close.wall * 1e3,
         t_open.wall * 1e3);
  printf(" %.1f %.1f %.1f %.1f %.2f %.3f", mb / t_enc.cpu, mb / t_dec.cpu,
         mb / (t_put.cpu + t_close.cpu), mb / t_get.cpu, t_close.cpu * 1e3,
         t_open.cpu * 1e3);
  double per_mib = raw / 1048576.0;
  printf(" %.1f %.1f %.1f %.1f\n", t_enc.faults / per_mib,
         t_dec.faults / per_mib, (t_put.faults + t_close.faults) / per_mib,
         t_get.faults / per_mib);
  return 0;
}

static int mode_gen(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "bench_store: gen needs SET DIR\n");
    return 2;
  }
  const char *set = argv[2], *dir = argv[3];
  size_t mib = arg_size(argc, argv, 4, 64);
  size_t bytes = arg_size(argc, argv, 5, 1024) * 1024;
  size_t n = mib * 1024 * 1024 / bytes;
  if (n == 0)
    n = 1;
  hd_value_kind kind;
  gen_fn gen = set_of(set, &kind);
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench_store: mkdir %s: %s\n", dir, strerror(errno));
    return 1;
  }
  char *buf = malloc(bytes);
  if (buf == NULL)
    die("malloc", HD_ENOMEM);
  double raw = 0;
  char path[4096];
  for (size_t i = 0; i < n; i++) {
    size_t len = gen(i, buf, bytes);
    snprintf(path, sizeof(path), "%s/%06zu", dir, i);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0) {
      fprintf(stderr, "bench_store: cannot write %s: %s\n", path,
              strerror(errno));
      return 1;
    }
    raw += (double)len;
  }
  free(buf);
  printf("%.0f %zu\n", raw, n);
  return 0;
}

static int mode_time(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "bench_store: time needs a command\n");
    return 2;
  }
  fflush(NULL);
  double t0 = now_s();
  pid_t pid = fork();
  if (pid < 0) {
    perror("bench_store: fork");
    return 1;
  }
  if (pid == 0) {
    FILE *null = freopen("/dev/null", "w", stdout);
    (void)null;
    execvp(argv[2], argv + 2);
    fprintf(stderr, "bench_store: cannot run %s: %s\n", argv[2],
            strerror(errno));
    _exit(127);
  }
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR)
    ;
  double t = now_s() - t0;
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "bench_store: %s failed (status %d)\n", argv[2],
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    return 1;
  }
  printf("%.1f %.1f\n", t * 1e3, cpu * 1e3);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench_store run|gen SET DIR [MIB [KIB]]\n"
                    "       bench_store time CMD [ARG...]\n");
    return 2;
  }
  const char *m = argv[1];
  if (strcmp(m, "run") == 0)
    return mode_run(argc, argv);
  if (strcmp(m, "gen") == 0)
    return mode_gen(argc, argv);
  if (strcmp(m, "time") == 0)
    return mode_time(argc, argv);
  fprintf(stderr, "bench_store: unknown mode '%s'\n", m);
  return 2;
}
