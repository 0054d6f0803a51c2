/* The processes backend and its wire protocol: results cross from worker
 * processes; a worker that crashes, is killed, hangs past its timeout or
 * sends garbage fails or retries its task and is replaced; nothing is
 * left behind. */
#include <dirent.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/wire.h"
#include "core/internal.h"
#include "test_util.h"

static hd_graph *g;
static hd_report *rep;

/* Under AddressSanitizer, let crashing workers die of their signals as
 * they would in production, rather than be caught and reported. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "handle_segv=0:handle_abort=0:handle_sigbus=0";
}
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) {
  return "handle_segv=0:handle_abort=0:handle_sigbus=0";
}

static int fn_sum(hd_task *t, void *data) {
  (void)data;
  int64_t total = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    int64_t x;
    if (hd_value_get_int(hd_task_input(t, i), &x) != HD_OK)
      return hd_task_fail(t, "input %zu is not an integer", i);
    total += x;
  }
  const char *add = hd_task_param(t, "add");
  if (add != NULL)
    total += strtoll(add, NULL, 10);
  hd_value *v;
  if (hd_value_new_int(total, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

static int fn_segv(hd_task *t, void *data) {
  (void)t;
  (void)data;
  raise(SIGSEGV);
  return HD_OK;
}

static int fn_abort_or_exit(hd_task *t, void *data) {
  (void)data;
  const char *how = hd_task_param(t, "how");
  if (how != NULL && strcmp(how, "exit") == 0)
    _exit(7);
  raise(SIGABRT);
  return HD_OK;
}

static int fn_self_kill(hd_task *t, void *data) {
  (void)t;
  (void)data;
  kill(getpid(), SIGKILL);
  return HD_OK;
}

static int fn_hang(hd_task *t, void *data) {
  (void)t;
  (void)data;
  for (;;)
    pause();
  return HD_OK;
}

/* Writes garbage into the worker's socket to hodos: the one socket of
 * the process. */
static int fn_garbage(hd_task *t, void *data) {
  (void)t;
  (void)data;
  for (int fd = 3; fd < 256; fd++) {
    int type;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0) {
      static const char junk[] = "this is not a frame at all";
      if (write(fd, junk, sizeof(junk)) < 0)
        return HD_EIO;
    }
  }
  return HD_OK;
}

/* Crashes on about one attempt in twenty, chosen by the input and the
 * attempt so that runs are repeatable; otherwise returns its index
 * doubled. */
static int fn_flaky(hd_task *t, void *data) {
  (void)data;
  long i = strtol(hd_task_param(t, "i"), NULL, 10);
  unsigned h = (unsigned)(i * 2654435761u + hd_task_attempt(t) * 40503u);
  if ((h >> 7) % 20 == 0)
    raise(SIGSEGV);
  hd_value *v;
  if (hd_value_new_int(2 * i, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

/* Sleeps 1.5 s: holds its run's workers while another run starts. */
static int fn_hold(hd_task *t, void *data) {
  (void)t;
  (void)data;
  usleep(1500000);
  return HD_OK;
}

/* The number of sockets open in this process. */
static int fn_sockets(hd_task *t, void *data) {
  (void)data;
  int64_t n = 0;
  for (int fd = 0; fd < 1024; fd++) {
    int type;
    socklen_t len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0)
      n++;
  }
  hd_value *v;
  if (hd_value_new_int(n, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

/* One step of a chain: its input plus one (0 for the first). Param
 * "fail": "always" fails it, "once" fails its first attempt, "crash"
 * kills its worker on its first attempt. */
static int fn_step(hd_task *t, void *data) {
  (void)data;
  int64_t x = -1;
  if (hd_task_input_count(t) > 0 &&
      hd_value_get_int(hd_task_input(t, 0), &x) != HD_OK)
    return hd_task_fail(t, "the input is not an integer");
  const char *fail = hd_task_param(t, "fail");
  if (fail != NULL && (strcmp(fail, "always") == 0 ||
                       (strcmp(fail, "once") == 0 && hd_task_attempt(t) == 1)))
    return hd_task_fail(t, "step %lld fails", (long long)(x + 1));
  if (fail != NULL && strcmp(fail, "crash") == 0 && hd_task_attempt(t) == 1)
    raise(SIGSEGV);
  if (fail != NULL && strcmp(fail, "crash-unread") == 0 &&
      hd_task_attempt(t) == 1) {
    /* Die with a frame from hodos unread in the worker's socket, which
       leaves hodos's end in error (ECONNRESET). */
    struct pollfd fds[16];
    nfds_t n = 0;
    for (int fd = 3; fd < 256 && n < 16; fd++) {
      struct stat st;
      if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode))
        fds[n++] = (struct pollfd){fd, POLLIN, 0};
    }
    poll(fds, n, 2000);
    raise(SIGSEGV);
  }
  if (fail != NULL && strcmp(fail, "slow") == 0)
    usleep(5000);
  hd_value *v;
  if (hd_value_new_int(x + 1, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

static void setup(void) {
  ck_assert_int_eq(hd_fn_register("p_sum", fn_sum, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_segv", fn_segv, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_abort", fn_abort_or_exit, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_kill", fn_self_kill, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_hang", fn_hang, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_garbage", fn_garbage, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_flaky", fn_flaky, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_hold", fn_hold, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_sockets", fn_sockets, NULL), HD_OK);
  ck_assert_int_eq(hd_fn_register("p_step", fn_step, NULL), HD_OK);
  ck_assert_int_eq(hd_graph_new(&g), HD_OK);
}

static void teardown(void) {
  hd_report_free(rep);
  rep = NULL;
  hd_graph_free(g);
  g = NULL;
  const char *names[] = {"p_sum",     "p_segv",    "p_abort", "p_kill",
                         "p_hang",    "p_garbage", "p_flaky", "p_hold",
                         "p_sockets", "p_step"};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    hd_fn_unregister(names[i]);
}

/* No child of this process is left, running or unreaped. */
static void assert_no_children(void) {
  ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
}

static int run(unsigned jobs) {
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "processes";
  o.jobs = jobs;
  o.keep_going = 1;
  return hd_run(g, &o, &rep);
}

static hd_task_info info(const char *name) {
  hd_task_info ti;
  for (size_t i = 0; i < hd_report_task_count(rep); i++) {
    ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
    if (strcmp(ti.name, name) == 0)
      return ti;
  }
  ck_abort_msg("no task %s", name);
  return ti;
}

START_TEST(processes_results_cross_from_workers) {
  hd_node *a, *b, *c, *s, *sh;
  ck_assert_int_eq(hd_graph_add_fn(g, "a", "p_sum", &a), HD_OK);
  ck_assert_int_eq(hd_node_set_param(a, "add", "2"), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "b", "p_sum", &b), HD_OK);
  ck_assert_int_eq(hd_node_set_param(b, "add", "40"), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "c", "p_sum", &c), HD_OK);
  ck_assert_int_eq(hd_node_after(c, a), HD_OK);
  ck_assert_int_eq(hd_node_after(c, b), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "shell", "cat; echo", &sh), HD_OK);
  ck_assert_int_eq(hd_node_after(sh, c), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "s", "p_sum", &s), HD_OK);
  ck_assert_int_eq(run(2), HD_OK);
  int64_t v;
  ck_assert_int_eq(hd_value_get_int(hd_report_result(rep, 2), &v), HD_OK);
  ck_assert_int_eq(v, 42);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 3)), "42\n");
  assert_no_children();
}
END_TEST

START_TEST(processes_crashing_tasks_fail_and_workers_are_replaced) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, "segv", "p_segv", NULL), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "abort", "p_abort", NULL), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "exit", "p_abort", &n), HD_OK);
  ck_assert_int_eq(hd_node_set_param(n, "how", "exit"), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "killed", "p_kill", NULL), HD_OK);
  /* Work enough for the replaced workers to take some of it. */
  for (int i = 0; i < 20; i++) {
    char name[16], add[16];
    snprintf(name, sizeof(name), "ok%d", i);
    snprintf(add, sizeof(add), "%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "p_sum", &n), HD_OK);
    ck_assert_int_eq(hd_node_set_param(n, "add", add), HD_OK);
  }
  ck_assert_int_eq(run(2), HD_ETASK);
  hd_task_info ti = info("segv");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_ptr_nonnull(strstr(ti.message, "killed by SIGSEGV"));
  ti = info("abort");
  ck_assert_ptr_nonnull(strstr(ti.message, "killed by SIGABRT"));
  ti = info("exit");
  ck_assert_ptr_nonnull(strstr(ti.message, "exited with status 7"));
  ti = info("killed");
  ck_assert_ptr_nonnull(strstr(ti.message, "killed by SIGKILL"));
  for (int i = 0; i < 20; i++) {
    char name[16];
    snprintf(name, sizeof(name), "ok%d", i);
    ck_assert_int_eq(info(name).state, HD_STATE_DONE);
    /* Queued behind a crash, a task is sent again, not failed: one
       attempt. */
    ck_assert_uint_eq(info(name).attempts, 1);
  }
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_DONE), 20);
  assert_no_children();
}
END_TEST

START_TEST(processes_timeout_kills_a_hung_function) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, "hang", "p_hang", &n), HD_OK);
  ck_assert_int_eq(hd_node_set_timeout(n, 0.3), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "after", "p_sum", &n), HD_OK);
  ck_assert_int_eq(run(1), HD_ETASK);
  hd_task_info ti = info("hang");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_ptr_nonnull(strstr(ti.message, "timed out after 0.3 s"));
  ck_assert_int_eq(info("after").state, HD_STATE_DONE);
  assert_no_children();
}
END_TEST

START_TEST(processes_garbage_from_a_worker_is_an_error_naming_it) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, "garbage", "p_garbage", NULL), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "fine", "p_sum", &n), HD_OK);
  ck_assert_int_eq(run(1), HD_ETASK);
  hd_task_info ti = info("garbage");
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_ptr_nonnull(
      strstr(ti.message, "sent a malformed frame (bad magic)"));
  ck_assert_int_eq(info("fine").state, HD_STATE_DONE);
  assert_no_children();
}
END_TEST

START_TEST(processes_random_crashes_with_retries_all_end_done) {
  /* 1,000 tasks, about 5 % of attempts crash; retries 3. */
  for (int i = 0; i < 1000; i++) {
    char name[16], idx[16];
    hd_node *n;
    snprintf(name, sizeof(name), "t%d", i);
    snprintf(idx, sizeof(idx), "%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "p_flaky", &n), HD_OK);
    ck_assert_int_eq(hd_node_set_param(n, "i", idx), HD_OK);
    ck_assert_int_eq(hd_node_set_retries(n, 3), HD_OK);
  }
  ck_assert_int_eq(run(2), HD_OK);
  unsigned retried = 0;
  for (size_t i = 0; i < 1000; i++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
    ck_assert_int_eq(ti.state, HD_STATE_DONE);
    retried += ti.attempts > 1;
    int64_t v;
    ck_assert_int_eq(hd_value_get_int(hd_report_result(rep, i), &v), HD_OK);
    ck_assert_int_eq(v, 2 * (int64_t)i);
  }
  ck_assert_uint_gt(retried, 10);
  assert_no_children();
}
END_TEST

START_TEST(processes_slots_follow_cpus) {
  hd_node *n;
  /* Two tasks of 2 cpus on 2 slots cannot overlap; they sleep 0.3 s. */
  ck_assert_int_eq(hd_graph_add_cmd(g, "wide1", "sleep 0.3; date +%s%N", &n),
                   HD_OK);
  ck_assert_int_eq(hd_node_set_cpus(n, 2), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "wide2", "sleep 0.3; date +%s%N", &n),
                   HD_OK);
  ck_assert_int_eq(hd_node_set_cpus(n, 2), HD_OK);
  ck_assert_int_eq(run(2), HD_OK);
  hd_task_info a = info("wide1"), b = info("wide2");
  ck_assert(a.end_ns <= b.start_ns || b.end_ns <= a.start_ns);
  assert_no_children();
}
END_TEST

/* A chain of n steps named PREFIX0.., step k after step k-1; step `at`
 * has param fail=how (none when at is n). */
static void add_chain(const char *prefix, int n, int at, const char *how,
                      unsigned retries) {
  hd_node *prev = NULL;
  for (int k = 0; k < n; k++) {
    char name[32];
    hd_node *node;
    snprintf(name, sizeof(name), "%s%d", prefix, k);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "p_step", &node), HD_OK);
    ck_assert_int_eq(hd_node_set_retries(node, retries), HD_OK);
    if (k == at)
      ck_assert_int_eq(hd_node_set_param(node, "fail", how), HD_OK);
    if (prev != NULL)
      ck_assert_int_eq(hd_node_after(node, prev), HD_OK);
    prev = node;
  }
}

static hd_task_info step(const char *prefix, int k) {
  char name[32];
  snprintf(name, sizeof(name), "%s%d", prefix, k);
  return info(name);
}

static int64_t step_value(const char *prefix, int k) {
  char name[32];
  snprintf(name, sizeof(name), "%s%d", prefix, k);
  int64_t v = -1;
  ck_assert_int_eq(hd_value_get_int(hd_report_result_by_name(rep, name), &v),
                   HD_OK);
  return v;
}

/* Short tasks of a chain go to a worker ahead of the one they depend on
 * (NEXT frames): a failure there, a retry and a crash end as they would
 * one by one. */
START_TEST(processes_chain_ahead_stops_at_a_failure) {
  add_chain("c", 300, 150, "always", 0);
  ck_assert_int_eq(run(2), HD_ETASK);
  for (int k = 0; k < 150; k++) {
    ck_assert_int_eq(step("c", k).state, HD_STATE_DONE);
    ck_assert_int_eq(step_value("c", k), k);
    ck_assert_uint_eq(step("c", k).attempts, 1);
  }
  hd_task_info ti = step("c", 150);
  ck_assert_int_eq(ti.state, HD_STATE_FAILED);
  ck_assert_str_eq(ti.message, "step 150 fails");
  ti = step("c", 151);
  ck_assert_int_eq(ti.state, HD_STATE_SKIPPED);
  ck_assert_str_eq(ti.message, "dependency 'c150' failed");
  for (int k = 151; k < 300; k++) {
    ck_assert_int_eq(step("c", k).state, HD_STATE_SKIPPED);
    ck_assert_uint_eq(step("c", k).attempts, 0);
  }
  assert_no_children();
}
END_TEST

START_TEST(processes_chain_ahead_retries_and_crashes) {
  add_chain("r", 300, 100, "once", 1);
  add_chain("k", 300, 200, "crash", 1);
  ck_assert_int_eq(run(2), HD_OK);
  for (int k = 0; k < 300; k++) {
    ck_assert_int_eq(step_value("r", k), k);
    ck_assert_int_eq(step_value("k", k), k);
    ck_assert_msg(step("r", k).attempts == (k == 100 ? 2u : 1u),
                  "r%d: %u attempts", k, step("r", k).attempts);
    ck_assert_msg(step("k", k).attempts == (k == 200 ? 2u : 1u),
                  "k%d: %u attempts", k, step("k", k).attempts);
  }
  assert_no_children();
}
END_TEST

/* A worker that crashes in a task sent ahead had answered the tasks before
 * it: those answers count, also when its socket is in error (it died with
 * a frame of hodos's unread) and when they arrive with the end of the
 * socket, before hodos has confirmed the tasks they answer. hodos is
 * slowed (each DONE event waits 3 ms) while the worker runs ahead; s39
 * takes 5 ms, so that its answer comes after hodos has read the others
 * and sent more frames; s40 dies as soon as one of them is there. */
static void on_slow_event(const hd_event *ev, void *data) {
  (void)data;
  if (ev->type == HD_EVENT_DONE)
    usleep(3000);
}

START_TEST(processes_chain_ahead_answers_before_a_crash_are_kept) {
  add_chain("s", 60, 40, "crash-unread", 1);
  ck_assert_int_eq(hd_node_set_param(hd_graph_find(g, "s39"), "fail", "slow"),
                   HD_OK);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "processes";
  o.jobs = 1;
  o.on_event = on_slow_event;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  for (int k = 0; k < 60; k++) {
    ck_assert_int_eq(step_value("s", k), k);
    ck_assert_msg(step("s", k).attempts == (k == 40 ? 2u : 1u),
                  "s%d: %u attempts (%s)", k, step("s", k).attempts,
                  step("s", k).message ? step("s", k).message : "");
  }
  assert_no_children();
}
END_TEST

/* Events of a chain sent ahead: a step starts (in hodos's events) only
 * after the one before it is done, and each starts and ends once. */
typedef struct chain_events {
  int started[400], done[400], seq;
  int bad;
} chain_events;

static void on_chain_event(const hd_event *ev, void *data) {
  chain_events *c = data;
  if (ev->index >= 400)
    return;
  c->seq++;
  if (ev->type == HD_EVENT_STARTED) {
    if (c->started[ev->index] != 0 ||
        (ev->index > 0 && c->done[ev->index - 1] == 0))
      c->bad++;
    c->started[ev->index] = c->seq;
  } else if (ev->type == HD_EVENT_DONE) {
    if (c->done[ev->index] != 0 || c->started[ev->index] == 0)
      c->bad++;
    c->done[ev->index] = c->seq;
  }
}

START_TEST(processes_chain_ahead_events_keep_their_order) {
  add_chain("e", 400, 400, NULL, 0);
  chain_events c;
  memset(&c, 0, sizeof(c));
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "processes";
  o.jobs = 2;
  o.on_event = on_chain_event;
  o.event_data = &c;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  ck_assert_int_eq(c.bad, 0);
  for (int k = 0; k < 400; k++) {
    ck_assert_int_gt(c.done[k], 0);
    ck_assert_int_eq(step_value("e", k), k);
    hd_task_info ti = step("e", k);
    if (k > 0)
      ck_assert_uint_ge(ti.start_ns, step("e", k - 1).end_ns);
  }
  assert_no_children();
}
END_TEST

/* Stopping at the first failure while chains run ahead: every task ends
 * in a final state, and none is done unless the one before it is. */
START_TEST(processes_chain_ahead_stop_on_failure) {
  add_chain("a", 300, 300, NULL, 0);
  add_chain("b", 300, 60, "always", 0);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "processes";
  o.jobs = 2;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_ETASK);
  ck_assert_int_eq(step("b", 60).state, HD_STATE_FAILED);
  const char *chains[] = {"a", "b"};
  for (int c = 0; c < 2; c++)
    for (int k = 0; k < 300; k++) {
      hd_task_info ti = step(chains[c], k);
      ck_assert(ti.state >= HD_STATE_DONE);
      if (ti.state == HD_STATE_DONE) {
        ck_assert_int_eq(step_value(chains[c], k), k);
        if (k > 0)
          ck_assert_int_eq(step(chains[c], k - 1).state, HD_STATE_DONE);
      }
    }
  assert_no_children();
}
END_TEST

/* Interrupting a run while a long chain goes ahead: it ends with
 * HD_EINTR, every task in a final state, a task done only after the one
 * before it, and no process left. */
static volatile sig_atomic_t chain_stop;

/* Interrupts the run as step 2000 is done. */
static void stop_at_2000(const hd_event *ev, void *data) {
  (void)data;
  if (ev->type == HD_EVENT_DONE && ev->index == 2000)
    chain_stop = 1;
}

START_TEST(processes_chain_ahead_interrupted) {
  enum { N = 20000 };
  add_chain("i", N, N, NULL, 0);
  chain_stop = 0;
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "processes";
  o.jobs = 2;
  o.interrupt = &chain_stop;
  o.on_event = stop_at_2000;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_EINTR);
  size_t done = hd_report_count(rep, HD_STATE_DONE);
  ck_assert_uint_gt(done, 2000);
  ck_assert_uint_lt(done, N);
  ck_assert_uint_eq(done + hd_report_count(rep, HD_STATE_CANCELLED), N);
  /* Nodes were added in order: task k is step k. */
  for (size_t k = 0; k < N; k++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, k, &ti), HD_OK);
    ck_assert_int_eq(ti.state, k < done ? HD_STATE_DONE : HD_STATE_CANCELLED);
  }
  int64_t v = -1;
  ck_assert_int_eq(hd_value_get_int(hd_report_result(rep, done - 1), &v),
                   HD_OK);
  ck_assert_int_eq(v, (int64_t)done - 1);
  assert_no_children();
}
END_TEST

/* Out of memory anywhere (in hodos or, after the fork, in a worker)
 * while chains go ahead: every run ends, every task in a final state
 * unless the run itself ran out of memory, a task done only with the
 * right value and after the one before it, and no process left. */
START_TEST(processes_chain_ahead_out_of_memory) {
  add_chain("m", 40, 40, NULL, 2);
  add_chain("n", 40, 40, NULL, 2);
  hd_plan *p;
  ck_assert_int_eq(hd_plan_new(g, &p), HD_OK);
  int ended_ok = 0;
  for (long n = 0; n < 3000; n += 11) {
    hd_run_opts o;
    hd_run_opts_init(&o);
    o.backend = "processes";
    o.jobs = 2;
    o.keep_going = 1;
    hd__alloc_fail_after(n);
    int rc = hd_plan_run(p, &o, &rep);
    hd__alloc_fail_after(-1);
    ended_ok += rc == HD_OK;
    if (rep != NULL && hd_report_task_count(rep) == 80)
      for (size_t k = 0; k < 80; k++) {
        hd_task_info ti;
        ck_assert_int_eq(hd_report_task(rep, k, &ti), HD_OK);
        /* Out of memory before or while it ran, a run may leave tasks
           it never reached. */
        if (rc != HD_ENOMEM)
          ck_assert_msg(ti.state >= HD_STATE_DONE, "n %ld rc %d task %zu %d", n,
                        rc, k, ti.state);
        if (ti.state != HD_STATE_DONE)
          continue;
        int64_t v = -1;
        hd_value *res = hd_report_result(rep, k);
        ck_assert_msg(hd_value_get_int(res, &v) == HD_OK,
                      "n %ld rc %d task %zu: %zu bytes, attempts %u", n, rc, k,
                      res ? hd_value_size(res) : 0, ti.attempts);
        ck_assert_int_eq(v, (int64_t)(k % 40));
        if (k % 40 > 0) {
          hd_task_info prev;
          ck_assert_int_eq(hd_report_task(rep, k - 1, &prev), HD_OK);
          ck_assert_int_eq(prev.state, HD_STATE_DONE);
        }
      }
    hd_report_free(rep);
    rep = NULL;
    assert_no_children();
  }
  ck_assert_int_gt(ended_ok, 0);
  hd_plan_free(p);
}
END_TEST

/* Tiny tasks wait in their workers' sockets behind the one running: a
 * task's STARTED event comes when it starts, not when it is queued, so
 * that no more tasks are said to run than there are workers, and each
 * starts after it was queued and ends after it starts. */
typedef struct running_count {
  int now, most, bad;
} running_count;

static void on_running(const hd_event *ev, void *data) {
  running_count *c = data;
  if (ev->type == HD_EVENT_STARTED) {
    if (++c->now > c->most)
      c->most = c->now;
  } else if (ev->type == HD_EVENT_DONE || ev->type == HD_EVENT_FAILED) {
    if (--c->now < 0)
      c->bad++;
  }
}

START_TEST(processes_queued_tasks_start_when_they_run) {
  for (int i = 0; i < 2000; i++) {
    char name[16];
    snprintf(name, sizeof(name), "q%d", i);
    ck_assert_int_eq(hd_graph_add_fn(g, name, "p_sum", NULL), HD_OK);
  }
  running_count c = {0, 0, 0};
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "processes";
  o.jobs = 2;
  o.on_event = on_running;
  o.event_data = &c;
  ck_assert_int_eq(hd_run(g, &o, &rep), HD_OK);
  ck_assert_int_eq(c.bad, 0);
  ck_assert_int_eq(c.now, 0);
  ck_assert_int_le(c.most, 2);
  ck_assert_uint_eq(hd_report_count(rep, HD_STATE_DONE), 2000);
  assert_no_children();
}
END_TEST

/* A run in another thread, holding its workers until its task starts. */
typedef struct other_run {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  const char *task; /* the task whose start counts, or NULL for any */
  int started;
  int rc;
} other_run;

static void on_other_event(const hd_event *ev, void *data) {
  other_run *o = data;
  if (ev->type != HD_EVENT_STARTED ||
      (o->task != NULL && ev->task != NULL && strcmp(ev->task, o->task) != 0))
    return;
  pthread_mutex_lock(&o->lock);
  o->started = 1;
  pthread_cond_signal(&o->cond);
  pthread_mutex_unlock(&o->lock);
}

static void *run_other(void *arg) {
  other_run *o = arg;
  hd_graph *og;
  hd_node *n;
  hd_report *orep = NULL;
  o->rc = hd_graph_new(&og);
  if (o->rc == HD_OK)
    o->rc = hd_graph_add_fn(og, "hold", "p_hold", &n);
  if (o->rc == HD_OK) {
    hd_run_opts opts;
    hd_run_opts_init(&opts);
    opts.backend = "processes";
    opts.jobs = 2;
    opts.on_event = on_other_event;
    opts.event_data = o;
    o->rc = hd_run(og, &opts, &orep);
  }
  hd_report_free(orep);
  hd_graph_free(og);
  on_other_event(&(hd_event){.type = HD_EVENT_STARTED}, o); /* never wait */
  return NULL;
}

/* 4 MiB of text, more than a socket holds: its writer waits for the
 * reader. */
static int fn_big(hd_task *t, void *data) {
  (void)data;
  size_t n = 4u << 20;
  char *text = malloc(n);
  if (text == NULL)
    return HD_ENOMEM;
  memset(text, 'x', n);
  hd_value *v;
  int rc = hd_value_new_text(text, n, &v);
  free(text);
  return rc == HD_OK ? hd_task_set_output(t, v) : rc;
}

static void *run_shell_reader(void *arg) {
  other_run *o = arg;
  hd_graph *og;
  hd_node *big, *sh;
  hd_report *orep = NULL;
  o->rc = hd_graph_new(&og);
  if (o->rc == HD_OK)
    o->rc = hd_graph_add_fn(og, "big", "p_big", &big);
  if (o->rc == HD_OK)
    o->rc = hd_graph_add_cmd(og, "reader", "sleep 1; wc -c", &sh);
  if (o->rc == HD_OK)
    o->rc = hd_node_after(sh, big);
  if (o->rc == HD_OK) {
    hd_run_opts opts;
    hd_run_opts_init(&opts);
    opts.backend = "threads";
    opts.jobs = 2;
    opts.on_event = on_other_event;
    opts.event_data = o;
    o->rc = hd_run(og, &opts, &orep);
  }
  if (o->rc == HD_OK &&
      strcmp(hd_value_text(hd_report_result(orep, 1)), "4194304\n") != 0)
    o->rc = HD_EINTERNAL;
  hd_report_free(orep);
  hd_graph_free(og);
  on_other_event(&(hd_event){.type = HD_EVENT_STARTED}, o);
  return NULL;
}

/* A shell task of a threads run in another thread is still being fed its
 * input when a processes run forks a worker: the worker does not hold the
 * task's input open (the task would never read its end). */
START_TEST(processes_worker_holds_no_shell_input_of_another_thread) {
  ck_assert_int_eq(hd_fn_register("p_big", fn_big, NULL), HD_OK);
  other_run o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, "reader",
                 0, 0};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, run_shell_reader, &o), 0);
  /* Wait for the reader to start, then fork while it sleeps with its
     input half written. */
  pthread_mutex_lock(&o.lock);
  while (!o.started)
    pthread_cond_wait(&o.cond, &o.lock);
  pthread_mutex_unlock(&o.lock);
  usleep(300000);
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, "count", "p_sockets", &n), HD_OK);
  ck_assert_int_eq(run(1), HD_OK);
  int64_t sockets;
  ck_assert_int_eq(hd_value_get_int(hd_report_result(rep, 0), &sockets), HD_OK);
  ck_assert_int_eq(sockets, 1);
  pthread_join(th, NULL);
  ck_assert_int_eq(o.rc, HD_OK);
  hd_fn_unregister("p_big");
  assert_no_children();
}
END_TEST

/* Two runs at once in two threads: the second run's worker holds no socket
 * of the first run's workers (with one, the first run's workers would not
 * see their socket close when it ends, and it would wait for them). */
START_TEST(processes_runs_in_two_threads_share_no_sockets) {
  other_run o = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0,
                 0};
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, run_other, &o), 0);
  pthread_mutex_lock(&o.lock);
  while (!o.started)
    pthread_cond_wait(&o.cond, &o.lock);
  pthread_mutex_unlock(&o.lock);
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, "count", "p_sockets", &n), HD_OK);
  ck_assert_int_eq(run(1), HD_OK);
  int64_t sockets;
  ck_assert_int_eq(hd_value_get_int(hd_report_result(rep, 0), &sockets), HD_OK);
  ck_assert_int_eq(sockets, 1); /* its own */
  pthread_join(th, NULL);
  ck_assert_int_eq(o.rc, HD_OK);
  assert_no_children();
}
END_TEST

/* Whether a process whose command line holds marker is alive. */
static int marker_alive(const char *marker) {
  char cmd[256];
  /* [x]yz: the pattern does not match the shell that runs pgrep. */
  snprintf(cmd, sizeof(cmd), "pgrep -f '[%c]%s' >/dev/null 2>&1", marker[0],
           marker + 1);
  return system(cmd) == 0;
}

/* hodos killed with SIGKILL in the middle of a run: its workers, the hung
 * function's included, and the shell task's process group end within a
 * few seconds, so that a resumed run never meets them. */
START_TEST(processes_workers_end_when_hodos_is_killed) {
  char marker[64];
  snprintf(marker, sizeof(marker), "hodos-orphan-%ld", (long)getpid());
  char cmd[160];
  snprintf(cmd, sizeof(cmd), "sleep 60 # %s", marker);
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_cmd(g, "shell", cmd, &n), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "hang", "p_hang", &n), HD_OK);
  pid_t sched = fork();
  ck_assert_int_ge(sched, 0);
  if (sched == 0) {
    setpgid(0, 0); /* its workers join this group */
    run(2);
    _exit(0);
  }
  setpgid(sched, sched);
  for (int i = 0; i < 200 && !marker_alive(marker); i++)
    usleep(50000);
  ck_assert_msg(marker_alive(marker), "the shell task never started");
  usleep(200000); /* the function task too */
  ck_assert_int_eq(kill(sched, SIGKILL), 0);
  ck_assert_int_eq(waitpid(sched, NULL, 0), sched);
  int left = 1;
  for (int i = 0; i < 160 && left; i++) {
    left = marker_alive(marker) || kill(-sched, 0) == 0;
    if (left)
      usleep(50000);
  }
  ck_assert_msg(!left, "a worker or task outlived hodos by 8 s");
}
END_TEST

/* When process pid started (field 22 of its stat, in clock ticks since
 * boot), or 0 when it has ended: gone, or a zombie not reaped yet (by an
 * init that may be slow to). */
static unsigned long long started_at(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  const char *p = strrchr(buf, ')'); /* the name may hold spaces */
  if (p == NULL || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
    return 0;
  p += 2;
  for (int field = 3; field < 22 && p != NULL; field++) {
    p = strchr(p, ' ');
    if (p != NULL)
      p++;
  }
  return p != NULL ? strtoull(p, NULL, 10) : 0;
}

/* The two processes a task wrote to path as "PID PID START START" (the
 * start times as started_at() reads them, taken by the task itself, so
 * that a process ID reused since is not mistaken for one of them). */
static void read_pids(const char *path, pid_t pids[2],
                      unsigned long long since[2]) {
  FILE *f = fopen(path, "r");
  ck_assert_msg(f != NULL, "the task did not write %s", path);
  long a, b;
  int got = fscanf(f, "%ld %ld %llu %llu", &a, &b, &since[0], &since[1]);
  fclose(f);
  ck_assert_int_eq(got, 4);
  pids[0] = (pid_t)a;
  pids[1] = (pid_t)b;
}

/* What a task's command runs to write that file (path): its shell's and
 * its last background process's IDs and start times. */
#define WRITE_PIDS                                                             \
  "echo $$ $! $(cut -d' ' -f22 /proc/$$/stat) $(cut -d' ' -f22 /proc/$!/stat)" \
  " > %s.new && mv %s.new %s"

/* Whether the n processes at pids, which started at since[], all end
 * within ten seconds. Those left are killed here: none outlives the
 * test. */
static int all_end(const pid_t *pids, const unsigned long long *since,
                   size_t n) {
  int left = 1;
  for (int i = 0; i < 200 && left; i++) {
    left = 0;
    for (size_t k = 0; k < n; k++)
      left |= since[k] != 0 && started_at(pids[k]) == since[k];
    if (left)
      usleep(50000);
  }
  for (size_t k = 0; k < n && left; k++)
    if (since[k] != 0 && started_at(pids[k]) == since[k])
      kill(pids[k], SIGKILL);
  return !left;
}

/* A temporary folder for a task's files, and the path of name in it. */
static void temp_path(char *dir, size_t dsize, char *path, size_t psize,
                      const char *name) {
  snprintf(dir, dsize, "/tmp/hodos-procs-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, psize, "%s/%s", dir, name);
}

/* A worker killed (SIGKILL) while it runs a shell task takes the task's
 * process group with it, children included, before the task is retried:
 * the task runs in a session of its own, which nothing else would stop,
 * and its retry would run beside it. */
START_TEST(processes_dead_worker_takes_its_shell_task_along) {
  char dir[64], pids_path[96], cmd[1024];
  temp_path(dir, sizeof(dir), pids_path, sizeof(pids_path), "pids");
  /* The first attempt kills its own worker ($PPID) and goes on; the
     second, seeing the file, succeeds. */
  snprintf(cmd, sizeof(cmd),
           "if [ -e %s ]; then echo again; exit 0; fi; sleep 60 & " WRITE_PIDS
           "; kill -KILL $PPID; wait",
           pids_path, pids_path, pids_path, pids_path);
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_cmd(g, "victim", cmd, &n), HD_OK);
  ck_assert_int_eq(hd_node_set_retries(n, 1), HD_OK);
  ck_assert_int_eq(run(2), HD_OK);
  pid_t pids[2];
  unsigned long long since[2];
  read_pids(pids_path, pids, since);
  int ended = all_end(pids, since, 2);
  hd_task_info ti = info("victim");
  ck_assert_int_eq(ti.state, HD_STATE_DONE);
  ck_assert_uint_eq(ti.attempts, 2);
  ck_assert_str_eq(hd_value_text(hd_report_result(rep, 0)), "again\n");
  unlink(pids_path);
  rmdir(dir);
  ck_assert_msg(ended, "the shell task outlived its worker");
  assert_no_children();
}
END_TEST

typedef struct after_stop {
  int stopped;                 /* the failure (or the interrupt) was seen */
  int started_after;           /* STARTED events after it */
  uint64_t stop_ns;            /* when (CLOCK_MONOTONIC) */
  volatile sig_atomic_t *flag; /* set at the failure, when not NULL */
} after_stop;

static void count_after_stop(const hd_event *ev, void *data) {
  after_stop *a = data;
  if (ev->type == HD_EVENT_FAILED && !a->stopped) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    a->stop_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    a->stopped = 1;
    if (a->flag != NULL)
      *a->flag = 1;
  } else if (ev->type == HD_EVENT_STARTED && a->stopped) {
    a->started_after++;
  }
}

/* Tasks of rep that started more than margin_ns after a's stop. */
static int started_later(const after_stop *a, uint64_t margin_ns) {
  int n = 0;
  for (size_t i = 0; i < hd_report_task_count(rep); i++) {
    hd_task_info ti;
    ck_assert_int_eq(hd_report_task(rep, i, &ti), HD_OK);
    n += ti.start_ns > a->stop_ns + margin_ns;
  }
  return n;
}

/* Short function tasks are queued in a worker behind its running one;
 * once the run stops none of them starts (they ran to their end, 15-60 of
 * 2000). With one worker and a failure, not one STARTED follows the
 * FAILED: the worker stops itself. Otherwise no task starts once hodos
 * has seen the stop: other workers may have begun one in the moment
 * before they were told (their STARTED comes with their answer, and
 * they are let finish), so the check goes by the tasks' own start times,
 * 20 ms past the failure's event. */
START_TEST(processes_no_task_starts_after_the_run_stops) {
  size_t n = 2000;
  for (size_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof(name), "s%zu", i);
    hd_node *x;
    ck_assert_int_eq(hd_graph_add_fn(g, name, "p_step", &x), HD_OK);
    if (i == n / 3)
      ck_assert_int_eq(hd_node_set_param(x, "fail", "always"), HD_OK);
  }
  for (int interrupt = 0; interrupt < 2; interrupt++)
    for (unsigned jobs = 1; jobs <= 4; jobs += 3) {
      volatile sig_atomic_t stop = 0;
      after_stop a = {0, 0, 0, interrupt ? &stop : NULL};
      hd_run_opts o;
      hd_run_opts_init(&o);
      o.backend = "processes";
      o.jobs = jobs;
      o.on_event = count_after_stop;
      o.event_data = &a;
      if (interrupt) {
        o.keep_going = 1; /* the interrupt stops it, not the failure */
        o.interrupt = &stop;
      }
      int rc = hd_run(g, &o, &rep);
      ck_assert(rc == HD_ETASK || rc == HD_EINTR);
      ck_assert_int_eq(a.stopped, 1);
      int late = started_later(&a, 20000000u);
      if (!interrupt && jobs == 1)
        late += a.started_after;
      ck_assert_msg(late == 0, "%s, %u jobs: %d tasks started after the stop",
                    interrupt ? "interrupt" : "failure", jobs, late);
      ck_assert_uint_gt(hd_report_count(rep, HD_STATE_CANCELLED), 0);
      hd_report_free(rep);
      rep = NULL;
    }
  assert_no_children();
}
END_TEST

/* A SIGTERM to a worker that hodos did not send (someone on the
 * machine) fails its task, which is retried; the run goes on as if the
 * worker had died (it stopped the whole run as an interrupt). */
START_TEST(processes_sigterm_from_outside_fails_only_its_task) {
  char dir[64], mark[96], cmd[1024];
  temp_path(dir, sizeof(dir), mark, sizeof(mark), "mark");
  snprintf(cmd, sizeof(cmd),
           "if [ -e %s ]; then echo again; exit 0; fi; : >%s; "
           "kill -TERM $PPID; sleep 30",
           mark, mark);
  hd_node *v, *o, *after;
  ck_assert_int_eq(hd_graph_add_cmd(g, "victim", cmd, &v), HD_OK);
  ck_assert_int_eq(hd_node_set_retries(v, 1), HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "other", "sleep 0.3; echo other", &o),
                   HD_OK);
  ck_assert_int_eq(hd_graph_add_cmd(g, "after", "cat", &after), HD_OK);
  ck_assert_int_eq(hd_node_after(after, o), HD_OK);
  ck_assert_int_eq(run(2), HD_OK);
  hd_task_info ti = info("victim");
  ck_assert_int_eq(ti.state, HD_STATE_DONE);
  ck_assert_uint_eq(ti.attempts, 2);
  ck_assert_int_eq(info("other").state, HD_STATE_DONE);
  ck_assert_int_eq(info("after").state, HD_STATE_DONE);
  unlink(mark);
  rmdir(dir);
  assert_no_children();
}
END_TEST

/* The interrupt flag of the run below, raised to 2 (a second Ctrl-C) by
 * raise_when_ready() once the task is ready. */
static volatile sig_atomic_t stop_twice;

static void *raise_when_ready(void *arg) {
  const char *path = arg;
  for (int i = 0; i < 1500 && access(path, F_OK) != 0; i++)
    usleep(20000);
  __atomic_store_n(&stop_twice, 2, __ATOMIC_RELAXED);
  return NULL;
}

/* A second interrupt stops a shell task that ignores SIGTERM, and its
 * children, although hodos kills its worker (busy past the two seconds'
 * grace) before the worker sends SIGKILL to the task's group. */
START_TEST(processes_second_interrupt_kills_a_task_that_ignores_sigterm) {
  char dir[64], pids_path[96], cmd[1024];
  temp_path(dir, sizeof(dir), pids_path, sizeof(pids_path), "pids");
  snprintf(cmd, sizeof(cmd),
           "trap '' TERM INT; sleep 60 & " WRITE_PIDS "; wait; sleep 60",
           pids_path, pids_path, pids_path);
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_cmd(g, "stubborn", cmd, &n), HD_OK);
  stop_twice = 0;
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, raise_when_ready, pids_path), 0);
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "processes";
  o.jobs = 4;
  o.interrupt = &stop_twice;
  int rc = hd_run(g, &o, &rep);
  pthread_join(th, NULL);
  pid_t pids[2];
  unsigned long long since[2];
  read_pids(pids_path, pids, since);
  int ended = all_end(pids, since, 2);
  unlink(pids_path);
  rmdir(dir);
  ck_assert_int_eq(rc, HD_EINTR);
  hd_task_info ti = info("stubborn");
  ck_assert_int_eq(ti.state, HD_STATE_CANCELLED);
  /* Killed past its grace: the signal is told, as threads tell it. */
  ck_assert_int_eq(ti.term_signal, SIGKILL);
  ck_assert_msg(ended, "the shell task outlived the run");
  assert_no_children();
}
END_TEST

/* ---- a worker on another host, serving a pool's run ---- */

/* Append v as a packed item (pool.c): tag 0, kind, 8 little-endian
 * bytes for an integer, else a 32-bit length and the bytes. */
static void pack_item(hd__buf *b, const hd_value *v) {
  unsigned char head[2] = {0, (unsigned char)hd_value_kind_of(v)};
  ck_assert_int_eq(hd__buf_append(b, head, 2), HD_OK);
  if (hd_value_kind_of(v) == HD_VALUE_INT) {
    int64_t i;
    hd_value_get_int(v, &i);
    ck_assert_int_eq(hd__wire_put_u64(b, (uint64_t)i), HD_OK);
  } else {
    ck_assert_int_eq(hd__wire_put_u32(b, (uint32_t)hd_value_size(v)), HD_OK);
    ck_assert_int_eq(hd__buf_append(b, hd_value_data(v), hd_value_size(v)),
                     HD_OK);
  }
}

/* Send a TASK frame for task with its inputs, and read its RESULT: the
 * result code, and the result value (decoded) in *out. */
static int remote_task(int fd, uint32_t task, hd_value *const *in, size_t n,
                       hd_value **out, char *msg, size_t msize) {
  hd__buf p = {0}, f = {0};
  ck_assert_int_eq(hd__wire_put_u32(&p, task), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&p, 1), HD_OK);
  ck_assert_int_eq(hd__wire_put_u64(&p, 0), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&p, (uint32_t)n), HD_OK);
  for (size_t i = 0; i < n; i++) {
    hd_value *frame;
    ck_assert_int_eq(hd_value_encode(in[i], 1, &frame), HD_OK);
    ck_assert_int_eq(
        hd__wire_put_bytes(&p, hd_value_data(frame), hd_value_size(frame)),
        HD_OK);
    hd_value_unref(frame);
  }
  ck_assert_int_eq(hd__wire_frame(&f, HD__WIRE_TASK, p.data, p.len), HD_OK);
  ck_assert_int_eq(hd__write_full(fd, f.data, f.len), 0);
  hd__buf_cleanup(&p);
  hd__buf_cleanup(&f);
  /* One frame back. */
  char buf[1 << 16];
  size_t have = 0;
  hd__wire_type type;
  const char *pl, *why;
  size_t len, used;
  for (;;) {
    int rc = hd__wire_parse(buf, have, &type, &pl, &len, &used, &why);
    if (rc == HD_OK)
      break;
    ck_assert_int_eq(rc, HD_ETRUNC);
    ssize_t got = read(fd, buf + have, sizeof(buf) - have);
    ck_assert_int_gt(got, 0);
    have += (size_t)got;
  }
  ck_assert_int_eq(type, HD__WIRE_RESULT);
  hd__wire_reader rd = {pl, len, 0};
  (void)hd__wire_u64(&rd);
  (void)hd__wire_u64(&rd);
  ck_assert_uint_eq(hd__wire_u32(&rd), task);
  ck_assert_uint_eq(hd__wire_u32(&rd), 1);
  int rc = (int)hd__wire_u32(&rd);
  (void)hd__wire_u32(&rd);
  (void)hd__wire_u32(&rd);
  (void)hd__wire_u32(&rd);
  size_t mlen, tlen, olen;
  const char *m = hd__wire_bytes(&rd, &mlen);
  (void)hd__wire_bytes(&rd, &tlen);
  const char *o = hd__wire_bytes(&rd, &olen);
  ck_assert(!rd.bad);
  snprintf(msg, msize, "%.*s", (int)mlen, m);
  *out = NULL;
  if (olen > 0)
    ck_assert_int_eq(hd_value_decode(o, olen, 1u << 20, out), HD_OK);
  return rc;
}

static void log_to_stderr(hd_log_level level, const char *msg, void *data) {
  (void)level;
  (void)data;
  fprintf(stderr, "%s\n", msg);
}

/* A worker forked here: serve(fd) runs in it on its end of the socket
 * pair sv (the test keeps sv[0]) and gives its exit status; its standard
 * error goes to the pipe ep, whose reading end ep[0] the test keeps. */
static pid_t fork_worker(int sv[2], int ep[2], int (*serve)(int fd)) {
  ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ck_assert_int_eq(pipe(ep), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    close(sv[0]);
    close(ep[0]);
    dup2(ep[1], 2);
    close(ep[1]);
    _exit(serve(sv[1]));
  }
  close(sv[1]);
  close(ep[1]);
  return pid;
}

/* What the worker wrote on its standard error (fd, closed here) holds
 * what. */
static void assert_worker_said(int fd, const char *what) {
  char said[1024];
  ssize_t got = read(fd, said, sizeof(said) - 1);
  ck_assert_int_gt(got, 0);
  said[got] = '\0';
  ck_assert_msg(strstr(said, what) != NULL, "the worker said: %s", said);
  close(fd);
}

/* As `hodos worker` serves: its log on standard error. */
static int serve_stream(int fd) {
  hd_log_set_cb(log_to_stderr, NULL, HD_LOG_ERROR);
  return hd_worker_serve(fd, fd) == HD_OK ? 0 : 1;
}

/* As a program serving as its own worker, started by ssh. */
static int serve_main(int fd) {
  dup2(fd, 0);
  dup2(fd, 1);
  char prog[] = "prog", flag[] = "--hodos-worker";
  char *argv[] = {prog, flag, NULL};
  int status = 9;
  return hd_worker_main(2, argv, &status) ? status : 8;
}

/* A worker reached over a stream (ssh's, hd_worker_serve) learns from
 * HELLO which tasks take seed inputs and which are packed chunks, as a
 * pool's tasks are: the items' arguments reach it with each task. */
START_TEST(worker_remote_takes_a_pools_seeds_and_chunks) {
  hd_node *n;
  ck_assert_int_eq(hd_graph_add_fn(g, "one", "p_sum", &n), HD_OK);
  ck_assert_int_eq(hd_graph_add_fn(g, "chunk", "p_sum", &n), HD_OK);
  hd_plan *plan;
  ck_assert_int_eq(hd_plan_new(g, &plan), HD_OK);
  hd__buf packed = {0}, p = {0}, f = {0};
  ck_assert_int_eq(hd__plan_pack(plan, &packed), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&p, HD__WIRE_HELLO_VERSION), HD_OK);
  ck_assert_int_eq(hd__wire_put_bytes(&p, packed.data, packed.len), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&p, 0), HD_OK); /* no plugins */
  ck_assert_int_eq(hd__wire_put_bytes(&p, "", 0), HD_OK);
  /* Task 0: two seed inputs; task 1: one, a packed chunk. */
  ck_assert_int_eq(hd__wire_put_u32(&p, 2), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&p, 2), HD_OK);
  ck_assert_int_eq(hd__buf_append(&p, "\0", 1), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&p, 1), HD_OK);
  ck_assert_int_eq(hd__buf_append(&p, "\1", 1), HD_OK);
  ck_assert_int_eq(hd__wire_frame(&f, HD__WIRE_HELLO, p.data, p.len), HD_OK);
  hd__buf_cleanup(&packed);
  hd__buf_cleanup(&p);
  hd_plan_free(plan);

  int sv[2], ep[2];
  pid_t pid = fork_worker(sv, ep, serve_stream);
  ck_assert_int_eq(hd__write_full(sv[0], f.data, f.len), 0);
  hd__buf_cleanup(&f);
  /* READY first. */
  char buf[4096];
  size_t have = 0;
  hd__wire_type type;
  const char *pl, *why;
  size_t len, used;
  while (hd__wire_parse(buf, have, &type, &pl, &len, &used, &why) ==
         HD_ETRUNC) {
    ssize_t got = read(sv[0], buf + have, sizeof(buf) - have);
    ck_assert_int_gt(got, 0);
    have += (size_t)got;
  }
  ck_assert_int_eq(type, HD__WIRE_READY);
  ck_assert_uint_eq(used, have);

  hd_value *a[3], *out;
  char msg[256];
  int64_t sum = 0;
  hd_value_new_int(3, &a[0]);
  hd_value_new_int(4, &a[1]);
  ck_assert_int_eq(remote_task(sv[0], 0, a, 2, &out, msg, sizeof(msg)), HD_OK);
  ck_assert_int_eq(hd_value_get_int(out, &sum), HD_OK);
  ck_assert_int_eq(sum, 7);
  hd_value_unref(out);
  /* The chunk: (1, 2), ("x", 2) which fails, (10, -20). */
  hd__buf args = {0};
  ck_assert_int_eq(hd__wire_put_u32(&args, 2), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&args, 3), HD_OK);
  hd_value *x, *v1, *v2, *v10, *vm20;
  hd_value_new_text("x", 1, &x);
  hd_value_new_int(1, &v1);
  hd_value_new_int(2, &v2);
  hd_value_new_int(10, &v10);
  hd_value_new_int(-20, &vm20);
  hd_value *items[] = {v1, v2, x, v2, v10, vm20};
  for (size_t i = 0; i < 6; i++)
    pack_item(&args, items[i]);
  hd_value_new_bytes(args.data, args.len, &a[2]);
  hd__buf_cleanup(&args);
  int rc = remote_task(sv[0], 1, &a[2], 1, &out, msg, sizeof(msg));
  ck_assert_msg(rc == HD_OK, "the chunk: %s (%s)", hd_strerror(rc), msg);
  /* Three packed results: 3; failed with a message; -10. */
  const unsigned char *r = hd_value_data(out);
  size_t rlen = hd_value_size(out);
  ck_assert_uint_ge(rlen, 10);
  ck_assert_int_eq(r[0], 0);
  ck_assert_int_eq(r[1], HD_VALUE_INT);
  int64_t got = 0;
  for (int i = 0; i < 8; i++)
    got |= (int64_t)((uint64_t)r[2 + i] << (8 * i));
  ck_assert_int_eq(got, 3);
  r += 10;
  ck_assert_int_eq(r[0], 1);
  uint32_t mlen = (uint32_t)r[1] | (uint32_t)r[2] << 8 | (uint32_t)r[3] << 16 |
                  (uint32_t)r[4] << 24;
  ck_assert_msg(mlen > 0 && strstr((const char *)r + 5, "not an integer"),
                "no message for the failed item");
  r += 5 + mlen;
  ck_assert_int_eq(r[0], 0);
  got = 0;
  for (int i = 0; i < 8; i++)
    got |= (int64_t)((uint64_t)r[2 + i] << (8 * i));
  ck_assert_int_eq(got, -10);
  ck_assert_ptr_eq(r + 10, (const unsigned char *)hd_value_data(out) + rlen);
  hd_value_unref(out);
  for (size_t i = 0; i < 3; i++)
    hd_value_unref(a[i]);
  hd_value_unref(x);
  hd_value_unref(v1);
  hd_value_unref(v2);
  hd_value_unref(v10);
  hd_value_unref(vm20);
  /* A task that does not fit the run's plan (an input too many) is
     refused: the worker ends, and says why on its standard error, which
     is all hodos hears of a worker on a host. */
  hd__buf bad = {0};
  ck_assert_int_eq(hd__wire_put_u32(&bad, 0), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&bad, 1), HD_OK);
  ck_assert_int_eq(hd__wire_put_u64(&bad, 0), HD_OK);
  ck_assert_int_eq(hd__wire_put_u32(&bad, 3), HD_OK);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(hd__wire_put_bytes(&bad, "", 0), HD_OK);
  ck_assert_int_eq(hd__wire_frame(&f, HD__WIRE_TASK, bad.data, bad.len), HD_OK);
  ck_assert_int_eq(hd__write_full(sv[0], f.data, f.len), 0);
  hd__buf_cleanup(&bad);
  hd__buf_cleanup(&f);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 0);
  assert_worker_said(ep[0], "a task from hodos is refused");
  close(sv[0]);
}
END_TEST

/* A program started as its own worker (hd_worker_main) says on its
 * standard error why it refuses what hodos sent, though it set no log
 * callback: that is all hodos hears of a worker on a host. */
START_TEST(worker_main_says_why_it_refuses_a_frame) {
  int sv[2], ep[2];
  pid_t pid = fork_worker(sv, ep, serve_main);
  const char junk[] = "this is not a frame of hodos's wire protocol at all";
  ck_assert_int_eq(hd__write_full(sv[0], junk, sizeof(junk)), 0);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 1);
  assert_worker_said(ep[0], "error: worker: a frame from hodos is refused");
  close(sv[0]);
}
END_TEST

START_TEST(wire_frames_round_trip_and_refuse_damage) {
  hd__buf b = {0};
  ck_assert_int_eq(hd__wire_frame(&b, HD__WIRE_TASK, "payload", 7), HD_OK);
  hd__wire_type type;
  const char *p, *why;
  size_t len, used;
  ck_assert_int_eq(hd__wire_parse(b.data, b.len, &type, &p, &len, &used, &why),
                   HD_OK);
  ck_assert_int_eq(type, HD__WIRE_TASK);
  ck_assert_uint_eq(len, 7);
  ck_assert_uint_eq(used, b.len);
  ck_assert_int_eq(memcmp(p, "payload", 7), 0);
  /* Every shorter prefix asks for more. */
  for (size_t n = 1; n < b.len; n++)
    ck_assert_int_eq(hd__wire_parse(b.data, n, &type, &p, &len, &used, &why),
                     HD_ETRUNC);
  /* Damage anywhere is refused with a reason. */
  for (size_t i = 0; i < b.len; i++) {
    if (i >= 8 && i < 12)
      continue; /* the length: a longer one asks for more */
    b.data[i] ^= 0x40;
    int rc = hd__wire_parse(b.data, b.len, &type, &p, &len, &used, &why);
    ck_assert_msg(rc == HD_ECORRUPT || rc == HD_ECHECKSUM, "byte %zu: %d", i,
                  rc);
    ck_assert_ptr_nonnull(why);
    b.data[i] ^= 0x40;
  }
  b.data[11] = 0x7f; /* a length over the limit */
  ck_assert_int_eq(hd__wire_parse(b.data, b.len, &type, &p, &len, &used, &why),
                   HD_ECORRUPT);
  hd__buf_cleanup(&b);
  /* Readers stop at the end. */
  hd__buf q = {0};
  ck_assert_int_eq(hd__wire_put_u32(&q, 5), HD_OK);
  ck_assert_int_eq(hd__wire_put_bytes(&q, "ab", 2), HD_OK);
  hd__wire_reader r = {q.data, q.len, 0};
  ck_assert_uint_eq(hd__wire_u32(&r), 5);
  size_t n;
  const char *s = hd__wire_bytes(&r, &n);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(memcmp(s, "ab", 2), 0);
  ck_assert_uint_eq(hd__wire_u64(&r), 0);
  ck_assert_int_eq(r.bad, 1);
  hd__buf_cleanup(&q);
}
END_TEST

Suite *make_suite(void) {
  Suite *s = suite_create("processes");
  TCase *tc = tcase_create("processes");
  tcase_set_timeout(tc, 60);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, processes_results_cross_from_workers);
  tcase_add_test(tc, processes_crashing_tasks_fail_and_workers_are_replaced);
  tcase_add_test(tc, processes_timeout_kills_a_hung_function);
  tcase_add_test(tc, processes_garbage_from_a_worker_is_an_error_naming_it);
  tcase_add_test(tc, processes_random_crashes_with_retries_all_end_done);
  tcase_add_test(tc, processes_slots_follow_cpus);
  tcase_add_test(tc, processes_chain_ahead_stops_at_a_failure);
  tcase_add_test(tc, processes_chain_ahead_retries_and_crashes);
  tcase_add_test(tc, processes_chain_ahead_answers_before_a_crash_are_kept);
  tcase_add_test(tc, processes_chain_ahead_events_keep_their_order);
  tcase_add_test(tc, processes_chain_ahead_stop_on_failure);
  tcase_add_test(tc, processes_chain_ahead_interrupted);
  tcase_add_test(tc, processes_chain_ahead_out_of_memory);
  tcase_add_test(tc, processes_queued_tasks_start_when_they_run);
  tcase_add_test(tc, processes_runs_in_two_threads_share_no_sockets);
  tcase_add_test(tc, processes_worker_holds_no_shell_input_of_another_thread);
  tcase_add_test(tc, processes_workers_end_when_hodos_is_killed);
  tcase_add_test(tc, processes_dead_worker_takes_its_shell_task_along);
  tcase_add_test(tc, processes_no_task_starts_after_the_run_stops);
  tcase_add_test(tc, processes_sigterm_from_outside_fails_only_its_task);
  tcase_add_test(tc,
                 processes_second_interrupt_kills_a_task_that_ignores_sigterm);
  tcase_add_test(tc, worker_main_says_why_it_refuses_a_frame);
  tcase_add_test(tc, wire_frames_round_trip_and_refuse_damage);
  tcase_add_test(tc, worker_remote_takes_a_pools_seeds_and_chunks);
  suite_add_tcase(s, tc);
  return s;
}
