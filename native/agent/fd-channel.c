// dbox_fd_channel: the client's end of the agent's fd channel (N-API). A unix socket to the agent
// on this same host, over which it hands open files (SCM_RIGHTS), each tagged with the request
// id it answers (agent.c, "the fd channel"). Node's own sockets drop passed fds, hence this.
//
// What it trusts: nothing of what arrives beyond its shape: a message must be exactly the 4-byte
// tag with exactly one fd; anything else (no fd, several fds, another kind of control message,
// a truncated one) is an error, and every fd that came with it is closed. Received fds are
// close-on-exec.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[160];
  const char *code = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, strerror(err), code ? code : "?");
  napi_value m, c, e;
  if (napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m) != napi_ok ||
      napi_create_string_utf8(env, code ? code : "EIO", NAPI_AUTO_LENGTH, &c) != napi_ok || napi_create_error(env, c, m, &e) != napi_ok ||
      napi_set_named_property(env, e, "code", c) != napi_ok) {
    napi_throw_error(env, NULL, "dbox_fd_channel: N-API call failed");
    return NULL;
  }
  napi_throw(env, e);
  return NULL;
}

static int int_arg(napi_env env, napi_value v, int64_t *out) { return napi_get_value_int64(env, v, out) == napi_ok ? 0 : -1; }

// connect(path) -> fd: a connected unix stream socket (blocking, close-on-exec).
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len >= sizeof path - 1)
    return throw_errno(env, ENAMETOOLONG, "connect");
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, path, len + 1);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return throw_errno(env, errno, "socket");
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) {
    int e = errno;
    close(s);
    return throw_errno(env, e, "connect");
  }
  napi_value r;
  if (napi_create_int32(env, s, &r) != napi_ok) {
    close(s);
    return throw_errno(env, EIO, "connect");
  }
  return r;
}

// send(fd, buffer): writes all of a small buffer (the token).
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd;
  void *data;
  size_t len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || int_arg(env, argv[0], &fd) ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok)
    return throw_errno(env, EINVAL, "send");
  for (size_t off = 0; off < len;) {
    ssize_t n = send((int)fd, (char *)data + off, len - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return throw_errno(env, errno, "send");
    off += (size_t)n;
  }
  return NULL;
}

typedef struct {
  int sock, timeout_ms;
  int err;
  uint32_t tag;
  int fd;
  napi_async_work work;
  napi_deferred deferred;
} recv_job;

static void recv_execute(napi_env env, void *data) {
  (void)env;
  recv_job *j = data;
  j->fd = -1;
  struct pollfd p = {.fd = j->sock, .events = POLLIN};
  int r;
  do r = poll(&p, 1, j->timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r < 0) { j->err = errno; return; }
  if (r == 0) { j->err = ETIMEDOUT; return; }
  char control[CMSG_SPACE(4 * sizeof(int))];
  uint32_t tag;
  struct iovec iov = {&tag, sizeof tag};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  ssize_t n;
  do n = recvmsg(j->sock, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  // Every fd that came is either the one answer or closed.
  int count = 0;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) { count = -100; continue; }
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      if (count == 0 && j->fd < 0) j->fd = fd;
      else close(fd);
      count++;
    }
  }
  if (n < 0) j->err = errno;
  else if (n == 0) j->err = ECONNRESET;
  else if (n != (ssize_t)sizeof tag || count != 1 || (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) j->err = EPROTO;
  if (j->err) {
    if (j->fd >= 0) close(j->fd);
    j->fd = -1;
    return;
  }
  j->tag = tag;
}

static void recv_complete(napi_env env, napi_status status, void *data) {
  recv_job *j = data;
  if (status != napi_ok && !j->err) j->err = EIO;
  napi_value result = NULL;
  if (!j->err) {
    napi_value tag, fd;
    if (napi_create_array_with_length(env, 2, &result) != napi_ok || napi_create_uint32(env, j->tag, &tag) != napi_ok ||
        napi_create_int32(env, j->fd, &fd) != napi_ok || napi_set_element(env, result, 0, tag) != napi_ok ||
        napi_set_element(env, result, 1, fd) != napi_ok) {
      close(j->fd);
      j->err = EIO;
    }
  }
  if (j->err) {
    napi_value m, c, e;
    const char *code = strerrorname_np(j->err);
    napi_create_string_utf8(env, strerror(j->err), NAPI_AUTO_LENGTH, &m);
    napi_create_string_utf8(env, code ? code : "EIO", NAPI_AUTO_LENGTH, &c);
    napi_create_error(env, c, m, &e);
    napi_set_named_property(env, e, "code", c);
    napi_reject_deferred(env, j->deferred, e);
  } else {
    napi_resolve_deferred(env, j->deferred, result);
  }
  napi_delete_async_work(env, j->work);
  free(j);
}

// recv(fd, timeoutMs) -> Promise<[tag, fd]>: the next fd the agent handed over.
static napi_value js_recv(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int64_t fd, timeout;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 || int_arg(env, argv[0], &fd) ||
      int_arg(env, argv[1], &timeout))
    return throw_errno(env, EINVAL, "recv");
  recv_job *j = calloc(1, sizeof *j);
  if (!j) return throw_errno(env, ENOMEM, "recv");
  j->sock = (int)fd;
  j->timeout_ms = timeout < 0 || timeout > 600000 ? 600000 : (int)timeout;
  napi_value promise, name;
  if (napi_create_promise(env, &j->deferred, &promise) != napi_ok ||
      napi_create_string_utf8(env, "dbox-fd-recv", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_async_work(env, NULL, name, recv_execute, recv_complete, j, &j->work) != napi_ok ||
      napi_queue_async_work(env, j->work) != napi_ok) {
    free(j);
    return throw_errno(env, EIO, "recv");
  }
  return promise;
}

static napi_value init(napi_env env, napi_value exports) {
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {{"connect", js_connect}, {"send", js_send}, {"recv", js_recv}};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    if (napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f) != napi_ok ||
        napi_set_named_property(env, exports, fns[i].name, f) != napi_ok)
      return NULL;
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
