/* The wire protocol: see wire.h. */
#include <string.h>
#include <xxhash.h>

#include "wire.h"

static void put_le(unsigned char *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = n; i-- > 0;)
    v = v << 8 | p[i];
  return v;
}

int hd__wire_frame(hd__buf *out, hd__wire_type type, const void *payload,
                   size_t len) {
  if (len > HD__WIRE_MAX)
    return HD_ETOOBIG;
  unsigned char h[HD__WIRE_HEADER];
  memcpy(h, "HDW1", 4);
  h[4] = HD__WIRE_VERSION;
  h[5] = (unsigned char)type;
  h[6] = h[7] = 0;
  put_le(h + 8, len, 4);
  put_le(h + 12, XXH3_64bits(payload, len), 8);
  int rc = hd__buf_append(out, h, sizeof(h));
  if (rc == HD_OK && len > 0)
    rc = hd__buf_append(out, payload, len);
  return rc;
}

int hd__wire_parse(const char *data, size_t avail, hd__wire_type *type,
                   const char **payload, size_t *len, size_t *used,
                   const char **why) {
  const unsigned char *h = (const unsigned char *)data;
  *why = NULL;
  /* A bad magic is known as soon as its bytes are. */
  size_t m = avail < 4 ? avail : 4;
  if (memcmp(h, "HDW1", m) != 0) {
    *why = "bad magic";
    return HD_ECORRUPT;
  }
  if (avail < HD__WIRE_HEADER)
    return HD_ETRUNC;
  if (h[4] != HD__WIRE_VERSION) {
    *why = "unknown protocol version";
    return HD_ECORRUPT;
  }
  if (h[5] < HD__WIRE_TASK || h[5] > HD__WIRE_PLAN) {
    *why = "unknown frame type";
    return HD_ECORRUPT;
  }
  if (h[6] != 0 || h[7] != 0) {
    *why = "reserved bytes set";
    return HD_ECORRUPT;
  }
  uint64_t n = get_le(h + 8, 4);
  if (n > HD__WIRE_MAX) {
    *why = "frame too large";
    return HD_ECORRUPT;
  }
  if (avail - HD__WIRE_HEADER < n)
    return HD_ETRUNC;
  if (XXH3_64bits(data + HD__WIRE_HEADER, (size_t)n) != get_le(h + 12, 8)) {
    *why = "checksum mismatch";
    return HD_ECHECKSUM;
  }
  *type = (hd__wire_type)h[5];
  *payload = data + HD__WIRE_HEADER;
  *len = (size_t)n;
  *used = HD__WIRE_HEADER + (size_t)n;
  return HD_OK;
}

int hd__wire_put_u32(hd__buf *b, uint32_t v) {
  unsigned char p[4];
  put_le(p, v, 4);
  return hd__buf_append(b, p, 4);
}

int hd__wire_put_u64(hd__buf *b, uint64_t v) {
  unsigned char p[8];
  put_le(p, v, 8);
  return hd__buf_append(b, p, 8);
}

int hd__wire_put_bytes(hd__buf *b, const void *p, size_t len) {
  int rc = hd__wire_put_u64(b, len);
  if (rc == HD_OK && len > 0)
    rc = hd__buf_append(b, p, len);
  return rc;
}

uint32_t hd__wire_u32(hd__wire_reader *r) {
  if (r->bad || r->left < 4) {
    r->bad = 1;
    return 0;
  }
  uint32_t v = (uint32_t)get_le((const unsigned char *)r->p, 4);
  r->p += 4;
  r->left -= 4;
  return v;
}

uint64_t hd__wire_u64(hd__wire_reader *r) {
  if (r->bad || r->left < 8) {
    r->bad = 1;
    return 0;
  }
  uint64_t v = get_le((const unsigned char *)r->p, 8);
  r->p += 8;
  r->left -= 8;
  return v;
}

const char *hd__wire_bytes(hd__wire_reader *r, size_t *len) {
  uint64_t n = hd__wire_u64(r);
  if (r->bad || n > r->left) {
    r->bad = 1;
    *len = 0;
    return NULL;
  }
  const char *p = r->p;
  r->p += n;
  r->left -= (size_t)n;
  *len = (size_t)n;
  return p;
}
