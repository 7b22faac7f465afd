// The socket that the session's bash reaches dbox's builtins through (the other end is
// native/builtin-client.c). Node cannot receive descriptors over a unix socket, so a thread here
// accepts each connection, checks the peer, receives its first frame with the client's stdin,
// stdout and stderr (SCM_RIGHTS), and hands the connected socket, the descriptors and the frame
// to JavaScript through a threadsafe function; every later frame travels on the socket in Node.
//
// What it trusts: nothing from the peer beyond its credentials. The socket lives in a directory
// only this user can reach, and a peer whose uid is not ours is closed at once (SO_PEERCRED). A
// first frame must arrive within 5 s, be at most 16 MiB, and carry 0 or 3 descriptors; anything
// else is closed. Received descriptors are close-on-exec.
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "shell-native.h"

#define MAX_FIRST_FRAME (16u << 20)

/** Shared by the accept thread and the JS handle; the last of the two to let go frees it. */
typedef struct {
  pthread_mutex_t lock; // guards listen_fd and stopping
  int listen_fd;
  int stopping;
  int refs;
  napi_threadsafe_function tsfn;
} server_t;

static void unref_server(server_t *s) {
  if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    pthread_mutex_destroy(&s->lock);
    free(s);
  }
}

/** Stops accepting: the thread wakes from accept() and ends. */
static void stop_server(server_t *s) {
  pthread_mutex_lock(&s->lock);
  if (!s->stopping) {
    s->stopping = 1;
    if (s->listen_fd >= 0) shutdown(s->listen_fd, SHUT_RDWR);
  }
  pthread_mutex_unlock(&s->lock);
}

typedef struct {
  int fd;
  int fds[3];
  int nfds;
  char type;
  char *payload;
  size_t len;
  pid_t pid;
} connection_t;

static void close_connection(connection_t *c) {
  if (c->fd >= 0) close(c->fd);
  for (int i = 0; i < c->nfds; i++) close(c->fds[i]);
  free(c->payload);
  free(c);
}

static int recv_exact(int fd, char *buf, size_t n) {
  while (n > 0) {
    ssize_t r = recv(fd, buf, n, MSG_WAITALL);
    if (r == 0) return -1;
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += r;
    n -= (size_t)r;
  }
  return 0;
}

/** Receives the first frame of an accepted connection; NULL (and the socket closed) when bad. */
static connection_t *receive_first(int fd) {
  connection_t *c = calloc(1, sizeof *c);
  if (!c) {
    close(fd);
    return NULL;
  }
  c->fd = fd;
  struct ucred cred;
  socklen_t credlen = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &credlen) != 0 || cred.uid != geteuid()) goto bad;
  c->pid = cred.pid;
  struct timeval tv = {.tv_sec = 5, .tv_usec = 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) goto bad;

  unsigned char hdr[5];
  char control[CMSG_SPACE(sizeof(int) * 3)];
  struct iovec iov = {.iov_base = hdr, .iov_len = sizeof hdr};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t r;
  do r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (r < 0 && errno == EINTR);
  // Descriptors first, so that whatever else is wrong they are closed.
  for (struct cmsghdr *m = CMSG_FIRSTHDR(&msg); m; m = CMSG_NXTHDR(&msg, m)) {
    if (m->cmsg_level != SOL_SOCKET || m->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (m->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *fds = (int *)CMSG_DATA(m);
    for (size_t i = 0; i < n; i++) {
      if (c->nfds < 3) c->fds[c->nfds++] = fds[i];
      else close(fds[i]);
    }
  }
  if (r < 0 || ((size_t)r < sizeof hdr && recv_exact(fd, (char *)hdr + r, sizeof hdr - (size_t)r) != 0)) goto bad;
  if (msg.msg_flags & MSG_CTRUNC) goto bad;
  if (c->nfds != 0 && c->nfds != 3) goto bad;
  uint32_t n = (uint32_t)hdr[0] | ((uint32_t)hdr[1] << 8) | ((uint32_t)hdr[2] << 16) | ((uint32_t)hdr[3] << 24);
  if (n < 1 || n > MAX_FIRST_FRAME) goto bad;
  c->type = (char)hdr[4];
  c->len = n - 1;
  c->payload = malloc(c->len ? c->len : 1);
  if (!c->payload) goto bad;
  if (c->len && recv_exact(fd, c->payload, c->len) != 0) goto bad;
  struct timeval none = {0, 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none) != 0) goto bad;
  return c;
bad:
  close_connection(c);
  return NULL;
}

static void *accept_loop(void *arg) {
  server_t *s = arg;
  for (;;) {
    int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      pthread_mutex_lock(&s->lock);
      int stopping = s->stopping;
      pthread_mutex_unlock(&s->lock);
      if (stopping) break;
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        if (errno != EINTR && errno != ECONNABORTED) usleep(10000); // out of descriptors: let some close
        continue;
      }
      break;
    }
    connection_t *c = receive_first(fd);
    if (!c) continue;
    if (napi_call_threadsafe_function(s->tsfn, c, napi_tsfn_blocking) != napi_ok) close_connection(c);
  }
  pthread_mutex_lock(&s->lock);
  close(s->listen_fd);
  s->listen_fd = -1;
  pthread_mutex_unlock(&s->lock);
  napi_release_threadsafe_function(s->tsfn, napi_tsfn_release);
  unref_server(s);
  return NULL;
}

#define CHECK(call)                                                           \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      napi_throw_error(env, NULL, "dbox native: N-API call failed: " #call); \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static void call_js(napi_env env, napi_value callback, void *context, void *data) {
  connection_t *c = data;
  if (!env) { // the function is being torn down
    close_connection(c);
    return;
  }
  napi_value obj, fds, payload, v, undefined;
  int ok = napi_create_object(env, &obj) == napi_ok && napi_create_array_with_length(env, (size_t)c->nfds, &fds) == napi_ok;
  for (int i = 0; ok && i < c->nfds; i++) {
    ok = napi_create_int32(env, c->fds[i], &v) == napi_ok && napi_set_element(env, fds, (uint32_t)i, v) == napi_ok;
  }
  ok = ok && napi_set_named_property(env, obj, "fds", fds) == napi_ok;
  ok = ok && napi_create_int32(env, c->fd, &v) == napi_ok && napi_set_named_property(env, obj, "fd", v) == napi_ok;
  ok = ok && napi_create_int32(env, c->pid, &v) == napi_ok && napi_set_named_property(env, obj, "pid", v) == napi_ok;
  char type[2] = {c->type, 0};
  ok = ok && napi_create_string_latin1(env, type, 1, &v) == napi_ok && napi_set_named_property(env, obj, "type", v) == napi_ok;
  ok = ok && napi_create_buffer_copy(env, c->len, c->payload, NULL, &payload) == napi_ok &&
       napi_set_named_property(env, obj, "payload", payload) == napi_ok;
  if (!ok) {
    close_connection(c);
    return;
  }
  // From here JavaScript owns the descriptors.
  free(c->payload);
  free(c);
  if (napi_get_undefined(env, &undefined) == napi_ok) napi_call_function(env, undefined, callback, 1, &obj, NULL);
}

static void finalize_server(napi_env env, void *data, void *hint) {
  server_t *s = data;
  stop_server(s);
  unref_server(s);
}

/** listen(path, onConnection) -> server handle. The socket file is created mode 0600. */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t len;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], addr.sun_path, sizeof addr.sun_path, &len) != napi_ok ||
      len == 0 || len >= sizeof addr.sun_path - 1) {
    napi_throw_error(env, "EINVAL", "listen: a socket path (shorter than 107 bytes) and a callback");
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return shell_throw_errno(env, errno, "socket", addr.sun_path);
  mode_t old = umask(0177);
  int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  int e = errno;
  umask(old);
  if (r != 0 || listen(fd, 128) != 0) {
    if (r == 0) e = errno;
    close(fd);
    return shell_throw_errno(env, e, r != 0 ? "bind" : "listen", addr.sun_path);
  }
  server_t *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return shell_throw_errno(env, ENOMEM, "listen", addr.sun_path);
  }
  s->listen_fd = fd;
  s->refs = 2;
  if ((e = pthread_mutex_init(&s->lock, NULL)) != 0) {
    close(fd);
    free(s);
    return shell_throw_errno(env, e, "pthread_mutex_init", addr.sun_path);
  }
  napi_value name;
  if (napi_create_string_utf8(env, "dbox-builtins", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, argv[1], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &s->tsfn) != napi_ok) {
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "listen: cannot create the connection callback");
    return NULL;
  }
  // Connections must not keep dbox alive: the shell decides when it ends.
  napi_unref_threadsafe_function(env, s->tsfn);
  pthread_t thread;
  pthread_attr_t attr;
  if ((e = pthread_attr_init(&attr)) == 0) {
    e = pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (e == 0) e = pthread_create(&thread, &attr, accept_loop, s);
    pthread_attr_destroy(&attr);
  }
  if (e != 0) {
    napi_release_threadsafe_function(s->tsfn, napi_tsfn_abort);
    close(fd);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return shell_throw_errno(env, e, "pthread_create", addr.sun_path);
  }
  napi_value handle;
  if (napi_create_external(env, s, finalize_server, NULL, &handle) != napi_ok) {
    stop_server(s);
    unref_server(s);
    napi_throw_error(env, NULL, "listen: cannot create the server handle");
    return NULL;
  }
  return handle;
}

/** closeServer(handle): stops accepting (the thread wakes from accept and ends). */
static napi_value js_close_server(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  server_t *s;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_external(env, argv[0], (void **)&s) != napi_ok) {
    napi_throw_error(env, "EINVAL", "closeServer: a server handle");
    return NULL;
  }
  stop_server(s);
  return NULL;
}

int builtin_server_register(napi_env env, napi_value exports) {
  return shell_export(env, exports, "listenBuiltins", js_listen) < 0 || shell_export(env, exports, "closeBuiltins", js_close_server) < 0 ? -1 : 0;
}
