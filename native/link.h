// How the mount presents a container's symlinks: ONE rule, used by both of the mount's servers
// (dbox-fuse links it in; the fuse-native server in Node calls it through the addon).
//
// What is trusted, and why: nothing of the target. A target is bytes a container wrote; the
// kernel follows it on the READER's side, from the directory the reader used, so an absolute
// target would reach the host's "/" and a relative one with enough ".." would climb out of the
// container's directory in the mount, and on into the host. The only things trusted are the
// link's depth below its container's root, which the server knows from the path the kernel used
// (dbox-fuse keys its nodes by that depth; fuse-native is given full paths), and the rule below.
//
// The rule: the target is resolved LEXICALLY from the link's own directory, inside the container
// as if its root were "/" (an absolute target starts at the container's root; ".." at the
// container's root stays there, as RESOLVE_IN_ROOT does; "", "." and empty components vanish),
// and written back as at most (depth - 1) leading "../" followed by plain names. So the kernel,
// resolving it from the link's directory, never climbs above the container's directory, and no
// ".." follows a name (a name may itself be a link, and a ".." after it would climb from wherever
// that link led). A trailing "/" is kept after a name. Lexical resolution differs from the
// kernel's for "name/.." when name is a symlink: the mount presents the lexical meaning.
#ifndef DBOX_LINK_H
#define DBOX_LINK_H

#include <stddef.h>
#include <sys/types.h>

/**
 * Writes the presented form of symlink `target` (`len` bytes) into `out` (`size` bytes, NUL
 * terminated), for a link `depth` components below its container's root (a link in the root
 * itself is at depth 1). Returns the presented length, or -1 and errno: EINVAL for an empty target
 * or one holding a NUL byte, ENAMETOOLONG when the result does not fit in `size`.
 */
ssize_t link_present(const char *target, size_t len, size_t depth, char *out, size_t size);

#ifdef NAPI_VERSION
/** Adds presentLink(target, depth) -> string to the addon's exports (native/link-napi.c); -1 with an
 *  exception pending when N-API cannot. */
int link_napi_export(napi_env env, napi_value exports);
#endif

#endif
