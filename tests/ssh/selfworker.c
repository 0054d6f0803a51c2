/* A program that serves as its own worker on the ssh hosts: its function
 * "square" is registered here, not in a plugin. Run with h1 and h2 as in
 * tests/ssh/lib.sh; prints "ok" and exits 0 when every task ran in
 * another process and the total is right. */
#include <hodos/hodos.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The square of the param n, and the process that computed it. */
static int square(hd_task *t, void *data) {
  (void)data;
  long n = strtol(hd_task_param(t, "n"), NULL, 10);
  char buf[64];
  int len = snprintf(buf, sizeof(buf), "%ld %ld", n * n, (long)getpid());
  hd_value *v;
  if (hd_value_new_text(buf, (size_t)len, &v) != HD_OK)
    return HD_ENOMEM;
  return hd_task_set_output(t, v);
}

int main(int argc, char **argv) {
  hd_fn_register("square", square, NULL);
  int status;
  if (hd_worker_main(argc, argv, &status))
    return status;
  char self[PATH_MAX], cmd[PATH_MAX + 32];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return 2;
  self[n] = '\0';
  snprintf(cmd, sizeof(cmd), "%s --hodos-worker", self);
  hd_graph *g;
  hd_graph_new(&g);
  for (int i = 1; i <= 20; i++) {
    char name[16], val[16];
    snprintf(name, sizeof(name), "sq%d", i);
    snprintf(val, sizeof(val), "%d", i);
    hd_node *node;
    if (hd_graph_add_fn(g, name, "square", &node) != HD_OK ||
        hd_node_set_param(node, "n", val) != HD_OK)
      return 2;
  }
  hd_host hosts[2] = {{.host = "h1", .slots = 2, .command = cmd},
                      {.host = "h2", .slots = 2, .command = cmd}};
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = "ssh";
  o.hosts = hosts;
  o.nhosts = 2;
  hd_report *rep;
  int rc = hd_run(g, &o, &rep);
  if (rc != HD_OK) {
    fprintf(stderr, "selfworker: run: %s\n", hd_strerror(rc));
    for (size_t i = 0; i < hd_report_diag_count(rep); i++)
      fprintf(stderr, "  %s\n", hd_report_diag(rep, i)->message);
    for (size_t i = 0; i < hd_report_task_count(rep); i++) {
      hd_task_info ti;
      hd_report_task(rep, i, &ti);
      if (ti.message)
        fprintf(stderr, "  %s: %s\n", ti.name, ti.message);
    }
    return 1;
  }
  long total = 0;
  int elsewhere = 1;
  for (size_t i = 0; i < hd_report_task_count(rep); i++) {
    long sq, pid;
    if (sscanf(hd_value_text(hd_report_result(rep, i)), "%ld %ld", &sq, &pid) !=
        2)
      return 1;
    total += sq;
    elsewhere &= pid != (long)getpid();
  }
  hd_report_free(rep);
  hd_graph_free(g);
  if (total != 2870 || !elsewhere) {
    fprintf(stderr, "selfworker: total %ld (want 2870), all elsewhere %d\n",
            total, elsewhere);
    return 1;
  }
  puts("ok");
  return 0;
}
