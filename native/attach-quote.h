// Paths from a container (its mount table, its directory names) are hostile bytes: they are
// shown with every control character and every byte outside printable ASCII as a \ooo escape,
// so nothing a container names reaches the user's terminal raw.
#ifndef DBOX_ATTACH_QUOTE_H
#define DBOX_ATTACH_QUOTE_H

#include <stdio.h>

/** s, escaped; valid until the next call but one (two calls may share one message). */
static inline const char *quoted(const char *s) {
  static char bufs[2][4 * 4096 + 1];
  static int which;
  char *out = bufs[which ^= 1];
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p && n + 5 < sizeof bufs[0]; p++) {
    if (*p >= 0x20 && *p < 0x7f && *p != '\\') out[n++] = (char)*p;
    else n += (size_t)snprintf(out + n, 5, "\\%03o", *p);
  }
  out[n] = 0;
  return out;
}

#endif
