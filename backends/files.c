/* Files that travel between hodos and a worker on another host: the
 * plugins and the input files a host lacks, and the output files of the
 * tasks it ran. Each goes as the content of a value frame (compressed,
 * checksummed); a file is written under a temporary name and renamed, and
 * only when what is there differs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/cachekey.h"
#include "../core/run.h"
#include "../core/template.h"
#include "files.h"

int hd__file_read(const char *path, hd_value **out, uint32_t *mode) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? HD_ENOENT : HD_EIO;
  struct stat st;
  int rc = fstat(fd, &st) == 0 ? HD_OK : HD_EIO;
  hd_value *v = NULL;
  if (rc == HD_OK && (uint64_t)st.st_size > MAX_FILE)
    rc = HD_ETOOBIG;
  if (rc == HD_OK)
    rc = hd__value_alloc(HD_VALUE_BYTES, (size_t)st.st_size, &v);
  size_t got = 0;
  while (rc == HD_OK && got < (size_t)st.st_size) {
    ssize_t n =
        read(fd, (char *)hd__value_mut(v) + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      rc = HD_EIO;
    else
      got += (size_t)n;
  }
  close(fd);
  if (rc != HD_OK) {
    hd_value_unref(v);
    return rc;
  }
  if (mode != NULL)
    *mode = (uint32_t)(st.st_mode & 0777);
  *out = v;
  return HD_OK;
}

/* Make the folders above path. */
static void make_parents(const char *path) {
  char *dir = hd__strdup(path);
  if (dir == NULL)
    return;
  char *slash = strrchr(dir, '/');
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    hd__make_dirs(dir);
  }
  hd__free(dir);
}

int hd__file_write(const char *path, const void *data, size_t len,
                   uint32_t mode) {
  make_parents(path);
  hd__buf tmp = {0};
  if (hd__buf_appendf(&tmp, "%s.hodos-recv.%ld", path, (long)getpid()) != HD_OK)
    return HD_ENOMEM;
  int fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                (mode_t)(mode & 0777));
  int rc = fd >= 0 ? HD_OK : HD_EIO;
  if (rc == HD_OK)
    rc = hd__write_all(fd, data, len);
  if (fd >= 0) {
    if (rc == HD_OK && fchmod(fd, (mode_t)(mode & 0777)) != 0)
      rc = HD_EIO;
    close(fd);
  }
  if (rc == HD_OK && rename(tmp.data, path) != 0)
    rc = HD_EIO;
  if (rc != HD_OK)
    unlink(tmp.data);
  hd__buf_cleanup(&tmp);
  return rc;
}

int hd__file_same(const char *path, const void *data, size_t len) {
  struct stat st;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
      (uint64_t)st.st_size != len)
    return 0;
  hd_value *have = NULL;
  int same = hd__file_read(path, &have, NULL) == HD_OK &&
             hd_value_size(have) == len &&
             memcmp(hd_value_data(have), data, len) == 0;
  hd_value_unref(have);
  return same;
}

int hd__file_put(hd__buf *b, const char *name, const hd_value *content,
                 uint32_t mode) {
  hd_value *frame = NULL;
  int rc = hd_value_encode(content, 1, &frame);
  if (rc == HD_OK && (hd__wire_put_bytes(b, name, strlen(name)) != HD_OK ||
                      hd__wire_put_u32(b, mode) != HD_OK ||
                      hd__wire_put_bytes(b, hd_value_data(frame),
                                         hd_value_size(frame)) != HD_OK))
    rc = HD_ENOMEM;
  hd_value_unref(frame);
  return rc;
}

int hd__file_get(hd__wire_reader *rd, char **name, hd_value **content,
                 uint32_t *mode) {
  *name = NULL;
  *content = NULL;
  size_t nlen, flen;
  const char *n = hd__wire_bytes(rd, &nlen);
  *mode = hd__wire_u32(rd);
  const char *f = hd__wire_bytes(rd, &flen);
  if (rd->bad || nlen == 0 || memchr(n, '\0', nlen) != NULL)
    return HD_ECORRUPT;
  if ((*name = hd__strndup(n, nlen)) == NULL)
    return HD_ENOMEM;
  if (flen == 0)
    return HD_ENOENT; /* the file was not there */
  int rc = hd_value_decode(f, flen, MAX_FILE, content);
  return rc;
}

/* ---- the worker's side ---- */

/* What the next task expects of its input files (a CHECK frame). */
typedef struct want {
  char *path;
  hd__key hash;
} want;

static want *wants;
static size_t nwants, capwants;
static uint32_t wants_task = UINT32_MAX;

static void clear_wants(void) {
  for (size_t i = 0; i < nwants; i++)
    hd__free(wants[i].path);
  nwants = 0;
  wants_task = UINT32_MAX;
}

int hd__files_expect(const char *payload, size_t len) {
  clear_wants();
  hd__wire_reader rd = {payload, len, 0};
  uint32_t task = hd__wire_u32(&rd), n = hd__wire_u32(&rd);
  for (uint32_t i = 0; i < n && !rd.bad; i++) {
    size_t plen;
    const char *p = hd__wire_bytes(&rd, &plen);
    hd__key k;
    k.lo = hd__wire_u64(&rd);
    k.hi = hd__wire_u64(&rd);
    if (rd.bad || plen == 0 || memchr(p, '\0', plen) != NULL)
      return HD_ECORRUPT;
    if (hd__grow((void **)&wants, &capwants, nwants + 1, sizeof(want)) != HD_OK)
      return HD_ENOMEM;
    if ((wants[nwants].path = hd__strndup(p, plen)) == NULL)
      return HD_ENOMEM;
    wants[nwants++].hash = k;
  }
  if (rd.bad || rd.left != 0)
    return HD_ECORRUPT;
  wants_task = task;
  return HD_OK;
}

int hd__files_missing(uint32_t task, hd__buf *missing) {
  int n = 0;
  if (wants_task == task)
    for (size_t i = 0; i < nwants; i++) {
      hd__key have;
      if (hd__key_file(wants[i].path, &have) == HD_OK &&
          have.lo == wants[i].hash.lo && have.hi == wants[i].hash.hi)
        continue;
      hd__buf_appendf(missing, "\n%s", wants[i].path);
      n++;
    }
  clear_wants();
  return n;
}

int hd__output_path(const hd__plan *p, const hd__pio *io, uint32_t k,
                    hd__buf *path) {
  path->len = 0;
  int rc = hd__io_path(path, p, io, hd__plan_list(p, io->outputs, k));
  if (rc != HD_OK || k >= 64 || !(io->staged >> k & 1))
    return rc;
  hd__buf staged = {0};
  rc = hd__staged_path(&staged, path->data);
  hd__buf_cleanup(path);
  *path = staged;
  return rc;
}

int hd__files_outputs(const hd__plan *p, uint32_t node, hd__buf *out) {
  const hd__pio *io = hd__plan_io(p, node);
  if (io == NULL || io->noutputs == 0)
    return HD_OK;
  hd__buf b = {0}, path = {0};
  int rc = hd__wire_put_u32(&b, node) == HD_OK &&
                   hd__wire_put_u32(&b, io->noutputs) == HD_OK
               ? HD_OK
               : HD_ENOMEM;
  for (uint32_t k = 0; rc == HD_OK && k < io->noutputs; k++) {
    rc = hd__output_path(p, io, k, &path);
    hd_value *v = NULL;
    uint32_t mode = 0644;
    int got = rc == HD_OK ? hd__file_read(path.data, &v, &mode) : rc;
    if (got == HD_ENOENT) {
      /* Not made: hodos finds it missing and fails the task. */
      rc = hd__wire_put_bytes(&b, path.data, path.len) == HD_OK &&
                   hd__wire_put_u32(&b, 0) == HD_OK &&
                   hd__wire_put_bytes(&b, NULL, 0) == HD_OK
               ? HD_OK
               : HD_ENOMEM;
      continue;
    }
    if (got != HD_OK) {
      rc = got;
      break;
    }
    rc = hd__file_put(&b, path.data, v, mode);
    hd_value_unref(v);
    /* A staged name is hodos's to rename: none is left here. */
    if (rc == HD_OK && k < 64 && (io->staged >> k & 1))
      unlink(path.data);
  }
  if (rc == HD_OK &&
      hd__wire_frame(out, HD__WIRE_OUTPUTS, b.data, b.len) != HD_OK)
    rc = HD_ENOMEM;
  hd__buf_cleanup(&b);
  hd__buf_cleanup(&path);
  return rc;
}
