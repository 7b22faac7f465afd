// The terminal as a shell hands it over (Node has no tcsetpgrp): which process group owns it,
// giving it to another (with SIGTTOU blocked, as a shell does while it switches), its size, and
// whether a pipe we write to has lost its reader. Also the process-wide signal dispositions of a
// shell that is not always in the foreground: SIGTTOU and SIGTTIN ignored, so that writing to or
// switching the terminal from the background never stops dbox (a read from the background then
// fails with EIO instead of stopping it; dbox does not read the terminal while a job runs).
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <pthread.h>

#include "shell-native.h"

int shell_export(napi_env env, napi_value exports, const char *name, napi_callback fn) {
  napi_value f;
  if (napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f) == napi_ok && napi_set_named_property(env, exports, name, f) == napi_ok)
    return 0;
  napi_throw_error(env, NULL, "dbox native: cannot export a function");
  return -1;
}

napi_value shell_throw_errno(napi_env env, int err, const char *syscall_name, const char *what) {
  char msg[512];
  const char *code = strerrorname_np(err);
  if (!code) code = "EIO";
  snprintf(msg, sizeof msg, "%s: %s, %s '%s'", code, strerror(err), syscall_name, what ? what : "");
  napi_value jmsg, jcode, error, jerrno;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg) != napi_ok ||
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode) != napi_ok ||
      napi_create_error(env, jcode, jmsg, &error) != napi_ok || napi_create_int32(env, err, &jerrno) != napi_ok) {
    napi_throw_error(env, code, msg);
    return NULL;
  }
  napi_set_named_property(env, error, "errno", jerrno);
  napi_set_named_property(env, error, "code", jcode);
  napi_throw(env, error);
  return NULL;
}

static int int_args(napi_env env, napi_callback_info info, int32_t *out, size_t want) {
  size_t argc = 2;
  napi_value argv[2];
  if (want > 2 || napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return -1;
  for (size_t i = 0; i < want; i++) {
    if (napi_get_value_int32(env, argv[i], &out[i]) != napi_ok) return -1;
  }
  return 0;
}

static napi_value number(napi_env env, double v) {
  napi_value r;
  return napi_create_double(env, v, &r) == napi_ok ? r : NULL;
}

/** tcgetpgrp(fd) */
static napi_value js_tcgetpgrp(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (int_args(env, info, a, 1) != 0) return shell_throw_errno(env, EINVAL, "tcgetpgrp", "arguments");
  pid_t p = tcgetpgrp(a[0]);
  if (p < 0) return shell_throw_errno(env, errno, "tcgetpgrp", "terminal");
  return number(env, p);
}

/** tcsetpgrp(fd, pgid): gives the terminal to a process group of this session. */
static napi_value js_tcsetpgrp(napi_env env, napi_callback_info info) {
  int32_t a[2];
  if (int_args(env, info, a, 2) != 0) return shell_throw_errno(env, EINVAL, "tcsetpgrp", "arguments");
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTTOU);
  sigaddset(&block, SIGTTIN);
  int e = pthread_sigmask(SIG_BLOCK, &block, &old);
  if (e != 0) return shell_throw_errno(env, e, "pthread_sigmask", "SIGTTOU");
  int r = tcsetpgrp(a[0], a[1]);
  e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (r != 0) return shell_throw_errno(env, e, "tcsetpgrp", "terminal");
  return NULL;
}

static napi_value js_getpgrp(napi_env env, napi_callback_info info) {
  return number(env, getpgrp());
}

/** ignoreTerminalStops(): SIGTTOU and SIGTTIN ignored for the whole process. */
static napi_value js_ignore_terminal_stops(napi_env env, napi_callback_info info) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_IGN;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGTTOU, &sa, NULL) != 0 || sigaction(SIGTTIN, &sa, NULL) != 0) return shell_throw_errno(env, errno, "sigaction", "SIGTTOU");
  return NULL;
}

/** winsize(fd) -> [rows, columns], or undefined when fd is not a terminal. */
static napi_value js_winsize(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (int_args(env, info, a, 1) != 0) return shell_throw_errno(env, EINVAL, "winsize", "arguments");
  struct winsize ws;
  napi_value r, v;
  if (ioctl(a[0], TIOCGWINSZ, &ws) != 0) {
    napi_get_undefined(env, &r);
    return r;
  }
  if (napi_create_array_with_length(env, 2, &r) != napi_ok) return NULL;
  if ((v = number(env, ws.ws_row)) == NULL || napi_set_element(env, r, 0, v) != napi_ok) return NULL;
  if ((v = number(env, ws.ws_col)) == NULL || napi_set_element(env, r, 1, v) != napi_ok) return NULL;
  return r;
}

/** widowed(fd): a pipe or socket we write to whose reader has gone (poll reports an error). */
static napi_value js_widowed(napi_env env, napi_callback_info info) {
  int32_t a[1];
  if (int_args(env, info, a, 1) != 0) return shell_throw_errno(env, EINVAL, "widowed", "arguments");
  struct pollfd p = {.fd = a[0], .events = POLLOUT};
  int n;
  do n = poll(&p, 1, 0);
  while (n < 0 && errno == EINTR);
  napi_value r;
  return napi_get_boolean(env, n == 1 && (p.revents & (POLLERR | POLLNVAL)) != 0, &r) == napi_ok ? r : NULL;
}

int terminal_register(napi_env env, napi_value exports) {
  if (shell_export(env, exports, "tcgetpgrp", js_tcgetpgrp) < 0 || shell_export(env, exports, "tcsetpgrp", js_tcsetpgrp) < 0 ||
      shell_export(env, exports, "getpgrp", js_getpgrp) < 0 ||
      shell_export(env, exports, "ignoreTerminalStops", js_ignore_terminal_stops) < 0 ||
      shell_export(env, exports, "winsize", js_winsize) < 0 || shell_export(env, exports, "widowed", js_widowed) < 0)
    return -1;
  return 0;
}

int shell_native_register(napi_env env, napi_value exports) {
  return builtin_server_register(env, exports) < 0 || terminal_register(env, exports) < 0 ? -1 : 0;
}
