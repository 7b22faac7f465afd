// An adversary that runs inside a container (built static by the test: gcc -static) while root
// attaches a host directory to it. It spins, as a hostile container process would:
//   - over DEVDIR, looking for the temporary directories of an attach (`.dbox-*`) and opening
//     `<tmp>/mnt` the moment something is mounted there (its st_dev differs from DEVDIR's); with
//     such a descriptor it lists what it sees, keeps it, and tries to create a file through it;
//   - on TARGET: the moment a mount appears there, it tries to create a file in it (a read-only
//     mount made read-only only after it became visible loses this race sometimes).
// Everything it saw or did goes to REPORT, one line each: `SEEN <name>` for each entry of a
// foreign mount, `WROTE <path>` for each file it managed to create. It stops when STOPFILE exists.
//
//   attach-watcher DEVDIR TARGET REPORT STOPFILE
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HELD 64

static FILE *report;
static int held[MAX_HELD];
static int nheld;

static void list_and_write(int fd, const char *where) {
  int d = dup(fd);
  if (d < 0) return;
  DIR *dir = fdopendir(d);
  if (!dir) {
    close(d);
    return;
  }
  struct dirent *e;
  while ((e = readdir(dir))) {
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) fprintf(report, "SEEN %s\n", e->d_name);
  }
  closedir(dir);
  int w = openat(fd, "pwned-by-watcher", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (w >= 0) {
    fprintf(report, "WROTE %s/pwned-by-watcher\n", where);
    close(w);
  }
  fflush(report);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: attach-watcher DEVDIR TARGET REPORT STOPFILE\n");
    return 2;
  }
  const char *devdir = argv[1], *target = argv[2], *stop = argv[4];
  report = fopen(argv[3], "a");
  if (!report) return 1;
  struct stat devst, st;
  if (stat(devdir, &devst) < 0) return 1;
  dev_t target_dev = 0;
  int have_target_dev = 0;
  for (unsigned long i = 0;; i++) {
    if ((i & 1023) == 0 && access(stop, F_OK) == 0) break;
    DIR *dir = opendir(devdir);
    if (dir) {
      struct dirent *e;
      while ((e = readdir(dir))) {
        if (strncmp(e->d_name, ".dbox-", 6) != 0) continue;
        char mnt[512];
        snprintf(mnt, sizeof mnt, "%s/%s/mnt", devdir, e->d_name);
        for (int spin = 0; spin < 20000; spin++) {
          int fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
          if (fd < 0) {
            if (errno == ENOENT && spin > 100) break;
            continue;
          }
          if (fstat(fd, &st) == 0 && st.st_dev != devst.st_dev) {
            list_and_write(fd, mnt);
            if (nheld < MAX_HELD) held[nheld++] = fd;  // kept for ever: the host's filesystem, if that is what it is
            else close(fd);
            break;
          }
          close(fd);
        }
      }
      closedir(dir);
    }
    // The target: write the moment a mount shows there.
    if (stat(target, &st) == 0) {
      if (!have_target_dev) {
        // The first device seen at the target is the container's own; a different one is the injection.
        char parent[512];
        snprintf(parent, sizeof parent, "%s/..", target);
        struct stat pst;
        if (stat(parent, &pst) == 0) {
          target_dev = pst.st_dev;
          have_target_dev = 1;
        }
      }
      if (have_target_dev && st.st_dev != target_dev) {
        char p[512];
        snprintf(p, sizeof p, "%s/pwned-by-watcher", target);
        int w = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (w >= 0) {
          fprintf(report, "WROTE %s\n", p);
          fflush(report);
          close(w);
        }
      }
    }
  }
  // Whatever was held: is it still the host's, and can it still be written?
  for (int k = 0; k < nheld; k++) list_and_write(held[k], "held");
  fclose(report);
  return 0;
}
