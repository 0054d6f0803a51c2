/* The execution plan's lifetime; graph/ builds plans. */
#include "plan.h"

hd__plan *hd__plan_ref(hd__plan *p) {
  atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
  return p;
}

void hd__plan_free(hd__plan *p) {
  if (p == NULL)
    return;
  if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
    return;
  hd__plan_spares_free(p);
  hd__free(p->nodes);
  hd__free(p->order);
  hd__free(p->pred_at);
  hd__free(p->predb);
  hd__free(p->succ_off);
  hd__free(p->succs);
  hd__free(p->params);
  hd__free(p->settings);
  hd__free(p->io);
  hd__free(p->lists);
  hd__free(p->strings);
  hd__free(p->level_width);
  hd__free(p->critical);
  hd__free(p->ranged);
  hd__free(p);
}

size_t hd__plan_bytes(const hd__plan *p) {
  return sizeof(*p) + p->count * (sizeof(hd__pnode) + 3 * sizeof(uint32_t)) +
         2 * sizeof(uint32_t) + p->nedges * sizeof(uint32_t) + p->predb_len +
         p->nsettings * sizeof(hd__psettings) + p->strings_len +
         p->nio * sizeof(hd__pio) + p->nlists * sizeof(uint32_t) +
         p->depth * sizeof(uint32_t) + p->critical_len * sizeof(uint32_t) +
         p->nranged * sizeof(uint32_t);
}

int hd__io_path(hd__buf *path, const hd__plan *p, const hd__pio *io,
                const char *f) {
  path->len = 0;
  if (io->workdir != 0 && f[0] != '/')
    return hd__buf_appendf(path, "%s/%s", p->strings + io->workdir, f);
  return hd__buf_appendf(path, "%s", f);
}
