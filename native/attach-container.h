// attach's view of the target container: its process, proven to be the container's, and
// everything of it that attach uses, each opened through that one /proc/<pid> directory.
//
// What is trusted, and why:
//   - The engine's pid is not: /proc/<pid> counts only once its cgroup names the container's
//     full id (identity.h), and from then on every look at the process (ns/*, root, cwd,
//     environ, mountinfo) goes through that one directory fd, which stays bound to that process
//     even if its pid number is reused: check and use cannot be separated.
//   - The host's /proc, checked to be procfs, opened before entering any namespace (inside, /proc
//     is the container's).
//   - The container's environment is data for the program run inside it, nothing else.
#ifndef DBOX_ATTACH_CONTAINER_H
#define DBOX_ATTACH_CONTAINER_H

#include <sys/types.h>

#include "attach-sys.h"

enum { NS_MNT, NS_UTS, NS_IPC, NS_NET, NS_CGROUP, NS_PID, NS_COUNT };

struct container {
  int proc;             // the host's /proc
  int pid_dir;          // /proc/<pid> of the container's process
  int root;             // its root directory (never the host's)
  int cwd;              // its working directory, -1 when it cannot be opened
  int ns[NS_COUNT];     // its namespaces, -1 for one it does not show
};

/** Proves `pid` is container `id`'s process and opens what attach needs of it. */
int container_open(pid_t pid, const char *id, struct container *c, struct fail *f);

/** Enters its mount namespace. A failure aborts: mounting in the host's instead is what Whaler
 *  did when setns failed. */
int container_enter_mounts(struct container *c, struct fail *f);

/** Enters its other namespaces but the cgroup one (the PID namespace applies to children). */
int container_enter_others(struct container *c, struct fail *f);

/** Enters one of its namespaces (NS_*). The cgroup one comes last, in the program's child, once
 *  it has joined the container's cgroups (attach-confine.h): a process inside a cgroup namespace
 *  can only move between cgroups below that namespace's root. */
int container_enter(struct container *c, int which, struct fail *f);

/** The whole of a /proc file (below `dir`) NUL-terminated, at most `max` bytes; *len without
 *  the terminator. NULL and errno on failure. */
char *attach_read_proc_file(int dir, const char *name, size_t max, size_t *len);

/** Its environment with PATH led by `bin`; NULL on failure. */
char **container_env(struct container *c, const char *bin, struct fail *f);

void container_close(struct container *c);

#endif
