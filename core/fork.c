/* Descriptors that a worker forked without exec must not keep.
 *
 * The processes backend forks its workers without exec, so a worker gets a
 * copy of every descriptor of the process. Some belong to work going on
 * in other threads: another run's sockets to its workers, or the writing
 * end of a shell task's standard input. A copy held by a worker keeps the
 * other side from ever seeing the end of its stream, so the other run
 * would wait for workers that wait for it, and the shell task for input
 * that never ends. Such descriptors are listed here; a new worker closes
 * every one.
 *
 * A lock with two modes keeps the list true at the moment of a fork: code
 * that makes or closes a listed descriptor holds it shared (shell tasks in
 * many threads at once), and a fork holds it alone. Waiting forks go
 * first, so that a stream of shell tasks cannot hold a fork off. */
#include <pthread.h>
#include <unistd.h>

#include "internal.h"

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t guard_cond = PTHREAD_COND_INITIALIZER;
static unsigned readers, forks_waiting;
static int forking;

static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
static int *fds;
static size_t nfds, capfds;

void hd__fork_shared_begin(void) {
  pthread_mutex_lock(&guard_lock);
  while (forking || forks_waiting > 0)
    pthread_cond_wait(&guard_cond, &guard_lock);
  readers++;
  pthread_mutex_unlock(&guard_lock);
}

void hd__fork_shared_end(void) {
  pthread_mutex_lock(&guard_lock);
  if (--readers == 0)
    pthread_cond_broadcast(&guard_cond);
  pthread_mutex_unlock(&guard_lock);
}

void hd__fork_alone_begin(void) {
  pthread_mutex_lock(&guard_lock);
  forks_waiting++;
  while (forking || readers > 0)
    pthread_cond_wait(&guard_cond, &guard_lock);
  forks_waiting--;
  forking = 1;
  pthread_mutex_unlock(&guard_lock);
}

void hd__fork_alone_end(void) {
  pthread_mutex_lock(&guard_lock);
  forking = 0;
  pthread_cond_broadcast(&guard_cond);
  pthread_mutex_unlock(&guard_lock);
}

int hd__fork_track(int fd) {
  pthread_mutex_lock(&list_lock);
  int rc = hd__grow((void **)&fds, &capfds, nfds + 1, sizeof(*fds));
  if (rc == HD_OK)
    fds[nfds++] = fd;
  pthread_mutex_unlock(&list_lock);
  return rc;
}

void hd__fork_untrack(int fd) {
  pthread_mutex_lock(&list_lock);
  for (size_t i = 0; i < nfds; i++)
    if (fds[i] == fd) {
      fds[i] = fds[--nfds];
      break;
    }
  if (nfds == 0) {
    hd__free(fds);
    fds = NULL;
    capfds = 0;
  }
  pthread_mutex_unlock(&list_lock);
}

void hd__fork_close(int fd) {
  if (fd < 0)
    return;
  hd__fork_shared_begin();
  hd__fork_untrack(fd);
  close(fd);
  hd__fork_shared_end();
}

/* The registries' locks around every fork, the application's too: taken
 * in the order code that holds two takes them (a plugin being loaded
 * registers its functions), released in the reverse. */
static void before_fork(void) {
  hd__arrays_fork_lock(1);
  hd__plugin_fork_lock(1);
  hd__backend_fork_lock(1);
  hd__registry_fork_lock(1);
  hd__sched_fork_lock(1);
  hd__value_fork_lock(1);
}

static void after_fork(void) {
  hd__value_fork_lock(0);
  hd__sched_fork_lock(0);
  hd__registry_fork_lock(0);
  hd__backend_fork_lock(0);
  hd__plugin_fork_lock(0);
  hd__arrays_fork_lock(0);
}

static void after_fork_child(void) {
  after_fork();
  hd__arrays_fork_child();
}

__attribute__((constructor)) static void fork_handlers(void) {
  pthread_atfork(before_fork, after_fork, after_fork_child);
}

void hd__fork_child(void) {
  /* The parent's forking thread held the lock alone, so nobody was
     changing the list: read it without its lock, whose state was copied
     from another thread. Then start afresh, since this process may run
     shell tasks and fork workers of its own. */
  for (size_t i = 0; i < nfds; i++)
    close(fds[i]);
  hd__free(fds);
  fds = NULL;
  nfds = capfds = 0;
  pthread_mutex_t fresh_mutex = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t fresh_cond = PTHREAD_COND_INITIALIZER;
  guard_lock = fresh_mutex;
  list_lock = fresh_mutex;
  guard_cond = fresh_cond;
  readers = forks_waiting = 0;
  forking = 0;
}
