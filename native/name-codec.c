// File names as bytes <-> UTF-16 with surrogateescape: see name-codec.h.
#include "name-codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

// Length of the valid UTF-8 sequence at b (n bytes left) and its code point, or 0 if the first
// byte does not start one (overlong forms, surrogates and values above U+10FFFF are invalid).
static size_t utf8_sequence(const unsigned char *b, size_t n, uint32_t *cp) {
  unsigned char c = b[0];
  if (c < 0x80) { *cp = c; return 1; }
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // the allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) len = 2;
  else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else return 0;
  if (n < len || b[1] < lo || b[1] > hi) return 0;
  for (size_t i = 2; i < len; i++)
    if (b[i] < 0x80 || b[i] > 0xBF) return 0;
  uint32_t v = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t i = 1; i < len; i++) v = (v << 6) | (b[i] & 0x3F);
  *cp = v;
  return len;
}

size_t name_decode(const char *bytes, size_t len, uint16_t *out, size_t out_cap) {
  const unsigned char *b = (const unsigned char *)bytes;
  size_t o = 0;
  for (size_t i = 0; i < len && o < out_cap;) {
    uint32_t cp;
    size_t n = utf8_sequence(b + i, len - i, &cp);
    if (n == 0) {  // not UTF-8: the byte itself, escaped
      out[o++] = (uint16_t)(0xDC00 + b[i]);
      i++;
      continue;
    }
    i += n;
    if (cp >= 0x10000) {
      if (o + 2 > out_cap) break;
      cp -= 0x10000;
      out[o++] = (uint16_t)(0xD800 + (cp >> 10));
      out[o++] = (uint16_t)(0xDC00 + (cp & 0x3FF));
    } else {
      out[o++] = (uint16_t)cp;
    }
  }
  return o;
}

long name_encode(const uint16_t *u, size_t len, char *out, size_t out_cap) {
  size_t o = 0;
  int escaped = 0;
  for (size_t i = 0; i < len; i++) {
    uint32_t cp = u[i];
    unsigned char tmp[4];
    size_t n;
    if (cp == 0) { errno = EINVAL; return -1; }
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 1 < len && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
      cp = 0x10000 + ((cp - 0xD800) << 10) + (u[i + 1] - 0xDC00);
      i++;
    } else if (cp >= 0xDC80 && cp <= 0xDCFF) {  // an escaped byte
      tmp[0] = (unsigned char)(cp - 0xDC00);
      n = 1;
      escaped = 1;
      goto put;
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {  // any other lone surrogate
      errno = EINVAL;
      return -1;
    }
    if (cp < 0x80) { tmp[0] = (unsigned char)cp; n = 1; }
    else if (cp < 0x800) { tmp[0] = (unsigned char)(0xC0 | (cp >> 6)); tmp[1] = (unsigned char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) {
      tmp[0] = (unsigned char)(0xE0 | (cp >> 12)); tmp[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      tmp[2] = (unsigned char)(0x80 | (cp & 0x3F)); n = 3;
    } else {
      tmp[0] = (unsigned char)(0xF0 | (cp >> 18)); tmp[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
      tmp[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)); tmp[3] = (unsigned char)(0x80 | (cp & 0x3F)); n = 4;
    }
  put:
    if (o + n >= out_cap) { errno = ENAMETOOLONG; return -1; }
    memcpy(out + o, tmp, n);
    o += n;
  }
  out[o] = 0;
  if (escaped) {
    // Escaped bytes next to each other (or to others) may form valid UTF-8, which decodes to
    // something else: such a string is not what any name decodes to.
    uint16_t *back = malloc((o ? o : 1) * sizeof *back);
    if (!back) { errno = ENOMEM; return -1; }
    size_t m = name_decode(out, o, back, o);
    int same = m == len && memcmp(back, u, len * sizeof *u) == 0;
    free(back);
    if (!same) { errno = EINVAL; return -1; }
  }
  return (long)o;
}
