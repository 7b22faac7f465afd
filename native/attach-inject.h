// attach's inject, as its steps: a host directory appears read-only inside a running container,
// a program runs there in all of the container's namespaces, and everything goes again. Each step
// returns -1 and fills a `struct fail` (it never exits), so that another program (a helper run on
// an engine's host, issue 13) can call the same steps in the same order:
//
//   struct injection j;
//   inject_init(&j);
//   if (inject_prepare(&j, &req, &f) == 0 && inject_mount(&j, &req, &f) == 0)
//     status = inject_run(&j, argv, &f);
//   left = inject_undo(&j, req.id);      // always, whatever failed
//
// The steps (each step's trust is written in the header of the file it calls):
//   prepare  on the host: the proven process (attach-container.h) and its limits
//            (attach-confine.h), the locked state file (attach-state.h), the sealed tree
//            (attach-mount.h tree_clone / tree_from_device), the program's environment
//   mount    in the container's mount namespace: the target opened without following links
//            (missing directories made and recorded first), the tree moved onto it, the record
//            rewritten with the mount's id
//   run      the program in the container's other namespaces, its cgroups, root, working
//            directory and capability limits, with no host descriptor open
//   undo     the tree unmounted through its own fd, the directories made removed when empty, the
//            state removed unless a mount was left (then `dbox-attach cleanup` finds it)
//
// What is trusted: the request, validated by the caller (the id is 64 hex digits, the target an
// absolute normalised path other than /, the method one of mount-api and blockdev). Nothing from
// the container.
#ifndef DBOX_ATTACH_INJECT_H
#define DBOX_ATTACH_INJECT_H

#include <sys/types.h>

#include "attach-confine.h"
#include "attach-container.h"
#include "attach-mount.h"
#include "attach-state.h"
#include "attach-sys.h"

/** What to inject where. */
struct inject_request {
  pid_t pid;              // the container's process (proven before use)
  const char *id;         // the container's full id
  const char *source;     // the host directory
  const char *target;     // where it appears in the container
  const char *method;     // mount-api or blockdev
  const char *state_dir;  // NULL: the default for this user (attach-state.h)
};

/** Everything an inject holds between its steps; inject_undo releases all of it. */
struct injection {
  struct container c;
  struct confinement k;
  struct source_tree t;
  struct attach_state s;
  int state_dir, state, target;
  int attached;  // the tree is mounted at the target
  char **env;    // the program's environment (lives as long as the process)
};

/** Marks everything closed: inject_undo is safe from here on. */
void inject_init(struct injection *j);

/** On the host, before entering any namespace. */
int inject_prepare(struct injection *j, const struct inject_request *r, struct fail *f);

/** Enters the container's mount namespace and mounts the tree at the target. */
int inject_mount(struct injection *j, const struct inject_request *r, struct fail *f);

/** Runs argv in the container; the program's status (128+N for signal N), or -1. Ctrl-C, Ctrl-\
 *  are the program's; SIGTERM and SIGHUP are forwarded to it. It enters the container's other
 *  namespaces and changes this process's signal dispositions: one injection per process, which
 *  must be single-threaded (setns), and which goes on only to inject_undo. */
int inject_run(struct injection *j, char **argv, struct fail *f);

/** Undoes what the steps did and releases the injection; how many things are left that `cleanup`
 *  can remove (mounts, directories this process failed to remove), each with a line on stderr:
 *  their record is kept for it. */
int inject_undo(struct injection *j, const char *id);

#endif
