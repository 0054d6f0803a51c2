/* Build a small graph in C: a shell command produces numbers, a registered
 * function adds them up, and the result is read from the report.
 *
 *   cc graph.c $(pkg-config --cflags --libs hodos) && ./a.out */
#include <hodos/hodos.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Sum the whitespace-separated integers of every input. */
static int sum(hd_task *t, void *data) {
  (void)data;
  int64_t total = 0;
  for (size_t i = 0; i < hd_task_input_count(t); i++) {
    const char *p = hd_value_text(hd_task_input(t, i));
    if (p == NULL)
      return hd_task_fail(t, "input %zu is not text", i);
    char *end;
    for (;;) {
      long long x = strtoll(p, &end, 10);
      if (end == p)
        break;
      total += x;
      p = end;
    }
  }
  hd_value *v;
  int rc = hd_value_new_int(total, &v);
  if (rc != HD_OK)
    return rc;
  return hd_task_set_output(t, v);
}

int main(void) {
  hd_graph *g = NULL;
  hd_node *numbers, *total;
  hd_report *report = NULL;
  int rc;

  if ((rc = hd_fn_register("sum", sum, NULL)) != HD_OK ||
      (rc = hd_graph_new(&g)) != HD_OK ||
      (rc = hd_graph_add_cmd(g, "numbers", "seq 1 100", &numbers)) != HD_OK ||
      (rc = hd_graph_add_fn(g, "total", "sum", &total)) != HD_OK ||
      (rc = hd_node_after(total, numbers)) != HD_OK)
    goto fail;

  hd_run_opts o;
  hd_run_opts_init(&o);
  rc = hd_run(g, &o, &report);
  if (rc != HD_OK)
    goto fail;

  int64_t answer = 0;
  hd_value_get_int(hd_report_result_by_name(report, "total"), &answer);
  printf("sum of 1..100 = %" PRId64 "\n", answer);
  hd_report_free(report);
  hd_graph_free(g);
  return answer == 5050 ? 0 : 1;

fail:
  fprintf(stderr, "graph: %s\n", hd_strerror(rc));
  for (size_t i = 0; i < hd_report_diag_count(report); i++) {
    char line[512];
    hd_diag_format(hd_report_diag(report, i), line, sizeof(line));
    fprintf(stderr, "  %s\n", line);
  }
  hd_report_free(report);
  hd_graph_free(g);
  return 1;
}
