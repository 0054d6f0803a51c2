/* A cheaper monotonic clock for the scheduler's per-task times.
 *
 * A task's start and end are read for every task; on virtual machines a
 * clock_gettime(CLOCK_MONOTONIC) costs 25-35 ns, a large part of a tiny
 * task. Where the CPU has an invariant time-stamp counter (x86-64), a
 * worker's clock converts counter readings instead, from an anchor: a
 * pair of one counter reading and one CLOCK_MONOTONIC reading taken
 * together, renewed at least every SPAN_NS, with the counter's rate
 * measured against CLOCK_MONOTONIC since the process first used it. So
 * every time it gives is on CLOCK_MONOTONIC's scale, within the anchor's
 * precision (well under a microsecond). A renewal that finds the counter
 * out of step with the clock (a virtual machine moved or restored, say)
 * turns the counter off for the rest of the process. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

/* How long an anchor serves; and how far a renewal may find the counter
 * from the clock before it is no longer trusted. */
#define SPAN_NS 50000u
#define TOLERANCE_NS 2000u
/* How long the counter is measured before its rate is used. */
#define CALIBRATE_NS 1000000u

static pthread_once_t base_once = PTHREAD_ONCE_INIT;
static int base_ok;                /* the counter may be used */
static uint64_t base_tsc, base_ns; /* the first anchor of the process */
static atomic_uint_fast64_t rate;  /* ns per tick, 32.32; 0: not yet */
static atomic_int distrusted;      /* the counter was found out of step */

#if HAVE_TSC
/* A counter reading and a clock reading taken together: the clock read
 * between two counter reads close to each other (a pair split by the
 * thread being descheduled is taken again). */
static void read_pair(uint64_t *tsc, uint64_t *ns) {
  uint64_t best = UINT64_MAX;
  *tsc = *ns = 0;
  for (int k = 0; k < 3; k++) {
    uint64_t a = __builtin_ia32_rdtsc();
    uint64_t n = hd__now_ns();
    uint64_t b = __builtin_ia32_rdtsc();
    if (b - a < best) {
      best = b - a;
      *tsc = a + (b - a) / 2;
      *ns = n;
    }
    if (best < 500)
      break;
  }
}

static void base_init(void) {
  unsigned a, b, c, d;
  /* CPUID 0x80000007, EDX bit 8: the counter runs at a constant rate in
     every power state. */
  if (__get_cpuid(0x80000000u, &a, &b, &c, &d) == 0 || a < 0x80000007u)
    return;
  __get_cpuid(0x80000007u, &a, &b, &c, &d);
  if (!(d & (1u << 8)))
    return;
  read_pair(&base_tsc, &base_ns);
  base_ok = 1;
}
#endif

uint64_t hd__tclock_anchor(hd__tclock *c) {
  uint64_t now;
#if HAVE_TSC
  pthread_once(&base_once, base_init);
  if (base_ok && !atomic_load_explicit(&distrusted, memory_order_relaxed)) {
    uint64_t t = 0;
    now = 0;
    read_pair(&t, &now);
    if (c->mult != 0) {
      /* A renewal: the anchor's conversion must agree with the clock. */
      uint64_t d = t - c->tsc;
      uint64_t guess = c->ns + ((d * c->mult) >> 32);
      uint64_t off = guess > now ? guess - now : now - guess;
      if (t < c->tsc || (d < 4 * c->span && off > TOLERANCE_NS))
        atomic_store(&distrusted, 1);
    }
    uint64_t m = 0;
    if (now - base_ns >= CALIBRATE_NS && t > base_tsc) {
      double per_tick = (double)(now - base_ns) / (double)(t - base_tsc);
      /* Between 50 MHz and 20 GHz, or something is wrong. */
      if (per_tick > 0.05 && per_tick < 20.0)
        m = (uint64_t)llround(per_tick * 4294967296.0);
      else
        atomic_store(&distrusted, 1);
      atomic_store_explicit(&rate, m, memory_order_relaxed);
    }
    if (atomic_load_explicit(&distrusted, memory_order_relaxed))
      m = 0;
    c->tsc = t;
    c->ns = now;
    c->mult = m;
    c->span = m != 0 ? ((uint64_t)SPAN_NS << 32) / m : 0;
  } else {
    now = hd__now_ns();
    c->mult = 0;
  }
#else
  now = hd__now_ns();
  c->mult = 0;
#endif
  if (now < c->floor)
    now = c->floor;
  c->floor = now;
  return now;
}
