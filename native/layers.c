// The overlay of an engine's layer directories: see layers.h for what is trusted and why.
#define _GNU_SOURCE
#include "layers.h"

#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "attach-state.h"

/** Opens a layer directory from "/" one component at a time, never following a link; every
 *  directory on the way root's and writable by nobody else. O_PATH fd or -1. */
int layer_open(const char *path, struct fail *f) {
  if (!state_path_ok(path)) return failf(f, EXIT_ATTACH, "layer %.200s: not an absolute normalised path", path);
  int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  char copy[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  char *save = NULL;
  for (char *name = strtok_r(copy, "/", &save); dir >= 0 && name; name = strtok_r(NULL, "/", &save)) {
    int next = openat(dir, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close_fd(&dir);
    dir = next;
    struct stat st;
    if (dir >= 0 && fstat(dir, &st) < 0) {
      close_fd(&dir);
      return failf(f, EXIT_ATTACH, "layer %.200s: %s", path, strerror(errno));
    }
    if (dir >= 0 && (st.st_uid != 0 || (st.st_mode & 022))) {
      close_fd(&dir);
      return failf(f, EXIT_ATTACH, "layer %.200s: %.100s is not root's alone (owner %u, mode %03o): refusing it", path, name,
                   (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
    }
  }
  if (dir < 0) return failf(f, EXIT_ATTACH, "layer %.200s: %s (a link or a missing directory on the way)", path, strerror(errno));
  return dir;
}

/** The tmpfs at `scratch`, and the overlay at `scratch`/root. */
int layers_mount(const char *scratch, const int *layers, int n, struct fail *f) {
  char upper[PATH_MAX], work[PATH_MAX], root[PATH_MAX];
  if (snprintf(upper, sizeof upper, "%s/upper", scratch) >= (int)sizeof upper || snprintf(work, sizeof work, "%s/work", scratch) >= (int)sizeof work ||
      snprintf(root, sizeof root, "%s/root", scratch) >= (int)sizeof root)
    return failf(f, EXIT_ATTACH, "%.200s: File name too long", scratch);
  if (mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") < 0) return failf(f, EXIT_ATTACH, "tmpfs: %s", strerror(errno));
  if (mkdir(upper, 0755) < 0 || mkdir(work, 0700) < 0 || mkdir(root, 0755) < 0)
    return failf(f, EXIT_ATTACH, "the scratch directories: %s", strerror(errno));
  char options[4096];
  int used = snprintf(options, sizeof options, "upperdir=%s,workdir=%s,lowerdir=", upper, work);
  for (int i = 0; i < n && used > 0 && used < (int)sizeof options; i++)
    used += snprintf(options + used, sizeof options - (size_t)used, "%s/proc/self/fd/%d", i ? ":" : "", layers[i]);
  if (used < 0 || used >= (int)sizeof options) return failf(f, EXIT_ATTACH, "too many layers for one overlay mount (%d)", n);
  if (mount("overlay", root, "overlay", MS_NODEV, options) < 0) return failf(f, EXIT_ATTACH, "the overlay of the layers: %s", strerror(errno));
  return 0;
}
