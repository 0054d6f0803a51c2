/* A plan as bytes, for workers that do not share hodos's memory (ssh):
 * every array field by field, little-endian, and the predecessors' bytes
 * as they are; and back, with every index and offset checked and every
 * node's predecessors decoded and matched against the successors before
 * the plan is used. The analysis (levels, critical path) does not
 * travel: workers do not schedule. */
#include <string.h>

#include "../core/plan.h"
#include "wire.h"

#define PLAN_MAGIC 0x4e4c5048u /* "HPLN" */
#define PLAN_VERSION 2u

static int put_u32s(hd__buf *b, const uint32_t *a, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (hd__wire_put_u32(b, a[i]) != HD_OK)
      return HD_ENOMEM;
  return HD_OK;
}

static size_t param_pairs(const hd__plan *p) {
  size_t n = 0;
  for (size_t i = 0; i < p->count; i++) {
    size_t end = (size_t)p->nodes[i].param_off + p->nodes[i].nparams;
    if (end > n)
      n = end;
  }
  return n;
}

int hd__plan_pack(const hd__plan *p, hd__buf *b) {
  size_t npairs = param_pairs(p);
  int ok = hd__wire_put_u32(b, PLAN_MAGIC) == HD_OK &&
           hd__wire_put_u32(b, PLAN_VERSION) == HD_OK &&
           hd__wire_put_u64(b, p->count) == HD_OK &&
           hd__wire_put_u64(b, p->nedges) == HD_OK &&
           hd__wire_put_u64(b, p->nsettings) == HD_OK &&
           hd__wire_put_u64(b, p->nio) == HD_OK &&
           hd__wire_put_u64(b, p->nlists) == HD_OK &&
           hd__wire_put_u64(b, npairs) == HD_OK;
  for (size_t i = 0; ok && i < p->count; i++) {
    const hd__pnode *n = &p->nodes[i];
    uint32_t bottom;
    memcpy(&bottom, &n->bottom, sizeof(bottom));
    ok = hd__wire_put_u32(b, n->name) == HD_OK &&
         hd__wire_put_u32(b, n->what) == HD_OK &&
         hd__wire_put_u32(b, n->settings) == HD_OK &&
         hd__wire_put_u32(b, n->param_off) == HD_OK &&
         hd__wire_put_u32(b, n->io) == HD_OK &&
         hd__wire_put_u32(b, n->nparams) == HD_OK &&
         hd__wire_put_u32(b, n->kind) == HD_OK &&
         hd__wire_put_u32(b, n->npreds) == HD_OK &&
         hd__wire_put_u32(b, n->level) == HD_OK &&
         hd__wire_put_u32(b, bottom) == HD_OK;
  }
  ok = ok && put_u32s(b, p->order, p->count) == HD_OK &&
       put_u32s(b, p->pred_at, p->count + 1) == HD_OK &&
       hd__wire_put_bytes(b, p->predb, p->predb_len) == HD_OK &&
       put_u32s(b, p->succ_off, p->count + 1) == HD_OK &&
       put_u32s(b, p->succs, p->nedges) == HD_OK &&
       put_u32s(b, p->params, 2 * npairs) == HD_OK;
  for (size_t i = 0; ok && i < p->nsettings; i++) {
    const hd__psettings *s = &p->settings[i];
    ok = hd__wire_put_u64(b, s->timeout_ns) == HD_OK &&
         hd__wire_put_u64(b, s->mem) == HD_OK &&
         hd__wire_put_u32(b, s->retries) == HD_OK &&
         hd__wire_put_u32(b, s->cpus) == HD_OK &&
         hd__wire_put_u32(b, (uint32_t)s->priority) == HD_OK &&
         hd__wire_put_u32(b, s->cache) == HD_OK &&
         hd__wire_put_u64(b, s->retry_delay_ns) == HD_OK &&
         hd__wire_put_u32(b, s->allow_failure) == HD_OK;
  }
  for (size_t i = 0; ok && i < p->nio; i++) {
    const hd__pio *io = &p->io[i];
    const uint32_t f[] = {io->argv,    io->argc,     io->env,      io->nenv,
                          io->inputs,  io->ninputs,  io->outputs,  io->noutputs,
                          io->workdir, io->stdin_lo, io->stdin_hi, io->late};
    ok = put_u32s(b, f, sizeof(f) / sizeof(f[0])) == HD_OK &&
         hd__wire_put_u64(b, io->staged) == HD_OK;
  }
  ok = ok && put_u32s(b, p->lists, p->nlists) == HD_OK &&
       hd__wire_put_bytes(b, p->strings, p->strings_len) == HD_OK;
  return ok ? HD_OK : HD_ENOMEM;
}

/* ---- reading back ---- */

static uint32_t *get_u32s(hd__wire_reader *r, size_t n) {
  if (r->bad || n > r->left / 4) {
    r->bad = 1;
    return NULL;
  }
  uint32_t *a = hd__malloc((n + 1) * sizeof(uint32_t));
  if (a == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    a[i] = hd__wire_u32(r);
  return a;
}

/* Whether off[0..count] rises from 0 to total. */
static int offsets_ok(const uint32_t *off, size_t count, size_t total) {
  if (off[0] != 0 || off[count] != total)
    return 0;
  for (size_t i = 0; i < count; i++)
    if (off[i] > off[i + 1])
      return 0;
  return 1;
}

static int all_below(const uint32_t *a, size_t n, size_t limit) {
  for (size_t i = 0; i < n; i++)
    if (a[i] >= limit)
      return 0;
  return 1;
}

/* A run of list entries [at, at + n) inside nlists. */
static int run_ok(uint32_t at, uint32_t n, size_t nlists) {
  return (uint64_t)at + n <= nlists;
}

/* A varint of the predecessors' bytes (plan.h), inside [*at, end): at
 * most 5 bytes, and no more than 32 bits. */
static int get_varint(const uint8_t **at, const uint8_t *end, uint32_t *v) {
  uint64_t x = 0;
  for (unsigned shift = 0; shift < 35 && *at < end; shift += 7) {
    uint8_t b = *(*at)++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (b < 0x80) {
      *v = (uint32_t)x;
      return x <= UINT32_MAX;
    }
  }
  return 0;
}

/* Whether every node's predecessors fill exactly its own bytes (led by
 * their count, of HD__PN_MANY or more, where the node says so), name
 * other nodes of the plan and add up to the edge count; and whether the
 * successors are exactly the same edges the other way, each node's in
 * increasing order (as the plan is built). Returns HD_OK, HD_ECORRUPT with *why
 * set, or HD_ENOMEM. */
static int check_edges(const hd__plan *p, const char **why) {
  *why = "its edges refer outside the plan";
  if (!offsets_ok(p->pred_at, p->count, p->predb_len) ||
      !offsets_ok(p->succ_off, p->count, p->nedges) ||
      !all_below(p->succs, p->nedges, p->count))
    return HD_ECORRUPT;
  uint32_t *cursor = hd__malloc((p->count + 1) * sizeof(uint32_t));
  if (cursor == NULL)
    return HD_ENOMEM;
  memcpy(cursor, p->succ_off, (p->count + 1) * sizeof(uint32_t));
  size_t total = 0;
  const char *bad = NULL;
  for (size_t i = 0; i < p->count && bad == NULL; i++) {
    const uint8_t *at = p->predb + p->pred_at[i];
    const uint8_t *end = p->predb + p->pred_at[i + 1];
    uint32_t n = p->nodes[i].npreds, z = 0;
    int64_t last = (int64_t)i;
    if (n == HD__PN_MANY && !get_varint(&at, end, &n))
      bad = "a node's predecessors run past their bytes";
    else if (p->nodes[i].npreds == HD__PN_MANY && n < HD__PN_MANY)
      bad = "a node's predecessors are counted in the wrong place";
    for (uint32_t k = 0; bad == NULL && k < n; k++) {
      if (!get_varint(&at, end, &z)) {
        bad = "a node's predecessors run past their bytes";
        break;
      }
      last += z & 1 ? -(int64_t)(z >> 1) - 1 : (int64_t)(z >> 1);
      if (last < 0 || (uint64_t)last >= p->count || (size_t)last == i)
        bad = "its edges refer outside the plan";
      /* Edge last -> i: i must be the next successor of last. */
      else if (cursor[last] >= p->succ_off[last + 1] ||
               p->succs[cursor[last]++] != i)
        bad = "its predecessors and successors do not agree";
    }
    if (bad == NULL && at != end)
      bad = "a node has bytes past its predecessors";
    total += n;
  }
  for (size_t i = 0; i < p->count && bad == NULL; i++)
    if (cursor[i] != p->succ_off[i + 1] || total != p->nedges)
      bad = "its predecessors and successors do not agree";
  hd__free(cursor);
  if (bad != NULL)
    *why = bad;
  return bad != NULL ? HD_ECORRUPT : HD_OK;
}

static const char *check(const hd__plan *p, size_t npairs) {
  size_t slen = p->strings_len;
  if (slen == 0 || p->strings[slen - 1] != '\0')
    return "its strings do not end with a NUL";
  if (p->nsettings == 0 || p->nio == 0)
    return "it has no settings or no empty io entry";
  for (size_t i = 0; i < p->count; i++) {
    const hd__pnode *n = &p->nodes[i];
    if (n->name >= slen || n->what >= slen || n->settings >= p->nsettings ||
        n->io >= p->nio || (uint64_t)n->param_off + n->nparams > npairs ||
        n->kind < HD_NODE_CMD || n->kind > HD_NODE_ARGV)
      return "a node refers outside the plan";
  }
  if (!all_below(p->order, p->count, p->count))
    return "its order names a node that does not exist";
  if (!all_below(p->params, 2 * npairs, slen) ||
      !all_below(p->lists, p->nlists, slen))
    return "a string offset is past its strings";
  for (size_t i = 0; i < p->nio; i++) {
    const hd__pio *io = &p->io[i];
    if (!run_ok(io->argv, io->argc, p->nlists) ||
        !run_ok(io->env, io->nenv, p->nlists) ||
        !run_ok(io->inputs, io->ninputs, p->nlists) ||
        !run_ok(io->outputs, io->noutputs, p->nlists) || io->workdir >= slen ||
        io->stdin_lo > io->stdin_hi || io->stdin_hi > p->count ||
        io->noutputs > 64)
      return "a node's files, words or env refer outside the plan";
  }
  return NULL;
}

int hd__plan_unpack(const char *data, size_t len, hd__plan **out,
                    const char **why) {
  *out = NULL;
  *why = "it is cut short";
  hd__wire_reader r = {data, len, 0};
  uint32_t magic = hd__wire_u32(&r), version = hd__wire_u32(&r);
  uint64_t count = hd__wire_u64(&r), nedges = hd__wire_u64(&r);
  uint64_t nsettings = hd__wire_u64(&r), nio = hd__wire_u64(&r);
  uint64_t nlists = hd__wire_u64(&r), npairs = hd__wire_u64(&r);
  if (r.bad)
    return HD_ECORRUPT;
  if (magic != PLAN_MAGIC || version != PLAN_VERSION) {
    *why = "it is not a plan of this version";
    return HD_ECORRUPT;
  }
  /* Every element takes at least 4 bytes: counts past the payload are
     refused before anything is allocated for them. */
  uint64_t left = r.left;
  if (count >= UINT32_MAX || nedges >= UINT32_MAX || npairs >= UINT32_MAX ||
      count > left / 40 || nedges > left / 5 || nsettings > left / 40 ||
      nio > left / 56 || nlists > left / 4 || npairs > left / 8) {
    *why = "its counts exceed its size";
    return HD_ECORRUPT;
  }
  hd__plan *p = hd__calloc(1, sizeof(*p));
  if (p == NULL)
    return HD_ENOMEM;
  atomic_init(&p->refs, 1);
  p->count = (size_t)count;
  p->nedges = (size_t)nedges;
  p->nsettings = (size_t)nsettings;
  p->nio = (size_t)nio;
  p->nlists = (size_t)nlists;
  int rc = HD_ENOMEM;
  p->nodes = hd__calloc(p->count + 1, sizeof(hd__pnode));
  p->settings = hd__calloc(p->nsettings + 1, sizeof(hd__psettings));
  p->io = hd__calloc(p->nio + 1, sizeof(hd__pio));
  if (p->nodes == NULL || p->settings == NULL || p->io == NULL)
    goto fail;
  for (size_t i = 0; i < p->count; i++) {
    hd__pnode *n = &p->nodes[i];
    n->name = hd__wire_u32(&r);
    n->what = hd__wire_u32(&r);
    n->settings = hd__wire_u32(&r);
    n->param_off = hd__wire_u32(&r);
    n->io = hd__wire_u32(&r);
    uint32_t np = hd__wire_u32(&r), kind = hd__wire_u32(&r);
    uint32_t npreds = hd__wire_u32(&r);
    n->level = hd__wire_u32(&r);
    uint32_t bottom = hd__wire_u32(&r);
    if (np > UINT16_MAX || kind > UINT8_MAX || npreds > UINT8_MAX)
      r.bad = 1;
    n->nparams = (uint16_t)np;
    n->kind = (uint8_t)kind;
    n->npreds = (uint8_t)npreds;
    memcpy(&n->bottom, &bottom, sizeof(bottom));
  }
  p->order = get_u32s(&r, p->count);
  p->pred_at = get_u32s(&r, p->count + 1);
  size_t blen;
  const char *predb = hd__wire_bytes(&r, &blen);
  p->succ_off = get_u32s(&r, p->count + 1);
  p->succs = get_u32s(&r, p->nedges);
  p->params = get_u32s(&r, 2 * (size_t)npairs);
  if (r.bad)
    goto corrupt;
  if (p->order == NULL || p->pred_at == NULL || p->succ_off == NULL ||
      p->succs == NULL || p->params == NULL ||
      (p->predb = hd__malloc(blen + 1)) == NULL)
    goto fail;
  memcpy(p->predb, predb, blen);
  p->predb_len = blen;
  for (size_t i = 0; i < p->nsettings; i++) {
    hd__psettings *s = &p->settings[i];
    s->timeout_ns = hd__wire_u64(&r);
    s->mem = hd__wire_u64(&r);
    s->retries = hd__wire_u32(&r);
    s->cpus = hd__wire_u32(&r);
    s->priority = (int32_t)hd__wire_u32(&r);
    s->cache = hd__wire_u32(&r);
    s->retry_delay_ns = hd__wire_u64(&r);
    s->allow_failure = hd__wire_u32(&r);
  }
  for (size_t i = 0; i < p->nio; i++) {
    hd__pio *io = &p->io[i];
    uint32_t *f[] = {&io->argv,    &io->argc,     &io->env,      &io->nenv,
                     &io->inputs,  &io->ninputs,  &io->outputs,  &io->noutputs,
                     &io->workdir, &io->stdin_lo, &io->stdin_hi, &io->late};
    for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
      *f[k] = hd__wire_u32(&r);
    io->staged = hd__wire_u64(&r);
  }
  p->lists = get_u32s(&r, p->nlists);
  size_t slen;
  const char *strings = hd__wire_bytes(&r, &slen);
  if (r.bad || r.left != 0)
    goto corrupt;
  if (p->lists == NULL || (p->strings = hd__malloc(slen + 1)) == NULL)
    goto fail;
  memcpy(p->strings, strings, slen);
  p->strings_len = slen;
  const char *bad = check(p, (size_t)npairs);
  if (bad != NULL) {
    *why = bad;
    rc = HD_ECORRUPT;
    goto fail;
  }
  if ((rc = check_edges(p, why)) != HD_OK)
    goto fail;
  *why = NULL;
  *out = p;
  return HD_OK;
corrupt:
  *why = r.left != 0 && !r.bad ? "it has bytes past its end"
                               : "a field runs past its end";
  rc = HD_ECORRUPT;
fail:
  hd__plan_free(p);
  return rc;
}
