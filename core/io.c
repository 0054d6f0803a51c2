/* Whole reads and writes on descriptors, through short counts and EINTR. */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int hd__write_all(int fd, const void *p, size_t len) {
  const char *c = p;
  while (len > 0) {
    ssize_t n = write(fd, c, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return HD_EIO;
    c += n;
    len -= (size_t)n;
  }
  return HD_OK;
}

int hd__pwrite_all(int fd, const void *p, size_t len, uint64_t off) {
  const char *c = p;
  while (len > 0) {
    ssize_t n = pwrite(fd, c, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return HD_EIO;
    c += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return HD_OK;
}

int hd__pread_all(int fd, void *p, size_t len, uint64_t off) {
  char *c = p;
  while (len > 0) {
    ssize_t n = pread(fd, c, len, (off_t)off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0 ? HD_ETRUNC : HD_EIO;
    c += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return HD_OK;
}

void hd__remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  hd__buf path = {0};
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    path.len = 0;
    if (hd__buf_appendf(&path, "%s/%s", dir, e->d_name) == HD_OK)
      unlink(path.data);
  }
  if (d != NULL)
    closedir(d);
  rmdir(dir);
  hd__buf_cleanup(&path);
}
