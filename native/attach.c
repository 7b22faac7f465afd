// dbox-attach: injects a host directory into a running container's mount namespace, runs a
// program there inside all of the container's namespaces, and removes everything afterwards.
// A separate, single-threaded executable: setns(CLONE_NEWNS) fails in a multi-threaded process
// such as Node.
//
//   dbox-attach inject --pid PID --source DIR --target PATH --method mount-api|blockdev
//                      [--state FILE] -- PROGRAM [ARGS...]
//   dbox-attach cleanup --pid PID --target PATH [--remove-dir DIR]
//
// Methods:
//   mount-api  open_tree(OPEN_TREE_CLONE|AT_RECURSIVE) of DIR on the host, setns into the
//              container, move_mount onto PATH. Any filesystem, no device node (Linux >= 5.2).
//   blockdev   Whaler's: find DIR's block device and its path inside that filesystem, mknod a
//              temporary device node in the container, mount it, bind the subdirectory onto PATH,
//              remove the temporary mount and node.
// A missing PATH is created (the container's root is remounted read-write for that moment only
// when it is read-only, and made read-only again) and removed at the end.
//
// Exit status: the program's (128+N for signal N); 125 for an attach error, with one line on
// stderr; 124 when the kernel lacks the method (so `auto` can try the next one).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/mount.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_ATTACH 125
#define EXIT_UNSUPPORTED 124

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

// The state file (what this attach changed, for `attach --cleanup` after a crash) lives on the
// host: it is opened before entering the container and written and removed through descriptors.
static int state_fd = -1, state_dir = -1;
static char state_name[NAME_MAX + 1];
// The host's /proc and the container's pid, opened before entering the container: inside it,
// /proc is the container's own, where this process (outside its PID namespace) has no /proc/self.
static int host_proc = -1;
static int target_pid;

// The container's mount table, read fresh each time (mount points relative to its root).
static FILE *container_mountinfo(void) {
  char rel[64];
  snprintf(rel, sizeof rel, "%d/mountinfo", target_pid);
  int fd = openat(host_proc, rel, O_RDONLY | O_CLOEXEC);
  return fd < 0 ? NULL : fdopen(fd, "re");
}

static void remove_state(void);
static int state_written;

static void die(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("attach: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  // Before anything in the container changed, the (empty) state file has nothing to tell.
  if (!state_written) remove_state();
  exit(status);
}

// ---------- mounts ----------

// Mount flags of the mount holding path, as MS_* flags for a remount that keeps them.
static unsigned long mount_flags_of(const char *path) {
  struct statvfs s;
  if (statvfs(path, &s) < 0) return 0;
  unsigned long f = 0;
  if (s.f_flag & ST_RDONLY) f |= MS_RDONLY;
  if (s.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) f |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

// The mount point (in this namespace) of the mount holding path: longest matching prefix in mountinfo.
static int mount_point_of(const char *path, char *out) {
  FILE *f = container_mountinfo();
  if (!f) return -1;
  char line[4096];
  size_t best = 0;
  out[0] = 0;
  while (fgets(line, sizeof line, f)) {
    char mp[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1) continue;
    size_t n = strlen(mp);
    int prefix = strcmp(mp, "/") == 0 || (strncmp(path, mp, n) == 0 && (path[n] == '/' || path[n] == 0));
    if (prefix && n >= best) {
      best = n;
      snprintf(out, PATH_MAX, "%s", mp);
    }
  }
  fclose(f);
  return out[0] ? 0 : -1;
}

// Runs fn(arg) with the mount holding `near` writable, restoring read-only afterwards (Whaler's
// way of creating a directory on a read-only root). Returns fn's result.
static int with_writable(const char *near, int (*fn)(const char *), const char *arg, int *remounted) {
  int r = fn(arg);
  if (r == 0 || errno != EROFS) return r;
  char mp[PATH_MAX];
  if (mount_point_of(near, mp) < 0) { errno = EROFS; return -1; }
  unsigned long flags = mount_flags_of(mp);
  if (mount(NULL, mp, NULL, MS_REMOUNT | MS_BIND | (flags & ~MS_RDONLY), NULL) < 0) {
    fprintf(stderr, "attach: cannot make %s writable for a moment: %s\n", mp, strerror(errno));
    errno = EROFS;
    return -1;
  }
  if (remounted) *remounted = 1;
  r = fn(arg);
  int e = errno;
  if (mount(NULL, mp, NULL, MS_REMOUNT | MS_BIND | flags, NULL) < 0)
    fprintf(stderr, "attach: warning: could not make %s read-only again: %s\n", mp, strerror(errno));
  errno = e;
  return r;
}

static int mkdir_0755(const char *p) { return mkdir(p, 0755); }
static int rmdir_it(const char *p) { return rmdir(p); }

// mkdir -p; *created gets the topmost directory made ("" when none).
static int make_target(const char *target, char *created, int *remounted) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", target);
  created[0] = 0;
  for (char *p = path + 1;; p++) {
    if (*p == '/' || *p == 0) {
      char saved = *p;
      *p = 0;
      struct stat st;
      if (stat(path, &st) < 0) {
        char parent[PATH_MAX];
        snprintf(parent, sizeof parent, "%s", path);
        char *slash = strrchr(parent, '/');
        if (slash == parent) parent[1] = 0;
        else *slash = 0;
        if (with_writable(parent, mkdir_0755, path, remounted) < 0) return -1;
        if (!created[0]) snprintf(created, PATH_MAX, "%s", path);
      } else if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
      }
      if (saved == 0) break;
      *p = saved;
    }
  }
  return 0;
}

// Removes the directories dbox created, from target up to `created`.
static void remove_created(const char *target, const char *created) {
  if (!created || !created[0]) return;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s", target);
  size_t stop = strlen(created);
  for (;;) {
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash == parent) parent[1] = 0;
    else if (slash) *slash = 0;
    if (with_writable(parent, rmdir_it, path, NULL) < 0 && errno != ENOENT)
      fprintf(stderr, "attach: warning: could not remove %s: %s\n", path, strerror(errno));
    if (strlen(path) <= stop) break;
    char *s = strrchr(path, '/');
    if (!s || s == path) break;
    *s = 0;
  }
}

static int is_mount_point(const char *path) {
  FILE *f = container_mountinfo();
  if (!f) return 0;
  char line[4096];
  int found = 0;
  while (!found && fgets(line, sizeof line, f)) {
    char mp[PATH_MAX];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 && strcmp(mp, path) == 0) found = 1;
  }
  fclose(f);
  return found;
}

// ---------- the block device of a host directory (blockdev method) ----------

struct backing {
  unsigned major, minor;
  int ro;                 // mounted read-only on the host
  char fstype[64];
  char subdir[PATH_MAX];  // the directory's path inside its filesystem
};

static int find_backing(const char *dir, struct backing *b) {
  char real[PATH_MAX];
  if (!realpath(dir, real)) return -1;
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return -1;
  char line[4096];
  size_t best = 0;
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned maj, min;
    char root[PATH_MAX], mp[PATH_MAX], opts[256];
    if (sscanf(line, "%*s %*s %u:%u %4095s %4095s %255s", &maj, &min, root, mp, opts) != 5) continue;
    size_t n = strlen(mp);
    int prefix = strcmp(mp, "/") == 0 || (strncmp(real, mp, n) == 0 && (real[n] == '/' || real[n] == 0));
    if (!prefix || n < best) continue;
    char *dash = strstr(line, " - ");
    if (!dash) continue;
    best = n;
    found = 1;
    b->major = maj;
    b->minor = min;
    b->ro = strncmp(opts, "ro", 2) == 0 && (opts[2] == 0 || opts[2] == ',');
    sscanf(dash + 3, "%63s", b->fstype);
    const char *rest = strcmp(mp, "/") == 0 ? real : real + n;
    snprintf(b->subdir, sizeof b->subdir, "%s%s", strcmp(root, "/") == 0 ? "" : root, rest);
    if (!b->subdir[0]) snprintf(b->subdir, sizeof b->subdir, "/");
  }
  fclose(f);
  return found ? 0 : -1;
}

// ---------- the program ----------

// The container process's environment, with PATH extended by the toolbox's bin.
static char **container_env(int pid, const char *target) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/environ", pid);
  FILE *f = fopen(path, "re");
  static char buf[1 << 16];
  size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
  if (f) fclose(f);
  buf[n] = 0;
  size_t count = 0;
  for (size_t i = 0; i < n; i++) if (buf[i] == 0) count++;
  char **env = calloc(count + 3, sizeof *env);
  size_t k = 0;
  int has_path = 0;
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1) {
    if (strncmp(buf + i, "PATH=", 5) == 0) {
      has_path = 1;
      if (asprintf(&env[k++], "PATH=%s/bin:%s", target, buf + i + 5) < 0) exit(EXIT_ATTACH);
    } else {
      env[k++] = buf + i;
    }
  }
  if (!has_path && asprintf(&env[k++], "PATH=%s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", target) < 0)
    exit(EXIT_ATTACH);
  env[k] = NULL;
  return env;
}

static const char *env_path(char **env) {
  for (char **e = env; *e; e++) if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  return "/bin";
}

static void exec_in(char **argv, char **env) {
  if (strchr(argv[0], '/')) execve(argv[0], argv, env);
  else {
    char dirs[8192];
    snprintf(dirs, sizeof dirs, "%s", env_path(env));
    for (char *save, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
      char full[PATH_MAX];
      snprintf(full, sizeof full, "%s/%s", d, argv[0]);
      execve(full, argv, env);
    }
  }
  fprintf(stderr, "attach: %s: %s\n", argv[0], strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

static int open_ns(int pid, const char *name) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
  return open(path, O_RDONLY | O_CLOEXEC);
}

static pid_t child_pid;
static void forward(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

static void open_state(const char *file) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", file);
  char *slash = strrchr(dir, '/');
  if (!slash) return;
  snprintf(state_name, sizeof state_name, "%s", slash + 1);
  *slash = 0;
  state_dir = open(dir[0] ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  state_fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
}

static void write_state(const char *target, const char *created, int remounted) {
  if (state_fd < 0) return;
  char buf[2 * PATH_MAX + 64];
  int n = snprintf(buf, sizeof buf, "target=%s\ncreated=%s\nremounted=%d\n", target, created, remounted);
  if (ftruncate(state_fd, 0) < 0 || pwrite(state_fd, buf, (size_t)n, 0) < 0) fprintf(stderr, "attach: warning: state file: %s\n", strerror(errno));
  state_written = 1;
}

static void remove_state(void) {
  if (state_dir >= 0) unlinkat(state_dir, state_name, 0);
}

// ---------- commands ----------

static int inject(int pid, const char *source, const char *target, const char *method, char **argv) {
  struct stat st;
  if (stat(source, &st) < 0) die(EXIT_ATTACH, "%s: %s", source, strerror(errno));
  if (!S_ISDIR(st.st_mode)) die(EXIT_ATTACH, "%s: Not a directory", source);
  if (target[0] != '/') die(EXIT_ATTACH, "--at %s: must be an absolute path", target);

  // Everything from the host side first: the tree or device, and the container's namespaces.
  int tree = -1;
  struct backing b = {0};
  if (strcmp(method, "mount-api") == 0) {
    tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (tree < 0 && errno == ENOSYS) die(EXIT_UNSUPPORTED, "the mount-api method needs Linux 5.2 or later (open_tree)");
    if (tree < 0) die(EXIT_ATTACH, "open_tree %s: %s", source, strerror(errno));
  } else if (strcmp(method, "blockdev") == 0) {
    if (find_backing(source, &b) < 0) die(EXIT_ATTACH, "%s: cannot find its mount", source);
    if (b.major == 0) die(EXIT_UNSUPPORTED, "the blockdev method needs a directory on a block device (%s is on %s)", source, b.fstype);
  } else {
    die(EXIT_ATTACH, "unknown method %s", method);
  }
  const char *names[] = {"mnt", "uts", "ipc", "net", "pid", "cgroup"};
  int ns[6];
  for (int i = 0; i < 6; i++) {
    ns[i] = open_ns(pid, names[i]);
    if (ns[i] < 0 && i == 0) die(EXIT_ATTACH, "container process %d: %s (is it running? are you root?)", pid, strerror(errno));
  }
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/%d/root", pid);
  int rootfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  snprintf(proc, sizeof proc, "/proc/%d/cwd", pid);
  int cwdfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die(EXIT_ATTACH, "container process %d: %s", pid, strerror(errno));
  char **env = container_env(pid, target);

  // Into the container's mount namespace. A failure here must abort: mounting in the host's
  // namespace instead is what Whaler did when setns failed.
  if (setns(ns[0], CLONE_NEWNS) < 0) die(EXIT_ATTACH, "setns(mnt): %s (needs CAP_SYS_ADMIN: run as root)", strerror(errno));
  if (fchdir(rootfd) < 0 || chroot(".") < 0) die(EXIT_ATTACH, "chroot into the container: %s", strerror(errno));

  if (stat(target, &st) == 0 && !S_ISDIR(st.st_mode)) die(EXIT_ATTACH, "%s exists in the container and is not a directory", target);
  if (is_mount_point(target)) die(EXIT_ATTACH, "%s is already a mount point in the container (a previous attach? try attach --cleanup)", target);
  char created[PATH_MAX];
  int remounted = 0;
  if (make_target(target, created, &remounted) < 0) die(EXIT_ATTACH, "cannot create %s in the container: %s", target, strerror(errno));
  write_state(target, created, remounted);

  int attached = 0;
  if (tree >= 0) {
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) == 0) attached = 1;
    else fprintf(stderr, "attach: move_mount onto %s: %s\n", target, strerror(errno));
  } else {
    // Whaler's method, with its temporaries on the container's /dev (a tmpfs, writable even on a
    // read-only root) and removed again at once.
    char tmp[] = "/dev/.dbox-XXXXXX";
    if (!mkdtemp(tmp)) fprintf(stderr, "attach: temporary directory in /dev: %s\n", strerror(errno));
    else {
      char node[PATH_MAX], mnt[PATH_MAX], sub[PATH_MAX];
      snprintf(node, sizeof node, "%s/dev", tmp);
      snprintf(mnt, sizeof mnt, "%s/mnt", tmp);
      snprintf(sub, sizeof sub, "%s%s", mnt, b.subdir);
      if (mknod(node, S_IFBLK | 0600, makedev(b.major, b.minor)) < 0) fprintf(stderr, "attach: mknod: %s\n", strerror(errno));
      else if (mkdir(mnt, 0700) < 0) fprintf(stderr, "attach: mkdir: %s\n", strerror(errno));
      // With the host's own flags: a second mount of a device shares its superblock, and asking for
      // read-only while the host has it read-write fails with EBUSY. The bind below is made read-only.
      else if (mount(node, mnt, b.fstype, b.ro ? MS_RDONLY : 0, NULL) < 0) fprintf(stderr, "attach: mount %s (%s): %s\n", node, b.fstype, strerror(errno));
      else {
        if (mount(sub, target, NULL, MS_BIND | MS_REC, NULL) == 0) {
          attached = 1;
          mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
        } else {
          fprintf(stderr, "attach: bind %s: %s\n", b.subdir, strerror(errno));
        }
        umount2(mnt, MNT_DETACH);
      }
      unlink(node);
      rmdir(mnt);
      rmdir(tmp);
    }
  }
  if (!attached) {
    remove_created(target, created);
    remove_state();
    die(EXIT_ATTACH, "could not attach %s at %s", source, target);
  }

  // The program runs in every namespace of the container; the PID namespace applies to children.
  for (int i = 1; i < 6; i++) {
    if (ns[i] >= 0 && setns(ns[i], 0) < 0) fprintf(stderr, "attach: warning: setns(%s): %s\n", names[i], strerror(errno));
  }
  signal(SIGINT, SIG_IGN);  // Ctrl-C is for the program; this process waits and cleans up
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTERM, forward);
  signal(SIGHUP, forward);
  child_pid = fork();
  if (child_pid < 0) die(EXIT_ATTACH, "fork: %s", strerror(errno));
  if (child_pid == 0) {
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    if (cwdfd < 0 || fchdir(cwdfd) < 0) { if (chdir("/") < 0) _exit(EXIT_ATTACH); }
    exec_in(argv, env);
  }
  int status = 0;
  while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR) {}

  if (umount2(target, MNT_DETACH) < 0) fprintf(stderr, "attach: warning: unmount %s: %s\n", target, strerror(errno));
  remove_created(target, created);
  remove_state();
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int cleanup(int pid, const char *target, const char *created) {
  int mntns = open_ns(pid, "mnt");
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/%d/root", pid);
  int rootfd = open(proc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (mntns < 0 || rootfd < 0) die(EXIT_ATTACH, "container process %d: %s (is it running?)", pid, strerror(errno));
  if (setns(mntns, CLONE_NEWNS) < 0) die(EXIT_ATTACH, "setns(mnt): %s (needs CAP_SYS_ADMIN: run as root)", strerror(errno));
  if (fchdir(rootfd) < 0 || chroot(".") < 0) die(EXIT_ATTACH, "chroot into the container: %s", strerror(errno));
  int removed = 0;
  while (is_mount_point(target)) {
    if (umount2(target, MNT_DETACH) < 0) die(EXIT_ATTACH, "unmount %s: %s", target, strerror(errno));
    removed++;
  }
  // Temporaries of an interrupted blockdev attach.
  DIR *d = opendir("/dev");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    if (strncmp(de->d_name, ".dbox-", 6) != 0) continue;
    char p[PATH_MAX];
    snprintf(p, sizeof p, "/dev/%s/mnt", de->d_name);
    umount2(p, MNT_DETACH);
    rmdir(p);
    snprintf(p, sizeof p, "/dev/%s/dev", de->d_name);
    unlink(p);
    snprintf(p, sizeof p, "/dev/%s", de->d_name);
    rmdir(p);
    removed++;
  }
  if (d) closedir(d);
  if (created && created[0]) {
    struct stat st;
    if (stat(target, &st) == 0) removed++;
    remove_created(target, created);
  }
  printf("%d\n", removed);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) die(2, "usage: dbox-attach inject|cleanup --pid PID --target PATH ...");
  const char *cmd = argv[1], *source = NULL, *target = NULL, *method = "mount-api", *created = NULL;
  int pid = 0, i = 2;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (i + 1 >= argc) die(2, "option %s needs a value", argv[i]);
    if (strcmp(argv[i], "--pid") == 0) pid = atoi(argv[++i]);
    else if (strcmp(argv[i], "--source") == 0) source = argv[++i];
    else if (strcmp(argv[i], "--target") == 0) target = argv[++i];
    else if (strcmp(argv[i], "--method") == 0) method = argv[++i];
    else if (strcmp(argv[i], "--state") == 0) open_state(argv[++i]);
    else if (strcmp(argv[i], "--remove-dir") == 0) created = argv[++i];
    else die(2, "unknown option %s", argv[i]);
  }
  if (pid <= 0 || !target) die(2, "--pid and --target are required");
  target_pid = pid;
  host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (strcmp(cmd, "cleanup") == 0) return cleanup(pid, target, created);
  if (strcmp(cmd, "inject") != 0 || !source || i >= argc) die(2, "usage: dbox-attach inject --pid PID --source DIR --target PATH -- PROGRAM [ARGS]");
  return inject(pid, source, target, method, argv + i);
}
