/* Values: immutable, reference-counted buffers, and their compressed frames.
 *
 * A value holds bytes, text, a 64-bit integer or a double. It is never
 * changed after it is made, so any number of threads may read it at once;
 * hd_value_ref() and hd_value_unref() are thread-safe. A new value starts
 * with one reference, owned by its creator.
 *
 * Crossing a process or host boundary, or resting on disk, a value is a
 * frame: a 32-byte header (magic, kind, encoding, sizes, an XXH3-64
 * checksum of the content) followed by the content, compressed with zstd
 * (with zstd's own checksum on) unless compression would not make it
 * smaller. Decoding takes a size bound and refuses a frame that declares
 * more, is truncated, or fails a checksum, before allocating anything
 * large. */
#ifndef HODOS_VALUE_H
#define HODOS_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

HD_BEGIN_DECLS

typedef struct hd_value hd_value;

/* The kinds of value. The numbers go into frames and never change. */
typedef enum hd_value_kind {
  HD_VALUE_BYTES = 1,  /* arbitrary bytes */
  HD_VALUE_TEXT = 2,   /* UTF-8 text, not checked */
  HD_VALUE_INT = 3,    /* a signed 64-bit integer */
  HD_VALUE_DOUBLE = 4, /* an IEEE 754 double */
} hd_value_kind;

/* Pass as a length to mean "up to the terminating NUL". */
#define HD_NUL_TERMINATED ((size_t)-1)

/* Create a value holding a copy of len bytes at data (data may be NULL when
 * len is 0). On success *out holds the caller's reference.
 * Errors: HD_EINVAL (out NULL, or data NULL with len > 0), HD_ENOMEM. */
HD_API int hd_value_new_bytes(const void *data, size_t len, hd_value **out);

/* Create a text value from len bytes of s, or from all of s up to its NUL
 * when len is HD_NUL_TERMINATED. Errors as hd_value_new_bytes(). */
HD_API int hd_value_new_text(const char *s, size_t len, hd_value **out);

/* Create an integer or a double value. Errors: HD_EINVAL, HD_ENOMEM. */
HD_API int hd_value_new_int(int64_t i, hd_value **out);
HD_API int hd_value_new_double(double d, hd_value **out);

/* Add a reference and return v. v may be NULL (returns NULL). */
HD_API hd_value *hd_value_ref(hd_value *v);

/* Drop a reference; the last one frees the value. NULL does nothing. */
HD_API void hd_value_unref(hd_value *v);

/* The value's kind. These readers take NULL as an empty bytes value
 * (kind HD_VALUE_BYTES, size 0, data ""), as a task's missing output
 * reads. */
HD_API hd_value_kind hd_value_kind_of(const hd_value *v);

/* The name of a kind: "bytes", "text", "int", "double", or "unknown". */
HD_API const char *hd_value_kind_name(hd_value_kind kind);

/* The size of the content in bytes (8 for an integer or a double). */
HD_API size_t hd_value_size(const hd_value *v);

/* The content. It is followed by a NUL byte that is not counted in the size,
 * so text and bytes can be read as C strings when they hold no NUL. The
 * pointer lives as long as the value. */
HD_API const void *hd_value_data(const hd_value *v);

/* The content as a NUL-terminated string (text and bytes only; NULL for
 * other kinds; "" for NULL, read as an empty bytes value). */
HD_API const char *hd_value_text(const hd_value *v);

/* Read an integer or a double. Errors: HD_ETYPE when v has another kind,
 * HD_EINVAL when an argument is NULL. */
HD_API int hd_value_get_int(const hd_value *v, int64_t *out);
HD_API int hd_value_get_double(const hd_value *v, double *out);

/* Compare kind and content. Returns 1 when equal, 0 otherwise. */
HD_API int hd_value_equal(const hd_value *a, const hd_value *b);

/* The size of a frame header. */
#define HD_FRAME_HEADER_SIZE 32

/* Encode v as a frame, compressed with zstd at the given level (1 is fast,
 * 19 is small; 0 means the default, 1) unless the content is shorter than
 * 64 bytes or would not shrink. The frame is returned as a new bytes value
 * in *frame. Thread-safe: each thread keeps its own zstd contexts.
 * Errors: HD_EINVAL, HD_ENOMEM, HD_ECOMPRESS. */
HD_API int hd_value_encode(const hd_value *v, int level, hd_value **frame);

/* Decode len bytes of a frame into a new value in *out, refusing any frame
 * whose content exceeds max_size bytes before allocating for it.
 * Errors: HD_EINVAL (bad arguments), HD_ETRUNC (the frame is cut short),
 * HD_ECORRUPT (bad magic, version, kind, encoding, or sizes that disagree),
 * HD_ETOOBIG (content larger than max_size), HD_ECHECKSUM (content damaged),
 * HD_ENOMEM. Thread-safe. */
HD_API int hd_value_decode(const void *frame, size_t len, size_t max_size,
                           hd_value **out);

/* Read the content size a frame header declares, without decoding it.
 * Errors: HD_ETRUNC, HD_ECORRUPT. */
HD_API int hd_value_frame_size(const void *frame, size_t len,
                               uint64_t *content_size);

HD_END_DECLS

#endif
