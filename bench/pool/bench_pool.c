/* bench/pool: the per-item cost of a pool's map, imap and uimap on tiny
 * items, one measurement per call of the program, printed as one line of
 * numbers for run.sh to gather.
 *
 *   bench_pool BACKEND CALL N [CHUNK]
 *
 * BACKEND is threads or processes, CALL map, imap or uimap, N the number
 * of items, CHUNK the pool's chunk_size (omitted: what
 * hd_pool_opts_init() gives, the pool's default).
 *
 * The function "inc" returns its integer argument plus 1. The N integer
 * arguments 0 .. N-1 are made once and the pool of 2 nodes is created
 * before the clock starts; the clock then covers one call over all N
 * items: hd_pool_map() until it returns, or hd_pool_imap()/uimap() and
 * hd_iter_next() until HD_EEND (each value released as it comes). With
 * processes the workers are forked by the untimed call below and kept by
 * the pool from call to call, as Python's are by its pool: the clock
 * covers no fork. Freeing the results or the iterator
 * and checking a map's results come after the clock stops; an iterator's
 * results are checked as they come (a comparison each). Every result is
 * checked: imap's must come in order, uimap's each once; a wrong one
 * exits 1.
 *
 * One untimed call over min(N, 1000) items warms the pool up (its
 * dispatcher thread, its workers, the allocator). Then calls are
 * repeated until they have taken MIN_SECONDS (0.2 s) in all, or
 * MAX_CALLS were made, at least one; the median is printed. Prints: us_per_item
 * calls chunk_size, where chunk_size is the one the pool was made with (0:
 * automatic). */
#include <errno.h>
#include <hodos/hodos.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_SECONDS 0.2
#define MAX_CALLS 1000
#define WARM_ITEMS 1000

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc) {
  fprintf(stderr, "bench_pool: %s: %s\n", what, hd_strerror(rc));
  exit(1);
}

static void check(int rc, const char *what) {
  if (rc != HD_OK)
    die(what, rc);
}

static void wrong(const char *call, size_t i, const char *why) {
  fprintf(stderr, "bench_pool: %s, item %zu: %s\n", call, i, why);
  exit(1);
}

static size_t arg_size(const char *s) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || end == s || v == 0) {
    fprintf(stderr, "bench_pool: bad number '%s'\n", s);
    exit(2);
  }
  return (size_t)v;
}

static int fn_inc(hd_task *t, void *data) {
  (void)data;
  int64_t i = 0;
  if (hd_value_get_int(hd_task_input(t, 0), &i) != HD_OK)
    return hd_task_fail(t, "input is not an integer");
  hd_value *v;
  int rc = hd_value_new_int(i + 1, &v);
  return rc != HD_OK ? rc : hd_task_set_output(t, v);
}

enum { CALL_MAP, CALL_IMAP, CALL_UIMAP };

/* Whether v is the integer want. */
static int is_int(const hd_value *v, int64_t want) {
  int64_t got;
  return v != NULL && hd_value_get_int(v, &got) == HD_OK && got == want;
}

/* One call of kind over the first n items of args; returns the seconds
 * it took, everything checked. seen is scratch for uimap (n bytes). */
static double one_call(hd_pool *p, int kind, hd_value **args, size_t n,
                       unsigned char *seen) {
  hd_list list = {args, n};
  const char *name = kind == CALL_MAP    ? "map"
                     : kind == CALL_IMAP ? "imap"
                                         : "uimap";
  double t0, t;
  if (kind == CALL_MAP) {
    hd_results *r = NULL;
    t0 = now_s();
    int rc = hd_pool_map(p, "inc", &list, 1, &r);
    t = now_s() - t0;
    check(rc, "hd_pool_map");
    if (r == NULL || hd_results_count(r) != n)
      wrong(name, 0, "the results are not all there");
    for (size_t i = 0; i < n; i++)
      if (!is_int(hd_results_value(r, i), (int64_t)i + 1))
        wrong(name, i, "wrong result");
    hd_results_free(r);
    return t;
  }
  hd_iter *it = NULL;
  size_t got = 0, idx;
  hd_value *v;
  int rc;
  if (kind == CALL_UIMAP)
    memset(seen, 0, n);
  t0 = now_s();
  rc = kind == CALL_IMAP ? hd_pool_imap(p, "inc", &list, 1, &it)
                         : hd_pool_uimap(p, "inc", &list, 1, &it);
  check(rc, kind == CALL_IMAP ? "hd_pool_imap" : "hd_pool_uimap");
  while ((rc = hd_iter_next(it, -1, &idx, &v)) == HD_OK) {
    if (idx >= n || !is_int(v, (int64_t)idx + 1))
      wrong(name, idx, "wrong result");
    if (kind == CALL_IMAP ? idx != got : seen[idx]++ != 0)
      wrong(name, idx, kind == CALL_IMAP ? "out of order" : "given twice");
    hd_value_unref(v);
    got++;
  }
  t = now_s() - t0;
  if (rc != HD_EEND)
    wrong(name, got, hd_iter_error(it) ? hd_iter_error(it) : hd_strerror(rc));
  if (got != n)
    wrong(name, got, "the iterator ended early");
  hd_iter_free(it);
  return t;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: bench_pool threads|processes map|imap|uimap N "
                    "[CHUNK]\n");
    return 2;
  }
  const char *backend = argv[1];
  if (strcmp(backend, "threads") != 0 && strcmp(backend, "processes") != 0) {
    fprintf(stderr, "bench_pool: unknown backend '%s'\n", backend);
    return 2;
  }
  int kind;
  if (strcmp(argv[2], "map") == 0)
    kind = CALL_MAP;
  else if (strcmp(argv[2], "imap") == 0)
    kind = CALL_IMAP;
  else if (strcmp(argv[2], "uimap") == 0)
    kind = CALL_UIMAP;
  else {
    fprintf(stderr, "bench_pool: unknown call '%s'\n", argv[2]);
    return 2;
  }
  size_t n = arg_size(argv[3]);
  check(hd_fn_register("inc", fn_inc, NULL), "hd_fn_register");

  hd_pool_opts o;
  hd_pool_opts_init(&o);
  if (argc > 4)
    o.chunk_size = arg_size(argv[4]);
  hd_value **args = malloc(n * sizeof(*args));
  unsigned char *seen = malloc(n);
  double *times = malloc(MAX_CALLS * sizeof(*times));
  if (args == NULL || seen == NULL || times == NULL)
    die("malloc", HD_ENOMEM);
  for (size_t i = 0; i < n; i++)
    check(hd_value_new_int((int64_t)i, &args[i]), "hd_value_new_int");
  hd_pool *p;
  check(hd_pool_new_opts(backend, 2, &o, &p), "hd_pool_new_opts");

  one_call(p, kind, args, n < WARM_ITEMS ? n : WARM_ITEMS, seen);
  size_t calls = 0;
  double total = 0;
  while (calls < MAX_CALLS && (calls == 0 || total < MIN_SECONDS)) {
    times[calls] = one_call(p, kind, args, n, seen);
    total += times[calls++];
  }
  qsort(times, calls, sizeof(*times), cmp_double);
  double med = calls % 2 ? times[calls / 2]
                         : (times[calls / 2 - 1] + times[calls / 2]) / 2;
  printf("%.4f %zu %zu\n", med * 1e6 / (double)n, calls, o.chunk_size);

  hd_pool_free(p);
  for (size_t i = 0; i < n; i++)
    hd_value_unref(args[i]);
  free(args);
  free(seen);
  free(times);
  return 0;
}
