/* hd_run: validate a graph, compile it into a plan and run the plan. */
#include "../core/run.h"
#include "graph_internal.h"

int hd_run(hd_graph *g, const hd_run_opts *o, hd_report **report) {
  if (report != NULL)
    *report = NULL;
  if (g == NULL)
    return HD_EINVAL;
  hd_plan *plan;
  int rc = hd_plan_new(g, &plan);
  if (rc == HD_OK) {
    rc = hd_plan_run(plan, o, report);
    hd_plan_free(plan);
    return rc;
  }
  /* The graph is invalid: the report carries its diagnostics. */
  hd_report *r = NULL;
  if (hd__report_new(NULL, &r) == HD_OK) {
    r->status = rc;
    if (hd__diags_copy(&r->diags, &g->diags) != HD_OK)
      r->status = rc = HD_ENOMEM;
  }
  if (report != NULL)
    *report = r;
  else
    hd_report_free(r);
  return rc;
}
