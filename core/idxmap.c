/* An index by name of items that keep their own names (a graph's nodes):
 * open addressing with linear probing, each slot 8 bytes, a 32-bit part
 * of the name's hash and the item's index, the name read from the item
 * only when those bits match. A million names take 16 MiB instead of the
 * 48 of a string map that keeps a pointer, a full hash and a value. */
#include <string.h>
#include <xxhash.h>

#include "internal.h"

/* A slot: 0 empty, TOMBSTONE deleted, or tag << 32 | (index + 1). */
#define TOMBSTONE UINT64_MAX
#define MAX_INDEX (UINT32_MAX - 2u)

static uint64_t hash_name(const char *name) {
  return XXH3_64bits(name, strlen(name));
}

static uint64_t slot_of(uint64_t h, uint32_t index) {
  return (h & 0xffffffff00000000ull) | ((uint64_t)index + 1);
}

static uint32_t index_of(uint64_t slot) { return (uint32_t)slot - 1; }

/* The slot of name (hash h), or NULL. */
static uint64_t *find(const hd__idxmap *m, const char *name, uint64_t h) {
  if (m->cap == 0)
    return NULL;
  size_t mask = m->cap - 1;
  uint64_t tag = h & 0xffffffff00000000ull;
  for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
    uint64_t s = m->slots[i];
    if (s == 0)
      return NULL;
    if (s != TOMBSTONE && (s & 0xffffffff00000000ull) == tag &&
        strcmp(m->name(m->ctx, index_of(s)), name) == 0)
      return &m->slots[i];
  }
}

/* Put (h, index), known absent, in the first free slot; room was made. */
static void place(hd__idxmap *m, uint64_t h, uint32_t index) {
  size_t mask = m->cap - 1, i = (size_t)h & mask;
  while (m->slots[i] != 0 && m->slots[i] != TOMBSTONE)
    i = (i + 1) & mask;
  if (m->slots[i] == 0)
    m->used++;
  m->slots[i] = slot_of(h, index);
  m->count++;
}

static int rehash(hd__idxmap *m, size_t ncap) {
  uint64_t *ns = hd__big_calloc(ncap, sizeof(*ns));
  if (ns == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    uint64_t s = m->slots[i];
    if (s == 0 || s == TOMBSTONE)
      continue;
    /* The tag is the hash's top half; the probe starts from its bottom
       half, which the slot does not keep: the name is hashed again. */
    size_t j = (size_t)hash_name(m->name(m->ctx, index_of(s))) & (ncap - 1);
    while (ns[j] != 0)
      j = (j + 1) & (ncap - 1);
    ns[j] = s;
  }
  hd__big_free(m->slots, m->cap, sizeof(*m->slots));
  m->slots = ns;
  m->cap = ncap;
  m->used = m->count;
  return HD_OK;
}

int hd__idxmap_reserve(hd__idxmap *m, size_t n) {
  if (n < m->count)
    n = m->count;
  if (n > MAX_INDEX)
    return HD_ENOMEM;
  /* Tombstones count as used so that probes always meet an empty slot. */
  if ((m->used + (n - m->count)) * 2 <= m->cap)
    return HD_OK;
  size_t ncap = 16;
  while (ncap < n * 2)
    ncap *= 2;
  return rehash(m, ncap);
}

#define AHEAD 8

int hd__idxmap_add_many(hd__idxmap *m, size_t first, size_t n,
                        void (*dup)(void *ctx, size_t index)) {
  if (n == 0)
    return HD_OK;
  if (first > MAX_INDEX || n > MAX_INDEX - first ||
      hd__idxmap_reserve(m, m->count + n) != HD_OK)
    return HD_ENOMEM;
  const char *names[AHEAD];
  uint64_t hashes[AHEAD];
  size_t mask = m->cap - 1;
  /* Name i is hashed and its slot fetched AHEAD names before it goes in,
     in the ring's place i % AHEAD, which name i - AHEAD has just left. */
  for (size_t i = 0; i < n + AHEAD; i++) {
    if (i >= AHEAD) {
      size_t j = i - AHEAD;
      uint64_t h = hashes[j % AHEAD];
      const uint64_t *s = find(m, names[j % AHEAD], h);
      if (s == NULL)
        place(m, h, (uint32_t)(first + j));
      else if (index_of(*s) != first + j)
        dup(m->ctx, first + j);
    }
    if (i < n) {
      names[i % AHEAD] = m->name(m->ctx, first + i);
      hashes[i % AHEAD] = hash_name(names[i % AHEAD]);
      __builtin_prefetch(&m->slots[hashes[i % AHEAD] & mask], 1);
    }
  }
  return HD_OK;
}

int hd__idxmap_get(const hd__idxmap *m, const char *name, size_t *index) {
  const uint64_t *s = find(m, name, hash_name(name));
  if (s == NULL)
    return 0;
  if (index != NULL)
    *index = index_of(*s);
  return 1;
}

int hd__idxmap_del(hd__idxmap *m, const char *name) {
  uint64_t *s = find(m, name, hash_name(name));
  if (s == NULL)
    return HD_ENOENT;
  *s = TOMBSTONE;
  m->count--;
  return HD_OK;
}

void hd__idxmap_cleanup(hd__idxmap *m) {
  hd__big_free(m->slots, m->cap, sizeof(*m->slots));
  m->slots = NULL;
  m->cap = m->count = m->used = 0;
}
