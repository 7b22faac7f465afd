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
//   run                attach-inject.h  inject_run
//   clean up           attach-mount.h   created_remove, leftovers_unmount; attach-state.h
// inject is those steps in order (attach-inject.h, which another program may call too); this file
// parses the arguments and runs inject, cleanup and the state commands.
//
// What this file trusts: its arguments (from dbox, run by the same user) once validated (the
// id is 64 hex digits, the target an absolute normalised path other than /). Nothing from the
// container: see the headers. This process is not dumpable, so that nothing in the container can
// reach the host descriptors it holds (and the program's child closes all but 0-2 before it runs
// anything of the container's: attach-inject.c).
//
// Exit status: the program's (128+N for signal N); 125 for an attach error, with one line on
// stderr; 124 when the kernel lacks the method (so `auto` can try the next one).
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "attach-inject.h"
#include "attach-sys.h"
#include "identity.h"

struct args {
  const char *cmd, *sub, *id, *source, *target, *method, *state_dir, *created, *token;
  pid_t pid;
  char **argv;  // the program, after --
};

static int report(const struct fail *f) {
  fprintf(stderr, "attach: %s\n", f->msg);
  return f->status;
}

// ---------- inject (its steps: attach-inject.h) ----------

static int inject(const struct args *a) {
  struct fail f = {0};
  struct injection j;
  const struct inject_request r = {a->pid, a->id, a->source, a->target, a->method, a->state_dir};
  int status = -1;
  inject_init(&j);
  if (inject_prepare(&j, &r, &f) == 0 && inject_mount(&j, &r, &f) == 0) status = inject_run(&j, a->argv, &f);
  inject_undo(&j, a->id);
  return status < 0 ? report(&f) : status;
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
  int later = left_mounts == 0 ? created_remove(c.root, p.target, created, &removed, &left_dirs) : 0;
  if (state >= 0 && left_mounts == 0 && !later) state_remove(state_dir, a->id);
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
