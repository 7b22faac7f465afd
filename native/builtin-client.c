// dbox-client: how the session's bash reaches dbox's builtins and hands it each line.
//
//   dbox-client NAME [ARGS...]
//       Runs builtin NAME in the dbox process: sends argv, the working directory and the exported
//       environment, with this process's stdin, stdout and stderr as descriptors (SCM_RIGHTS), and
//       waits for the exit status. It stays in the job's process group meanwhile, so the terminal's
//       signals reach it and it passes them on: SIGINT aborts the builtin (and this process then
//       dies by SIGINT, as a command the user interrupted does), SIGTSTP pauses the builtin's output
//       before this process stops, SIGCONT resumes it. It dies by SIGPIPE when dbox finds its stdout
//       widowed. Reading stdin is done here, on request, in the job's process group (a terminal
//       belongs to the foreground job; dbox itself never reads it while a job runs). A builtin that
//       needs the terminal for a program (attach) asks this process to run it: it forks, the child
//       execs the program in the job's process group with the terminal, and the exit status goes
//       back to dbox.
//
//   dbox-client --next STATUS PWD
//       The interactive session's bash asks for its next line: says that the last one ended (its
//       status and working directory), prints the next line on stdout when the user has entered
//       it, and exits with STATUS, so `eval "$(...)"` runs the line with `$?` unchanged.
//
// The socket is "sock" beside argv[0]: each session links this program into its own private
// directory (so the session's functions read `…/dbox ls "$@"`, which is also what `jobs` shows).
//
// Frames, both ways: u32 length (little-endian, counting the type byte) | u8 type | payload.
// What it trusts: the socket (in a directory only this user can reach; dbox checks the peer's
// uid). Payload sizes are bounded; anything unexpected ends the process with status 1.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_FRAME (64u << 20)
#define READ_CHUNK (64u << 10)

static int sock = -1;
static int sigpipe_fds[2] = {-1, -1};

static void fail(const char *fmt, const char *arg) {
  fprintf(stderr, "dbox: ");
  fprintf(stderr, fmt, arg);
  fputc('\n', stderr);
  exit(1);
}

static int send_all(const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int send_frame(char type, const void *payload, size_t len) {
  unsigned char hdr[5];
  uint32_t n = (uint32_t)len + 1;
  hdr[0] = n & 0xff;
  hdr[1] = (n >> 8) & 0xff;
  hdr[2] = (n >> 16) & 0xff;
  hdr[3] = (n >> 24) & 0xff;
  hdr[4] = (unsigned char)type;
  if (send_all(hdr, 5) != 0) return -1;
  return len ? send_all(payload, len) : 0;
}

/** The first frame carries our stdin, stdout and stderr. */
static int send_first(char type, const char *payload, size_t len) {
  unsigned char hdr[5];
  uint32_t n = (uint32_t)len + 1;
  hdr[0] = n & 0xff;
  hdr[1] = (n >> 8) & 0xff;
  hdr[2] = (n >> 16) & 0xff;
  hdr[3] = (n >> 24) & 0xff;
  hdr[4] = (unsigned char)type;
  int fds[3] = {0, 1, 2};
  for (int i = 0; i < 3; i++) {
    if (fcntl(i, F_GETFD) < 0) fail("%s is closed; builtins need stdin, stdout and stderr open", i == 0 ? "stdin" : i == 1 ? "stdout" : "stderr");
  }
  char control[CMSG_SPACE(sizeof fds)];
  memset(control, 0, sizeof control);
  struct iovec iov = {.iov_base = hdr, .iov_len = 5};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fds);
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  ssize_t w;
  do w = sendmsg(sock, &msg, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w < 0) return -1;
  if (w < 5 && send_all(hdr + w, (size_t)(5 - w)) != 0) return -1;
  return send_all(payload, len);
}

static int recv_all(void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = recv(sock, p, n, 0);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/** Reads one frame; *payload is malloc'ed (NUL-terminated for convenience). -1 when dbox is gone. */
static int recv_frame(char *type, char **payload, size_t *len) {
  unsigned char hdr[5];
  if (recv_all(hdr, 5) != 0) return -1;
  uint32_t n = (uint32_t)hdr[0] | ((uint32_t)hdr[1] << 8) | ((uint32_t)hdr[2] << 16) | ((uint32_t)hdr[3] << 24);
  if (n < 1 || n > MAX_FRAME) fail("%s", "bad frame from dbox");
  *type = (char)hdr[4];
  *len = n - 1;
  *payload = malloc(*len + 1);
  if (!*payload) fail("%s", "out of memory");
  if (*len && recv_all(*payload, *len) != 0) return -1;
  (*payload)[*len] = '\0';
  return 0;
}

/** Appends a NUL-terminated string to a growing buffer. */
static void put(char **buf, size_t *len, size_t *cap, const char *s) {
  size_t n = strlen(s) + 1;
  if (*len + n > *cap) {
    size_t c = *cap ? *cap * 2 : 4096;
    while (c < *len + n) c *= 2;
    char *b = realloc(*buf, c);
    if (!b) fail("%s", "out of memory");
    *buf = b;
    *cap = c;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
}

static void connect_to(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) fail("socket path too long: %s", path);
  strcpy(addr.sun_path, path);
  sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) fail("socket: %s", strerror(errno));
  int r;
  do r = connect(sock, (struct sockaddr *)&addr, sizeof addr);
  while (r < 0 && errno == EINTR);
  if (r != 0) {
    int e = errno;
    close(sock);
    sock = -1;
    errno = e;
  }
}

static void on_signal(int sig) {
  int saved = errno;
  unsigned char b = (unsigned char)sig;
  ssize_t w = write(sigpipe_fds[1], &b, 1);
  (void)w;
  errno = saved;
}

static void handle(int sig, void (*fn)(int)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0; // no SA_RESTART: a blocked call returns to the loop
  if (sigaction(sig, &sa, NULL) != 0) fail("sigaction: %s", strerror(errno));
}

static void die_by(int sig) {
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  _exit(128 + sig);
}

static int parse_int(const char *s, int lo, int hi) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) fail("bad number from dbox: %s", s);
  return (int)v;
}

/** Runs a program dbox asked for, with the terminal, in our process group; returns its status. */
static int run_program(char *payload, size_t len) {
  // cwd \0 argc \0 argv... \0 env... \0
  char *fields[4096 + 8];
  size_t count = 0;
  for (size_t i = 0; i < len && count < sizeof fields / sizeof *fields - 1;) {
    fields[count++] = payload + i;
    i += strlen(payload + i) + 1;
  }
  if (count < 3) fail("%s", "bad exec request from dbox");
  int argc = parse_int(fields[1], 1, 4096);
  if ((size_t)argc + 2 > count) fail("%s", "bad exec request from dbox");
  char **argv = calloc((size_t)argc + 1, sizeof *argv);
  char **envp = calloc(count - (size_t)argc - 2 + 1, sizeof *envp);
  if (!argv || !envp) fail("%s", "out of memory");
  for (int i = 0; i < argc; i++) argv[i] = fields[2 + i];
  size_t e = 0;
  for (size_t i = (size_t)argc + 2; i < count; i++) envp[e++] = fields[i];
  envp[e] = NULL;
  argv[argc] = NULL;

  struct sigaction ign, dfl, old_int, old_quit, old_tstp;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "dbox: fork: %s\n", strerror(errno));
    return 126;
  }
  if (pid == 0) {
    for (int s = 1; s < NSIG; s++) {
      if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (chdir(fields[0]) != 0) {
      fprintf(stderr, "dbox: %s: %s\n", fields[0], strerror(errno));
      _exit(126);
    }
    environ = envp;
    execvp(argv[0], argv);
    fprintf(stderr, "dbox: %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  // As a shell waits for a foreground job: the terminal's SIGINT and SIGQUIT are the program's;
  // SIGTSTP stops us with it, so bash sees the job stopped.
  sigaction(SIGINT, &ign, &old_int);
  sigaction(SIGQUIT, &ign, &old_quit);
  sigaction(SIGTSTP, &dfl, &old_tstp);
  int status;
  pid_t r;
  do r = waitpid(pid, &status, 0);
  while (r < 0 && errno == EINTR);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGQUIT, &old_quit, NULL);
  sigaction(SIGTSTP, &old_tstp, NULL);
  free(argv);
  free(envp);
  if (r < 0) return 126;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static const char *socket_path(const char *argv0, char *buf, size_t size) {
  const char *slash = strrchr(argv0, '/');
  if (!slash) fail("%s", "cannot find the session's socket (run by a path)");
  int n = snprintf(buf, size, "%.*s/sock", (int)(slash - argv0), argv0);
  if (n < 0 || (size_t)n >= size) fail("%s", "socket path too long");
  return buf;
}

static int next_line(const char *path, char **argv) {
  int status = parse_int(argv[0], 0, 255);
  // Only waiting for dbox: a key the user presses meanwhile belongs to the line that is coming.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  signal(SIGTSTP, SIG_IGN);
  connect_to(path);
  if (sock < 0) return status; // dbox is gone: nothing to run (bash reads EOF next)
  char *buf = NULL;
  size_t len = 0, cap = 0;
  put(&buf, &len, &cap, argv[0]);
  put(&buf, &len, &cap, argv[1]);
  if (send_first('L', buf, len) != 0) return status;
  char type;
  char *payload;
  size_t plen;
  if (recv_frame(&type, &payload, &plen) != 0 || type != 'O') return status;
  for (size_t off = 0; off < plen;) {
    ssize_t w = write(1, payload + off, plen - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    off += (size_t)w;
  }
  return status;
}

static int run_builtin(const char *path, int argc, char **argv) {
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) {
    // A directory the kernel no longer reaches by name (a FUSE mount invalidated its entry): the
    // shell's logical $PWD still names it, as bash's own `pwd` does.
    const char *pwd = getenv("PWD");
    if (!pwd || pwd[0] != '/' || strlen(pwd) >= sizeof cwd) fail("cannot determine the current directory: %s", strerror(errno));
    strcpy(cwd, pwd);
  }
  connect_to(path);
  if (sock < 0) fail("%s: the dbox session is gone", argv[0]);
  if (pipe2(sigpipe_fds, O_CLOEXEC | O_NONBLOCK) != 0) fail("pipe: %s", strerror(errno));
  signal(SIGPIPE, SIG_IGN);
  handle(SIGINT, on_signal);
  handle(SIGTSTP, on_signal);
  handle(SIGCONT, on_signal);

  char *buf = NULL;
  size_t len = 0, cap = 0;
  char num[32];
  put(&buf, &len, &cap, cwd);
  snprintf(num, sizeof num, "%d", argc);
  put(&buf, &len, &cap, num);
  for (int i = 0; i < argc; i++) put(&buf, &len, &cap, argv[i]);
  for (char **e = environ; *e; e++) put(&buf, &len, &cap, *e);
  if (len + 1 > MAX_FRAME) fail("%s: argument list too long", argv[0]);
  if (send_first('B', buf, len) != 0) fail("%s: the dbox session is gone", argv[0]);
  free(buf);

  size_t want = 0;        // bytes of stdin dbox asked for (0: none pending)
  int interrupted = 0;    // SIGINT seen: a second one ends us at once
  int stopping = 0;       // SIGTSTP passed on, waiting for dbox to pause output
  char *chunk = malloc(READ_CHUNK);
  if (!chunk) fail("%s", "out of memory");
  for (;;) {
    struct pollfd p[3] = {{.fd = sock, .events = POLLIN}, {.fd = sigpipe_fds[0], .events = POLLIN}, {.fd = 0, .events = POLLIN}};
    int n = poll(p, want ? 3 : 2, stopping ? 2000 : -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("poll: %s", strerror(errno));
    }
    if (n == 0 && stopping) { // dbox did not answer in time: stop anyway
      stopping = 0;
      signal(SIGTSTP, SIG_DFL);
      raise(SIGTSTP);
      handle(SIGTSTP, on_signal);
      continue;
    }
    // Always first, whatever poll reported: a signal that arrived as poll returned has run its
    // handler by now, and must be passed on before anything it caused (a pipe's EOF) is.
    {
      unsigned char sig;
      while (read(sigpipe_fds[0], &sig, 1) == 1) {
        if (sig == SIGINT) {
          if (interrupted) die_by(SIGINT);
          interrupted = 1;
          if (send_frame('I', NULL, 0) != 0) die_by(SIGINT);
        } else if (sig == SIGTSTP) {
          stopping = 1;
          if (send_frame('T', NULL, 0) != 0) stopping = 0;
        } else if (sig == SIGCONT) {
          send_frame('C', NULL, 0);
        }
      }
    }
    if (want && (p[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t r = read(0, chunk, want < READ_CHUNK ? want : READ_CHUNK);
      if (r >= 0) {
        want = 0;
        if (send_frame('D', chunk, (size_t)r) != 0) exit(1);
      } else if (errno != EINTR && errno != EAGAIN) {
        want = 0;
        const char *e = strerror(errno);
        if (send_frame('e', e, strlen(e)) != 0) exit(1);
      }
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char type;
      char *payload;
      size_t plen;
      if (recv_frame(&type, &payload, &plen) != 0) {
        if (interrupted) die_by(SIGINT);
        fprintf(stderr, "dbox: %s: the dbox session ended\n", argv[0]);
        exit(1);
      }
      switch (type) {
        case 'S': {
          // Interrupted, even as the builtin was ending: it dies by SIGINT, as a program does
          // whatever it was about to return, so that bash ends a loop that runs it (an exit
          // status of its own would tell bash the program handled the interrupt).
          unsigned char sig;
          while (read(sigpipe_fds[0], &sig, 1) == 1) interrupted |= sig == SIGINT;
          if (interrupted) die_by(SIGINT);
          exit(parse_int(payload, 0, 255));
        }
        case 'K': die_by(parse_int(payload, 1, NSIG - 1)); break;
        case 'r': want = (size_t)parse_int(payload, 1, INT_MAX); break;
        case 'P':
          if (stopping) {
            stopping = 0;
            signal(SIGTSTP, SIG_DFL);
            raise(SIGTSTP); // stops here; SIGCONT resumes after it
            handle(SIGTSTP, on_signal);
          }
          break;
        case 'E': {
          int st = run_program(payload, plen);
          snprintf(num, sizeof num, "%d", st);
          if (send_frame('X', num, strlen(num)) != 0) exit(st);
          break;
        }
        default: fail("unexpected frame from dbox (%s)", "type");
      }
      free(payload);
    }
  }
}

int main(int argc, char **argv) {
  char buf[PATH_MAX];
  if (argc == 4 && strcmp(argv[1], "--next") == 0) return next_line(socket_path(argv[0], buf, sizeof buf), &argv[2]);
  if (argc >= 2 && argv[1][0] != '-') return run_builtin(socket_path(argv[0], buf, sizeof buf), argc - 1, &argv[1]);
  fprintf(stderr, "usage: dbox-client NAME [ARGS...] | dbox-client --next STATUS PWD\n");
  return 2;
}
