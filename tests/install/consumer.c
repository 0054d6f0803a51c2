/* A program built against an installed hodos, as a user would build it:
 * through pkg-config, or through find_package(hodos) in CMake.
 *
 * It checks that the headers and the library it was built with agree on
 * the version, then runs a two-node graph (a shell command, and a C
 * function after it) with both built-in backends and checks the results.
 * Prints one line and exits 0 when all is well. */
#include <hodos/hodos.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse the decimal integer of the task's one input and output it
 * doubled, as an integer value. */
static int twice(hd_task *t, void *data) {
  const int64_t *factor = data;
  if (hd_task_input_count(t) != 1)
    return hd_task_fail(t, "expected one input, got %zu",
                        hd_task_input_count(t));
  const char *text = hd_value_text(hd_task_input(t, 0));
  if (text == NULL)
    return hd_task_fail(t, "the input is not text");
  char *end;
  long long x = strtoll(text, &end, 10);
  if (end == text || (*end != '\0' && *end != '\n'))
    return hd_task_fail(t, "the input is not a number: '%s'", text);
  hd_value *v;
  int rc = hd_value_new_int((int64_t)x * *factor, &v);
  if (rc != HD_OK)
    return rc;
  return hd_task_set_output(t, v);
}

static int check_run(hd_graph *g, const char *backend) {
  hd_run_opts o;
  hd_run_opts_init(&o);
  o.backend = backend;
  hd_report *r = NULL;
  int rc = hd_run(g, &o, &r);
  int ok = 1;
  if (rc != HD_OK) {
    fprintf(stderr, "consumer: %s: hd_run: %s\n", backend, hd_strerror(rc));
    for (size_t i = 0; i < hd_report_diag_count(r); i++) {
      char line[512];
      hd_diag_format(hd_report_diag(r, i), line, sizeof(line));
      fprintf(stderr, "  %s\n", line);
    }
    for (size_t i = 0; i < hd_report_task_count(r); i++) {
      hd_task_info ti;
      if (hd_report_task(r, i, &ti) == HD_OK && ti.message != NULL)
        fprintf(stderr, "  task %s: %s\n", ti.name, ti.message);
    }
    ok = 0;
  } else {
    const char *produced =
        hd_value_text(hd_report_result_by_name(r, "produce"));
    int64_t doubled = 0;
    if (produced == NULL || strcmp(produced, "21\n") != 0) {
      fprintf(stderr, "consumer: %s: produce gave '%s', not '21\\n'\n", backend,
              produced ? produced : "(nothing)");
      ok = 0;
    }
    if (hd_value_get_int(hd_report_result_by_name(r, "double"), &doubled) !=
            HD_OK ||
        doubled != 42) {
      fprintf(stderr, "consumer: %s: double gave %" PRId64 ", not 42\n",
              backend, doubled);
      ok = 0;
    }
    if (hd_report_count(r, HD_STATE_DONE) != 2) {
      fprintf(stderr, "consumer: %s: %zu tasks done, not 2\n", backend,
              hd_report_count(r, HD_STATE_DONE));
      ok = 0;
    }
  }
  hd_report_free(r);
  return ok;
}

int main(void) {
  if (strcmp(hd_version(), HD_VERSION_STRING) != 0 ||
      hd_version_number() != HD_VERSION_NUMBER) {
    fprintf(stderr,
            "consumer: built with the headers of hodos %s, but loaded "
            "library %s (%u)\n",
            HD_VERSION_STRING, hd_version(), hd_version_number());
    return 1;
  }

  static const int64_t factor = 2;
  hd_graph *g = NULL;
  hd_node *produce, *doubled;
  int rc;
  if ((rc = hd_fn_register("consumer_twice", twice, (void *)&factor)) !=
          HD_OK ||
      (rc = hd_graph_new(&g)) != HD_OK ||
      (rc = hd_graph_add_cmd(g, "produce", "echo 21", &produce)) != HD_OK ||
      (rc = hd_graph_add_fn(g, "double", "consumer_twice", &doubled)) !=
          HD_OK ||
      (rc = hd_node_after(doubled, produce)) != HD_OK) {
    fprintf(stderr, "consumer: building the graph: %s\n", hd_strerror(rc));
    hd_graph_free(g);
    hd_fn_unregister("consumer_twice");
    return 1;
  }

  int ok = check_run(g, "serial") & check_run(g, "threads");
  hd_graph_free(g);
  hd_fn_unregister("consumer_twice");
  if (!ok)
    return 1;
  printf("consumer: ok, hodos %s\n", hd_version());
  return 0;
}
