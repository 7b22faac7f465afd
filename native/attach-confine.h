// What the program attach runs inside a container may do: what the container's own process may,
// not what root on the host may. It joins the container's cgroups (so its device rules, which
// forbid opening the host's disks, and its limits apply, and it dies with the container), gets
// the container process's capability bounding set (and no more: after exec as uid 0 its
// capabilities are that set), no ambient capabilities, and no_new_privs when the container has it.
// Without this the shell had all of root's capabilities: CAP_DAC_READ_SEARCH alone opens any
// inode of the toolbox's filesystem by handle (open_by_handle_at on the toolbox mount), and
// CAP_MKNOD outside the device cgroup opens the host's disks.
//
// What is trusted, and why: the kernel's own /proc/<pid>/status and /proc/<pid>/cgroup of the
// proven process (read through its /proc/<pid> fd, attach-container.h), and the host's mount
// table for where each cgroup hierarchy is mounted. Cgroup paths are opened beneath their
// hierarchy's mount without following links.
//
// Not applied (see the README): the container's seccomp filter and LSM profile (AppArmor,
// SELinux). The capability set alone already denies what those mostly guard (mount, module
// loading, open_by_handle_at, raw I/O), but not every syscall they filter.
#ifndef DBOX_ATTACH_CONFINE_H
#define DBOX_ATTACH_CONFINE_H

#include <stdint.h>

#include "attach-container.h"
#include "attach-sys.h"

#define CONFINE_MAX_CGROUPS 32

struct confinement {
  uint64_t bounding, inheritable;
  int no_new_privs;
  int procs[CONFINE_MAX_CGROUPS];  // cgroup.procs of each of the container's cgroups, open for writing
  int count;
};

/** Reads the container process's limits and opens its cgroups (on the host, before any setns). */
int confine_open(struct container *c, struct confinement *k, struct fail *f);

/** In the program's child, before it enters the container's cgroup namespace: joins the cgroups. */
int confine_join(struct confinement *k, struct fail *f);

/** In the program's child, last before exec: capabilities and no_new_privs. */
int confine_drop(const struct confinement *k, struct fail *f);

void confine_close(struct confinement *k);

#endif
