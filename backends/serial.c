/* The serial backend: every task on the caller's thread, in the plan's
 * topological order. The reference every other backend must agree with. */
#include "../core/run.h"

static int serial_run(hd__run *r) {
  const hd__plan *p = r->plan;
  hd__tstate *ts = r->report->tasks;
  for (size_t k = 0; k < p->count; k++) {
    uint32_t i = p->order[k];
    if (hd__run_stopping(r)) {
      hd__run_not_run(r, i, HD_STATE_CANCELLED,
                      r->interrupted ? "interrupted"
                                     : "stopped after a failure");
      continue;
    }
    uint32_t bad = UINT32_MAX;
    for (uint32_t e = p->pred_off[i]; e < p->pred_off[i + 1]; e++)
      if (ts[p->preds[e]].state != HD_STATE_DONE) {
        bad = p->preds[e];
        break;
      }
    if (bad != UINT32_MAX) {
      hd__run_not_run(
          r, i, HD_STATE_SKIPPED, "dependency '%s' %s", hd__plan_name(p, bad),
          ts[bad].state == HD_STATE_FAILED ? "failed" : "did not run");
      continue;
    }
    hd__run_task(r, i, 0);
  }
  return HD_OK;
}

const hd__backend hd__backend_serial = {
    .name = "serial",
    .description = "every task on the calling thread, one at a time",
    .run = serial_run,
};
