// A container's or an image's filesystem assembled from the engine's own layer directories: an
// overlay of them (read-only lower layers) with a throw-away upper layer on a tmpfs. For attach's
// snapshots (native/attach-snapshot.c); made to be reused by other assemblies of layers (the
// /images and stopped-container work of issue 13), so it knows nothing of attach.
//
// What is trusted, and why:
//   - The layer paths come from an engine's inspect answer and are hostile. The caller checks
//     their shape (src/attach/snapshot.ts: absolute, normalised, `…/overlay2/<64 hex>[-init]/diff`);
//     layer_open opens each from "/" one component at a time without following any link, and
//     every directory on the way must be root's and writable by nobody else, so no unprivileged
//     local user can have made it or can change it. The overlay is then given the opened
//     directories (/proc/self/fd/N), never a path that could be swapped in between.
//   - layers_mount must run in a mount namespace of the caller's own (an overlay takes lower
//     directories only from mounts of the namespace it is made in, so the layers are opened after
//     entering it): the tmpfs and the overlay are seen by nobody else and go with the namespace.
//   - The overlay is nodev: a device node in a layer (or made in the upper one) opens nothing.
#ifndef DBOX_LAYERS_H
#define DBOX_LAYERS_H

#include "attach-sys.h"

#define LAYERS_MAX 128

/** Opens one layer directory as described above: an O_PATH fd, or -1 (and why, in f). */
int layer_open(const char *path, struct fail *f);

/** Mounts a tmpfs at `scratch` (a directory of the caller's private mount namespace) and, at
 *  `scratch`/root, the overlay of `layers` (fds from layer_open, top first) with its upper and
 *  work directories on that tmpfs. */
int layers_mount(const char *scratch, const int *layers, int n, struct fail *f);

#endif
