// attach's inject as steps: see attach-inject.h for the order and what is trusted.
#define _GNU_SOURCE
#include "attach-inject.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "attach-quote.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

void inject_init(struct injection *j) {
  memset(j, 0, sizeof *j);
  j->c.proc = j->c.pid_dir = j->c.root = j->c.cwd = -1;
  for (int i = 0; i < NS_COUNT; i++) j->c.ns[i] = -1;
  for (int i = 0; i < CONFINE_MAX_CGROUPS; i++) j->k.procs[i] = -1;
  j->t.fd = j->state_dir = j->state = j->target = -1;
}

// ---------- prepare ----------

static int find_tree(const struct inject_request *r, struct source_tree *t, struct fail *f) {
  struct stat st;
  if (stat(r->source, &st) < 0) return failf(f, EXIT_ATTACH, "%s: %s", r->source, strerror(errno));
  if (!S_ISDIR(st.st_mode)) return failf(f, EXIT_ATTACH, "%s: Not a directory", r->source);
  if (strcmp(r->method, "mount-api") == 0) return tree_clone(r->source, t, f);
  if (strcmp(r->method, "blockdev") == 0) return tree_from_device(r->source, t, f);
  return failf(f, EXIT_ATTACH, "unknown method %s", r->method);
}

int inject_prepare(struct injection *j, const struct inject_request *r, struct fail *f) {
  char bin[PATH_MAX];
  if (snprintf(bin, sizeof bin, "%s/bin", r->target) >= (int)sizeof bin) return failf(f, EXIT_ATTACH, "%s: File name too long", quoted(r->target));
  if (container_open(r->pid, r->id, &j->c, f) < 0 || confine_open(&j->c, &j->k, f) < 0) return -1;
  if ((j->state_dir = state_dir_open(r->state_dir, f)) < 0 || (j->state = state_create(j->state_dir, r->id, f)) < 0) return -1;
  if (find_tree(r, &j->t, f) < 0) return -1;
  if (!(j->env = container_env(&j->c, bin, f))) return -1;
  return 0;
}

// ---------- mount ----------

int inject_mount(struct injection *j, const struct inject_request *r, struct fail *f) {
  if (container_enter_mounts(&j->c, f) < 0) return -1;
  struct attach_state *s = &j->s;
  snprintf(s->method, sizeof s->method, "%s", r->method);
  snprintf(s->target, sizeof s->target, "%s", r->target);
  s->dev_major = j->t.dev_major;
  s->dev_minor = j->t.dev_minor;
  s->ino = j->t.ino;
  s->has_source = 1;
  // The directories made on the way are recorded even when the target then fails to open, so that
  // a crash from here on leaves a record cleanup can use.
  j->target = target_open(j->c.root, r->target, s->created, f);
  if (state_write(j->state, s, f) < 0) return -1;
  if (j->target < 0) return -1;
  if (tree_attach(&j->t, j->target, &s->mount_id, f) < 0) {
    if (errno == EBUSY) {
      char why[sizeof f->msg];
      snprintf(why, sizeof why, "%s", f->msg);
      failf(f, EXIT_ATTACH, "%s %s", quoted(r->target), why);
    }
    return -1;
  }
  j->attached = 1;
  s->has_mount_id = 1;
  return state_write(j->state, s, f);
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
    if (!dirs) errno = ENOMEM;
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

static void child_fail(const struct fail *f) {
  fprintf(stderr, "attach: %s\n", f->msg);
  _exit(f->status);
}

/** The program's child, from fork to exec: into the container's cgroups and cgroup namespace,
 *  its root and working directory, with nothing of the host's open and the container's limits. */
static void child(struct injection *j, char **argv) {
  signal(SIGINT, SIG_DFL);
  signal(SIGQUIT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  struct fail f = {0};
  if (confine_join(&j->k, &f) < 0 || container_enter(&j->c, NS_CGROUP, &f) < 0) child_fail(&f);
  if (fchdir(j->c.root) < 0 || chroot(".") < 0) {
    failf(&f, EXIT_ATTACH, "chroot into the container: %s", strerror(errno));
    child_fail(&f);
  }
  if (j->c.cwd < 0 || fchdir(j->c.cwd) < 0) {
    if (chdir("/") < 0) _exit(EXIT_ATTACH);
  }
  // Nothing of the host's beyond 0-2 stays open: ours are O_CLOEXEC, and this closes them (and
  // any the parent process passed down) before the container's limits make this process one the
  // container may look at.
  if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0) {
    for (int fd = 3; fd < 1024; fd++) close(fd);
  }
  if (confine_drop(&j->k, &f) < 0) child_fail(&f);
  exec_in(argv, j->env);
}

int inject_run(struct injection *j, char **argv, struct fail *f) {
  if (container_enter_others(&j->c, f) < 0) return -1;
  signal(SIGINT, SIG_IGN);  // Ctrl-C is for the program; this process waits and cleans up
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTERM, forward);
  signal(SIGHUP, forward);
  child_pid = fork();
  if (child_pid < 0) return failf(f, EXIT_ATTACH, "fork: %s", strerror(errno));
  if (child_pid == 0) child(j, argv);
  int status = 0;
  while (waitpid(child_pid, &status, 0) < 0) {
    if (errno != EINTR) return failf(f, EXIT_ATTACH, "waitpid: %s", strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// ---------- undo ----------

int inject_undo(struct injection *j, const char *id) {
  struct fail f = {0};
  int left_mounts = 0, removed = 0, left_dirs = 0, later = 0;
  if (j->attached && tree_detach(j->c.proc, &j->t, &f) < 0) {
    fprintf(stderr, "attach: %s\n", f.msg);
    left_mounts++;
  }
  j->attached = 0;
  if (j->c.root >= 0) later = created_remove(j->c.root, j->s.target, j->s.created, &removed, &left_dirs);
  // Kept for `cleanup` while a mount is left, or a directory this process failed to remove.
  // Directories left by the container's doing (moved away, or holding files by now) are the
  // container's: no record would let a later cleanup do more.
  if (j->state >= 0 && left_mounts == 0 && !later) state_remove(j->state_dir, id);
  else if (j->state >= 0) fprintf(stderr, "attach: what is left is recorded: attach --cleanup removes it\n");
  close_fd(&j->state);
  close_fd(&j->state_dir);
  close_fd(&j->target);
  close_fd(&j->t.fd);
  confine_close(&j->k);
  container_close(&j->c);
  return left_mounts + later;
}
