// An LD_PRELOAD shim that makes one call fail, for the failure-injection tests of dbox-fuse
// (test/adversarial/fuse-faults.test.ts): a real adversary in the process, not a mock of it.
//
//   DBOX_FAULT=pthread_create|malloc|open   which family fails
//   DBOX_FAULT_AT=N                         the Nth call of that family fails (1-based), once
//   DBOX_FAULT_ONLY=NAME                    only in a process whose name is NAME (not in children)
//   DBOX_FAULT_MATCH=TEXT                   open only: count only the opens of paths holding TEXT
//   DBOX_FAULT_LOG=PATH                     at exit: "CALLS FAILED" (how many calls were made, and
//                                           whether the failure was injected), appended to PATH
//
// malloc counts malloc, calloc and realloc (each an allocation that can fail with ENOMEM);
// open counts open, open64, openat, openat64 (EMFILE: the kernel's answer when descriptors run
// out); pthread_create fails with EAGAIN (its answer when threads run out).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern char *program_invocation_short_name;

enum { NONE, THREADS, ALLOCS, OPENS };
static int family = -1;
static long at;
static long calls;
static int failed;
static const char *match;

static void setup(void) {
  // getenv allocates nothing; the first malloc call may come before any constructor runs.
  const char *f = getenv("DBOX_FAULT"), *n = getenv("DBOX_FAULT_AT"), *only = getenv("DBOX_FAULT_ONLY");
  family = NONE;
  if (!f || !n) return;
  if (only && strcmp(only, program_invocation_short_name) != 0) return;
  at = atol(n);
  match = getenv("DBOX_FAULT_MATCH");
  family = strcmp(f, "pthread_create") == 0 ? THREADS : strcmp(f, "malloc") == 0 ? ALLOCS : strcmp(f, "open") == 0 ? OPENS : NONE;
}

/** Whether this call of `which` (on `path`, for opens) is the one that fails. */
static int fails_at(int which, const char *path) {
  if (family < 0) setup();
  if (family != which) return 0;
  if (which == OPENS && match && *match && !(path && strstr(path, match))) return 0;
  long n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
  if (n != at) return 0;
  __atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
  return 1;
}

static int fails(int which) { return fails_at(which, NULL); }

// The log: by its path, or, where the path means nothing any more (dbox-attach enters the
// container's mount namespace), by the descriptor opened at load, once proven to still be the log
// (dbox-fuse closes every inherited descriptor, and the number may be another file's by then).
static int log_fd = -1;
static struct stat log_st;

__attribute__((constructor)) static void open_log(void) {
  const char *log = getenv("DBOX_FAULT_LOG");
  if (!log) return;
  log_fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (log_fd >= 0 && fstat(log_fd, &log_st) != 0) log_fd = -1;
}

__attribute__((destructor)) static void report(void) {
  if (family < 0) setup();
  const char *log = getenv("DBOX_FAULT_LOG");
  if (!log || family <= NONE) return;
  char line[64];
  int len = snprintf(line, sizeof line, "%ld %d\n", __atomic_load_n(&calls, __ATOMIC_SEQ_CST), failed);
  int fd = (int)syscall(SYS_openat, AT_FDCWD, log, O_WRONLY | O_APPEND | O_CLOEXEC, 0600);
  struct stat st;
  if (fd < 0 && log_fd >= 0 && fstat(log_fd, &st) == 0 && st.st_dev == log_st.st_dev && st.st_ino == log_st.st_ino) fd = log_fd;
  if (fd >= 0 && write(fd, line, (size_t)len) < 0) {
  }
}

void *malloc(size_t size) {
  if (fails(ALLOCS)) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
  if (fails(ALLOCS)) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_calloc(n, size);
}

void *realloc(void *p, size_t size) {
  if (fails(ALLOCS)) {
    errno = ENOMEM;
    return NULL;
  }
  return __libc_realloc(p, size);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*start)(void *), void *arg) {
  static int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
  if (fails(THREADS)) return EAGAIN;
  if (!real) real = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
  return real(t, attr, start, arg);
}

static int open_mode(int flags, va_list ap) { return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0; }

int openat(int dir, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = open_mode(flags, ap);
  va_end(ap);
  if (fails_at(OPENS, path)) {
    errno = EMFILE;
    return -1;
  }
  return (int)syscall(SYS_openat, dir, path, flags, mode);
}

int openat64(int dir, const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = open_mode(flags, ap);
  va_end(ap);
  return openat(dir, path, flags, mode);
}

int open(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = open_mode(flags, ap);
  va_end(ap);
  return openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  int mode = open_mode(flags, ap);
  va_end(ap);
  return openat(AT_FDCWD, path, flags, mode);
}
