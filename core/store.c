/* The store: see store.h for its files and the format of a record. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
/* Streaming hashes with their state on the stack. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "run.h"
#include "store.h"

#define RECORD_MAGIC "HDR1"
#define RECORD_VERSION 1
#define HEADER 48
/* Results larger than this are not kept. */
#define MAX_PAYLOAD (1ull << 36)
/* Records and journal lines wait in memory at most this long before they
   are written, and are synced to the disk at most SYNC_NS apart. A kill
   loses only what waits (those tasks run again); a crash of the machine,
   what was not synced. */
#define FLUSH_NS 20000000ull
#define FLUSH_BYTES (1u << 20)
#define SYNC_NS 1000000000ull

/* ---- a hash table of keys ---- */

typedef struct slot {
  hd__key key; /* {0, 0}: empty */
  uint64_t off, len;
  uint64_t sum; /* the record's payload checksum (index, resumed) */
} slot;

typedef struct table {
  slot *slots;
  size_t cap, count; /* cap a power of two */
} table;

static int key_empty(hd__key k) { return k.lo == 0 && k.hi == 0; }
static int key_eq(hd__key a, hd__key b) { return a.lo == b.lo && a.hi == b.hi; }

/* Keys are hashes already; {0, 0} is kept for empty slots. */
static hd__key key_norm(hd__key k) {
  if (key_empty(k))
    k.lo = 1;
  return k;
}

static slot *table_find(const table *t, hd__key k) {
  if (t->cap == 0)
    return NULL;
  for (size_t i = k.lo & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
    if (key_empty(t->slots[i].key))
      return NULL;
    if (key_eq(t->slots[i].key, k))
      return &t->slots[i];
  }
}

static int table_put(table *t, hd__key k, uint64_t off, uint64_t len,
                     uint64_t sum) {
  if ((t->count + 1) * 4 > t->cap * 3) {
    size_t cap = t->cap ? 2 * t->cap : 64;
    slot *grown = hd__calloc(cap, sizeof(slot));
    if (grown == NULL)
      return HD_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
      if (key_empty(t->slots[i].key))
        continue;
      size_t j = t->slots[i].key.lo & (cap - 1);
      while (!key_empty(grown[j].key))
        j = (j + 1) & (cap - 1);
      grown[j] = t->slots[i];
    }
    hd__free(t->slots);
    t->slots = grown;
    t->cap = cap;
  }
  size_t i = k.lo & (t->cap - 1);
  while (!key_empty(t->slots[i].key) && !key_eq(t->slots[i].key, k))
    i = (i + 1) & (t->cap - 1);
  if (key_empty(t->slots[i].key))
    t->count++;
  t->slots[i].key = k;
  t->slots[i].off = off;
  t->slots[i].len = len;
  t->slots[i].sum = sum;
  return HD_OK;
}

/* ---- little-endian fields ---- */

static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

/* ---- the store ---- */

struct hd__store {
  char *dir;
  int lock_fd, pack_fd, journal_fd;
  int used_fd; /* when each key was last used, for cleaning; or -1 */
  pthread_mutex_t lock;
  pthread_cond_t wake; /* the flusher's */
  pthread_t flusher;
  int flusher_on, flusher_ready, closing;
  table index;      /* key -> record offset and payload size */
  table resumed;    /* keys of the journal being resumed */
  uint64_t end;     /* where the next record goes */
  uint64_t written; /* the pack's bytes on disk; records past it wait in
                       pack_buf */
  hd__buf pack_buf, journal_buf, used_buf;
  uint64_t last_sync;
  int dirty;
  int write_failed; /* reported once */
  int mode;         /* HD__STORE_* */
  int journal_ok;   /* the journal was read, and begins as one does */
  /* Read: the last run's journal entry of each task, by name. */
  hd__strmap names; /* name -> index into entries */
  struct entry {
    hd__key key;
    int has_parts;
    hd__keyparts parts; /* parts.files points into file_hashes */
    size_t files_at;
  } * entries;
  size_t nentries, capentries;
  uint64_t *file_hashes;
  size_t nfile_hashes, capfile_hashes;
};

static int open_file(hd__store *s, const char *name, int flags, int *fd) {
  hd__buf path = {0};
  if (hd__buf_appendf(&path, "%s/%s", s->dir, name) != HD_OK)
    return HD_ENOMEM;
  hd__fork_shared_begin();
  *fd = open(path.data, flags | O_CLOEXEC, 0600);
  int err = errno;
  if (*fd >= 0 && hd__fork_track(*fd) != HD_OK) {
    close(*fd);
    *fd = -1;
    err = ENOMEM;
  }
  hd__fork_shared_end();
  hd__buf_cleanup(&path);
  errno = err;
  return *fd >= 0 ? HD_OK : err == ENOMEM ? HD_ENOMEM : HD_EIO;
}

static int fail(char **message, int rc, const char *fmt, ...) HD_PRINTF(3, 4);
static int fail(char **message, int rc, const char *fmt, ...) {
  hd__buf b = {0};
  va_list ap;
  va_start(ap, fmt);
  hd__buf_vappendf(&b, fmt, ap);
  va_end(ap);
  *message = b.data;
  return rc;
}

/* Take the lock, or say which process holds it. A lock left by a process
 * that died is the kernel's to release: flock() then succeeds (once the
 * processes it had just forked have let go of it, waited for below). */
static int take_lock(hd__store *s, char **message) {
  int rc = open_file(s, "lock", O_RDWR | O_CREAT, &s->lock_fd);
  if (rc != HD_OK)
    return fail(message, rc, "cannot open %s/lock: %s", s->dir,
                strerror(errno));
  int locked = flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0;
  int err = errno;
  char pid[32] = "";
  if (!locked) {
    ssize_t n = pread(s->lock_fd, pid, sizeof(pid) - 1, 0);
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
  }
  /* The run that wrote its process id there has died, yet the lock is
     held: by a process it had just forked, between the fork and the
     exec or the closing of its copies (core/fork.c), which a loaded
     machine can stretch to tens of milliseconds. Those end soon: wait
     for them, up to two seconds. */
  char *end = NULL;
  long holder = strtol(pid, &end, 10);
  for (int tries = 0; !locked && err == EWOULDBLOCK && pid[0] != '\0' &&
                      *end == '\0' && holder > 0 && tries < 200 &&
                      kill((pid_t)holder, 0) != 0 && errno == ESRCH;
       tries++) {
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
    locked = flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0;
    err = errno;
  }
  if (!locked) {
    if (err == EWOULDBLOCK)
      return fail(message, HD_ESTATE,
                  "the store %s is in use by another run (process %s); wait "
                  "for it to end, or give this run another store",
                  s->dir, pid[0] ? pid : "unknown");
    return fail(message, HD_EIO, "cannot lock %s/lock: %s", s->dir,
                strerror(err));
  }
  char me[32];
  int len = snprintf(me, sizeof(me), "%ld\n", (long)getpid());
  if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, me, len, 0) != len)
    return fail(message, HD_EIO, "cannot write %s/lock: %s", s->dir,
                strerror(errno));
  return HD_OK;
}

/* Whether the 48 bytes at h are a valid record header; its payload size
 * in *len. */
static int header_ok(const unsigned char *h, uint64_t *len) {
  if (memcmp(h, RECORD_MAGIC, 4) != 0 || get32(h + 4) != RECORD_VERSION ||
      XXH3_64bits(h, 40) != get64(h + 40))
    return 0;
  *len = get64(h + 24);
  return *len <= MAX_PAYLOAD;
}

/* Read every record's header into the index. A record cut short at the
 * end is cut off; damaged bytes are passed over to the next valid header
 * (with a warning). */
static int scan_pack(hd__store *s, char **message) {
  struct stat st;
  if (fstat(s->pack_fd, &st) != 0)
    return fail(message, HD_EIO, "cannot read %s/pack: %s", s->dir,
                strerror(errno));
  uint64_t size = (uint64_t)st.st_size, off = 0, good_end = 0;
  uint64_t skipped = 0;
  enum { CHUNK = 1 << 16 };
  unsigned char *buf = hd__malloc(CHUNK);
  if (buf == NULL)
    return HD_ENOMEM;
  uint64_t buf_off = 0, buf_len = 0; /* the bytes of the file in buf */
  int rc = HD_OK;
  while (off + HEADER <= size) {
    if (off < buf_off || off + HEADER > buf_off + buf_len) {
      ssize_t n = pread(s->pack_fd, buf, CHUNK, (off_t)off);
      if (n < HEADER) {
        rc = fail(message, HD_EIO, "cannot read %s/pack: %s", s->dir,
                  n < 0 ? strerror(errno) : "cut short");
        break;
      }
      buf_off = off;
      buf_len = (uint64_t)n;
    }
    const unsigned char *h = buf + (off - buf_off);
    uint64_t len;
    if (!header_ok(h, &len)) {
      off++; /* damaged: look for the next record */
      skipped++;
      continue;
    }
    if (off + HEADER + len > size)
      break; /* cut short by a kill */
    hd__key k = {get64(h + 8), get64(h + 16)};
    if ((rc = table_put(&s->index, key_norm(k), off, len, get64(h + 32))) !=
        HD_OK)
      break;
    off += HEADER + len;
    good_end = off;
  }
  hd__free(buf);
  if (rc != HD_OK)
    return rc;
  if (skipped > 0)
    hd__log(HD_LOG_WARN,
            "store %s: %llu damaged bytes in its pack were passed over", s->dir,
            (unsigned long long)skipped);
  if (good_end < size && s->mode != HD__STORE_READ &&
      ftruncate(s->pack_fd, (off_t)good_end) != 0)
    return fail(message, HD_EIO, "cannot repair %s/pack: %s", s->dir,
                strerror(errno));
  s->end = good_end;
  return HD_OK;
}

static int parse_hex(const char *p, uint64_t *v) {
  uint64_t x = 0;
  for (int i = 0; i < 16; i++) {
    char c = p[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0)
      return 0;
    x = x << 4 | (uint64_t)d;
  }
  *v = x;
  return 1;
}

/* Parse "DEF VALS FILES " (each 16 hex digits or "-", FILES a comma
 * list) at *p into e; *p moves past them. Returns 0 when they are not
 * there (a journal of an older format). */
static int parse_parts(hd__store *s, char **p, struct entry *e) {
  char *q = *p;
  uint64_t def, vals;
  if (!parse_hex(q, &def) || q[16] != ' ' || !parse_hex(q + 17, &vals) ||
      q[33] != ' ')
    return 0;
  q += 34;
  e->parts.def = def;
  e->parts.values = vals;
  e->parts.nfiles = 0;
  e->files_at = s->nfile_hashes;
  if (*q == '-') {
    q++;
  } else {
    for (;;) {
      uint64_t h;
      if (!parse_hex(q, &h) ||
          hd__grow((void **)&s->file_hashes, &s->capfile_hashes,
                   s->nfile_hashes + 1, sizeof(uint64_t)) != HD_OK)
        return 0;
      s->file_hashes[s->nfile_hashes++] = h;
      e->parts.nfiles++;
      q += 16;
      if (*q != ',')
        break;
      q++;
    }
  }
  if (*q != ' ')
    return 0;
  *p = q + 1;
  return 1;
}

/* Read the journal since its last fresh start: the keys (for a resumed
 * run), and with names, each task's last entry. Lines: "run fresh|resume
 * PID", "rec HI LO SUM", "key HI LO DEF VALS FILES NAME". A "rec" line
 * comes just before the "key" line it belongs to and names the record
 * the task finished with or reused, by its payload checksum: a resumed
 * run takes that record and no other of the key (an older one, when the
 * header of the last was damaged, is not the last run's result). A key
 * without one (a journal of an older hodos) takes the key's record. */
static int read_journal(hd__store *s, int names) {
  struct stat st;
  if (fstat(s->journal_fd, &st) != 0)
    return HD_EIO;
  size_t size = (size_t)st.st_size;
  char *text = hd__malloc(size + 1);
  if (text == NULL)
    return HD_ENOMEM;
  size_t got = 0;
  while (got < size) {
    ssize_t n = pread(s->journal_fd, text + got, size - got, (off_t)got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  text[got] = '\0';
  /* Every run starts its journal with a "run" line: without one, it is
     not a journal (the last run's keys are not known). */
  s->journal_ok = (got >= 10 && memcmp(text, "run fresh ", 10) == 0) ||
                  (got >= 11 && memcmp(text, "run resume ", 11) == 0);
  int rc = HD_OK;
  hd__key rec_key = {0, 0};
  uint64_t rec_sum = 0;
  int rec_on = 0; /* the line before was a "rec" line */
  for (char *line = text; line < text + got && rc == HD_OK;) {
    char *nl = memchr(line, '\n', (size_t)(text + got - line));
    if (nl == NULL)
      break; /* a line cut short by a kill */
    *nl = '\0';
    hd__key k;
    int was_rec = rec_on;
    rec_on = 0;
    if (strncmp(line, "run fresh", 9) == 0) {
      hd__free(s->resumed.slots);
      memset(&s->resumed, 0, sizeof(s->resumed));
      hd__strmap_cleanup(&s->names);
      s->nentries = s->nfile_hashes = 0;
    } else if (strncmp(line, "rec ", 4) == 0 && nl - line == 4 + 50 &&
               parse_hex(line + 4, &rec_key.hi) && line[20] == ' ' &&
               parse_hex(line + 21, &rec_key.lo) && line[37] == ' ' &&
               parse_hex(line + 38, &rec_sum)) {
      rec_on = 1;
    } else if (strncmp(line, "key ", 4) == 0 && nl - line >= 4 + 33 &&
               parse_hex(line + 4, &k.hi) && line[20] == ' ' &&
               parse_hex(line + 21, &k.lo)) {
      int known = was_rec && key_eq(rec_key, k);
      rc = table_put(&s->resumed, key_norm(k), (uint64_t)known, 0,
                     known ? rec_sum : 0);
      char *p = line + 38;
      struct entry e;
      memset(&e, 0, sizeof(e));
      e.key = k;
      if (names && rc == HD_OK && line[37] == ' ' && p < nl) {
        if (p[0] == '-' && p[1] == ' ')
          p += 2; /* written without its parts */
        else
          e.has_parts = parse_parts(s, &p, &e);
        rc = hd__grow((void **)&s->entries, &s->capentries, s->nentries + 1,
                      sizeof(e));
        if (rc == HD_OK) {
          s->entries[s->nentries] = e;
          rc = hd__strmap_put(&s->names, p, s->nentries++);
        }
      }
    }
    line = nl + 1;
  }
  hd__free(text);
  return rc;
}

int hd__store_last(hd__store *s, const char *name, hd__key *key,
                   hd__keyparts *parts) {
  size_t i;
  if (!hd__strmap_get(&s->names, name, &i))
    return 0;
  const struct entry *e = &s->entries[i];
  *key = e->key;
  if (!e->has_parts)
    return 1;
  *parts = e->parts;
  parts->files = e->parts.nfiles > 0 ? s->file_hashes + e->files_at : NULL;
  return 2;
}

static int journal_write(hd__store *s, const char *text, size_t len) {
  s->dirty = 1;
  return hd__write_all(s->journal_fd, text, len);
}

/* Write what waits: records, then journal lines (so that the journal
 * never names a record that is not there). With s->lock held. */
static void flush_locked(hd__store *s) {
  if (s->pack_buf.len == 0 && s->journal_buf.len == 0)
    return;
  int rc = HD_OK;
  if (s->pack_buf.len > 0) {
    rc = hd__pwrite_all(s->pack_fd, s->pack_buf.data, s->pack_buf.len,
                        s->written);
    if (rc == HD_OK) {
      s->written += s->pack_buf.len;
    } else {
      /* Forget the records that could not be written; their space is
         taken by the next ones. */
      for (size_t i = 0; i < s->index.cap; i++)
        if (!key_empty(s->index.slots[i].key) &&
            s->index.slots[i].off >= s->written)
          s->index.slots[i].len = UINT64_MAX;
      s->end = s->written;
      if (ftruncate(s->pack_fd, (off_t)s->written) != 0) {
        /* The next scan cuts what is left. */
      }
    }
    s->pack_buf.len = 0;
  }
  if (rc == HD_OK && s->journal_buf.len > 0)
    rc = journal_write(s, s->journal_buf.data, s->journal_buf.len);
  s->journal_buf.len = 0;
  /* When keys were used only orders cleaning: losing some costs nothing
     but a less apt choice, so a failure here is not reported. */
  if (rc == HD_OK && s->used_buf.len > 0 && s->used_fd >= 0)
    (void)hd__write_all(s->used_fd, s->used_buf.data, s->used_buf.len);
  s->used_buf.len = 0;
  if (rc != HD_OK && !s->write_failed) {
    s->write_failed = 1;
    hd__log(HD_LOG_WARN,
            "store %s: cannot write (%s); results made from now on may be "
            "made again by a later run",
            s->dir, strerror(errno));
  }
  s->dirty = 1;
}

/* Writes what waits FLUSH_NS after it came, and syncs once a second. */
/* The flusher allocates nothing once it waits, and writes outside of
 * forks (fork.c): a worker forked meanwhile must not inherit a lock held
 * by this thread, such as a sanitizer's allocator lock. */
static void *flusher_main(void *arg) {
  hd__store *s = arg;
  pthread_mutex_lock(&s->lock);
  s->flusher_ready = 1;
  pthread_cond_broadcast(&s->wake);
  while (!s->closing) {
    if (s->pack_buf.len == 0 && s->journal_buf.len == 0) {
      pthread_cond_wait(&s->wake, &s->lock);
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)FLUSH_NS;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    hd__fork_shared_begin();
    flush_locked(s);
    hd__fork_shared_end();
    uint64_t now = hd__now_ns();
    if (now - s->last_sync >= SYNC_NS) {
      s->last_sync = now;
      fdatasync(s->pack_fd);
      fdatasync(s->journal_fd);
    }
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* ---- when keys were last used ----
 * The file "used" holds records of 32 bytes, appended as tasks finish or
 * reuse a result: the key (lo, hi), the time in nanoseconds since the
 * epoch,
 * and an XXH3-64 of those 24 bytes. A record cut short or damaged is
 * passed over. */

#define USE_SIZE 32

static void use_record(unsigned char *p, hd__key key, uint64_t when) {
  put64(p, key.lo);
  put64(p + 8, key.hi);
  put64(p + 16, when);
  put64(p + 24, XXH3_64bits(p, 24));
}

/* Read the file into uses: key -> the latest time (in the slot's off). */
static int read_uses(hd__store *s, table *uses, uint64_t *size) {
  struct stat st;
  *size = 0;
  if (s->used_fd < 0 || fstat(s->used_fd, &st) != 0)
    return HD_OK;
  *size = (uint64_t)st.st_size;
  unsigned char buf[USE_SIZE * 256];
  for (uint64_t at = 0; at + USE_SIZE <= *size;) {
    size_t want = sizeof(buf);
    if (*size - at < want)
      want = (size_t)(*size - at) / USE_SIZE * USE_SIZE;
    if (hd__pread_all(s->used_fd, buf, want, at) != HD_OK)
      return HD_EIO;
    for (size_t i = 0; i < want; i += USE_SIZE) {
      const unsigned char *p = buf + i;
      if (XXH3_64bits(p, 24) != get64(p + 24))
        continue;
      hd__key k = key_norm((hd__key){get64(p), get64(p + 8)});
      uint64_t when = get64(p + 16);
      slot *sl = table_find(uses, k);
      if (sl == NULL) {
        if (table_put(uses, k, when, 0, 0) != HD_OK)
          return HD_ENOMEM;
      } else if (when > sl->off) {
        sl->off = when;
      }
    }
    at += want;
  }
  return HD_OK;
}

/* Replace the file with one record per key of uses that keep accepts
 * (NULL: every one): a new file renamed into place. */
static int write_uses(hd__store *s, const table *uses,
                      int (*keep)(hd__store *s, hd__key k)) {
  hd__buf tmp = {0}, final = {0}, out = {0};
  int rc = hd__buf_appendf(&tmp, "%s/used.new", s->dir);
  if (rc == HD_OK)
    rc = hd__buf_appendf(&final, "%s/used", s->dir);
  for (size_t i = 0; rc == HD_OK && i < uses->cap; i++) {
    const slot *sl = &uses->slots[i];
    if (key_empty(sl->key) || (keep != NULL && !keep(s, sl->key)))
      continue;
    unsigned char rec[USE_SIZE];
    use_record(rec, sl->key, sl->off);
    rc = hd__buf_append(&out, (const char *)rec, USE_SIZE);
  }
  int fd = -1;
  if (rc == HD_OK) {
    hd__fork_shared_begin();
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 ||
        hd__pwrite_all(fd, out.data ? out.data : "", out.len, 0) != HD_OK ||
        rename(tmp.data, final.data) != 0)
      rc = HD_EIO;
    if (fd >= 0)
      close(fd);
    if (rc != HD_OK)
      unlink(tmp.data);
    /* Appends go to the new file from now on. */
    int nfd =
        rc == HD_OK ? open(final.data, O_RDWR | O_APPEND | O_CLOEXEC) : -1;
    if (nfd >= 0 && hd__fork_track(nfd) == HD_OK) {
      hd__fork_close(s->used_fd);
      s->used_fd = nfd;
    } else if (nfd >= 0) {
      close(nfd);
    }
    hd__fork_shared_end();
  }
  hd__buf_cleanup(&tmp);
  hd__buf_cleanup(&final);
  hd__buf_cleanup(&out);
  return rc;
}

static int key_kept(hd__store *s, hd__key k) {
  const slot *sl = table_find(&s->index, k);
  return sl != NULL && sl->len != UINT64_MAX;
}

/* Keep the file from growing with every run: once it holds many more
 * records than the pack has keys, rewrite it with the latest of each. */
static void tidy_uses(hd__store *s) {
  struct stat st;
  if (s->used_fd < 0 || fstat(s->used_fd, &st) != 0 ||
      (uint64_t)st.st_size < (1u << 20) ||
      (uint64_t)st.st_size < 8ull * USE_SIZE * s->index.count)
    return;
  table uses = {0};
  uint64_t size;
  if (read_uses(s, &uses, &size) == HD_OK)
    (void)write_uses(s, &uses, key_kept);
  hd__free(uses.slots);
}

int hd__store_open(const char *dir, int mode, hd__store **out, char **message) {
  *out = NULL;
  *message = NULL;
  int resume = mode == HD__STORE_RESUME, ro = mode == HD__STORE_READ;
  hd__store *s = hd__calloc(1, sizeof(*s));
  if (s == NULL || (s->dir = hd__strdup(dir)) == NULL) {
    hd__free(s);
    return HD_ENOMEM;
  }
  s->lock_fd = s->pack_fd = s->journal_fd = s->used_fd = -1;
  s->mode = mode;
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->wake, &ca);
  pthread_condattr_destroy(&ca);
  int rc = HD_OK;
  if (ro) {
    struct stat st;
    if (stat(dir, &st) != 0)
      rc = fail(message, errno == ENOENT ? HD_ENOENT : HD_EIO,
                "cannot read the store %s: %s", dir, strerror(errno));
  } else {
    mode_t old = umask(077);
    if (hd__make_dirs(dir) != HD_OK)
      rc = fail(message, HD_EIO, "cannot create the store %s: %s", dir,
                strerror(errno));
    umask(old);
    if (rc == HD_OK)
      chmod(dir, 0700); /* also a folder made before with another umask */
    if (rc == HD_OK)
      rc = take_lock(s, message);
  }
  int flags = ro ? O_RDONLY : O_RDWR | O_CREAT;
  if (rc == HD_OK && (rc = open_file(s, "pack", flags, &s->pack_fd)) != HD_OK)
    rc = fail(message, ro && errno == ENOENT ? HD_ENOENT : rc,
              "cannot open %s/pack: %s", dir, strerror(errno));
  if (rc == HD_OK)
    rc = scan_pack(s, message);
  /* Cleaning reads the journal only, and never makes one: a journal that
     is missing must not read as a last run that used nothing. */
  int jflags = mode == HD__STORE_CLEAN ? O_RDONLY : flags | (ro ? 0 : O_APPEND);
  if (rc == HD_OK &&
      (rc = open_file(s, "journal", jflags, &s->journal_fd)) != HD_OK) {
    if ((ro || mode == HD__STORE_CLEAN) && errno == ENOENT)
      rc = HD_OK; /* no run has written one: nothing to tell */
    else
      rc =
          fail(message, rc, "cannot open %s/journal: %s", dir, strerror(errno));
  }
  if (rc == HD_OK && mode != HD__STORE_FRESH && s->journal_fd >= 0 &&
      (rc = read_journal(s, ro)) != HD_OK)
    rc = fail(message, rc, "cannot read %s/journal: %s", dir, hd_strerror(rc));
  struct stat jst;
  if (rc == HD_OK && resume && !s->journal_ok &&
      fstat(s->journal_fd, &jst) == 0 && jst.st_size > 0) {
    /* Not a journal (damaged): nothing of the last run can be known, and
       lines added after the damage would not make it one again. */
    hd__log(HD_LOG_WARN,
            "store %s: its journal is not one hodos can read; this run "
            "cannot resume the last one and starts a new journal",
            dir);
    resume = 0;
    hd__free(s->resumed.slots);
    memset(&s->resumed, 0, sizeof(s->resumed));
  }
  if (rc == HD_OK &&
      (mode == HD__STORE_FRESH || (mode == HD__STORE_RESUME && !resume)) &&
      ftruncate(s->journal_fd, 0) != 0)
    rc = fail(message, HD_EIO, "cannot write %s/journal: %s", dir,
              strerror(errno));
  if (rc == HD_OK && (mode == HD__STORE_FRESH || mode == HD__STORE_RESUME)) {
    char line[64];
    int len = snprintf(line, sizeof(line), "run %s %ld\n",
                       resume ? "resume" : "fresh", (long)getpid());
    if (journal_write(s, line, (size_t)len) != HD_OK)
      rc = fail(message, HD_EIO, "cannot write %s/journal: %s", dir,
                strerror(errno));
  }
  if (rc == HD_OK && !ro &&
      (rc = open_file(s, "used", O_RDWR | O_CREAT | O_APPEND, &s->used_fd)) !=
          HD_OK)
    rc = fail(message, rc, "cannot open %s/used: %s", dir, strerror(errno));
  if (rc == HD_OK && mode != HD__STORE_CLEAN)
    tidy_uses(s);
  if (rc != HD_OK && *message == NULL)
    *message = hd__strdup(hd_strerror(rc));
  if (rc != HD_OK) {
    hd__store_close(s);
    return rc;
  }
  s->written = s->end;
  s->last_sync = hd__now_ns();
  if (mode == HD__STORE_READ || mode == HD__STORE_CLEAN) {
    *out = s;
    return HD_OK;
  }
  if (pthread_create(&s->flusher, NULL, flusher_main, s) != 0) {
    hd__store_close(s);
    *message = hd__strdup("cannot start the store's writer thread");
    return HD_ENOMEM;
  }
  s->flusher_on = 1;
  pthread_mutex_lock(&s->lock);
  while (!s->flusher_ready)
    pthread_cond_wait(&s->wake, &s->lock);
  pthread_mutex_unlock(&s->lock);
  *out = s;
  return HD_OK;
}

void hd__store_close(hd__store *s) {
  if (s == NULL)
    return;
  if (s->flusher_on) {
    pthread_mutex_lock(&s->lock);
    s->closing = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->flusher, NULL);
  }
  pthread_mutex_lock(&s->lock);
  flush_locked(s);
  pthread_mutex_unlock(&s->lock);
  if (s->dirty) {
    if (s->pack_fd >= 0)
      fdatasync(s->pack_fd);
    if (s->journal_fd >= 0)
      fdatasync(s->journal_fd);
  }
  hd__fork_close(s->journal_fd);
  hd__fork_close(s->used_fd);
  hd__fork_close(s->pack_fd);
  hd__fork_close(s->lock_fd); /* releases the lock */
  pthread_mutex_destroy(&s->lock);
  pthread_cond_destroy(&s->wake);
  hd__buf_cleanup(&s->pack_buf);
  hd__buf_cleanup(&s->journal_buf);
  hd__buf_cleanup(&s->used_buf);
  hd__free(s->index.slots);
  hd__free(s->resumed.slots);
  hd__strmap_cleanup(&s->names);
  hd__free(s->entries);
  hd__free(s->file_hashes);
  hd__free(s->dir);
  hd__free(s);
}

int hd__store_resumed(hd__store *s, hd__key key) {
  key = key_norm(key);
  const slot *r = table_find(&s->resumed, key);
  if (r == NULL)
    return 0;
  if (r->off == 0)
    return 1; /* which record is not known */
  pthread_mutex_lock(&s->lock);
  const slot *sl = table_find(&s->index, key);
  int same = sl == NULL || sl->len == UINT64_MAX || sl->sum == r->sum;
  pthread_mutex_unlock(&s->lock);
  return same;
}

/* Forget a damaged record: the slot stays (the table has no deletion) but
 * points nowhere. */
static void forget(hd__store *s, hd__key key) {
  pthread_mutex_lock(&s->lock);
  slot *sl = table_find(&s->index, key_norm(key));
  if (sl != NULL)
    sl->len = UINT64_MAX;
  pthread_mutex_unlock(&s->lock);
}

int hd__store_get(hd__store *s, hd__key key, hd_value **value, hd__key *outputs,
                  uint32_t max_outputs, uint32_t *noutputs) {
  *value = NULL;
  *noutputs = 0;
  pthread_mutex_lock(&s->lock);
  slot *sl = table_find(&s->index, key_norm(key));
  uint64_t off = sl ? sl->off : 0, len = sl ? sl->len : UINT64_MAX;
  if (len != UINT64_MAX && off + HEADER + len > s->written) {
    flush_locked(s); /* made by this run a moment ago */
    len = sl->len;
  }
  pthread_mutex_unlock(&s->lock);
  if (len == UINT64_MAX)
    return HD_ENOENT;
  unsigned char *rec = hd__malloc(HEADER + len);
  if (rec == NULL)
    return HD_ENOMEM;
  int rc = hd__pread_all(s->pack_fd, rec, HEADER + len, off);
  uint64_t hlen;
  if (rc == HD_OK && (!header_ok(rec, &hlen) || hlen != len))
    rc = HD_ECORRUPT;
  const unsigned char *pl = rec + HEADER;
  if (rc == HD_OK && XXH3_64bits(pl, len) != get64(rec + 32))
    rc = HD_ECHECKSUM;
  uint32_t nout = 0;
  if (rc == HD_OK) {
    nout = len >= 8 ? get32(pl) : UINT32_MAX;
    if (nout == UINT32_MAX || (uint64_t)nout * 16 > len - 8)
      rc = HD_ECORRUPT;
  }
  if (rc == HD_OK) {
    for (uint32_t i = 0; i < nout && i < max_outputs; i++) {
      outputs[i].lo = get64(pl + 8 + 16 * i);
      outputs[i].hi = get64(pl + 16 + 16 * i);
    }
    *noutputs = nout;
    size_t at = 8 + 16 * (size_t)nout;
    rc = hd_value_decode(pl + at, len - at, (size_t)MAX_PAYLOAD, value);
    /* A record that passed its checksums and does not decode (a frame
       that claims more than a record holds) is damaged like any other. */
    if (rc == HD_ETOOBIG)
      rc = HD_ECORRUPT;
  }
  hd__free(rec);
  if (rc == HD_ECHECKSUM || rc == HD_ECORRUPT || rc == HD_ETRUNC) {
    forget(s, key);
    rc = rc == HD_ETRUNC ? HD_ECORRUPT : rc;
  }
  return rc;
}

int hd__store_put(hd__store *s, hd__key key, const hd_value *value,
                  const hd__key *outputs, uint32_t noutputs) {
  hd_value *frame;
  int rc = hd_value_encode(value, 1, &frame);
  if (rc != HD_OK)
    return rc;
  size_t flen = hd_value_size(frame);
  size_t pre = 8 + 16 * (size_t)noutputs; /* the payload before the frame */
  uint64_t len = pre + flen;
  if (len > MAX_PAYLOAD) {
    hd_value_unref(frame);
    return HD_ETOOBIG;
  }
  /* The header and the start of the payload; the frame follows as it is,
     never copied into a record of its own. */
  unsigned char small[HEADER + 8 + 16 * 4];
  unsigned char *head =
      HEADER + pre <= sizeof(small) ? small : hd__malloc(HEADER + pre);
  if (head == NULL) {
    hd_value_unref(frame);
    return HD_ENOMEM;
  }
  unsigned char *pl = head + HEADER;
  put32(pl, noutputs);
  put32(pl + 4, 0);
  for (uint32_t i = 0; i < noutputs; i++) {
    put64(pl + 8 + 16 * i, outputs[i].lo);
    put64(pl + 16 + 16 * i, outputs[i].hi);
  }
  XXH3_state_t st;
  XXH3_64bits_reset(&st);
  XXH3_64bits_update(&st, pl, pre);
  XXH3_64bits_update(&st, hd_value_data(frame), flen);
  key = key_norm(key);
  memcpy(head, RECORD_MAGIC, 4);
  put32(head + 4, RECORD_VERSION);
  put64(head + 8, key.lo);
  put64(head + 16, key.hi);
  put64(head + 24, len);
  uint64_t sum = XXH3_64bits_digest(&st);
  put64(head + 32, sum);
  put64(head + 40, XXH3_64bits(head, 40));
  pthread_mutex_lock(&s->lock);
  uint64_t off = s->end;
  if (flen >= FLUSH_BYTES) {
    /* Large: what waits goes first, then this record straight to the
       pack. */
    flush_locked(s);
    off = s->end;
    rc = hd__pwrite_all(s->pack_fd, (const char *)head, HEADER + pre, off);
    if (rc == HD_OK)
      rc = hd__pwrite_all(s->pack_fd, hd_value_data(frame), flen,
                          off + HEADER + pre);
    if (rc == HD_OK) {
      s->written = off + HEADER + len;
      s->dirty = 1;
    } else if (ftruncate(s->pack_fd, (off_t)off) != 0) {
      /* The next scan cuts what is left. */
    }
  } else {
    rc = hd__buf_append(&s->pack_buf, head, HEADER + pre);
    if (rc == HD_OK)
      rc = hd__buf_append(&s->pack_buf, hd_value_data(frame), flen);
    if (rc != HD_OK)
      s->pack_buf.len = (size_t)(off - s->written); /* as it was */
  }
  if (rc == HD_OK) {
    s->end = off + HEADER + len;
    rc = table_put(&s->index, key, off, len, sum);
    if (s->pack_buf.len >= FLUSH_BYTES)
      flush_locked(s);
    else if (s->pack_buf.len > 0)
      pthread_cond_signal(&s->wake);
  }
  pthread_mutex_unlock(&s->lock);
  if (head != small)
    hd__free(head);
  hd_value_unref(frame);
  return rc;
}

int hd__store_journal(hd__store *s, hd__key key, const hd__keyparts *parts,
                      const char *name) {
  hd__buf line = {0};
  int rc =
      hd__buf_appendf(&line, "key %016llx %016llx ", (unsigned long long)key.hi,
                      (unsigned long long)key.lo);
  if (rc == HD_OK && parts != NULL) {
    rc = hd__buf_appendf(&line, "%016llx %016llx ",
                         (unsigned long long)parts->def,
                         (unsigned long long)parts->values);
    for (uint32_t i = 0; rc == HD_OK && i < parts->nfiles; i++)
      rc = hd__buf_appendf(&line, "%s%016llx", i ? "," : "",
                           (unsigned long long)parts->files[i]);
    if (rc == HD_OK)
      rc = hd__buf_appendf(&line, "%s ", parts->nfiles ? "" : "-");
  } else if (rc == HD_OK) {
    rc = hd__buf_appendf(&line, "- ");
  }
  size_t name_at = line.len;
  if (rc == HD_OK)
    rc = hd__buf_appendf(&line, "%s\n", name);
  if (rc != HD_OK) {
    hd__buf_cleanup(&line);
    return rc;
  }
  /* A name holds no newline that would split its line. */
  for (size_t i = name_at; i + 1 < line.len; i++)
    if (line.data[i] == '\n')
      line.data[i] = ' ';
  unsigned char use[USE_SIZE];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  use_record(use, key,
             (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec);
  pthread_mutex_lock(&s->lock);
  /* The record the task finished with or reused, named first: see
     read_journal(). */
  size_t was = s->journal_buf.len;
  const slot *sl = table_find(&s->index, key_norm(key));
  if (sl != NULL && sl->len != UINT64_MAX) {
    char rec[64];
    int n = snprintf(rec, sizeof(rec), "rec %016llx %016llx %016llx\n",
                     (unsigned long long)key.hi, (unsigned long long)key.lo,
                     (unsigned long long)sl->sum);
    rc = hd__buf_append(&s->journal_buf, rec, (size_t)n);
  }
  if (rc == HD_OK)
    rc = hd__buf_append(&s->journal_buf, line.data, line.len);
  if (rc != HD_OK)
    s->journal_buf.len = was; /* no "rec" line without its "key" line */
  if (rc == HD_OK)
    rc = hd__buf_append(&s->used_buf, (const char *)use, USE_SIZE);
  if (rc == HD_OK)
    pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  hd__buf_cleanup(&line);
  return rc;
}

/* ---- cleaning ---- */

typedef struct live {
  hd__key key;
  uint64_t off, len;
  uint64_t last; /* when last used (ns since the epoch), 0: not known */
  int used;      /* by the last run */
} live;

/* What to keep first: the last run's, then the most recently used, then
 * the later made. */
static int by_keep(const void *a, const void *b) {
  const live *x = a, *y = b;
  if (x->used != y->used)
    return x->used ? -1 : 1;
  if (x->last != y->last)
    return x->last > y->last ? -1 : 1;
  return x->off > y->off ? -1 : x->off < y->off;
}

static int by_off(const void *a, const void *b) {
  const live *x = a, *y = b;
  return x->off < y->off ? -1 : x->off > y->off;
}

int hd__store_compact(hd__store *s, uint64_t max_bytes, size_t *kept,
                      size_t *removed, uint64_t *kept_bytes,
                      uint64_t *freed_bytes, char **message) {
  *kept = *removed = 0;
  *kept_bytes = *freed_bytes = 0;
  live *l = hd__calloc(s->index.count + 1, sizeof(live));
  table uses = {0};
  uint64_t used_size;
  if (l == NULL || read_uses(s, &uses, &used_size) == HD_ENOMEM) {
    hd__free(l);
    hd__free(uses.slots);
    return HD_ENOMEM;
  }
  size_t n = 0, forgotten = 0;
  for (size_t i = 0; i < s->index.cap; i++) {
    const slot *sl = &s->index.slots[i];
    if (key_empty(sl->key))
      continue;
    if (sl->len == UINT64_MAX) {
      forgotten++;
      continue;
    }
    l[n].key = sl->key;
    l[n].off = sl->off;
    l[n].len = sl->len;
    l[n].used = table_find(&s->resumed, sl->key) != NULL;
    const slot *u = table_find(&uses, sl->key);
    l[n].last = u != NULL ? u->off : 0;
    n++;
  }
  /* What the last run used is known from its journal only: without one,
     a plain clean would drop every result. It refuses, changing nothing;
     a clean to a size keeps the most recently used. */
  if (!s->journal_ok && n + forgotten > 0) {
    if (max_bytes == 0) {
      hd__free(l);
      hd__free(uses.slots);
      return fail(message, HD_ECORRUPT,
                  "cannot tell which results the last run used: %s/journal "
                  "%s; nothing was dropped ('hodos clean --max-size SIZE' "
                  "keeps the most recently used)",
                  s->dir,
                  s->journal_fd < 0 ? "is missing" : "is not a journal");
    }
    hd__log(HD_LOG_WARN,
            "store %s: the journal %s; the most recently used results are "
            "kept first",
            s->dir, s->journal_fd < 0 ? "is missing" : "is not a journal");
  }
  qsort(l, n, sizeof(*l), by_keep);
  size_t keep = 0;
  uint64_t total = 0;
  for (; keep < n; keep++) {
    uint64_t size = HEADER + l[keep].len;
    if (max_bytes == 0 ? !l[keep].used : total + size > max_bytes)
      break;
    total += size;
  }
  qsort(l, keep, sizeof(*l), by_off);
  hd__buf tmp = {0}, final = {0};
  int rc = hd__buf_appendf(&tmp, "%s/pack.new", s->dir);
  if (rc == HD_OK)
    rc = hd__buf_appendf(&final, "%s/pack", s->dir);
  int fd = -1;
  if (rc == HD_OK) {
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      rc = fail(message, HD_EIO, "cannot write %s: %s", tmp.data,
                strerror(errno));
  }
  uint64_t at = 0;
  unsigned char *rec = NULL;
  size_t cap = 0;
  for (size_t i = 0; rc == HD_OK && i < keep; i++) {
    size_t size = (size_t)(HEADER + l[i].len);
    if (size > cap) {
      unsigned char *grown = hd__realloc(rec, size);
      if (grown == NULL) {
        rc = HD_ENOMEM;
        break;
      }
      rec = grown;
      cap = size;
    }
    uint64_t hlen;
    if (hd__pread_all(s->pack_fd, rec, size, l[i].off) != HD_OK ||
        !header_ok(rec, &hlen) || hlen != l[i].len ||
        XXH3_64bits(rec + HEADER, l[i].len) != get64(rec + 32)) {
      (*removed)++; /* damaged: dropped */
      continue;
    }
    if (hd__pwrite_all(fd, (const char *)rec, size, at) != HD_OK)
      rc = fail(message, HD_EIO, "cannot write %s: %s", tmp.data,
                strerror(errno));
    at += size;
    (*kept)++;
  }
  hd__free(rec);
  if (rc == HD_OK && fsync(fd) != 0)
    rc =
        fail(message, HD_EIO, "cannot write %s: %s", tmp.data, strerror(errno));
  if (fd >= 0)
    close(fd);
  struct stat st;
  uint64_t old = fstat(s->pack_fd, &st) == 0 ? (uint64_t)st.st_size : 0;
  if (rc == HD_OK && rename(tmp.data, final.data) != 0)
    rc = fail(message, HD_EIO, "cannot replace %s: %s", final.data,
              strerror(errno));
  if (rc == HD_OK) {
    int dfd = open(s->dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    *removed += n - keep + forgotten;
    *kept_bytes = at;
    *freed_bytes = old > at ? old - at : 0;
    /* The times of the keys kept, and no others. */
    table times = {0};
    int ok = 1;
    for (size_t i = 0; ok && i < keep; i++)
      if (l[i].last != 0)
        ok = table_put(&times, l[i].key, l[i].last, 0, 0) == HD_OK;
    if (ok)
      (void)write_uses(s, &times, NULL);
    hd__free(times.slots);
  } else if (tmp.data != NULL) {
    unlink(tmp.data);
  }
  hd__buf_cleanup(&tmp);
  hd__buf_cleanup(&final);
  hd__free(l);
  hd__free(uses.slots);
  return rc;
}
