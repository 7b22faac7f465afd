// A filesystem assembled from an engine's own directories (overlay2: an image's or a container's
// LowerDir/UpperDir, a volume's Mountpoint), the one C owner of opening and mounting them: for the
// dbox agent (/images, /volumes, stopped containers: read-only, detached) and for attach's
// snapshots (native/attach-snapshot.c: a throw-away upper layer on a tmpfs). The paths' shape is
// checked before (src/docker/layers.ts, the one TS owner); see layers.c for what it trusts.
#ifndef DBOX_LAYERS_H
#define DBOX_LAYERS_H

#include <stddef.h>

#define LAYERS_MAX 128  // src/docker/layers.ts LAYERS_MAX

/**
 * Checks that `path` is a canonical absolute path strictly below `root` (itself canonical and not
 * "/"): no empty, "." or ".." component, no trailing slash, no control character, no ':' or ','
 * (overlay's separators). Returns the part after "root/" or NULL (errno EINVAL).
 */
const char *layers_below(const char *root, const char *path);

/**
 * Opens `dir` (an absolute path below `data_root`) as an O_PATH directory fd, reached from `host`
 * (the root of the engine's mount namespace) one component at a time: no symbolic link anywhere
 * on the way, every directory on the way (the data root's and its own components, all but `dir`
 * itself) root's and writable by nobody else, and everything below the data root on the data
 * root's own mount. -1 and errno otherwise (EINVAL: not below the data root; ELOOP: a link;
 * EXDEV: another mount; EPERM: a directory on the way not root's alone). For a volume's directory,
 * whose own owner and mode are its users' business.
 */
int layers_open_dir(int host, const char *data_root, const char *dir);

/** layers_open_dir for a layer directory: the layer itself must also be root's alone (EPERM). */
int layers_open(int host, const char *data_root, const char *layer);

/**
 * The root (an O_PATH directory fd) of a read-only union of `n` layers (`layers[0]` on top), as a
 * detached mount that no mount namespace holds: it goes away when the last fd of it is closed.
 * An overlay when n >= 2, a read-only clone of the one directory when n == 1. -1 and errno.
 */
int layers_mount_ro(int host, const char *data_root, const char *const *layers, size_t n);

/**
 * A writable, throw-away union: a tmpfs at `scratch` (a directory of the caller's own private
 * mount namespace) and, at `scratch`/root, a nodev overlay of `fds` (from layers_open, top first)
 * as its lower layers with its upper and work directories on that tmpfs. 0, or -1 and errno.
 */
int layers_mount_rw(const char *scratch, const int *fds, size_t n);

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
