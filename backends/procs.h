/* What the processes and ssh backends share: workers joined to hodos by
 * a stream of wire frames, whether forked here (processes.c) or started
 * through ssh on other hosts (ssh.c). */
#ifndef HODOS_BACKENDS_PROCS_H
#define HODOS_BACKENDS_PROCS_H

#include <uv.h>

#include "../core/run.h"
#include "wire.h"

/* Results larger than this are refused (a value frame carries its own
   limit as well). */
#define MAX_VALUE (1ull << 32)

/* An attempt sent to a worker and not yet answered. */
typedef struct flight {
  uint32_t task;
  hd__exec x;
  hd_value **inputs;
  hd_value *small[8];
  size_t ninputs;
  size_t bytes; /* its TASK frame's size */
  /* A task sent ahead (NEXT frame): it follows the task before it in the
     queue, its only dependency, and runs on that one's result as soon as
     the worker has it, before hodos has seen it. Its attempt begins here
     only when the task before it is done (the flight is confirmed). */
  uint8_t ahead;    /* sent ahead and not confirmed yet */
  uint8_t dead;     /* its answer is dropped: the task did not go this way */
  uint32_t attempt; /* the attempt number sent */
  uint8_t waiting;  /* begun behind another: its STARTED event is sent when
                       it reaches the head of the queue */
} flight;

/* How many attempts a worker may hold at once: the first runs, the others
 * wait in its socket, so that it goes from one to the next without
 * waiting for hodos. Only small tasks of one slot without a timeout are
 * queued behind another; others go to an idle worker. */
#define DEPTH 16
#define QUEUE_BYTES (64u << 10) /* below a socket's buffer: no write blocks */
#define SMALL_INPUTS (8u << 10)
/* Tasks are queued behind others only while the tasks of the run take
 * less than this on average: a longer task would hold up those behind it
 * while another worker waits idle, and a round trip to hodos costs little
 * beside it. */
#define QUEUE_BELOW_NS 1000000ull
/* At most this many tasks sent ahead to a worker and not confirmed. */
#define AHEAD 8

typedef struct worker {
  struct procs *pp;
  unsigned index;
  pid_t pid;
  int fd;          /* hodos's end of the socketpair, or -1 */
  uv_poll_t *poll; /* watching fd, or NULL */
  hd__buf in;      /* bytes received and not yet used */
  hd__buf out;     /* frames not yet sent */
  flight q[DEPTH]; /* attempts in order: q[head] runs */
  unsigned head, n;
  unsigned slots;      /* the slots it holds while busy */
  int exclusive;       /* its task may not have others queued behind */
  size_t queued;       /* bytes of the frames it holds */
  uint64_t deadline;   /* kill it past this time; 0: never */
  uint64_t term_sent;  /* when it was asked to stop, or 0 */
  int killed_late;     /* killed for running past its timeout */
  const char *corrupt; /* why its last frame was refused */
  int gone;            /* its socket ended: nothing more is sent to it */
  /* ssh: its host, whether it answered the HELLO, its ssh's stderr */
  unsigned host;
  int ready;
  int err_fd;
  uint64_t spawned_ns; /* when its session was started */
} worker;

typedef struct delayed {
  uint32_t task;
  uint64_t due;
} delayed;

typedef struct procs {
  hd__run *r;
  hd_backend_host host;
  unsigned slots, free_slots, nworkers;
  worker *w;
  uint32_t *heap; /* ready tasks, a min-heap by rank */
  size_t count;
  uint8_t *retrying; /* per task: the next dispatch is a retry */
  delayed *later;    /* retries waiting for their delay */
  size_t nlater, caplater;
  int finished; /* finish() was called */
  int stopping_all;
  int stop_told; /* the workers were told the run stops (STOP_ENTRY) */
  uv_loop_t loop;
  uv_timer_t tick;
  int loop_ready;
  int error;           /* a failure of the backend itself */
  struct hd__ssh *ssh; /* the ssh backend's hosts, or NULL */
  uint8_t *lost;       /* ssh: per task, sessions lost while it ran */
  uint8_t *sends;      /* ssh: per task, times its input files were sent */
  uint64_t mean_ns;    /* tasks' running time, a moving average; UINT64_MAX
                          until the first result */
  uint64_t nresults;   /* results read so far (the spin watches it) */
  unsigned spin_misses, spin_skipped;
  uint8_t *ahead;    /* per task: 1 while a flight sent ahead holds it */
  uint32_t *confirm; /* ready tasks sent ahead, to confirm (pump()) */
  size_t nconfirm;
  unsigned ncpus; /* online CPUs, for the spin */
  int stop;       /* the loop is to end */
  /* Slots are counted per group of workers as well: per host with ssh
     (worker.host), one group otherwise. A task of k slots goes to an idle
     worker whose group has k free; k is at most the largest group. */
  unsigned ngroups, group_max;
  unsigned *group_slots, *group_free;
  hd__kept *kept;     /* workers lent by the run's caller, or NULL */
  hd__buf plan_frame; /* with kept workers: the PLAN frame each gets */
} procs;

/* ---- ssh.c, for processes.c ---- */

/* Read the run's hosts, reach each (a master connection), and map the
 * workers to hosts' slots; sets pp->nworkers. Hosts that cannot be
 * reached are reported and left out; HD_EIO (with a diagnostic naming
 * each host's error) when none is left. */
HD__INTERNAL int hd__ssh_start(procs *pp);
/* Start worker i's session on its host, with the HELLO frame queued.
 * HD_EIO when its host is down. */
HD__INTERNAL int hd__ssh_spawn(procs *pp, unsigned i);
/* A READY frame from wk. Returns 0, or -1 when it is malformed. */
HD__INTERNAL int hd__ssh_ready(procs *pp, worker *wk, const char *payload,
                               size_t len);
/* wk's session ended: say why in msg (its host's error), count it
 * against its host, and return whether its running task is to be put
 * back in line (the host's fault) rather than failed. */
HD__INTERNAL int hd__ssh_lost(procs *pp, worker *wk, hd__buf *msg);
/* Whether worker i's host may get a new session. */
HD__INTERNAL int hd__ssh_host_up(procs *pp, unsigned i);
/* Files (files.h): the CHECK frame before a task with input files; the
 * inputs a worker said it lacks (missing: its list), then the task goes
 * back in line; an OUTPUTS frame (0, or -1 when malformed). */
HD__INTERNAL int hd__ssh_check(procs *pp, worker *wk, uint32_t task);
HD__INTERNAL int hd__ssh_send_inputs(procs *pp, worker *wk, uint32_t task,
                                     const char *missing);
HD__INTERNAL int hd__ssh_outputs(procs *pp, worker *wk, const char *payload,
                                 size_t len);
/* Close the master connections and remove the control folder. */
HD__INTERNAL void hd__ssh_stop(procs *pp);

/* ---- processes.c, for ssh.c ---- */

HD__INTERNAL int hd__procs_watch(procs *pp, worker *wk);
/* Append the run's tasks as PLAN and HELLO frames list them (wire.h):
 * per task its number of seed inputs and whether it is a pool's packed
 * chunk; only a u32 0 for a run that has neither (a graph's). Returns
 * HD_OK or HD_ENOMEM. */
HD__INTERNAL int hd__procs_put_tasks(const hd__run *r, hd__buf *b);

#endif
