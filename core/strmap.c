/* An open-addressing hash map from strings to size_t, with linear probing
 * and tombstones. Keys are copied. Large tables (a million keys take
 * 48 MiB) are mapped with hd__big_calloc: probes land on random slots,
 * and on small pages each of them would miss the TLB. A graph's node
 * names are indexed by idxmap.c instead, which keeps no copy. */
#include <string.h>
#include <xxhash.h>

#include "internal.h"

#define TOMBSTONE ((char *)&tombstone_marker)
static const char tombstone_marker = 0;

struct hd__strmap_slot {
  char *key; /* NULL: empty; TOMBSTONE: deleted */
  uint64_t hash;
  size_t value;
};

static uint64_t hash_key(const char *key) {
  return XXH3_64bits(key, strlen(key));
}

static struct hd__strmap_slot *find(const hd__strmap *m, const char *key,
                                    uint64_t h) {
  if (m->cap == 0)
    return NULL;
  size_t mask = m->cap - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    struct hd__strmap_slot *s = &m->slots[i];
    if (s->key == NULL)
      return NULL;
    if (s->key != TOMBSTONE && s->hash == h && strcmp(s->key, key) == 0)
      return s;
  }
}

static void free_slots(struct hd__strmap_slot *slots, size_t cap) {
  hd__big_free(slots, cap, sizeof(*slots));
}

static int rehash(hd__strmap *m, size_t ncap) {
  struct hd__strmap_slot *ns = hd__big_calloc(ncap, sizeof(*ns));
  if (ns == NULL)
    return HD_ENOMEM;
  for (size_t i = 0; i < m->cap; i++) {
    struct hd__strmap_slot *s = &m->slots[i];
    if (s->key == NULL || s->key == TOMBSTONE)
      continue;
    size_t j = s->hash & (ncap - 1);
    while (ns[j].key != NULL)
      j = (j + 1) & (ncap - 1);
    ns[j] = *s;
  }
  free_slots(m->slots, m->cap);
  m->slots = ns;
  m->cap = ncap;
  return HD_OK;
}

static int insert(hd__strmap *m, const char *key, size_t value, int replace) {
  uint64_t h = hash_key(key);
  struct hd__strmap_slot *s = find(m, key, h);
  if (s != NULL) {
    if (!replace)
      return HD_EEXIST;
    s->value = value;
    return HD_OK;
  }
  if (hd__strmap_reserve(m, m->count + 1) != HD_OK)
    return HD_ENOMEM;
  char *copy = hd__strdup(key);
  if (copy == NULL)
    return HD_ENOMEM;
  size_t mask = m->cap - 1;
  size_t i = h & mask;
  while (m->slots[i].key != NULL && m->slots[i].key != TOMBSTONE)
    i = (i + 1) & mask;
  if (m->slots[i].key == NULL)
    m->used++;
  m->slots[i].key = copy;
  m->slots[i].hash = h;
  m->slots[i].value = value;
  m->count++;
  return HD_OK;
}

int hd__strmap_reserve(hd__strmap *m, size_t n) {
  if (n < m->count)
    n = m->count;
  if (n > SIZE_MAX / 4)
    return HD_ENOMEM;
  /* Tombstones count as used so that probes always meet an empty slot. */
  if ((m->used + (n - m->count)) * 2 <= m->cap)
    return HD_OK;
  size_t ncap = 16;
  while (ncap < n * 2)
    ncap *= 2;
  if (rehash(m, ncap) != HD_OK)
    return HD_ENOMEM;
  m->used = m->count;
  return HD_OK;
}

int hd__strmap_put(hd__strmap *m, const char *key, size_t value) {
  return insert(m, key, value, 1);
}

int hd__strmap_add(hd__strmap *m, const char *key, size_t value) {
  return insert(m, key, value, 0);
}

int hd__strmap_get(const hd__strmap *m, const char *key, size_t *value) {
  struct hd__strmap_slot *s = find(m, key, hash_key(key));
  if (s == NULL)
    return 0;
  if (value != NULL)
    *value = s->value;
  return 1;
}

int hd__strmap_del(hd__strmap *m, const char *key) {
  struct hd__strmap_slot *s = find(m, key, hash_key(key));
  if (s == NULL)
    return HD_ENOENT;
  hd__free(s->key);
  s->key = TOMBSTONE;
  m->count--;
  return HD_OK;
}

void hd__strmap_each(const hd__strmap *m,
                     void (*cb)(const char *key, size_t value, void *data),
                     void *data) {
  for (size_t i = 0; i < m->cap; i++) {
    struct hd__strmap_slot *s = &m->slots[i];
    if (s->key != NULL && s->key != TOMBSTONE)
      cb(s->key, s->value, data);
  }
}

void hd__strmap_cleanup(hd__strmap *m) {
  for (size_t i = 0; i < m->cap; i++) {
    char *k = m->slots[i].key;
    if (k != NULL && k != TOMBSTONE)
      hd__free(k);
  }
  free_slots(m->slots, m->cap);
  m->slots = NULL;
  m->cap = m->count = m->used = 0;
}
