/* One folder holding one file at a time keeps the clean-up simple enough
 * to run inside a signal handler: unlink() and rmdir() of fixed paths. */
#include "scratch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[4096];
static char file[4096 + 32];
static volatile sig_atomic_t made;

static void on_signal(int sig) {
  if (made) {
    unlink(file);
    rmdir(dir);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

int scratch_make(void) {
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0')
    tmp = "/tmp";
  int n = snprintf(dir, sizeof(dir), "%s/bench_yaml.XXXXXX", tmp);
  if (n < 0 || (size_t)n >= sizeof(dir) || mkdtemp(dir) == NULL)
    return -1;
  snprintf(file, sizeof(file), "%s/workflow.yaml", dir);
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  made = 1;
  return 0;
}

const char *scratch_file(void) { return file; }

void scratch_remove(void) {
  if (!made)
    return;
  made = 0;
  unlink(file);
  rmdir(dir);
}
