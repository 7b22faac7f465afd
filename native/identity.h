// Process identity: proving that a pid an engine names is that container's process before any
// /proc/<pid> entry of it is trusted.
//
// What is trusted, and why:
//   - /proc, once fstatfs says it is procfs (a local user cannot mount over it).
//   - A /proc/<pid> directory fd: it stays bound to the process it was opened for. If that
//     process exits and its pid number is reused, entries opened through the old fd fail
//     (ESRCH/ENOENT) instead of describing the new process. So every later look at the process
//     (its cgroup, root, namespaces, environment) goes through that one fd: the check and the use
//     cannot be separated by a pid recycle.
//   - The kernel's /proc/<pid>/cgroup: the path of a container's cgroup holds its full 64-hex id
//     (/docker/<id>, docker-<id>.scope, libpod-<id>.scope). An engine's State.Pid is NOT trusted:
//     an engine in another PID namespace (docker-in-docker, a forwarded socket) or a lying one
//     names a number that, here, may be any host process, even a kernel thread whose root is the
//     host's "/". Only a process whose cgroup names the container's id is taken for it.
//   - Nothing whose root is this process's own "/" is ever taken for a container.
#ifndef DBOX_IDENTITY_H
#define DBOX_IDENTITY_H

#include <sys/types.h>

/** A container id as engines give it: exactly 64 lowercase hex digits. */
int identity_valid_id(const char *id);

/** Opens /proc (O_PATH directory), checked to be procfs. -1 and errno on failure. */
int identity_open_proc(void);

/**
 * Opens /proc/<pid> (an O_PATH directory fd bound to that process) if the process belongs to
 * container `id`. -1 and errno: EINVAL (bad pid or id), ESRCH (no such process), EPERM (the
 * process is not that container's), or what open/read reported.
 */
int identity_open_container_proc(int proc, pid_t pid, const char *id);

/**
 * The root directory of the process behind `pid_dir` (from identity_open_container_proc), as an
 * O_PATH directory fd. EPERM when it is this process's own root (the host's).
 */
int identity_open_root(int pid_dir);

/** Whether the text of a /proc/<pid>/cgroup file names container `id` (pure; unit-tested). */
int identity_cgroup_names(const char *cgroup, const char *id);

/**
 * Whether the process at the other end of the unix socket `path` runs in this process's PID
 * namespace (SO_PEERCRED), so that pids it reports are pids here. 1 yes, 0 no, -1 and errno when
 * it cannot be told (no such socket, nobody listening).
 */
int identity_peer_in_our_pid_ns(const char *path);

#endif
