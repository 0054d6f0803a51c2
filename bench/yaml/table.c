/* Fixed-width columns, so that runs can be compared line by line. */
#include "table.h"

#include <hodos/hodos.h>
#include <stdio.h>
#include <time.h>

/* The goals: 10^5 tasks in under 1 s, 10^6 in under 10 s. */
static double goal_for(size_t tasks) {
  return tasks == 100000 ? 1.0 : tasks == 1000000 ? 10.0 : 0;
}

void table_header(int params) {
  char when[64];
  time_t now = time(NULL);
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime(&now));
  printf("bench/yaml: hodos %s, %s, %s\n", hd_version(), when,
         params ? "tasks with params (--params)"
                : "plain tasks (name, run, after)");
  printf("load = hd_workflow_load (read, parse, check, build the graph, "
         "validate);\nplan = hd_plan_new on its graph. Medians; "
         "RSS+ = growth of peak resident memory.\n\n");
  printf("%8s %8s %9s %4s | %9s %10s | %9s | %9s %9s | %s\n", "tasks", "edges",
         "file", "runs", "load", "tasks/s", "plan", "RSS+ load", "RSS+ plan",
         "goal");
  printf("%8s %8s %9s %4s | %9s %10s | %9s | %9s %9s |\n", "", "", "MiB", "",
         "s", "", "s", "MiB", "MiB");
}

static void print_mib(double mib) {
  if (mib < 0)
    printf(" %9s", "-");
  else
    printf(" %9.1f", mib);
}

void table_row(size_t tasks, const result *r) {
  const sample *m = &r->med;
  printf("%8zu %8zu %9.2f %4d | %9.4f%s %10.0f | %9.4f |", tasks, r->file.edges,
         (double)r->file.bytes / (1 << 20), r->runs, m->load,
         r->via_string ? "*" : " ", (double)tasks / m->load, m->plan);
  print_mib(m->load_mib);
  print_mib(m->plan_mib);
  double goal = goal_for(tasks);
  if (goal == 0)
    printf(" |\n");
  else if (r->via_string)
    printf(" | < %.0f s: MISS (file refused as too big; read from memory: "
           "%s)\n",
           goal, m->load < goal ? "PASS" : "MISS");
  else
    printf(" | < %.0f s: %s\n", goal, m->load < goal ? "PASS" : "MISS");
  fflush(stdout);
}

void table_note_via_string(void) {
  printf("\n* hd_workflow_load refused the file as too big (HD_ESCHEMA, "
         "HD_ETOOBIG). The row\n  times hd_workflow_load_string on the "
         "same bytes, read beforehand: the read\n  is not timed and the "
         "text is not in RSS+ load.\n");
}
