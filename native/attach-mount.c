// attach's mounts: see attach-mount.h for what is trusted and why.
#define _GNU_SOURCE
#include "attach-mount.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "attach-quote.h"
#include "attach-state.h"

// ---------- the tree ----------

/** Read-only, nosuid, nodev, private, for the whole tree: before anyone but us can reach it. */
static int tree_seal(int fd, struct fail *f) {
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, .propagation = MS_PRIVATE};
  if (sys_mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr) == 0) return 0;
  if (errno == ENOSYS)
    return failf(f, EXIT_UNSUPPORTED, "attach needs Linux 5.12 or later (mount_setattr) to show the directory read-only");
  return failf(f, EXIT_ATTACH, "cannot make the directory read-only (mount_setattr): %s", strerror(errno));
}

static int tree_identity(struct source_tree *t, struct fail *f) {
  struct stat st;
  if (fstat(t->fd, &st) < 0) return failf(f, EXIT_ATTACH, "the detached tree: %s", strerror(errno));
  t->dev_major = major(st.st_dev);
  t->dev_minor = minor(st.st_dev);
  t->ino = st.st_ino;
  return 0;
}

int tree_clone(const char *source, struct source_tree *t, struct fail *f) {
  t->fd = sys_open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (t->fd < 0) {
    if (errno == ENOSYS) return failf(f, EXIT_UNSUPPORTED, "the mount-api method needs Linux 5.2 or later (open_tree)");
    return failf(f, EXIT_ATTACH, "open_tree %s: %s", source, strerror(errno));
  }
  if (tree_seal(t->fd, f) < 0 || tree_identity(t, f) < 0) {
    close_fd(&t->fd);
    return -1;
  }
  return 0;
}

/** The type of the host's filesystem on device `dev`, from the host's mount table. */
static int fstype_of(dev_t dev, char *out, size_t len) {
  FILE *m = fopen("/proc/self/mountinfo", "re");
  if (!m) return -1;
  char *line = NULL;
  size_t cap = 0;
  int found = -1;
  while (found < 0 && getline(&line, &cap, m) > 0) {
    unsigned maj, min;
    const char *dash = strstr(line, " - ");
    char type[64];
    if (sscanf(line, "%*s %*s %u:%u", &maj, &min) == 2 && makedev(maj, min) == dev && dash && sscanf(dash + 3, "%63s", type) == 1) {
      snprintf(out, len, "%s", type);
      found = 0;
    }
  }
  free(line);
  fclose(m);
  return found;
}

/** A detached tmpfs (no mount point anywhere) holding a block device node "dev" for `dev`. */
static int device_node(dev_t dev, struct fail *f) {
  int fs = sys_fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0) return failf(f, errno == ENOSYS ? EXIT_UNSUPPORTED : EXIT_ATTACH, "fsopen tmpfs: %s", strerror(errno));
  int mnt = -1;
  if (sys_fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0700", 0) < 0 || sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
      (mnt = sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NOSUID)) < 0) {
    failf(f, EXIT_ATTACH, "a private tmpfs for the device node: %s", strerror(errno));
  } else if (mknodat(mnt, "dev", S_IFBLK | 0600, dev) < 0) {
    failf(f, EXIT_ATTACH, "mknod of the device node: %s", strerror(errno));
    close_fd(&mnt);
  }
  close_fd(&fs);
  return mnt;
}

/** The filesystem on the device node, as a detached mount; the superblock is the host's own, so
 *  it is asked read-only only when the host has it so (asking otherwise fails with EBUSY). */
static int device_mount(int node_dir, const char *fstype, struct fail *f) {
  char source[64];
  snprintf(source, sizeof source, "/proc/self/fd/%d/dev", node_dir);
  for (int ro = 0; ro < 2; ro++) {
    int fs = sys_fsopen(fstype, FSOPEN_CLOEXEC);
    if (fs < 0) return failf(f, EXIT_ATTACH, "fsopen %s: %s", fstype, strerror(errno));
    int r = sys_fsconfig(fs, FSCONFIG_SET_STRING, "source", source, 0);
    if (r == 0 && ro) r = sys_fsconfig(fs, FSCONFIG_SET_FLAG, "ro", NULL, 0);
    if (r == 0) r = sys_fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0);
    int mnt = r == 0 ? sys_fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) : -1;
    int e = errno;
    close_fd(&fs);
    if (mnt >= 0) return mnt;
    if (e != EBUSY || ro) return failf(f, EXIT_ATTACH, "mount of the %s device: %s", fstype, strerror(e));
  }
  return -1;
}

int tree_from_device(const char *source, struct source_tree *t, struct fail *f) {
  t->fd = -1;
  int src = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC), node = -1, dev_mnt = -1, where = -1, dir = -1;
  struct stat st;
  char fstype[64];
  struct file_handle *fh = malloc(sizeof *fh + MAX_HANDLE_SZ);
  int mount_id;
  if (!fh) {
    failf(f, EXIT_ATTACH, "out of memory");
    goto out;
  }
  fh->handle_bytes = MAX_HANDLE_SZ;
  if (src < 0 || fstat(src, &st) < 0) {
    failf(f, EXIT_ATTACH, "%s: %s", source, strerror(errno));
    goto out;
  }
  if (fstype_of(st.st_dev, fstype, sizeof fstype) < 0) {
    failf(f, EXIT_ATTACH, "%s: cannot find its mount", source);
    goto out;
  }
  if (major(st.st_dev) == 0) {
    failf(f, EXIT_UNSUPPORTED, "the blockdev method needs a directory on a block device (%s is on %s)", source, fstype);
    goto out;
  }
  // The directory is found again in the new mount by its file handle: the same inode, with no
  // path arithmetic on mount tables.
  if (name_to_handle_at(src, "", fh, &mount_id, AT_EMPTY_PATH) < 0) {
    failf(f, errno == EOPNOTSUPP ? EXIT_UNSUPPORTED : EXIT_ATTACH, "%s: file handle: %s", source, strerror(errno));
    goto out;
  }
  if ((node = device_node(st.st_dev, f)) < 0) goto out;
  // From here on this process has a mount namespace of its own, private (nothing propagates to
  // or from the host), until it enters the container's.
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    failf(f, EXIT_ATTACH, "a private mount namespace: %s", strerror(errno));
    goto out;
  }
  if ((dev_mnt = device_mount(node, fstype, f)) < 0) goto out;
  // Attached (in the private namespace, over the source directory itself, which is known to
  // exist) because older kernels clone only attached mounts.
  if ((where = open(source, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
      sys_move_mount(dev_mnt, "", where, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
    failf(f, EXIT_ATTACH, "mount of the device in the private namespace: %s", strerror(errno));
    goto out;
  }
  // open_by_handle_at wants an ordinary fd of the mount (an O_PATH one is EBADF to it).
  close_fd(&where);
  if ((where = openat(dev_mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
      (dir = open_by_handle_at(where, fh, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
    failf(f, EXIT_ATTACH, "%s in the device's filesystem: %s", source, strerror(errno));
    goto out;
  }
  if ((t->fd = sys_open_tree(dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)) < 0) {
    failf(f, errno == ENOSYS ? EXIT_UNSUPPORTED : EXIT_ATTACH, "open_tree of %s: %s", source, strerror(errno));
    goto out;
  }
  if (tree_seal(t->fd, f) < 0 || tree_identity(t, f) < 0) close_fd(&t->fd);
out:
  free(fh);
  close_fd(&src);
  close_fd(&node);
  close_fd(&dev_mnt);
  close_fd(&where);
  close_fd(&dir);
  return t->fd >= 0 ? 0 : -1;
}

// ---------- the target ----------

/** One name in dir, never following a link: ELOOP for a link, ENOTDIR for a non-directory. */
static int open_name(int dir, const char *name) {
  return sys_openat2(dir, name, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_BENEATH);
}

/** An absolute path below root, one name at a time without following links. "/" is root. */
static int open_path(int root, const char *path) {
  int dir = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  char *save = NULL;
  for (char *c = strtok_r(buf, "/", &save); dir >= 0 && c; c = strtok_r(NULL, "/", &save)) {
    int next = open_name(dir, c);
    close_fd(&dir);
    dir = next;
  }
  return dir;
}

enum change { MAKE_DIR, REMOVE_DIR };

/**
 * mkdir or rmdir of `name` in `dir`. On a read-only mount of the container's own root filesystem,
 * through a writable clone of that mount which only this process holds: the container's root
 * stays read-only throughout (see the header). Anything else read-only stays untouched (EROFS).
 *
 * What a container can do meanwhile: see an empty directory appear in its root (or go), as it
 * would see any change to its filesystem. It cannot reach the writable clone: the clone is a
 * detached mount in an anonymous namespace, held only by an fd of this process, which is not in
 * the container's PID namespace and is not dumpable; it is closed at once. (The remount that this
 * replaces made the container's whole root writable for that moment: a container process writing
 * in a loop got files into its read-only root, and the remount back to read-only then failed with
 * EBUSY while they were open.)
 */
static int change_dir(int root, int dir, const char *name, enum change what) {
  int r = what == MAKE_DIR ? mkdirat(dir, name, 0755) : unlinkat(dir, name, AT_REMOVEDIR);
  if (r == 0 || errno != EROFS) return r;
  struct stat a, b;
  if (fstat(root, &a) < 0 || fstat(dir, &b) < 0) return -1;
  if (a.st_dev != b.st_dev) {
    errno = EROFS;
    return -1;
  }
  int clone = sys_open_tree(dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (clone < 0) return -1;
  struct mount_attr attr = {.attr_clr = MOUNT_ATTR_RDONLY};
  r = sys_mount_setattr(clone, "", AT_EMPTY_PATH, &attr);
  if (r == 0) r = what == MAKE_DIR ? mkdirat(clone, name, 0755) : unlinkat(clone, name, AT_REMOVEDIR);
  if (r < 0 && errno == ENOSYS) errno = EROFS;
  close_fd(&clone);
  return r;
}

int target_open(int root, const char *target, char *created, struct fail *f) {
  created[0] = 0;
  char buf[PATH_MAX], walked[PATH_MAX] = "";
  snprintf(buf, sizeof buf, "%s", target);
  int dir = openat(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return failf(f, EXIT_ATTACH, "the container's root: %s", strerror(errno));
  char *save = NULL;
  for (char *c = strtok_r(buf, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
    size_t n = strlen(walked);
    snprintf(walked + n, sizeof walked - n, "/%s", c);
    int next = open_name(dir, c);
    if (next < 0 && errno == ENOENT) {
      if (change_dir(root, dir, c, MAKE_DIR) == 0) {
        if (!created[0]) snprintf(created, PATH_MAX, "%s", walked);
      } else if (errno != EEXIST) {
        failf(f, EXIT_ATTACH, "cannot create %s in the container: %s", quoted(walked), strerror(errno));
        close_fd(&dir);
        return -1;
      }
      next = open_name(dir, c);
    }
    if (next < 0) {
      if (errno == ENOTDIR) failf(f, EXIT_ATTACH, "%s exists in the container and is not a directory", quoted(walked));
      else if (errno == ELOOP || errno == EXDEV) failf(f, EXIT_ATTACH, "%s in the container is a symbolic link: attach does not follow links there", quoted(walked));
      else failf(f, EXIT_ATTACH, "%s in the container: %s", quoted(walked), strerror(errno));
      close_fd(&dir);
      return -1;
    }
    close_fd(&dir);
    dir = next;
  }
  return dir;
}

static int mount_id_of(int fd, const char *path, unsigned long long *id) {
  struct statx sx;
  if (statx(fd, path, (path[0] ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH), STATX_MNT_ID, &sx) < 0) return -1;
  if (!(sx.stx_mask & STATX_MNT_ID)) {
    errno = ENOSYS;
    return -1;
  }
  *id = sx.stx_mnt_id;
  return 0;
}

int tree_attach(struct source_tree *t, int target, unsigned long long *mount_id, struct fail *f) {
  unsigned long long here, up;
  if (mount_id_of(target, "", &here) < 0 || mount_id_of(target, "..", &up) < 0) {
    if (errno == ENOSYS) return failf(f, EXIT_UNSUPPORTED, "attach needs Linux 5.8 or later (statx mount ids)");
    return failf(f, EXIT_ATTACH, "the target: %s", strerror(errno));
  }
  if (here != up) {
    errno = EBUSY;
    return failf(f, EXIT_ATTACH, "is already a mount point in the container (a previous attach? try attach --cleanup)");
  }
  if (sys_move_mount(t->fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    return failf(f, EXIT_ATTACH, "move_mount: %s", strerror(errno));
  if (mount_id_of(t->fd, "", mount_id) < 0) return failf(f, EXIT_ATTACH, "the new mount's id: %s", strerror(errno));
  return 0;
}

/** Unmounts the mount whose root `fd` is, by the fd (this process's /proc/self/fd in the host's
 *  /proc): whatever path it has now in the container, that mount and no other. */
static int unmount_fd(int proc, int fd) {
  char rel[32];
  snprintf(rel, sizeof rel, "self/fd/%d", fd);
  if (fchdir(proc) < 0) return -1;
  return umount2(rel, MNT_DETACH);
}

int tree_detach(int proc, struct source_tree *t, struct fail *f) {
  if (unmount_fd(proc, t->fd) < 0) return failf(f, EXIT_ATTACH, "unmount of the attached directory: %s", strerror(errno));
  close_fd(&t->fd);
  return 0;
}

/** Whether a failure is the container's doing (a directory moved, replaced by a link or a file,
 *  filled, mounted on), which a later cleanup would meet again; anything else (out of memory or
 *  descriptors) is this process's. */
static int containers_doing(int err) {
  return err == ENOTEMPTY || err == EEXIST || err == EBUSY || err == ELOOP || err == ENOTDIR || err == EXDEV || err == ENOENT ||
         err == EROFS;
}

/** Says why `path` is left; 1 when a later cleanup may remove it, else 0. */
static int left_behind(const char *path, int err, const char *why) {
  fprintf(stderr, "attach: left %s in the container: %s\n", quoted(path), why ? why : strerror(err));
  return !why && !containers_doing(err);
}

int created_remove(int root, const char *target, const char *created, int *removed, int *left) {
  if (!created || !created[0] || !state_path_within(created, target)) return 0;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", target);
  for (;;) {
    char *slash = strrchr(path, '/');
    const char *name = slash + 1;
    *slash = 0;
    int parent = open_path(root, path[0] ? path : "/");
    *slash = '/';
    struct stat st;
    int err = 0, later = 0;
    if (parent < 0 && errno == ENOENT) {  // its parent is gone, so is it (removed by an earlier run)
      if (strcmp(path, created) == 0) return 0;
      *slash = 0;
      continue;
    }
    if (parent < 0) {
      err = errno;
      ++*left;
      if (err == ELOOP || err == ENOTDIR || err == EXDEV) return left_behind(path, err, "its parent cannot be reached without following a link");
      return left_behind(path, err, NULL);
    }
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISDIR(st.st_mode)) err = ENOTDIR;
      else if (change_dir(root, parent, name, REMOVE_DIR) < 0) err = errno;
      if (err) {
        ++*left;
        later = left_behind(path, err, S_ISDIR(st.st_mode) ? NULL : "not a directory any more");
        close_fd(&parent);
        return later;
      }
      ++*removed;
    } else if (errno != ENOENT) {  // gone already is fine; not knowing is not
      err = errno;
      ++*left;
      close_fd(&parent);
      return left_behind(path, err, NULL);
    }
    close_fd(&parent);
    if (strcmp(path, created) == 0) return 0;
    *slash = 0;
  }
}

// ---------- what a killed attach left ----------

/** Undoes mountinfo's octal escapes (\040 for a space, \012, \134...) in place. */
static void unescape(char *s) {
  char *out = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
      *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
      p += 3;
    } else {
      *out++ = *p;
    }
  }
  *out = 0;
}

struct candidate {
  unsigned long long id;
  char *point;
};

/** The container's mounts that may be dbox's (by id, or at the target, on the source's device). */
static int candidates(int pid_dir, const struct mount_proof *p, struct candidate *out, int max, struct fail *f) {
  int fd = openat(pid_dir, "mountinfo", O_RDONLY | O_CLOEXEC);
  FILE *m = fd >= 0 ? fdopen(fd, "re") : NULL;
  if (!m) {
    close_fd(&fd);
    return failf(f, EXIT_ATTACH, "the container's mount table: %s", strerror(errno));
  }
  char *line = NULL;
  size_t cap = 0;
  int n = 0;
  ssize_t got = 0;
  while (n < max && (got = getline(&line, &cap, m)) > 0) {
    unsigned long long id, maj, min;
    char *point = NULL;
    int fields = sscanf(line, "%llu %*u %llu:%llu %*s %ms", &id, &maj, &min, &point);
    if (fields == 3) {  // every line has a mount point: this one could not be allocated
      got = -1;
      errno = ENOMEM;
      break;
    }
    if (fields != 4) {
      free(point);
      continue;
    }
    unescape(point);
    int ours = maj == p->dev_major && min == p->dev_minor && (p->has_mount_id ? id == p->mount_id : strcmp(point, p->target) == 0);
    if (ours && strcmp(point, "/") != 0) {
      out[n].id = id;
      out[n++].point = point;
    } else {
      free(point);
    }
  }
  // A table read only in part would hide mounts that are dbox's: no answer rather than a short one.
  int unread = got < 0 && !feof(m), err = errno;
  free(line);
  fclose(m);
  if (unread) {
    for (int i = 0; i < n; i++) free(out[i].point);
    return failf(f, EXIT_ATTACH, "the container's mount table: %s", strerror(err));
  }
  return n;
}

int leftovers_unmount(int proc, int pid_dir, int root, const struct mount_proof *p, int *unmounted, int *left, struct fail *f) {
  // Stacked mounts at the target come off one per round; a recorded id names one mount.
  for (int round = 0; round < 16; round++) {
    struct candidate c[16];
    int n = candidates(pid_dir, p, c, 16, f), progress = 0, stuck = 0;
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
      int fd = sys_openat2(root, c[i].point + 1, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
      struct statx sx;
      if (fd < 0 && errno == ENOTDIR) {
        // Not a directory: never an attached directory, whatever a record says.
      } else if (fd < 0 || statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID | STATX_INO, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID)) {
        // Maybe ours, behind a link the container put on the way: left, and said.
        fprintf(stderr, "attach: left the mount at %s in the container: it cannot be reached without following a link\n", quoted(c[i].point));
        ++*left;
        stuck = 1;
      } else if (sx.stx_mnt_id != c[i].id || sx.stx_dev_major != p->dev_major || sx.stx_dev_minor != p->dev_minor || sx.stx_ino != p->ino) {
        // Proven not to be the attached directory: not ours to touch.
      } else if (unmount_fd(proc, fd) < 0) {
        fprintf(stderr, "attach: left the mount at %s in the container: %s\n", quoted(c[i].point), strerror(errno));
        ++*left;
        stuck = 1;
      } else {
        ++*unmounted;
        progress = 1;
      }
      close_fd(&fd);
      free(c[i].point);
    }
    if (!progress || stuck || p->has_mount_id) return 0;
  }
  return 0;
}
