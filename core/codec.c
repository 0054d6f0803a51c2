/* The frame codec for values: a fixed little-endian header, then the
 * content, compressed with zstd when that makes it smaller.
 *
 *   offset size  field
 *        0    4  magic "HDV" and format version 1
 *        4    1  kind (hd_value_kind)
 *        5    1  encoding: 0 raw, 1 zstd
 *        6    2  reserved, zero
 *        8    8  content size
 *       16    8  payload size (bytes after the header)
 *       24    8  XXH3-64 of the content
 *
 * Integers and doubles travel as 8 little-endian bytes. */
#include <pthread.h>
#include <string.h>
#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "internal.h"

#define FRAME_VERSION 1
#define ENC_RAW 0
#define ENC_ZSTD 1
#define MIN_COMPRESS 64
/* Windows above 2^27 bytes are refused when decoding, whatever the bound:
   our encoder never makes them. */
#define WINDOW_LOG_MAX 27
/* The largest zstd frame header (ZSTD_FRAMEHEADERSIZE_MAX, which zstd.h
   only shows to static linkers). */
#define ZSTD_HEADER_MAX 18

typedef struct ctxs {
  ZSTD_CCtx *c;
  ZSTD_DCtx *d;
} ctxs;

static pthread_key_t ctx_key;
static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;

static void ctxs_free(void *p) {
  ctxs *x = p;
  if (x == NULL)
    return;
  ZSTD_freeCCtx(x->c);
  ZSTD_freeDCtx(x->d);
  hd__free(x);
}

static void ctx_key_make(void) { pthread_key_create(&ctx_key, ctxs_free); }

/* The main thread's contexts are freed at exit (thread-specific
   destructors run only for threads that exit). */
__attribute__((destructor)) static void ctx_atexit(void) {
  if (pthread_once(&ctx_once, ctx_key_make) != 0)
    return;
  ctxs *x = pthread_getspecific(ctx_key);
  if (x != NULL) {
    pthread_setspecific(ctx_key, NULL);
    ctxs_free(x);
  }
}

static ctxs *thread_ctxs(void) {
  if (pthread_once(&ctx_once, ctx_key_make) != 0)
    return NULL;
  ctxs *x = pthread_getspecific(ctx_key);
  if (x != NULL)
    return x;
  x = hd__calloc(1, sizeof(*x));
  if (x == NULL)
    return NULL;
  if (pthread_setspecific(ctx_key, x) != 0) {
    hd__free(x);
    return NULL;
  }
  return x;
}

static void put_le64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_le64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static int kind_valid(unsigned k) {
  return k == HD_VALUE_BYTES || k == HD_VALUE_TEXT || k == HD_VALUE_INT ||
         k == HD_VALUE_DOUBLE;
}

static int is_scalar(unsigned k) {
  return k == HD_VALUE_INT || k == HD_VALUE_DOUBLE;
}

int hd_value_encode(const hd_value *v, int level, hd_value **frame) {
  if (v == NULL || frame == NULL || level < 0 || level > ZSTD_maxCLevel())
    return HD_EINVAL;
  return hd__value_encode_level(v, level == 0 ? 1 : level, frame);
}

int hd__value_encode_level(const hd_value *v, int level, hd_value **frame) {
  hd_value_kind kind = hd_value_kind_of(v);
  size_t size = hd_value_size(v);
  const unsigned char *content = hd_value_data(v);
  unsigned char scalar[8];
  if (is_scalar(kind)) {
    uint64_t bits;
    memcpy(&bits, content, 8);
    put_le64(scalar, bits);
    content = scalar;
  }
  uint64_t sum = XXH3_64bits(content, size);

  hd_value *out = NULL;
  int enc = ENC_RAW;
  size_t payload = size;
  if (size >= MIN_COMPRESS && level > 0) {
    size_t bound = ZSTD_compressBound(size);
    if (ZSTD_isError(bound) || bound > SIZE_MAX - HD_FRAME_HEADER_SIZE)
      return HD_ENOMEM;
    ctxs *cx = thread_ctxs();
    if (cx == NULL)
      return HD_ENOMEM;
    if (cx->c == NULL && (cx->c = ZSTD_createCCtx()) == NULL)
      return HD_ENOMEM;
    ZSTD_CCtx_reset(cx->c, ZSTD_reset_session_and_parameters);
    if (ZSTD_isError(
            ZSTD_CCtx_setParameter(cx->c, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cx->c, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(cx->c, ZSTD_c_windowLog, 0)))
      return HD_ECOMPRESS;
    if (hd__value_alloc(HD_VALUE_BYTES, HD_FRAME_HEADER_SIZE + bound, &out))
      return HD_ENOMEM;
    unsigned char *dst = (unsigned char *)hd__value_mut(out);
    size_t n =
        ZSTD_compress2(cx->c, dst + HD_FRAME_HEADER_SIZE, bound, content, size);
    if (ZSTD_isError(n)) {
      hd_value_unref(out);
      return HD_ECOMPRESS;
    }
    if (n < size) {
      enc = ENC_ZSTD;
      payload = n;
    } else {
      hd_value_unref(out);
      out = NULL;
    }
  }
  if (out == NULL) {
    if (hd__value_alloc(HD_VALUE_BYTES, HD_FRAME_HEADER_SIZE + size, &out))
      return HD_ENOMEM;
    if (size > 0)
      memcpy((unsigned char *)hd__value_mut(out) + HD_FRAME_HEADER_SIZE,
             content, size);
  }
  unsigned char *h = hd__value_mut(out);
  memcpy(h, "HDV", 3);
  h[3] = FRAME_VERSION;
  h[4] = (unsigned char)kind;
  h[5] = (unsigned char)enc;
  h[6] = h[7] = 0;
  put_le64(h + 8, size);
  put_le64(h + 16, payload);
  put_le64(h + 24, sum);
  /* The compressed frame was allocated for the worst case; the value
     reports the bytes actually used. */
  if (enc == ENC_ZSTD)
    out = hd__value_shrink(out, HD_FRAME_HEADER_SIZE + payload);
  *frame = out;
  return HD_OK;
}

typedef struct header {
  unsigned kind;
  unsigned enc;
  uint64_t size;
  uint64_t payload;
  uint64_t sum;
} header;

static int parse_header(const unsigned char *p, size_t len, header *h) {
  if (len < HD_FRAME_HEADER_SIZE)
    return HD_ETRUNC;
  if (memcmp(p, "HDV", 3) != 0 || p[3] != FRAME_VERSION)
    return HD_ECORRUPT;
  h->kind = p[4];
  h->enc = p[5];
  if (!kind_valid(h->kind) || (h->enc != ENC_RAW && h->enc != ENC_ZSTD) ||
      p[6] != 0 || p[7] != 0)
    return HD_ECORRUPT;
  h->size = get_le64(p + 8);
  h->payload = get_le64(p + 16);
  h->sum = get_le64(p + 24);
  if (is_scalar(h->kind) && h->size != 8)
    return HD_ECORRUPT;
  if (h->enc == ENC_RAW && h->payload != h->size)
    return HD_ECORRUPT;
  return HD_OK;
}

int hd_value_frame_size(const void *frame, size_t len, uint64_t *content_size) {
  if (frame == NULL || content_size == NULL)
    return HD_EINVAL;
  header h;
  int rc = parse_header(frame, len, &h);
  if (rc == HD_OK)
    *content_size = h.size;
  return rc;
}

int hd_value_decode(const void *frame, size_t len, size_t max_size,
                    hd_value **out) {
  if (frame == NULL || out == NULL)
    return HD_EINVAL;
  const unsigned char *p = frame;
  header h;
  int rc = parse_header(p, len, &h);
  if (rc != HD_OK)
    return rc;
  if (h.size > max_size)
    return HD_ETOOBIG;
  size_t avail = len - HD_FRAME_HEADER_SIZE;
  if (h.payload > avail)
    return HD_ETRUNC;
  if (h.payload < avail)
    return HD_ECORRUPT;
  const unsigned char *src = p + HD_FRAME_HEADER_SIZE;

  ZSTD_DCtx *d = NULL;
  if (h.enc == ENC_ZSTD) {
    /* The zstd frame must declare exactly the size our header does, so
       that nothing is allocated for a claim we have not bounded. */
    unsigned long long zs = ZSTD_getFrameContentSize(src, h.payload);
    if (zs == ZSTD_CONTENTSIZE_ERROR)
      return h.payload < ZSTD_HEADER_MAX ? HD_ETRUNC : HD_ECORRUPT;
    if (zs == ZSTD_CONTENTSIZE_UNKNOWN || zs != h.size)
      return HD_ECORRUPT;
    size_t zlen = ZSTD_findFrameCompressedSize(src, h.payload);
    if (ZSTD_isError(zlen))
      return HD_ETRUNC;
    if (zlen != h.payload)
      return HD_ECORRUPT;
    ctxs *cx = thread_ctxs();
    if (cx == NULL)
      return HD_ENOMEM;
    if (cx->d == NULL) {
      if ((cx->d = ZSTD_createDCtx()) == NULL)
        return HD_ENOMEM;
      ZSTD_DCtx_setParameter(cx->d, ZSTD_d_windowLogMax, WINDOW_LOG_MAX);
    }
    d = cx->d;
  }

  hd_value *v;
  if (hd__value_alloc((hd_value_kind)h.kind, (size_t)h.size, &v) != HD_OK)
    return HD_ENOMEM;
  unsigned char *dst = hd__value_mut(v);
  if (h.enc == ENC_ZSTD) {
    size_t n = ZSTD_decompressDCtx(d, dst, (size_t)h.size, src, h.payload);
    if (ZSTD_isError(n)) {
      ZSTD_ErrorCode e = ZSTD_getErrorCode(n);
      ZSTD_DCtx_reset(d, ZSTD_reset_session_only);
      hd_value_unref(v);
      return e == ZSTD_error_checksum_wrong ? HD_ECHECKSUM : HD_ECORRUPT;
    }
    if (n != h.size) {
      hd_value_unref(v);
      return HD_ECORRUPT;
    }
  } else if (h.size > 0) {
    memcpy(dst, src, (size_t)h.size);
  }
  if (XXH3_64bits(dst, (size_t)h.size) != h.sum) {
    hd_value_unref(v);
    return HD_ECHECKSUM;
  }
  if (is_scalar(h.kind)) {
    uint64_t bits = get_le64(dst);
    memcpy(dst, &bits, 8);
  }
  *out = v;
  return HD_OK;
}
