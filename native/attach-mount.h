// attach's mounts: a host directory appears, read-only, at a path inside a container's mount
// namespace, and goes away again; and what a killed attach left is found and removed.
//
// What is trusted, and why:
//   - The source directory (HOSTDIR, the toolbox by default) and the host's own mount table:
//     they are root's, on the host, chosen by the user who runs attach.
//   - Nothing of the host but the source directory is ever attached where the container can
//     see it, and only read-only, nosuid and nodev: the tree is a detached mount (open_tree
//     OPEN_TREE_CLONE, or for blockdev a mount made in a private mount namespace and cloned
//     from there), sealed with mount_setattr(AT_RECURSIVE) before it is moved into the
//     container. Without mount_setattr (Linux < 5.12) the attach is refused rather than showing
//     a writable tree for a moment. blockdev's device node lives on a detached tmpfs, and the
//     device's whole filesystem is mounted only in a private mount namespace of this process,
//     which dies when the process enters the container's: the container never sees it.
//   - Paths inside the container are the container's to change at any moment. The target is
//     opened once, one name at a time, never following a symbolic link (a link anywhere on the
//     way is an error); missing directories are made by single-name mkdirat in the directory
//     just opened; the tree is mounted onto that fd (MOVE_MOUNT_T_EMPTY_PATH) and unmounted
//     through the tree's own fd (/proc/self/fd of this process in the host's /proc), never by
//     a path the container could have swapped. Directories are removed the same way, and only
//     when empty (rmdir).
//   - After a crash (attach --cleanup) a mount is unmounted only once proven to be dbox's: the
//     mount recorded in the state (its id) or one at the requested target, opened without
//     following links, whose root is the source directory itself (same device and inode).
//   - A read-only container root: a missing target is created through a private, writable clone
//     of the container's root mount that only this process holds (open_tree + mount_setattr
//     clearing MOUNT_ATTR_RDONLY), never by remounting the container's root read-write. The
//     container sees an empty directory appear in its root (and go at the end): it never has a
//     writable root, not even for a moment. Only for the container's own root filesystem: a
//     read-only bind of something else (a host directory, a volume) is never written to.
#ifndef DBOX_ATTACH_MOUNT_H
#define DBOX_ATTACH_MOUNT_H

#include <stddef.h>

#include "attach-sys.h"

/** A detached mount of the source directory, sealed read-only, nosuid, nodev. */
struct source_tree {
  int fd;
  unsigned long long dev_major, dev_minor, ino;  // the source directory's identity
};

/** mount-api: a recursive clone of the host's mount of `source` (Linux >= 5.2). */
int tree_clone(const char *source, struct source_tree *t, struct fail *f);

/** blockdev: `source`'s filesystem mounted anew from its block device in a private mount
 *  namespace (this process stays in it until it enters the container's), and the directory
 *  cloned from there. */
int tree_from_device(const char *source, struct source_tree *t, struct fail *f);

/** Opens `target` (absolute, normalised) below `root` without following links, creating missing
 *  directories; `created` (PATH_MAX) gets the topmost one made, "" when none. O_PATH fd or -1. */
int target_open(int root, const char *target, char *created, struct fail *f);

/** Moves the tree onto the target (which must not be a mount point already); its mount id. */
int tree_attach(struct source_tree *t, int target, unsigned long long *mount_id, struct fail *f);

/** Unmounts the attached tree through its own fd (`proc`: the host's /proc). */
int tree_detach(int proc, struct source_tree *t, struct fail *f);

/** Removes the empty directories attach made, from `target` up to `created`; counts them in
 *  *removed, and what could not be removed (with a line on stderr) in *left. Returns 1 when what
 *  is left was left for a reason of this process's (out of memory, of descriptors), which a later
 *  cleanup may not meet: then the state is worth keeping. 0 otherwise (the container's doing: a
 *  directory filled, moved or replaced). */
int created_remove(int root, const char *target, const char *created, int *removed, int *left);

/** What proves a mount is dbox's: its root is the source directory; and which mount. */
struct mount_proof {
  unsigned long long dev_major, dev_minor, ino;
  int has_mount_id;
  unsigned long long mount_id;  // the mount recorded by the attach; else the one at `target`
  const char *target;
};

/** Unmounts what a killed attach left in the container (whose mount namespace this process has
 *  entered; `pid_dir` gives its mountinfo). Counts in *unmounted and *left. */
int leftovers_unmount(int proc, int pid_dir, int root, const struct mount_proof *p, int *unmounted, int *left, struct fail *f);

#endif
