/* The execution plan's lifetime; graph/ builds plans. */
#include "plan.h"

void hd__plan_free(hd__plan *p) {
  if (p == NULL)
    return;
  hd__free(p->nodes);
  hd__free(p->order);
  hd__free(p->pred_off);
  hd__free(p->preds);
  hd__free(p->succ_off);
  hd__free(p->succs);
  hd__free((void *)p->params);
  hd__free(p->strings);
  hd__free(p);
}
