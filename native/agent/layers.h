// A filesystem assembled from an engine's own layer directories (overlay2: an image's or a stopped
// container's LowerDir/UpperDir, a volume's Mountpoint), for the dbox agent and for attach
// --snapshot. See layers.c for what it trusts.
#ifndef DBOX_LAYERS_H
#define DBOX_LAYERS_H

#include <stddef.h>

#define LAYERS_MAX 128

/**
 * Checks that `path` is a canonical absolute path strictly below `root` (itself canonical and not
 * "/"): no empty, "." or ".." component, no trailing slash, no ':' or ',' (overlay's separators).
 * Returns the part after "root/" or NULL (errno EINVAL).
 */
const char *layers_below(const char *root, const char *path);

/**
 * Opens `layer` (an absolute path below `data_root`) as an O_PATH directory fd, reached from
 * `host` (the root of the engine's mount namespace): the data root and then the layer, with no
 * symbolic link anywhere on the way (RESOLVE_NO_SYMLINKS) and the layer on the data root's own
 * mount (RESOLVE_NO_XDEV). -1 and errno otherwise (EINVAL: not below the data root; ELOOP: a link).
 */
int layers_open_dir(int host, const char *data_root, const char *layer);

/**
 * The root (an O_PATH directory fd) of a read-only union of `n` layers (`layers[0]` on top), as a
 * detached mount that no mount namespace holds: it goes away when the last fd of it is closed.
 * An overlay when n >= 2, a read-only clone of the one directory when n == 1. -1 and errno.
 */
int layers_mount_ro(int host, const char *data_root, const char *const *layers, size_t n);

/** What layers_in_namespace runs: given `host`, the namespace's root, returns an fd or -1 and errno. */
typedef int (*layers_work)(int host, const void *arg);

/**
 * Runs `work` in a child process that has joined mount namespace `mntns` (an fd of
 * /proc/<pid>/ns/mnt; needs CAP_SYS_ADMIN and CAP_SYS_CHROOT) and returns the fd it made (passed
 * back over a socket pair), or -1 and its errno. The kernel makes an overlay (or a clone) of
 * directories only from the mount namespace they are mounted in (EINVAL otherwise); the detached
 * mount that results belongs to no namespace and serves the caller wherever it is. The caller's
 * own namespaces never change (the child is a single-threaded copy that exits at once).
 */
int layers_in_namespace(int mntns, layers_work work, const void *arg);

#endif
