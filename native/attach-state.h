// attach's state: what an attach changed in a container, kept on the host so that
// `attach --cleanup` can undo it after a crash. One file per container, named after its id.
//
// What is trusted, and why:
//   - The state directory, once every component of its path has been opened without following a
//     link (O_NOFOLLOW, each relative to the one before) and found owned by root or by us and
//     writable by nobody else (or sticky, as /tmp is: then nobody else can rename what we own);
//     the last component, dbox's own, must be ours with mode 0700 exactly. Then only root and we
//     can add, replace or remove entries, and every file is opened relative to that directory's
//     fd. Root's directory is /run/dbox/attach (/run is root's alone); another user's is
//     $XDG_RUNTIME_DIR/dbox/attach (theirs, 0700), else ~/.cache/dbox/attach. Never /tmp: a
//     local user pre-created /tmp/dbox-attach-0 with links named after container ids and root's
//     attach wrote through them.
//   - State files are created with O_CREAT|O_EXCL|O_NOFOLLOW (a name someone planted is an
//     error, never reused) and must be regular files we own with one link.
//   - A state file's contents are data, not commands: they are parsed into a struct and
//     validated (known keys, each once; absolute normalised paths; target not "/"; `created` an
//     ancestor-or-self of target; a method from the known set; numbers as numbers; a token of 32
//     hex digits) and a file that fails is not used at all. What cleanup does with valid state is
//     still bounded by proof: it unmounts only mounts whose root is the recorded source directory
//     (device and inode) and removes only empty directories (attach-mount.h).
//   - flock: an attach holds its state file locked for as long as it runs, so --cleanup never
//     undoes a live attach.
#ifndef DBOX_ATTACH_STATE_H
#define DBOX_ATTACH_STATE_H

#include <limits.h>
#include <stddef.h>

#include "attach-sys.h"

#define STATE_TOKEN_LEN 32

struct attach_state {
  char method[16];            // mount-api, blockdev or upload
  char target[PATH_MAX];      // where the directory appears in the container
  char created[PATH_MAX];     // the topmost directory attach created ("" when none)
  int has_source;             // mount methods: the source directory's identity
  unsigned long long dev_major, dev_minor, ino;
  int has_mount_id;           // mount methods, once mounted: the mount's id in the container
  unsigned long long mount_id;
  char token[STATE_TOKEN_LEN + 1];  // upload: the random token of the marker file
};

/** An absolute path without empty, "." or ".." components or a trailing slash (not "/"), shorter
 *  than PATH_MAX and free of control characters: the only paths state holds. */
int state_path_ok(const char *path);

/** Whether `a` is `b` or one of its ancestors (by whole components). */
int state_path_within(const char *a, const char *b);

/** Parses and validates a state file's text. 0, or -1 with the reason in why. Pure (unit-tested
 *  through `dbox-attach state check`). */
int state_parse(const char *text, struct attach_state *s, char *why, size_t why_len);

/** The text of a state (state_parse's inverse); -1 when it does not fit. */
int state_format(const struct attach_state *s, char *buf, size_t len);

/** Opens (creating dbox's own components) and checks the state directory: `path` when given
 *  (only its last component is created), else the default for this user. O_PATH fd or -1. */
int state_dir_open(const char *path, struct fail *f);

/** Creates container `id`'s state file, exclusively, and locks it. fd, or -1 (EEXIST: an attach
 *  runs or crashed there). */
int state_create(int dir, const char *id, struct fail *f);

/** Opens and locks container `id`'s existing state file. fd, or -1: ENOENT (none), EWOULDBLOCK
 *  (an attach still runs there), or another error in f. */
int state_open(int dir, const char *id, struct fail *f);

/** Replaces the file's contents with s. */
int state_write(int fd, const struct attach_state *s, struct fail *f);

/** Reads and validates the file's contents into s. */
int state_read(int fd, struct attach_state *s, struct fail *f);

/** Removes container `id`'s state file. */
void state_remove(int dir, const char *id);

#endif
