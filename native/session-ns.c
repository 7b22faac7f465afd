// dbox-ns: the private mount namespace of a dbox session, where the containers are real paths.
//
//   dbox-ns run --ready-fd R --go-fd G [--cwd DIR] [--containers MNT] -- PROGRAM ARGV0 [ARGS...]
//       Makes a new mount namespace (root: unshare(CLONE_NEWNS); other users: a user namespace
//       that maps only their own uid and gid, plus a mount namespace), whose root is a new
//       read-only tmpfs holding one bind mount per entry of the host's "/" and two empty mount
//       points, /containers and /hosts. Writes "R\n" on R when ready, waits for one byte on G (the
//       parent has opened /proc/<pid>/ns/* by then, so it cannot name a recycled pid), changes to
//       DIR (else "/"), and execs PROGRAM with ARGV0. When no namespace can be made it writes
//       "N <reason>\n" and exits 125 without running anything (the parent decides what to do).
//       With --containers, a FUSE mount made in the host's namespace before (fusermount3, for
//       users other than root) is bound onto /containers, and its .hosts onto /hosts.
//
//   dbox-ns enter [--mntns-fd N [--userns-fd U]] [--require-fuse PATH] [--detach PATH]...
//                 [--bind SRC DST]... [--setsid] [--die-with-parent] [-- PROGRAM [ARGS...]]
//       Joins the session's namespaces (by descriptors the parent holds; without --mntns-fd it
//       stays in its own), checks that PATH is a live FUSE mount there (exit 3 if not), lazily
//       detaches what is mounted at each PATH (a dead FUSE mount before a new one), bind-mounts
//       SRC on DST, then execs PROGRAM, optionally in a new session and with SIGTERM as its
//       parent-death signal (a mount still starting, which does not yet watch its pipe from dbox,
//       ends with dbox all the same). Steps run in the order given.
//
// How the root is assembled (as bubblewrap does): every mount is made a slave of the host's (so
// host mounts still propagate in, and nothing made here propagates out), a tmpfs is mounted on
// /tmp of this namespace only, pivot_root moves the host root to its "oldroot", the entries of
// the host root are bind-mounted (recursively) into its "newroot", and a second pivot_root makes
// newroot the root and detaches the old one. Nothing is created or mounted in the host's mount
// namespace or on its filesystems: the tmpfs and every mount vanish with the last process of the
// namespace. Top-level entries created on the host later are not seen here, and "/" itself is
// read-only (the host's directories below it are the host's, writable as usual).
//
// What it trusts: its parent (dbox, same user) for the arguments and descriptors; the host's "/"
// listing only for names to mirror (a name is a single component read from the directory; a
// symlink is recreated with the same target, which resolves in the new root exactly as it did in
// the host's). It runs single-threaded, as setns(CLONE_NEWNS) and unshare(CLONE_NEWUSER) require.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("dbox-ns: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(125);
}

static int parse_fd(const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0 || v > INT_MAX) die("not a descriptor: %s", s);
  return (int)v;
}

static int write_all(int fd, const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

static int write_file(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int r = write_all(fd, content);
  int saved = errno;
  if (close(fd) != 0 && r == 0) return -1;
  errno = saved;
  return r;
}

/** Everything a program expects of a fresh process: default signal dispositions, nothing blocked.
 *  (Node ignores SIGPIPE; a shell started with it ignored would pass that on to every command.) */
static void reset_signals(void) {
  for (int n = 1; n < NSIG; n++) {
    if (n == SIGKILL || n == SIGSTOP) continue;
    signal(n, SIG_DFL); // fails harmlessly for the signals glibc reserves
  }
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, NULL) != 0) die("sigprocmask: %s", strerror(errno));
}

// ---------- run: a new namespace with /containers and /hosts ----------

/** Mirrors one entry of the old root into newroot: a bind mount for directories and files, the
 *  same symlink for symlinks. Entries of other types get a bind mount onto an empty file. */
static int mirror_entry(const char *name) {
  char src[PATH_MAX], dst[PATH_MAX];
  if (snprintf(src, sizeof src, "/oldroot/%s", name) >= (int)sizeof src) return -1;
  if (snprintf(dst, sizeof dst, "/newroot/%s", name) >= (int)sizeof dst) return -1;
  struct stat st;
  if (lstat(src, &st) != 0) return errno == ENOENT ? 0 : -1; // gone meanwhile
  if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX];
    ssize_t n = readlink(src, target, sizeof target - 1);
    if (n < 0) return -1;
    target[n] = '\0';
    return symlink(target, dst);
  }
  if (S_ISDIR(st.st_mode)) {
    if (mkdir(dst, 0755) != 0) return -1;
  } else {
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    if (close(fd) != 0) return -1;
  }
  if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) != 0) {
    // A directory we may not bind (not ours to see): leave an empty directory in its place.
    return errno == EACCES || errno == EPERM ? 0 : -1;
  }
  return 0;
}

static int map_ids(uid_t uid, gid_t gid) {
  char map[64];
  if (write_file("/proc/self/setgroups", "deny") != 0 && errno != ENOENT) return -1;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
  if (write_file("/proc/self/uid_map", map) != 0) return -1;
  snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
  if (write_file("/proc/self/gid_map", map) != 0) return -1;
  return 0;
}

/** Builds the namespace; on failure returns -1 with a reason in `why`. Every step after the
 *  unshare happens in the new namespace, so a failure changes nothing the host sees. */
static int make_namespace(const char *containers, char *why, size_t whylen) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  const char *step;
#define STEP(name, call)  \
  do {                    \
    step = (name);        \
    if ((call) != 0) goto fail; \
  } while (0)

  if (geteuid() == 0) {
    STEP("unshare(CLONE_NEWNS)", unshare(CLONE_NEWNS));
  } else {
    STEP("unshare(CLONE_NEWUSER|CLONE_NEWNS)", unshare(CLONE_NEWUSER | CLONE_NEWNS));
    STEP("writing the uid and gid maps", map_ids(uid, gid));
  }
  STEP("making / a slave mount", mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL));
  const char *base = NULL;
  struct stat st;
  static const char *const bases[] = {"/tmp", "/run", "/mnt", "/var/tmp"};
  for (size_t i = 0; i < sizeof bases / sizeof *bases && !base; i++) {
    if (lstat(bases[i], &st) == 0 && S_ISDIR(st.st_mode) &&
        mount("tmpfs", bases[i], "tmpfs", MS_NODEV | MS_NOSUID, "mode=0755,size=1m") == 0) {
      base = bases[i];
    }
  }
  step = "mounting a tmpfs for the new root";
  if (!base) goto fail;
  STEP("chdir to the new root", chdir(base));
  STEP("mkdir newroot", mkdir("newroot", 0755));
  STEP("binding newroot", mount("newroot", "newroot", NULL, MS_BIND | MS_REC, NULL));
  STEP("mkdir oldroot", mkdir("oldroot", 0755));
  STEP("pivot_root", (int)syscall(SYS_pivot_root, base, "oldroot"));
  STEP("chdir /", chdir("/"));

  DIR *d = opendir("/oldroot");
  step = "listing the host's /";
  if (!d) goto fail;
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (is_dot_or_dotdot(n)) continue;
    // dbox's own mount points: a host directory of that name is shadowed by them.
    if (strcmp(n, "containers") == 0 || strcmp(n, "hosts") == 0 || strcmp(n, "images") == 0 || strcmp(n, "volumes") == 0) continue;
    if (mirror_entry(n) != 0) {
      snprintf(why, whylen, "mirroring /%s: %s", n, strerror(errno));
      closedir(d);
      return -1;
    }
    errno = 0;
  }
  step = "listing the host's /";
  if (errno != 0) {
    int saved = errno;
    closedir(d);
    errno = saved;
    goto fail;
  }
  closedir(d);
  STEP("mkdir /containers", mkdir("/newroot/containers", 0755));
  STEP("mkdir /hosts", mkdir("/newroot/hosts", 0755));
  STEP("mkdir /images", mkdir("/newroot/images", 0755));
  STEP("mkdir /volumes", mkdir("/newroot/volumes", 0755));
  if (containers) {
    char src[PATH_MAX];
    step = "binding the mount on /containers";
    if (snprintf(src, sizeof src, "/oldroot%s", containers) >= (int)sizeof src) goto fail;
    STEP("binding the mount on /containers", mount(src, "/newroot/containers", NULL, MS_BIND | MS_REC, NULL));
    if (snprintf(src, sizeof src, "/oldroot%s/.hosts", containers) >= (int)sizeof src) goto fail;
    STEP("binding the mount's .hosts on /hosts", mount(src, "/newroot/hosts", NULL, MS_BIND | MS_REC, NULL));
    if (snprintf(src, sizeof src, "/oldroot%s/.images", containers) >= (int)sizeof src) goto fail;
    STEP("binding the mount's .images on /images", mount(src, "/newroot/images", NULL, MS_BIND | MS_REC, NULL));
    if (snprintf(src, sizeof src, "/oldroot%s/.volumes", containers) >= (int)sizeof src) goto fail;
    STEP("binding the mount's .volumes on /volumes", mount(src, "/newroot/volumes", NULL, MS_BIND | MS_REC, NULL));
  }

  // The old root must be private before it is detached, or the detach would reach the host.
  STEP("making the old root private", mount("oldroot", "oldroot", NULL, MS_REC | MS_PRIVATE, NULL));
  STEP("detaching the old root", umount2("oldroot", MNT_DETACH));
  int oldfd = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  step = "open /";
  if (oldfd < 0) goto fail;
  STEP("chdir /newroot", chdir("/newroot"));
  STEP("pivot_root(/newroot)", (int)syscall(SYS_pivot_root, ".", "."));
  STEP("fchdir", fchdir(oldfd));
  STEP("detaching the tmpfs's outer root", umount2(".", MNT_DETACH));
  close(oldfd);
  STEP("chdir /", chdir("/"));
  // "/" read-only: `mkdir /x` says so rather than creating something the host never sees.
  STEP("making / read-only", mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL));
  return 0;
#undef STEP
fail:
  snprintf(why, whylen, "%s: %s", step, strerror(errno));
  return -1;
}

static int run(int argc, char **argv) {
  int ready = -1, go = -1;
  const char *cwd = NULL, *containers = NULL;
  int i = 2;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (i + 1 >= argc) die("%s: missing value", argv[i]);
    if (strcmp(argv[i], "--ready-fd") == 0) ready = parse_fd(argv[++i]);
    else if (strcmp(argv[i], "--go-fd") == 0) go = parse_fd(argv[++i]);
    else if (strcmp(argv[i], "--cwd") == 0) cwd = argv[++i];
    else if (strcmp(argv[i], "--containers") == 0) containers = argv[++i];
    else die("unknown option %s", argv[i]);
  }
  if (i + 2 >= argc || ready < 0 || go < 0) die("usage: dbox-ns run --ready-fd R --go-fd G [--cwd DIR] [--containers MNT] -- PROGRAM ARGV0 [ARGS...]");
  char **program = &argv[i + 1];

  char why[PATH_MAX + 128];
  char msg[sizeof why + 8];
  umask(022);
  if (containers && containers[0] != '/') die("--containers: an absolute path");
  int made = make_namespace(containers, why, sizeof why);
  if (made == 0) snprintf(msg, sizeof msg, "R\n");
  else snprintf(msg, sizeof msg, "N %s\n", why);
  if (write_all(ready, msg) != 0) die("writing to the parent: %s", strerror(errno));
  if (made != 0) exit(125); // half-made namespaces are never used: this process just ends
  // The program (bash) ends with dbox, as a shell ends with its terminal: SIGHUP when dbox dies
  // (kill -9 included), so a line left running never goes on alone.
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGHUP, 0, 0, 0) != 0 || getppid() != parent) exit(125);
  char byte;
  ssize_t r;
  do r = read(go, &byte, 1);
  while (r < 0 && errno == EINTR);
  if (r != 1) exit(125); // the parent is gone or said no
  close(ready);
  close(go);
  if (!cwd || chdir(cwd) != 0) {
    if (cwd) fprintf(stderr, "dbox: cannot enter %s: %s; starting in /\n", cwd, strerror(errno));
    if (chdir("/") != 0) die("chdir /: %s", strerror(errno));
  }
  reset_signals();
  execv(program[0], &program[1]);
  die("cannot run %s: %s", program[0], strerror(errno));
  return 125;
}

// ---------- enter: join a session's namespaces ----------

#define FUSE_SUPER_MAGIC 0x65735546

static int enter(int argc, char **argv) {
  int mntns = -1, userns = -1, new_session = 0, die_with_parent = 0;
  int i = 2;
  // First pass: namespaces (they must be joined before any path is looked at).
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "--setsid") == 0) new_session = 1;
    else if (strcmp(argv[i], "--die-with-parent") == 0) die_with_parent = 1;
    else if (strcmp(argv[i], "--require-fuse") == 0 && i + 1 < argc) i++;
    else if (strcmp(argv[i], "--mntns-fd") == 0 && i + 1 < argc) mntns = parse_fd(argv[++i]);
    else if (strcmp(argv[i], "--userns-fd") == 0 && i + 1 < argc) userns = parse_fd(argv[++i]);
    else if (strcmp(argv[i], "--detach") == 0 && i + 1 < argc) i++;
    else if (strcmp(argv[i], "--bind") == 0 && i + 2 < argc) i += 2;
    else die("bad option %s", argv[i]);
  }
  pid_t parent = getppid();
  if (userns >= 0 && mntns < 0) die("--userns-fd needs --mntns-fd");
  if (userns >= 0 && setns(userns, CLONE_NEWUSER) != 0) die("joining the session's user namespace: %s", strerror(errno));
  if (mntns >= 0 && setns(mntns, CLONE_NEWNS) != 0) die("joining the session's mount namespace: %s", strerror(errno));
  if (chdir("/") != 0) die("chdir /: %s", strerror(errno));
  for (int j = 2; j < i; j++) {
    if (strcmp(argv[j], "--require-fuse") == 0) {
      struct statfs sf;
      const char *p = argv[++j];
      if (statfs(p, &sf) != 0 || sf.f_type != FUSE_SUPER_MAGIC) {
        fprintf(stderr, "dbox-ns: %s is not a live FUSE mount in the session\n", p);
        exit(3);
      }
    } else if (strcmp(argv[j], "--detach") == 0) {
      const char *p = argv[++j];
      // Repeated: a mount point may hold several stacked mounts (a dead one under a bind).
      int k = 0;
      while (k < 8 && umount2(p, MNT_DETACH) == 0) k++;
      if (k < 8 && errno != EINVAL && errno != ENOENT) die("detaching %s: %s", p, strerror(errno));
    } else if (strcmp(argv[j], "--bind") == 0) {
      const char *src = argv[j + 1], *dst = argv[j + 2];
      j += 2;
      if (mount(src, dst, NULL, MS_BIND, NULL) != 0) die("binding %s on %s: %s", src, dst, strerror(errno));
    } else if (strcmp(argv[j], "--mntns-fd") == 0 || strcmp(argv[j], "--userns-fd") == 0) {
      j++;
    }
  }
  if (mntns >= 0) close(mntns);
  if (userns >= 0) close(userns);
  if (i >= argc - 1) return 0; // nothing to run
  if (new_session && setsid() < 0) die("setsid: %s", strerror(errno));
  if (die_with_parent) {
    if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0) die("PR_SET_PDEATHSIG: %s", strerror(errno));
    if (getppid() != parent) exit(125); // the parent went away before the signal was armed
  }
  reset_signals();
  execvp(argv[i + 1], &argv[i + 1]);
  die("cannot run %s: %s", argv[i + 1], strerror(errno));
  return 125;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "run") == 0) return run(argc, argv);
  if (argc >= 2 && strcmp(argv[1], "enter") == 0) return enter(argc, argv);
  die("usage: dbox-ns run|enter ...");
  return 125;
}
