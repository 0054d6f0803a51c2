/* Results held within memory limits: compressed frames in memory, or
 * frames in an unlinked spill file (see hold.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hold.h"
#include "run.h"

/* Where one held result is: a frame in memory, or len bytes of the spill
 * file at off. */
typedef struct held {
  hd_value *frame; /* NULL when spilled */
  uint64_t off;
  size_t len;
} held;

struct hd__hold {
  size_t raw_limit, mem_limit;
  atomic_size_t raw;    /* bytes of results kept as they are */
  atomic_size_t packed; /* bytes of frames in memory */
  atomic_uint_least64_t spill_end;
  atomic_size_t spilled; /* bytes of frames in the spill file, not dropped */
  /* over the run: results compressed, spilled, and their bytes as they
     were and as frames */
  atomic_size_t n_packed, n_spilled;
  atomic_uint_least64_t raw_total, frame_total;
  held **held; /* per task, or NULL */
  size_t count;
  char *dir;
  int fd;                  /* the spill file, or -1 */
  atomic_int spill_failed; /* it could not be made or written: results
                              stay in memory */
  pthread_mutex_t lock;    /* making the spill file; restoring */
};

int hd__hold_new(size_t count, size_t raw_limit, size_t mem_limit,
                 const char *spill_dir, hd__hold **out) {
  hd__hold *h = hd__calloc(1, sizeof(*h));
  if (h == NULL)
    return HD_ENOMEM;
  /* Reserved, not populated: only the pages of tasks whose results are
     held are ever written (most runs hold none), and fresh memory is
     costly on a VM. */
  h->held = hd__big_reserve(count + 1, sizeof(held *));
  if (h->held == NULL)
    h->held = hd__big_calloc(count + 1, sizeof(held *));
  if (spill_dir == NULL) {
    spill_dir = getenv("TMPDIR");
    if (spill_dir == NULL || spill_dir[0] == '\0')
      spill_dir = "/tmp";
  }
  h->dir = hd__strdup(spill_dir);
  if (h->held == NULL || h->dir == NULL) {
    hd__big_free(h->held, count + 1, sizeof(held *));
    hd__free(h->dir);
    hd__free(h);
    return HD_ENOMEM;
  }
  h->count = count;
  h->raw_limit = raw_limit;
  h->mem_limit = mem_limit < raw_limit ? raw_limit : mem_limit;
  h->fd = -1;
  atomic_init(&h->raw, 0);
  atomic_init(&h->packed, 0);
  atomic_init(&h->spill_end, 0);
  atomic_init(&h->spilled, 0);
  atomic_init(&h->n_packed, 0);
  atomic_init(&h->n_spilled, 0);
  atomic_init(&h->raw_total, 0);
  atomic_init(&h->frame_total, 0);
  atomic_init(&h->spill_failed, 0);
  pthread_mutex_init(&h->lock, NULL);
  *out = h;
  return HD_OK;
}

void hd__hold_free(hd__hold *h) {
  if (h == NULL)
    return;
  size_t ever = atomic_load(&h->n_packed) + atomic_load(&h->n_spilled);
  for (size_t i = 0; ever > 0 && i < h->count; i++)
    if (h->held[i] != NULL) {
      hd_value_unref(h->held[i]->frame);
      hd__free(h->held[i]);
    }
  if (h->fd >= 0) {
    hd__fork_shared_begin();
    hd__fork_close(h->fd);
    hd__fork_shared_end();
  }
  hd__big_free(h->held, h->count + 1, sizeof(held *));
  hd__free(h->dir);
  pthread_mutex_destroy(&h->lock);
  hd__free(h);
}

/* The spill file, made on first use: unlinked at once, so that nothing is
 * left behind however the process ends. -1 when it cannot be made. */
static int spill_fd(hd__hold *h) {
  pthread_mutex_lock(&h->lock);
  if (h->fd < 0 && !atomic_load(&h->spill_failed)) {
    hd__fork_shared_begin();
    int fd = open(h->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      hd__buf path = {0};
      if (hd__buf_appendf(&path, "%s/.hodos-spill.XXXXXX", h->dir) == HD_OK) {
        fd = mkostemp(path.data, O_CLOEXEC);
        if (fd >= 0)
          unlink(path.data);
      }
      hd__buf_cleanup(&path);
    }
    if (fd >= 0 && hd__fork_track(fd) != HD_OK) {
      close(fd);
      fd = -1;
    }
    hd__fork_shared_end();
    if (fd < 0) {
      atomic_store(&h->spill_failed, 1);
      hd__log(HD_LOG_WARN,
              "cannot make a spill file in %s (%s): results past the "
              "memory limit stay in memory",
              h->dir, strerror(errno));
    }
    h->fd = fd;
  }
  int fd = h->fd;
  pthread_mutex_unlock(&h->lock);
  return fd;
}

static int spill(hd__hold *h, held *e) {
  int fd = spill_fd(h);
  if (fd < 0)
    return -1;
  const unsigned char *p = hd_value_data(e->frame);
  e->off = atomic_fetch_add(&h->spill_end, e->len);
  if (hd__pwrite_all(fd, p, e->len, e->off) != HD_OK) {
    pthread_mutex_lock(&h->lock);
    if (!atomic_load(&h->spill_failed))
      hd__log(HD_LOG_WARN,
              "cannot write the spill file in %s (%s): results past the "
              "memory limit stay in memory",
              h->dir, strerror(errno));
    atomic_store(&h->spill_failed, 1);
    pthread_mutex_unlock(&h->lock);
    return -1;
  }
  return 0;
}

void hd__hold_keep(hd__hold *h, uint32_t node, hd__tstate *t) {
  hd_value *v = t->result;
  if (h == NULL || v == NULL || hd_value_size(v) < HD__HOLD_MIN)
    return;
  size_t size = hd_value_size(v);
  /* Kept as it is while the raw results stay under their limit and, with
     the frames in memory, under the limit of all in memory; past either,
     compressed (and spilled past the second). */
  size_t raw = atomic_fetch_add(&h->raw, size) + size;
  if (raw <= h->raw_limit && raw + atomic_load(&h->packed) <= h->mem_limit) {
    t->flags |= HD__T_COUNTED;
    return;
  }
  atomic_fetch_sub(&h->raw, size);
  held *e = hd__calloc(1, sizeof(*e));
  if (e == NULL || hd_value_encode(v, 1, &e->frame) != HD_OK) {
    hd__free(e); /* kept as it is: out of memory is no reason to fail */
    atomic_fetch_add(&h->raw, size);
    t->flags |= HD__T_COUNTED;
    return;
  }
  e->len = hd_value_size(e->frame);
  atomic_fetch_add(&h->raw_total, size);
  atomic_fetch_add(&h->frame_total, e->len);
  size_t in_memory = atomic_load(&h->raw) + atomic_load(&h->packed) + e->len;
  if (in_memory > h->mem_limit && !atomic_load(&h->spill_failed) &&
      spill(h, e) == 0) {
    hd_value_unref(e->frame);
    e->frame = NULL;
    atomic_fetch_add(&h->spilled, e->len);
    atomic_fetch_add(&h->n_spilled, 1);
    t->flags |= HD__T_SPILLED;
  } else {
    atomic_fetch_add(&h->packed, e->len);
    atomic_fetch_add(&h->n_packed, 1);
    t->flags |= HD__T_PACKED;
  }
  h->held[node] = e;
  t->result = NULL;
  hd_value_unref(v);
}

int hd__hold_any(hd__hold *h) {
  return atomic_load_explicit(&h->n_packed, memory_order_relaxed) != 0 ||
         atomic_load_explicit(&h->n_spilled, memory_order_relaxed) != 0;
}

static int read_back(hd__hold *h, const held *e, hd_value **out) {
  if (e->frame != NULL)
    return hd_value_decode(hd_value_data(e->frame), e->len, SIZE_MAX, out);
  unsigned char *buf = hd__malloc(e->len + 1);
  if (buf == NULL)
    return HD_ENOMEM;
  int got = hd__pread_all(h->fd, buf, e->len, e->off);
  if (got != HD_OK) {
    hd__free(buf);
    return got;
  }
  int rc = hd_value_decode(buf, e->len, SIZE_MAX, out);
  hd__free(buf);
  return rc;
}

int hd__hold_get(hd__hold *h, uint32_t node, const hd__tstate *t,
                 hd_value **out) {
  if (t->result != NULL || h == NULL ||
      !(t->flags & (HD__T_PACKED | HD__T_SPILLED))) {
    *out = hd_value_ref(t->result ? t->result : hd__value_empty());
    return HD_OK;
  }
  return read_back(h, h->held[node], out);
}

void hd__hold_drop(hd__hold *h, uint32_t node, hd__tstate *t) {
  if (h == NULL)
    return;
  if ((t->flags & HD__T_COUNTED) && t->result != NULL)
    atomic_fetch_sub(&h->raw, hd_value_size(t->result));
  held *e = h->held[node];
  if (e != NULL) {
    if (e->frame != NULL) {
      atomic_fetch_sub(&h->packed, e->len);
      hd_value_unref(e->frame);
    } else if (h->fd >= 0) {
      atomic_fetch_sub(&h->spilled, e->len);
      /* Give the space back to the file system; the file's end stays. */
      (void)fallocate(h->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                      (off_t)e->off, (off_t)e->len);
    }
    hd__free(e);
    h->held[node] = NULL;
  }
  t->flags &= (uint8_t) ~(HD__T_COUNTED | HD__T_PACKED | HD__T_SPILLED);
}

int hd__hold_restore(hd__hold *h, uint32_t node, hd__tstate *t) {
  if (h == NULL)
    return HD_OK;
  pthread_mutex_lock(&h->lock);
  int rc = HD_OK;
  /* The flags are read under the lock: another thread's restore of the
     same task writes them. */
  if (t->flags & HD__T_RELEASED) {
    rc = HD_ENOENT;
  } else if (t->result == NULL && (t->flags & (HD__T_PACKED | HD__T_SPILLED))) {
    hd_value *v = NULL;
    rc = read_back(h, h->held[node], &v);
    if (rc == HD_OK) {
      hd__hold_drop(h, node, t);
      t->result = v;
    }
  }
  pthread_mutex_unlock(&h->lock);
  return rc;
}

void hd__hold_usage(hd__hold *h, size_t *raw, size_t *packed, size_t *spilled) {
  *raw = h ? atomic_load(&h->raw) : 0;
  *packed = h ? atomic_load(&h->packed) : 0;
  *spilled = h ? atomic_load(&h->spilled) : 0;
}

void hd__hold_totals(hd__hold *h, size_t *compressed, size_t *spilled,
                     uint64_t *raw_bytes, uint64_t *frame_bytes) {
  *compressed = h ? atomic_load(&h->n_packed) : 0;
  *spilled = h ? atomic_load(&h->n_spilled) : 0;
  *raw_bytes = h ? atomic_load(&h->raw_total) : 0;
  *frame_bytes = h ? atomic_load(&h->frame_total) : 0;
}
