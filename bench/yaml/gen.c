/* Tasks are laid out in layers of about sqrt(N), so that every size has
 * both width and depth. A task's name comes from its index alone, which
 * lets a dependency be written without keeping any names. */
#include "gen.h"

#include <stdio.h>

static const char *const stages[] = {"fetch", "unpack", "parse", "check",
                                     "build", "test",   "pack",  "publish"};
#define NSTAGES (sizeof(stages) / sizeof(stages[0]))

/* xorshift64: small, fast and the same everywhere. */
static uint64_t next_rand(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static size_t layer_width(size_t tasks) {
  size_t w = 1;
  while (w * w < tasks)
    w++;
  return w;
}

static const char *stage_of(size_t i, size_t width) {
  return stages[(i / width) % NSTAGES];
}

/* Between one and four distinct earlier tasks: most from the layer just
 * above, one in four from anywhere before it, as when a late step also
 * needs an early artefact. */
static size_t pick_deps(size_t i, size_t width, uint64_t *rng, size_t deps[4]) {
  size_t layer = i / width;
  if (layer == 0)
    return 0;
  size_t above = (layer - 1) * width, before = layer * width;
  size_t want = 1 + (size_t)(next_rand(rng) % 4);
  if (want > width)
    want = width;
  size_t k = 0;
  while (k < want) {
    uint64_t r = next_rand(rng);
    size_t d = r % 4 == 0 ? (size_t)((r >> 2) % before)
                          : above + (size_t)((r >> 2) % width);
    int seen = 0;
    for (size_t j = 0; j < k; j++)
      seen |= deps[j] == d;
    if (!seen)
      deps[k++] = d;
  }
  return k;
}

static int write_task(FILE *f, size_t i, const gen_opts *o, size_t width,
                      uint64_t *rng, size_t *edges) {
  const char *stage = stage_of(i, width);
  unsigned shard = (unsigned)(i % 64);
  fprintf(f, "  - name: %s-%zu\n", stage, i);
  if (o->params)
    fprintf(f,
            "    run: ./tools/%s.sh --shard {shard}\n"
            "    params:\n"
            "      shard: %u\n",
            stage, shard);
  else
    fprintf(f, "    run: ./tools/%s.sh --shard %u\n", stage, shard);
  size_t deps[4];
  size_t k = pick_deps(i, width, rng, deps);
  *edges += k;
  if (k == 1)
    fprintf(f, "    after: %s-%zu\n", stage_of(deps[0], width), deps[0]);
  else if (k > 1) {
    fputs("    after: [", f);
    for (size_t j = 0; j < k; j++)
      fprintf(f, "%s%s-%zu", j ? ", " : "", stage_of(deps[j], width), deps[j]);
    fputs("]\n", f);
  }
  return ferror(f) ? -1 : 0;
}

int gen_write(const char *path, const gen_opts *o, gen_info *info) {
  FILE *f = fopen(path, "wb");
  if (f == NULL)
    return -1;
  setvbuf(f, NULL, _IOFBF, 1 << 16);
  uint64_t rng = o->seed ? o->seed : 1;
  info->width = layer_width(o->tasks);
  info->layers = (o->tasks + info->width - 1) / info->width;
  info->edges = 0;
  fprintf(f,
          "name: bench-%zu\n"
          "description: %zu shell tasks in %zu layers, each after 1-4 "
          "earlier tasks\n"
          "tasks:\n",
          o->tasks, o->tasks, info->layers);
  int rc = 0;
  for (size_t i = 0; i < o->tasks && rc == 0; i++)
    rc = write_task(f, i, o, info->width, &rng, &info->edges);
  long end = ftell(f);
  if (fclose(f) != 0 || rc != 0 || end < 0)
    return -1;
  info->bytes = (size_t)end;
  return 0;
}
