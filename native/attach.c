// dbox-attach: makes a host directory appear, read-only, inside a running container, runs a
// program there in all of the container's namespaces, and removes everything afterwards.
// A separate, single-threaded executable: setns(CLONE_NEWNS) fails in a multi-threaded process
// such as Node.
//
//   dbox-attach inject --pid PID --id ID --source DIR --target PATH --method mount-api|blockdev
//                      [--state-dir DIR] -- PROGRAM [ARGS...]
//   dbox-attach cleanup --pid PID --id ID --target PATH [--source DIR] [--created DIR] [--state-dir DIR]
//       prints "UNMOUNTED REMOVED LEFT_MOUNTS LEFT_DIRS" (counts); a line on stderr for each thing left
//   dbox-attach state put --id ID --method upload --target PATH --token HEX [--state-dir DIR]
//   dbox-attach state get --id ID [--state-dir DIR]     the validated state; status 3 when none
//   dbox-attach state remove --id ID [--state-dir DIR]
//   dbox-attach state check                             validates a state text on stdin (tests)
//
// The steps, each one job (their trust is written in its header):
//   find the tree      attach-mount.h   tree_clone (mount-api), tree_from_device (blockdev)
//   enter              attach-container.h  the proven process, its namespaces
//   make the target    attach-mount.h   target_open (no links followed; missing dirs created)
//   mount              attach-mount.h   tree_attach (onto the target's fd), tree_detach (by fd)
//   run                this file        run_program
//   clean up           attach-mount.h   created_remove, leftovers_unmount; attach-state.h
//
// What this file trusts: its arguments (from dbox, run by the same user) once validated (the
// id is 64 hex digits, the target an absolute normalised path other than /). Nothing from the
// container: see the headers. The program's child closes every descriptor but 0-2 before it
// runs anything of the container's, and this process is not dumpable, so that nothing in the
// container can reach the host descriptors it holds.
//
// Exit status: the program's (128+N for signal N); 125 for an attach error, with one line on
// stderr; 124 when the kernel lacks the method (so `auto` can try the next one).
#define _GNU_SOURCE
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "attach-confine.h"
#include "attach-container.h"
#include "attach-mount.h"
#include "attach-quote.h"
#include "attach-state.h"
#include "attach-sys.h"
#include "identity.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

struct args {
  const char *cmd, *sub, *id, *source, *target, *method, *state_dir, *created, *token;
  pid_t pid;
  char **argv;  // the program, after --
};

static int report(const struct fail *f) {
  fprintf(stderr, "attach: %s\n", f->msg);
  return f->status;
}

// ---------- run ----------

static const char *env_path(char **env) {
  for (char **e = env; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  return "/bin";
}

static void exec_in(char **argv, char **env) {
  if (strchr(argv[0], '/')) {
    execve(argv[0], argv, env);
  } else {
    char *dirs = strdup(env_path(env));
    for (char *save, *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d; d = strtok_r(NULL, ":", &save)) {
      char full[PATH_MAX];
      if (snprintf(full, sizeof full, "%s/%s", d, argv[0]) < (int)sizeof full) execve(full, argv, env);
    }
  }
  fprintf(stderr, "attach: %s: %s\n", quoted(argv[0]), strerror(errno));
  _exit(errno == ENOENT ? 127 : 126);
}

static pid_t child_pid;
static void forward(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

/** The program's child, from fork to exec: into the container's cgroups and cgroup namespace,
 *  its root and working directory, with nothing of the host's open and the container's limits. */
static void child(struct container *c, struct confinement *k, char **argv, char **env) {
  signal(SIGINT, SIG_DFL);
  signal(SIGQUIT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  struct fail f = {0};
  if (confine_join(k, &f) < 0 || container_enter(c, NS_CGROUP, &f) < 0) _exit(report(&f));
  if (fchdir(c->root) < 0 || chroot(".") < 0) {
    fprintf(stderr, "attach: chroot into the container: %s\n", strerror(errno));
    _exit(EXIT_ATTACH);
  }
  if (c->cwd < 0 || fchdir(c->cwd) < 0) {
    if (chdir("/") < 0) _exit(EXIT_ATTACH);
  }
  // Nothing of the host's beyond 0-2 stays open: ours are O_CLOEXEC, and this closes them (and
  // any the parent process passed down) before the container's limits make this process one the
  // container may look at.
  if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
    for (int fd = 3; fd < 1024; fd++) close(fd);
  }
  if (confine_drop(k, &f) < 0) _exit(report(&f));
  exec_in(argv, env);
}

/** Runs the program in the container (root, working directory, namespaces, limits); its status. */
static int run_program(struct container *c, struct confinement *k, char **argv, char **env, struct fail *f) {
  if (container_enter_others(c, f) < 0) return -1;
  signal(SIGINT, SIG_IGN);  // Ctrl-C is for the program; this process waits and cleans up
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTERM, forward);
  signal(SIGHUP, forward);
  child_pid = fork();
  if (child_pid < 0) return failf(f, EXIT_ATTACH, "fork: %s", strerror(errno));
  if (child_pid == 0) child(c, k, argv, env);
  int status = 0;
  while (waitpid(child_pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---------- inject ----------

static int find_tree(const struct args *a, struct source_tree *t, struct fail *f) {
  struct stat st;
  if (stat(a->source, &st) < 0) return failf(f, EXIT_ATTACH, "%s: %s", a->source, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return failf(f, EXIT_ATTACH, "%s: Not a directory", a->source);
  if (strcmp(a->method, "mount-api") == 0) return tree_clone(a->source, t, f);
  if (strcmp(a->method, "blockdev") == 0) return tree_from_device(a->source, t, f);
  return failf(f, EXIT_ATTACH, "unknown method %s", a->method);
}

static int inject(const struct args *a) {
  struct fail f = {0};
  struct container c;
  struct source_tree t = {.fd = -1};
  struct confinement k = {.count = 0};
  struct attach_state s = {0};
  int state_dir = -1, state = -1, target = -1, status = -1, attached = 0, removed = 0, left_mounts = 0, left_dirs = 0;
  char bin[PATH_MAX];
  char **env = NULL;
  snprintf(bin, sizeof bin, "%s/bin", a->target);

  // On the host: the proven process and its limits, the state file, the sealed tree.
  for (int i = 0; i < CONFINE_MAX_CGROUPS; i++) k.procs[i] = -1;
  if (container_open(a->pid, a->id, &c, &f) < 0 || confine_open(&c, &k, &f) < 0) goto out;
  if ((state_dir = state_dir_open(a->state_dir, &f)) < 0 || (state = state_create(state_dir, a->id, &f)) < 0) goto out;
  if (find_tree(a, &t, &f) < 0) goto out;
  if (!(env = container_env(&c, bin, &f))) goto out;

  // In the container's mount namespace: the target, the mount, a record of both.
  if (container_enter_mounts(&c, &f) < 0) goto out;
  snprintf(s.method, sizeof s.method, "%s", a->method);
  snprintf(s.target, sizeof s.target, "%s", a->target);
  s.dev_major = t.dev_major;
  s.dev_minor = t.dev_minor;
  s.ino = t.ino;
  s.has_source = 1;
  target = target_open(c.root, a->target, s.created, &f);
  if (state_write(state, &s, &f) < 0) goto out;
  if (target < 0) goto out;
  if (tree_attach(&t, target, &s.mount_id, &f) < 0) {
    if (errno == EBUSY) {
      char why[sizeof f.msg];
      snprintf(why, sizeof why, "%s", f.msg);
      failf(&f, EXIT_ATTACH, "%s %s", quoted(a->target), why);
    }
    goto out;
  }
  attached = 1;
  s.has_mount_id = 1;
  if (state_write(state, &s, &f) < 0) goto out;

  status = run_program(&c, &k, a->argv, env, &f);

out:
  if (attached && tree_detach(c.proc, &t, &f) < 0) {
    report(&f);
    left_mounts++;
  }
  created_remove(c.root, a->target, s.created, &removed, &left_dirs);
  // Kept for --cleanup while a mount is left. Directories left (moved away, or holding files by
  // now) are the container's: no record would let a later cleanup do more.
  if (state >= 0 && left_mounts == 0) state_remove(state_dir, a->id);
  close_fd(&state);
  close_fd(&state_dir);
  close_fd(&target);
  close_fd(&t.fd);
  confine_close(&k);
  container_close(&c);
  if (status < 0) return report(&f);
  return status;
}

// ---------- cleanup ----------

static int cleanup(const struct args *a) {
  struct fail f = {0};
  struct container c;
  struct attach_state s = {0};
  int state_dir = -1, state = -1, unmounted = 0, removed = 0, left_mounts = 0, left_dirs = 0, ok = 0;
  struct mount_proof p = {.target = a->target};
  const char *created = a->created;

  if (container_open(a->pid, a->id, &c, &f) < 0) goto out;
  if ((state_dir = state_dir_open(a->state_dir, &f)) < 0) goto out;
  state = state_open(state_dir, a->id, &f);
  if (state < 0 && errno != ENOENT) goto out;
  if (state >= 0 && state_read(state, &s, &f) < 0) {
    // Not used at all: removed, and the cleanup goes on as without a record.
    fprintf(stderr, "attach: ignoring the state file: %s\n", f.msg);
    state_remove(state_dir, a->id);
    close_fd(&state);
  }
  if (state >= 0) {
    if (!s.has_source) {
      failf(&f, EXIT_ATTACH, "the state is an upload's, not a mount's");
      goto out;
    }
    p = (struct mount_proof){s.dev_major, s.dev_minor, s.ino, s.has_mount_id, s.mount_id, s.target};
    created = s.created;
  } else {
    // No record: only a mount of the source directory at the target itself counts.
    struct stat st;
    if (!a->source || stat(a->source, &st) < 0) {
      failf(&f, EXIT_ATTACH, "%s: %s", a->source ? a->source : "--source", strerror(errno));
      goto out;
    }
    p.dev_major = major(st.st_dev);
    p.dev_minor = minor(st.st_dev);
    p.ino = st.st_ino;
  }
  if (container_enter_mounts(&c, &f) < 0) goto out;
  if (leftovers_unmount(c.proc, c.pid_dir, c.root, &p, &unmounted, &left_mounts, &f) < 0) goto out;
  if (left_mounts == 0) created_remove(c.root, p.target, created, &removed, &left_dirs);
  if (state >= 0 && left_mounts == 0) state_remove(state_dir, a->id);
  printf("%d %d %d %d\n", unmounted, removed, left_mounts, left_dirs);
  ok = 1;
out:
  close_fd(&state);
  close_fd(&state_dir);
  container_close(&c);
  return ok ? 0 : report(&f);
}

// ---------- state (for the upload method, which runs in dbox itself) ----------

static int state_command(const struct args *a) {
  struct fail f = {0};
  struct attach_state s = {0};
  char buf[8192];
  if (a->sub && strcmp(a->sub, "check") == 0) {
    size_t n = fread(buf, 1, sizeof buf - 1, stdin);
    buf[n] = 0;
    char why[128];
    if (strlen(buf) != n || state_parse(buf, &s, why, sizeof why) < 0) {
      printf("invalid: %s\n", strlen(buf) != n ? "a NUL byte" : why);
      return 1;
    }
    if (state_format(&s, buf, sizeof buf) >= 0) fputs(buf, stdout);
    return 0;
  }
  int dir = state_dir_open(a->state_dir, &f), fd = -1, r = -1;
  if (dir < 0) return report(&f);
  if (a->sub && strcmp(a->sub, "put") == 0) {
    snprintf(s.method, sizeof s.method, "%s", a->method ? a->method : "");
    snprintf(s.target, sizeof s.target, "%s", a->target ? a->target : "");
    snprintf(s.token, sizeof s.token, "%s", a->token ? a->token : "");
    char why[128];
    if (state_format(&s, buf, sizeof buf) < 0 || state_parse(buf, &s, why, sizeof why) < 0 || strcmp(s.method, "upload") != 0) {
      failf(&f, 2, "state put: only an upload's state, with a valid target and token");
    } else if ((fd = state_create(dir, a->id, &f)) >= 0 && state_write(fd, &s, &f) == 0) {
      r = 0;
    } else if (fd >= 0) {
      state_remove(dir, a->id);
    }
  } else if (a->sub && strcmp(a->sub, "get") == 0) {
    fd = state_open(dir, a->id, &f);
    if (fd < 0 && errno == ENOENT) r = 3;
    else if (fd >= 0 && state_read(fd, &s, &f) == 0 && state_format(&s, buf, sizeof buf) >= 0) {
      fputs(buf, stdout);
      r = 0;
    }
  } else if (a->sub && strcmp(a->sub, "remove") == 0) {
    fd = state_open(dir, a->id, &f);
    if (fd >= 0 || errno == ENOENT) {
      state_remove(dir, a->id);
      r = 0;
    }
  } else {
    failf(&f, 2, "usage: dbox-attach state put|get|remove|check");
  }
  close_fd(&fd);
  close_fd(&dir);
  return r >= 0 ? r : report(&f);
}

// ---------- arguments ----------

static int usage(const char *why) {
  fprintf(stderr, "attach: %s\nusage: dbox-attach inject|cleanup|state ... (see native/attach.c)\n", why);
  return 2;
}

int main(int argc, char **argv) {
  // Not dumpable: no process of the container (same uid) may open this one's /proc entries or
  // ptrace it, and its children inherit that until they exec.
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
    fprintf(stderr, "attach: prctl(PR_SET_DUMPABLE): %s\n", strerror(errno));
    return EXIT_ATTACH;
  }
  umask(022);
  struct args a = {.method = "mount-api"};
  if (argc < 2) return usage("missing command");
  a.cmd = argv[1];
  int i = 2;
  if (strcmp(a.cmd, "state") == 0 && argc > 2) a.sub = argv[i++];
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      a.argv = argv + i + 1;
      break;
    }
    if (i + 1 >= argc) return usage("an option needs a value");
    const char *o = argv[i], *v = argv[++i];
    if (strcmp(o, "--pid") == 0) {
      char *end;
      long pid = strtol(v, &end, 10);
      if (*end || pid <= 0 || pid > INT_MAX) return usage("--pid needs a process id");
      a.pid = (pid_t)pid;
    } else if (strcmp(o, "--id") == 0) a.id = v;
    else if (strcmp(o, "--source") == 0) a.source = v;
    else if (strcmp(o, "--target") == 0) a.target = v;
    else if (strcmp(o, "--method") == 0) a.method = v;
    else if (strcmp(o, "--state-dir") == 0) a.state_dir = v;
    else if (strcmp(o, "--created") == 0) a.created = v;
    else if (strcmp(o, "--token") == 0) a.token = v;
    else return usage("unknown option");
  }
  if (strcmp(a.cmd, "state") == 0) {
    if (a.sub && strcmp(a.sub, "check") != 0 && !identity_valid_id(a.id)) return usage("--id needs a full container id");
    return state_command(&a);
  }
  if (!identity_valid_id(a.id) || a.pid <= 0 || !a.target) return usage("--pid, --id and --target are required");
  if (!state_path_ok(a.target)) return usage("--target must be an absolute normalised path other than /");
  if (a.created && !(state_path_ok(a.created) && state_path_within(a.created, a.target))) return usage("--created must be the target or an ancestor");
  if (strcmp(a.cmd, "cleanup") == 0) return cleanup(&a);
  if (strcmp(a.cmd, "inject") != 0 || !a.source || !a.argv || !a.argv[0]) return usage("inject needs --source and a program after --");
  return inject(&a);
}
