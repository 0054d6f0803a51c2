/* A run's own record of its events: RUN/events, written while the run
 * goes and read back by 'hodos report'. It is a reader of the event hook
 * like the others, so that a finished run can be looked at again (an HTML
 * report, a trace, the JSON lines) without having asked for it first.
 *
 * The file is a sequence of zstd frames; their content is a sequence of
 * records, each a tag byte and fields as LEB128 varints or strings (a
 * varint length, then the bytes):
 *   'H' header: version, wall-clock start (ns since the epoch), run id,
 *       workflow file, workflow name, backend, jobs, task count
 *   'N' a task, in index order: name, predecessor count, that many indices
 *   'P' more predecessors of the last task: count, indices
 *   'S' a host: its number (the next one), name
 *   'E' an event: type, index, time since the start (ns), elapsed (ns),
 *       attempt, worker, size, wire size, flags (1 failure allowed,
 *       2 a message follows, 4 a host number follows), [message], [host]
 *   'Z' the end: exit status of hodos, time since the start (ns)
 * Records are buffered and compressed a frame at a time: when 1 MiB has
 * gathered, and once a second by a thread of its own, so that a run that
 * is killed loses at most its last second even when no event comes. A
 * reader stops at the first record it cannot decode (a run killed while
 * writing) and says so. The numbers of the tags and fields never change;
 * new fields go into new record types. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "cli.h"

#define JOURNAL_VERSION 1
#define FLUSH_BYTES (1u << 20)
#define FLUSH_SECONDS 1
#define PREDS_PER_RECORD 4096
#define MAX_HOSTS 4096

struct cli_journal {
  int fd;
  int failed; /* a write failed: stop writing, say so at the end */
  char *path;
  unsigned char *buf;
  size_t len, cap;
  void *zbuf;
  size_t zcap;
  ZSTD_CCtx *cctx;
  uint64_t start_ns;
  char **hosts;
  size_t nhosts;
  /* The flusher: a thread that flushes once a second until stop. The
     lock covers the buffer, which events fill from hodos's workers. */
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_t flusher;
  int flushing, stop;
  int ready; /* the flusher waits: its start allocates no more */
};

static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static int read_all(int fd, void *data, size_t len) {
  char *p = data;
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      if (n == 0)
        errno = EIO; /* the file shrank while it was read */
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Room for n more bytes in the raw buffer. */
static int reserve(cli_journal *j, size_t n) {
  if (j->len + n <= j->cap)
    return 0;
  size_t cap = j->cap ? j->cap : 1u << 16;
  while (cap < j->len + n)
    cap *= 2;
  unsigned char *b = realloc(j->buf, cap);
  if (b == NULL)
    return -1;
  j->buf = b;
  j->cap = cap;
  return 0;
}

static void put_u8(cli_journal *j, unsigned v) {
  if (reserve(j, 1) == 0)
    j->buf[j->len++] = (unsigned char)v;
  else
    j->failed = 1;
}

static void put_varint(cli_journal *j, uint64_t v) {
  if (reserve(j, 10) != 0) {
    j->failed = 1;
    return;
  }
  while (v >= 0x80) {
    j->buf[j->len++] = (unsigned char)(v | 0x80);
    v >>= 7;
  }
  j->buf[j->len++] = (unsigned char)v;
}

static void put_string(cli_journal *j, const char *s) {
  size_t n = s ? strlen(s) : 0;
  put_varint(j, n);
  if (n == 0)
    return;
  if (reserve(j, n) != 0) {
    j->failed = 1;
    return;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
}

/* Compress what is buffered into one frame and write it. */
static void flush(cli_journal *j) {
  if (j->len == 0 || j->failed) {
    j->len = 0;
    return;
  }
  size_t bound = ZSTD_compressBound(j->len);
  if (bound > j->zcap) {
    void *z = realloc(j->zbuf, bound);
    if (z == NULL) {
      j->failed = 1;
      return;
    }
    j->zbuf = z;
    j->zcap = bound;
  }
  size_t n = ZSTD_compress2(j->cctx, j->zbuf, j->zcap, j->buf, j->len);
  if (ZSTD_isError(n) || write_all(j->fd, j->zbuf, n) != 0)
    j->failed = 1;
  j->len = 0;
}

/* Held by the flusher while it compresses and writes, and by fork()
 * (pthread_atfork): a worker forked while the flusher is inside malloc or
 * zstd would inherit their locks held, by a thread it does not have
 * (allocators without fork handlers, as AddressSanitizer's, hang so). */
static pthread_mutex_t fork_guard = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t fork_guard_once = PTHREAD_ONCE_INIT;

static void guard_lock(void) { pthread_mutex_lock(&fork_guard); }
static void guard_unlock(void) { pthread_mutex_unlock(&fork_guard); }
static void guard_install(void) {
  pthread_atfork(guard_lock, guard_unlock, guard_unlock);
}

static void *flusher_main(void *arg) {
  cli_journal *j = arg;
  pthread_mutex_lock(&j->lock);
  j->ready = 1;
  pthread_cond_broadcast(&j->wake);
  while (!j->stop) {
    struct timespec at;
    clock_gettime(CLOCK_MONOTONIC, &at);
    at.tv_sec += FLUSH_SECONDS;
    while (!j->stop &&
           pthread_cond_timedwait(&j->wake, &j->lock, &at) != ETIMEDOUT)
      ;
    if (!j->stop) {
      guard_lock();
      flush(j);
      guard_unlock();
    }
  }
  pthread_mutex_unlock(&j->lock);
  return NULL;
}

/* Start the flusher; without it (no thread to be had), the events are
 * written as 1 MiB gathers and at the end. */
static void start_flusher(cli_journal *j) {
  pthread_condattr_t attr;
  pthread_mutex_init(&j->lock, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&j->wake, &attr);
  pthread_condattr_destroy(&attr);
  pthread_once(&fork_guard_once, guard_install);
  j->flushing = pthread_create(&j->flusher, NULL, flusher_main, j) == 0;
  /* Wait until it waits: a thread starting up takes allocator locks, and
     a worker forked then would inherit them held (AddressSanitizer's
     allocator has no fork handlers: the worker hangs). */
  pthread_mutex_lock(&j->lock);
  while (j->flushing && !j->ready)
    pthread_cond_wait(&j->wake, &j->lock);
  pthread_mutex_unlock(&j->lock);
}

cli_journal *cli_journal_open(const char *run_dir, const hd_plan *plan,
                              const cli_run_meta *meta) {
  cli_journal *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return NULL;
  size_t len = strlen(run_dir) + 16;
  j->path = malloc(len);
  j->cctx = ZSTD_createCCtx();
  if (j->path == NULL || j->cctx == NULL)
    goto fail;
  snprintf(j->path, len, "%s/events", run_dir);
  ZSTD_CCtx_setParameter(j->cctx, ZSTD_c_compressionLevel, 1);
  j->fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (j->fd < 0) {
    cli_error("cannot write the run's events to %s: %s (the run goes on; "
              "'hodos report' will not see it)",
              j->path, strerror(errno));
    goto fail;
  }
  j->start_ns = mono_ns();
  struct timespec wall;
  clock_gettime(CLOCK_REALTIME, &wall);
  size_t count = hd_plan_node_count(plan);
  put_u8(j, 'H');
  put_varint(j, JOURNAL_VERSION);
  put_varint(j, (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec);
  const char *slash = strrchr(run_dir, '/');
  put_string(j, slash ? slash + 1 : run_dir);
  put_string(j, meta->file);
  put_string(j, meta->name);
  put_string(j, meta->backend);
  put_varint(j, meta->jobs);
  put_varint(j, count);
  uint32_t *preds = NULL;
  size_t cap = 0;
  for (size_t i = 0; i < count; i++) {
    size_t np = hd_plan_node_preds(plan, i, preds, cap);
    if (np > cap) {
      uint32_t *a = realloc(preds, np * sizeof(*a));
      if (a == NULL) {
        cli_error("out of memory writing the run's events to %s (the run "
                  "goes on; 'hodos report' will not see it)",
                  j->path);
        free(preds);
        close(j->fd);
        goto fail;
      }
      preds = a;
      cap = np;
      hd_plan_node_preds(plan, i, preds, cap);
    }
    put_u8(j, 'N');
    put_string(j, hd_plan_node_name(plan, i));
    size_t first = np < PREDS_PER_RECORD ? np : PREDS_PER_RECORD;
    put_varint(j, first);
    for (size_t k = 0; k < first; k++)
      put_varint(j, preds[k]);
    for (size_t k = first; k < np;) {
      size_t n = np - k < PREDS_PER_RECORD ? np - k : PREDS_PER_RECORD;
      put_u8(j, 'P');
      put_varint(j, n);
      for (size_t e = k + n; k < e; k++)
        put_varint(j, preds[k]);
    }
    if (j->len >= FLUSH_BYTES)
      flush(j);
  }
  free(preds);
  flush(j);
  start_flusher(j);
  return j;
fail:
  ZSTD_freeCCtx(j->cctx);
  free(j->zbuf);
  free(j->buf);
  free(j->path);
  free(j);
  return NULL;
}

/* A host's number, defining it the first time (1-based; 0 is none). */
static uint64_t host_id(cli_journal *j, const char *host) {
  for (size_t i = 0; i < j->nhosts; i++)
    if (strcmp(j->hosts[i], host) == 0)
      return i + 1;
  if (j->nhosts == MAX_HOSTS)
    return 0;
  char **h = realloc(j->hosts, (j->nhosts + 1) * sizeof(*h));
  if (h == NULL)
    return 0;
  j->hosts = h;
  if ((h[j->nhosts] = strdup(host)) == NULL)
    return 0;
  j->nhosts++;
  put_u8(j, 'S');
  put_varint(j, j->nhosts);
  put_string(j, host);
  return j->nhosts;
}

void cli_journal_event(cli_journal *j, const hd_event *ev) {
  if (j == NULL)
    return;
  pthread_mutex_lock(&j->lock);
  if (j->failed) {
    pthread_mutex_unlock(&j->lock);
    return;
  }
  uint64_t host = ev->host != NULL ? host_id(j, ev->host) : 0;
  unsigned flags = (ev->failure_allowed ? 1u : 0) |
                   (ev->message != NULL ? 2u : 0) | (host != 0 ? 4u : 0);
  put_u8(j, 'E');
  put_u8(j, (unsigned)ev->type);
  put_varint(j, ev->index);
  put_varint(j, ev->time_ns > j->start_ns ? ev->time_ns - j->start_ns : 0);
  put_varint(j, ev->elapsed_ns);
  put_varint(j, ev->attempt);
  put_varint(j, ev->worker);
  put_varint(j, ev->size);
  put_varint(j, ev->wire_size);
  put_u8(j, flags);
  if (flags & 2)
    put_string(j, ev->message);
  if (flags & 4)
    put_varint(j, host);
  if (j->len >= FLUSH_BYTES)
    flush(j);
  pthread_mutex_unlock(&j->lock);
}

int cli_journal_close(cli_journal *j, int exit_code) {
  if (j == NULL)
    return 0;
  pthread_mutex_lock(&j->lock);
  j->stop = 1;
  pthread_cond_signal(&j->wake);
  pthread_mutex_unlock(&j->lock);
  if (j->flushing)
    pthread_join(j->flusher, NULL);
  pthread_mutex_destroy(&j->lock);
  pthread_cond_destroy(&j->wake);
  put_u8(j, 'Z');
  put_varint(j, (uint64_t)exit_code);
  put_varint(j, mono_ns() - j->start_ns);
  flush(j);
  int rc = 0;
  if (j->failed) {
    cli_error("could not write all of the run's events to %s ('hodos "
              "report' will show only part of the run)",
              j->path);
    rc = -1;
  }
  close(j->fd);
  for (size_t i = 0; i < j->nhosts; i++)
    free(j->hosts[i]);
  free(j->hosts);
  ZSTD_freeCCtx(j->cctx);
  free(j->zbuf);
  free(j->buf);
  free(j->path);
  free(j);
  return rc;
}

/* ---- Reading ---- */

typedef struct reader {
  const unsigned char *p, *end;
  int bad;
} reader;

static uint64_t get_varint(reader *r) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end) {
      r->bad = 1;
      return 0;
    }
    unsigned char b = *r->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80))
      return v;
  }
  r->bad = 1;
  return 0;
}

static unsigned get_u8(reader *r) {
  if (r->p >= r->end) {
    r->bad = 1;
    return 0;
  }
  return *r->p++;
}

/* A string, copied; NULL (and bad) when it does not fit. */
static char *get_string(reader *r) {
  uint64_t n = get_varint(r);
  if (r->bad || n > (uint64_t)(r->end - r->p)) {
    r->bad = 1;
    return NULL;
  }
  char *s = malloc(n + 1);
  if (s == NULL) {
    r->bad = 1;
    return NULL;
  }
  memcpy(s, r->p, n);
  s[n] = '\0';
  r->p += n;
  return s;
}

/* The whole file, decompressed. Frames after a damaged one are lost;
 * *truncated says so. */
static int inflate_file(const char *path, unsigned char **out, size_t *outlen,
                        int *truncated, char *err, size_t errlen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  size_t zlen = (size_t)st.st_size;
  unsigned char *z = malloc(zlen ? zlen : 1);
  if (z == NULL || read_all(fd, z, zlen) != 0) {
    snprintf(err, errlen, "cannot read %s: %s", path,
             z == NULL ? "out of memory" : strerror(errno));
    free(z);
    close(fd);
    return -1;
  }
  close(fd);
  ZSTD_DCtx *d = ZSTD_createDCtx();
  size_t cap = zlen * 4 + 4096, len = 0;
  unsigned char *buf = malloc(cap);
  if (d == NULL || buf == NULL) {
    snprintf(err, errlen, "out of memory reading %s", path);
    ZSTD_freeDCtx(d);
    free(buf);
    free(z);
    return -1;
  }
  ZSTD_inBuffer in = {z, zlen, 0};
  size_t last = 0;
  *truncated = 0;
  while (in.pos < in.size) {
    if (cap - len < (1u << 16)) {
      unsigned char *b = realloc(buf, cap * 2);
      if (b == NULL) {
        *truncated = 1;
        break;
      }
      buf = b;
      cap *= 2;
    }
    ZSTD_outBuffer o = {buf + len, cap - len, 0};
    last = ZSTD_decompressStream(d, &o, &in);
    if (ZSTD_isError(last)) {
      *truncated = 1;
      break;
    }
    len += o.pos;
    if (o.pos == 0 && last != 0 && in.pos == in.size)
      break;
  }
  if (last != 0)
    *truncated = 1; /* the last frame stops in the middle */
  ZSTD_freeDCtx(d);
  free(z);
  *out = buf;
  *outlen = len;
  return 0;
}

void cli_run_log_cleanup(cli_run_log *log) {
  for (size_t i = 0; i < log->count && log->names != NULL; i++)
    free(log->names[i]);
  free(log->names);
  free(log->pred_start);
  free(log->preds);
  free(log->id);
  free(log->file);
  free(log->name);
  free(log->backend);
  memset(log, 0, sizeof(*log));
}

/* Append a predecessor. */
static int add_pred(cli_run_log *log, size_t *cap, uint32_t p) {
  if (log->npreds == *cap) {
    size_t c = *cap ? *cap * 2 : 1024;
    uint32_t *a = realloc(log->preds, c * sizeof(*a));
    if (a == NULL)
      return -1;
    log->preds = a;
    *cap = c;
  }
  log->preds[log->npreds++] = p;
  return 0;
}

static int read_preds(reader *r, cli_run_log *log, size_t *cap) {
  uint64_t n = get_varint(r);
  if (n > (uint64_t)(r->end - r->p))
    r->bad = 1;
  for (uint64_t k = 0; k < n && !r->bad; k++) {
    uint64_t p = get_varint(r);
    if (p >= log->count || add_pred(log, cap, (uint32_t)p) != 0)
      r->bad = 1;
  }
  return r->bad ? -1 : 0;
}

int cli_journal_read(const char *path, cli_run_log *log,
                     cli_journal_event_cb on_event, void *data, char *err,
                     size_t errlen) {
  memset(log, 0, sizeof(*log));
  unsigned char *buf;
  size_t len;
  int truncated;
  if (inflate_file(path, &buf, &len, &truncated, err, errlen) != 0)
    return -1;
  reader r = {buf, buf + len, 0};
  size_t nodes = 0, pcap = 0;
  char **hosts = NULL;
  size_t nhosts = 0;
  int rc = 0;
  if (get_u8(&r) != 'H' || get_varint(&r) != JOURNAL_VERSION) {
    snprintf(err, errlen,
             "%s is not a run's events file hodos can read (made by "
             "another version, or damaged)",
             path);
    free(buf);
    return -1;
  }
  log->wall_start_ns = get_varint(&r);
  log->id = get_string(&r);
  log->file = get_string(&r);
  log->name = get_string(&r);
  log->backend = get_string(&r);
  log->jobs = (unsigned)get_varint(&r);
  uint64_t count = get_varint(&r);
  if (r.bad) {
    snprintf(err, errlen, "%s is damaged: its header is cut short", path);
    cli_run_log_cleanup(log);
    free(buf);
    return -1;
  }
  /* Each task takes at least three bytes in the file. */
  if (r.bad || count > (uint64_t)(r.end - r.p) / 3 || count > UINT32_MAX)
    r.bad = 1;
  else {
    log->count = (size_t)count;
    log->names = calloc(log->count + 1, sizeof(char *));
    log->pred_start = calloc(log->count + 1, sizeof(size_t));
    if (log->names == NULL || log->pred_start == NULL)
      r.bad = 1;
  }
  if (r.bad) {
    snprintf(err, errlen, "%s is damaged: its header does not hold", path);
    cli_run_log_cleanup(log);
    free(buf);
    return -1;
  }
  while (!r.bad && r.p < r.end) {
    const unsigned char *record = r.p;
    unsigned tag = get_u8(&r);
    if (tag == 'N' && nodes < log->count) {
      log->pred_start[nodes] = log->npreds;
      log->names[nodes] = get_string(&r);
      if (log->names[nodes] == NULL) {
        r.bad = 1; /* cut inside the name: the task is not there */
      } else {
        nodes++;
        read_preds(&r, log, &pcap);
      }
    } else if (tag == 'P' && nodes > 0) {
      read_preds(&r, log, &pcap);
    } else if (tag == 'S') {
      uint64_t id = get_varint(&r);
      char *h = get_string(&r);
      char **hs = id == nhosts + 1 && h != NULL
                      ? realloc(hosts, (nhosts + 1) * sizeof(*hs))
                      : NULL;
      if (hs == NULL) {
        free(h);
        r.bad = 1;
      } else {
        hosts = hs;
        hosts[nhosts++] = h;
      }
    } else if (tag == 'E' && nodes == log->count) {
      hd_event ev;
      memset(&ev, 0, sizeof(ev));
      ev.type = (hd_event_type)get_u8(&r);
      uint64_t index = get_varint(&r);
      ev.time_ns = get_varint(&r);
      ev.elapsed_ns = get_varint(&r);
      ev.attempt = (unsigned)get_varint(&r);
      ev.worker = (unsigned)get_varint(&r);
      ev.size = get_varint(&r);
      ev.wire_size = get_varint(&r);
      unsigned flags = get_u8(&r);
      char *message = flags & 2 ? get_string(&r) : NULL;
      uint64_t host = flags & 4 ? get_varint(&r) : 0;
      if (r.bad || index >= log->count || host > nhosts || ev.type < 1 ||
          ev.type > HD_EVENT_RETRIED || (flags & ~7u)) {
        free(message);
        r.bad = 1;
        r.p = record;
        break;
      }
      ev.index = (size_t)index;
      ev.task = log->names[index];
      ev.message = message;
      ev.failure_allowed = flags & 1;
      ev.host = host ? hosts[host - 1] : NULL;
      ev.total = log->count;
      if (ev.type != HD_EVENT_QUEUED && ev.type != HD_EVENT_STARTED &&
          ev.type != HD_EVENT_RETRIED)
        log->ended++;
      ev.done = log->ended;
      if (on_event != NULL)
        on_event(&ev, data);
      free(message);
    } else if (tag == 'Z') {
      log->exit_code = (int)get_varint(&r);
      log->end_ns = get_varint(&r);
      log->finished = !r.bad;
    } else {
      r.bad = 1;
    }
    if (r.bad)
      r.p = record;
  }
  if (nodes < log->count && log->names != NULL) {
    /* A run killed before its tasks were all written: nothing to show. */
    snprintf(err, errlen, "%s is damaged: it ends before its list of tasks",
             path);
    rc = -1;
  } else if (r.bad) {
    log->damaged = 1;
    log->damaged_at = (size_t)(r.p - buf);
  }
  if (log->names != NULL)
    log->pred_start[nodes] = log->npreds;
  log->truncated = truncated;
  for (size_t i = 0; i < nhosts; i++)
    free(hosts[i]);
  free(hosts);
  free(buf);
  if (rc != 0)
    cli_run_log_cleanup(log);
  return rc;
}
