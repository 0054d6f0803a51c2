/* hd_run: validate a graph, compile it into a plan and run the plan. */
#include "../core/run.h"
#include "graph_internal.h"

int hd_run(hd_graph *g, const hd_run_opts *o, hd_report **report) {
  if (report != NULL)
    *report = NULL;
  if (g == NULL)
    return HD_EINVAL;
  hd_report *r = NULL;
  int rc = hd_graph_validate(g);
  if (rc != HD_OK) {
    if (hd__report_new(NULL, &r) == HD_OK) {
      r->status = rc;
      if (hd__diags_copy(&r->diags, &g->diags) != HD_OK)
        r->status = rc = HD_ENOMEM;
    }
    goto out;
  }
  hd__plan *plan;
  if ((rc = hd__plan_build(g, &plan)) != HD_OK)
    return rc;
  if ((rc = hd__report_new(plan, &r)) != HD_OK) {
    hd__plan_free(plan);
    return rc;
  }
  rc = hd__run_plan(r, o);
out:
  if (report != NULL)
    *report = r;
  else
    hd_report_free(r);
  return rc;
}
