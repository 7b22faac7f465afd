// The presented form of a container's symlink: see link.h for the rule and what it trusts.
// Pure: no system calls, no allocation (unit-tested through the addon, test/unit/link.test.ts).
#include "link.h"

#include <errno.h>
#include <string.h>

ssize_t link_present(const char *target, size_t len, size_t depth, char *out, size_t size) {
  if (len == 0 || memchr(target, '\0', len) != NULL) {
    errno = EINVAL;
    return -1;
  }
  if (size == 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  // Where the lexical walk stands: the first `keep` components of the link's directory (whose
  // names this function never needs), then the names in out[0, used), separated by "/".
  size_t above = depth > 0 ? depth - 1 : 0;
  size_t keep = target[0] == '/' ? 0 : above;
  size_t used = 0;
  for (size_t i = 0; i < len;) {
    size_t end = i;
    while (end < len && target[end] != '/') end++;
    size_t n = end - i;
    const char *c = target + i;
    if (n == 0 || (n == 1 && c[0] == '.')) {
      // nothing: an empty component or "."
    } else if (n == 2 && c[0] == '.' && c[1] == '.') {
      if (used > 0) {  // drop the last name
        while (used > 0 && out[used - 1] != '/') used--;
        if (used > 0) used--;
      } else if (keep > 0) {
        keep--;
      }  // else: at the container's root, ".." stays there
    } else {
      size_t need = used + (used > 0) + n;
      if (need >= size) {
        errno = ENAMETOOLONG;
        return -1;
      }
      if (used > 0) out[used++] = '/';
      memcpy(out + used, c, n);
      used += n;
    }
    i = end + 1;
  }
  int slash = used > 0 && target[len - 1] == '/';
  size_t ups = above - keep;
  if (ups > (size - 1) / 3) {
    errno = ENAMETOOLONG;
    return -1;
  }
  // "../" per level, then the names; with no names the last "/" goes ("../.."), and nothing at
  // all is "." (the link's own directory).
  size_t total = used > 0 ? ups * 3 + used + (size_t)slash : ups > 0 ? ups * 3 - 1 : 1;
  if (total >= size) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (used > 0) {
    memmove(out + ups * 3, out, used);
    if (slash) out[ups * 3 + used] = '/';
  }
  for (size_t i = 0; i < ups; i++) memcpy(out + i * 3, "../", 3);
  if (used == 0 && ups == 0) out[0] = '.';
  out[total] = '\0';
  return (ssize_t)total;
}
