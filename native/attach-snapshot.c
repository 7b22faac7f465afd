// dbox-snapshot: attach to a STOPPED container or an IMAGE. Nothing of it runs, so there is no
// process to join: a fresh set of namespaces is made instead (mount, PID, UTS, IPC, network,
// cgroup), its root an overlay of the container's or image's own layer directories (read-only
// lower layers) with a throw-away upper layer on a tmpfs only this process's namespace has, the
// toolbox mounted beside it exactly as attach mounts it in a running container (attach-mount.h:
// cloned, sealed read-only, nosuid, nodev while detached, moved onto a target opened without
// following links). When the program ends the namespace's last process goes and everything with
// it: the tmpfs (every change made inside), the overlay, the toolbox's mount. Nothing is written
// to the layers: an overlay never writes to its lower layers, so `docker diff` is unchanged.
//
//   dbox-snapshot run --data-root DIR --layer DIR [--layer DIR]... --source DIR --target PATH [--hostname NAME]
//                     [--workdir PATH] [--env K=V]... -- PROGRAM [ARGS...]
//   (layers top first: the container's own layer, then its image's, as the engine lists them; each
//   below the data root, the engine's DockerRootDir, or where a helper container has it bound)
//
// What is trusted, and why:
//   - The layer paths come from the engine's inspect answer and are hostile. src/docker/layers.ts
//     accepts only canonical paths of overlay2's shape below the data root; native/layers.h opens
//     and checks each (no link followed, every directory root's alone, below the data root on its
//     mount) and assembles the overlay from the opened directories.
//   - Everything inside the layers is the container's, as hostile as a running container: the
//     program runs as root in namespaces of its own, after pivot_root into the overlay (the host's
//     tree is detached, nothing of it is reachable), with the engine's default capability set less
//     CAP_MKNOD (no cgroup keeps devices out here, so none can be made; every writable mount is
//     nodev besides), /proc showing its own PID namespace's processes only (subset=pid: no
//     /proc/sys, no sysrq-trigger), a /dev of its own (a tmpfs with the host's null, zero, full,
//     random, urandom and tty bound in, and a new devpts instance), and no host descriptor open.
//   - The source directory (the toolbox) is the user's, as for attach.
//   - The image's hostname, working directory and environment are strings for the program, checked
//     by the caller; a working directory that cannot be entered (inside the new root) is "/".
// Not applied: the engine's seccomp and LSM profiles, cgroup limits (the program runs in the
// caller's cgroups), the image's USER (the program runs as root, as `docker run --user 0`).
//
// Exit status: the program's (128+N for signal N); 125 when the snapshot could not be made.
#define _GNU_SOURCE
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "attach-confine.h"
#include "attach-mount.h"
#include "attach-state.h"
#include "attach-sys.h"
#include "layers.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_pivot_root
#define SYS_pivot_root 155
#endif

#define SCRATCH "/tmp"  // of this process's private mount namespace only: a tmpfs is mounted over it

// The engine's default capabilities (Docker's, Podman's) less CAP_MKNOD.
static const int program_caps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_NET_RAW, CAP_SETGID, CAP_SETUID,
                                   CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE};

struct args {
  const char *data_root;
  const char *layers[LAYERS_MAX];
  int nlayers;
  const char *source, *target, *hostname, *workdir;
  char *env[256];
  int nenv;
  char **argv;
};

static int report(const struct fail *f) {
  fprintf(stderr, "attach: %s\n", f->msg);
  return f->status;
}

/** A file or directory of the new root, opened without following links (made when missing). */
static int in_root(int root, const char *path, struct fail *f) {
  char created[PATH_MAX];
  return target_open(root, path, created, f);
}

/** Mounts `fstype` on the directory `dir` (an O_PATH fd), through its /proc/self/fd name. */
static int mount_on(int dir, const char *source, const char *fstype, unsigned long flags, const char *data, struct fail *f) {
  char at[64];
  snprintf(at, sizeof at, "/proc/self/fd/%d", dir);
  if (mount(source, at, fstype, flags, data) < 0) return failf(f, EXIT_ATTACH, "mounting %s: %s", fstype, strerror(errno));
  return 0;
}

/** /dev of the new root: a tmpfs (nodev) with the host's harmless devices bound in, a devpts of its own. */
static int make_dev(int root, struct fail *f) {
  int dev = in_root(root, "/dev", f), r = -1;
  if (dev < 0) return -1;
  if (mount_on(dev, "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=1m", f) < 0) goto out;
  close_fd(&dev);
  if ((dev = openat(root, "dev", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
    failf(f, EXIT_ATTACH, "/dev: %s", strerror(errno));
    goto out;
  }
  static const char *const devices[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof devices / sizeof *devices; i++) {
    char host[32];
    snprintf(host, sizeof host, "/dev/%s", devices[i]);
    int node = openat(dev, devices[i], O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (node < 0) {
      failf(f, EXIT_ATTACH, "/dev/%s: %s", devices[i], strerror(errno));
      goto out;
    }
    char at[64];
    snprintf(at, sizeof at, "/proc/self/fd/%d", node);
    int m = mount(host, at, NULL, MS_BIND, NULL);
    close_fd(&node);
    if (m < 0) {
      failf(f, EXIT_ATTACH, "binding %s: %s", host, strerror(errno));
      goto out;
    }
  }
  if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0) {
    failf(f, EXIT_ATTACH, "/dev: %s", strerror(errno));
    goto out;
  }
  int pts = openat(dev, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int shm = openat(dev, "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  int ok = pts >= 0 && shm >= 0 &&
           mount_on(pts, "devpts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620", f) == 0 &&
           mount_on(shm, "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=64m", f) == 0;
  close_fd(&pts);
  close_fd(&shm);
  if (!ok) {
    if (!f->msg[0]) failf(f, EXIT_ATTACH, "/dev: %s", strerror(errno));
    goto out;
  }
  static const char *const links[][2] = {{"pts/ptmx", "ptmx"}, {"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                         {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
  for (size_t i = 0; i < sizeof links / sizeof *links; i++) {
    if (symlinkat(links[i][0], dev, links[i][1]) < 0) {
      failf(f, EXIT_ATTACH, "/dev/%s: %s", links[i][1], strerror(errno));
      goto out;
    }
  }
  r = 0;
out:
  close_fd(&dev);
  return r;
}

static int set_caps(struct fail *f) {
  struct confinement k = {.bounding = 0, .inheritable = 0, .no_new_privs = 0, .count = 0};
  for (size_t i = 0; i < sizeof program_caps / sizeof *program_caps; i++) k.bounding |= 1ULL << program_caps[i];
  return confine_drop(&k, f);
}

static pid_t program;
/** This process's command line as the kernel shows it (/proc/<pid>/cmdline): it names the host's
 *  paths (data root, layers, the toolbox), which the program, whose PID 1 this process is, must
 *  not learn; blanked before the program is forked. */
static char *cmdline;
static size_t cmdline_len;

static void forward(int sig) {
  if (program > 0) kill(program, sig);
}

/** PID 1 of the new PID namespace: /proc, the root, the program; reaps until the program ends. */
static int init_main(const struct args *a, int root) {
  struct fail f = {0};
  int proc = in_root(root, "/proc", &f);
  if (proc < 0 || mount_on(proc, "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "subset=pid", &f) < 0) return report(&f);
  close_fd(&proc);
  if (a->hostname && sethostname(a->hostname, strlen(a->hostname)) < 0) return report(&(struct fail){EXIT_ATTACH, "sethostname"});
  if (fchdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
    failf(&f, EXIT_ATTACH, "pivot_root into the snapshot: %s", strerror(errno));
    return report(&f);
  }
  close_fd(&root);
  if (a->workdir && chdir(a->workdir) < 0 && chdir("/") < 0) return EXIT_ATTACH;
  signal(SIGTERM, forward);
  signal(SIGHUP, forward);
  // The program's argv and environment copied out of the command line, which is then blanked
  // before the program exists (it could otherwise read it in the moment after the fork).
  int argn = 0;
  while (a->argv[argn]) argn++;
  char **argv = calloc((size_t)argn + 1, sizeof *argv);
  char *env[258];
  int n = 0;
  if (!argv) return EXIT_ATTACH;
  for (int i = 0; i < argn; i++)
    if (!(argv[i] = strdup(a->argv[i]))) return EXIT_ATTACH;
  for (int i = 0; i < a->nenv; i++)
    if (!(env[n++] = strdup(a->env[i]))) return EXIT_ATTACH;
  env[n] = NULL;
  if (cmdline) {
    memset(cmdline, 0, cmdline_len);
    memcpy(cmdline, "dbox-init", cmdline_len > 10 ? 10 : cmdline_len - 1);
  }
  program = fork();
  if (program < 0) return EXIT_ATTACH;
  if (program == 0) {
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGQUIT, SIG_DFL);
    if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
      for (int fd = 3; fd < 1024; fd++) close(fd);
    if (set_caps(&f) < 0) _exit(report(&f));
    if (strchr(argv[0], '/')) {
      execve(argv[0], argv, env);
    } else {
      // PATH of the program's environment (the toolbox's bin first), as execvp would search it.
      const char *path = "/bin";
      for (int i = 0; i < n; i++)
        if (strncmp(env[i], "PATH=", 5) == 0) path = env[i] + 5;
      char *dirs = strdup(path);
      for (char *save, *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
        char full[PATH_MAX];
        if (snprintf(full, sizeof full, "%s/%s", d, argv[0]) < (int)sizeof full) execve(full, argv, env);
      }
      errno = ENOENT;
    }
    fprintf(stderr, "attach: %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  // Reaps until the program ends; then this PID 1 ends, and the kernel kills what the program
  // left running in the namespace (as a container ends with its main process).
  int status = 0;
  for (;;) {
    int st;
    pid_t p = wait(&st);
    if (p < 0 && errno == EINTR) continue;
    if (p < 0) break;
    if (p == program) {
      status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      break;
    }
  }
  return status;
}

static int run(const struct args *a) {
  struct fail f = {0};
  int layers[LAYERS_MAX], n = 0, root = -1, target = -1, status = EXIT_ATTACH;
  struct source_tree t = {.fd = -1};
  // On the host: the toolbox cloned and sealed.
  struct stat st = {0};
  if (stat(a->source, &st) < 0 || !S_ISDIR(st.st_mode)) {
    failf(&f, EXIT_ATTACH, "%s: %s", a->source, S_ISDIR(st.st_mode) ? strerror(errno) : "Not a directory");
    goto out;
  }
  if (tree_clone(a->source, &t, &f) < 0) goto out;
  // New namespaces; nothing made from here on is seen outside them, and all of it goes with them.
  if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWCGROUP) < 0) {
    failf(&f, EXIT_ATTACH, "unshare: %s (needs CAP_SYS_ADMIN: run as root)", strerror(errno));
    goto out;
  }
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
    failf(&f, EXIT_ATTACH, "making the mounts private: %s", strerror(errno));
    goto out;
  }
  // The layers proven, in this namespace's copy of the host's tree (an overlay takes lower
  // directories only from mounts of the namespace it is made in).
  int host = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host < 0) {
    failf(&f, EXIT_ATTACH, "/: %s", strerror(errno));
    goto out;
  }
  for (; n < a->nlayers; n++) {
    if ((layers[n] = layers_open(host, a->data_root, a->layers[n])) < 0) {
      failf(&f, EXIT_ATTACH, "layer %.200s: %s%s", a->layers[n], strerror(errno),
            errno == EPERM ? " (a directory on the way is not root's alone): refusing it"
            : errno == ELOOP || errno == EXDEV || errno == EINVAL ? " (a link, another mount or a path not below the data root): refusing it" : "");
      break;
    }
  }
  close_fd(&host);
  if (n < a->nlayers) goto out;
  if (layers_mount_rw(SCRATCH, layers, (size_t)n) < 0) {
    failf(&f, EXIT_ATTACH, "the overlay of the layers: %s", strerror(errno));
    goto out;
  }
  if ((root = open(SCRATCH "/root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
    failf(&f, EXIT_ATTACH, "the snapshot's root: %s", strerror(errno));
    goto out;
  }
  unsigned long long mount_id;
  if ((target = in_root(root, a->target, &f)) < 0 || tree_attach(&t, target, &mount_id, &f) < 0) goto out;
  if (make_dev(root, &f) < 0) goto out;
  signal(SIGINT, SIG_IGN);  // the terminal's keys are the program's
  signal(SIGQUIT, SIG_IGN);
  pid_t init = fork();
  if (init < 0) {
    failf(&f, EXIT_ATTACH, "fork: %s", strerror(errno));
    goto out;
  }
  if (init == 0) {
    for (int i = 0; i < n; i++) close_fd(&layers[i]);
    close_fd(&target);
    close_fd(&t.fd);
    _exit(init_main(a, root));
  }
  program = init;
  signal(SIGTERM, forward);
  signal(SIGHUP, forward);
  int ended = 0;
  while (waitpid(init, &ended, 0) < 0 && errno == EINTR) {
  }
  status = WIFEXITED(ended) ? WEXITSTATUS(ended) : 128 + WTERMSIG(ended);
  f.msg[0] = 0;
out:
  for (int i = 0; i < n; i++) close_fd(&layers[i]);
  close_fd(&root);
  close_fd(&target);
  close_fd(&t.fd);
  if (f.msg[0]) return report(&f);
  return status;
}

static int usage(const char *why) {
  fprintf(stderr, "attach: %s\nusage: dbox-snapshot run --data-root DIR --layer DIR... --source DIR --target PATH [--hostname NAME] [--workdir PATH] "
                  "[--env K=V]... -- PROGRAM [ARGS...]\n", why);
  return 2;
}

int main(int argc, char **argv) {
  // Not dumpable: the program cannot read this process's memory, environment or descriptors
  // through /proc/1 (its command line is blanked in init_main).
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return EXIT_ATTACH;
  umask(022);
  cmdline = argv[0];
  cmdline_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[0]);
  struct args a = {.nlayers = 0, .nenv = 0};
  if (argc < 2 || strcmp(argv[1], "run") != 0) return usage("the only command is run");
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      a.argv = argv + i + 1;
      break;
    }
    if (i + 1 >= argc) return usage("an option needs a value");
    const char *o = argv[i];
    char *v = argv[++i];
    if (strcmp(o, "--data-root") == 0) a.data_root = v;
    else if (strcmp(o, "--layer") == 0) {
      if (a.nlayers == LAYERS_MAX) return usage("too many layers");
      a.layers[a.nlayers++] = v;
    } else if (strcmp(o, "--source") == 0) a.source = v;
    else if (strcmp(o, "--target") == 0) a.target = v;
    else if (strcmp(o, "--hostname") == 0) a.hostname = v;
    else if (strcmp(o, "--workdir") == 0) a.workdir = v;
    else if (strcmp(o, "--env") == 0) {
      if (a.nenv == 256 || !strchr(v, '=')) return usage("--env takes K=V, at most 256 times");
      a.env[a.nenv++] = v;
    } else return usage("unknown option");
  }
  if (!a.data_root || a.nlayers == 0 || !a.source || !a.target || !a.argv || !a.argv[0])
    return usage("--data-root, --layer, --source, --target and a program are required");
  if (!state_path_ok(a.target)) return usage("--target must be an absolute normalised path other than /");
  if (a.hostname && strlen(a.hostname) > 64) return usage("--hostname is at most 64 bytes");
  if (a.workdir && a.workdir[0] != '/') return usage("--workdir must be absolute");
  return run(&a);
}
