// The addon's door to link.c, so that the mount's fuse-native server (src/fuse/ops.ts) presents
// links by the same rule as dbox-fuse: presentLink(target, depth) -> string, or throws an Error
// with .code (EINVAL, ENAMETOOLONG).
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"

static napi_value fail(napi_env env, int err) {
  const char *code = strerrorname_np(err);
  napi_throw_error(env, code ? code : "EIO", strerror(err));
  return NULL;
}

static napi_value js_present_link(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "presentLink(target, depth)");
    return NULL;
  }
  size_t len;
  int64_t depth;
  if (napi_get_value_string_utf8(env, argv[0], NULL, 0, &len) != napi_ok || napi_get_value_int64(env, argv[1], &depth) != napi_ok ||
      depth < 0) {
    napi_throw_type_error(env, NULL, "presentLink(target: string, depth: number >= 0)");
    return NULL;
  }
  char *target = malloc(len + 1);
  char *out = malloc(PATH_MAX);
  if (!target || !out) {
    free(target);
    free(out);
    return fail(env, ENOMEM);
  }
  napi_value result = NULL;
  ssize_t n;
  if (napi_get_value_string_utf8(env, argv[0], target, len + 1, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "presentLink: bad target");
  } else if ((n = link_present(target, len, (size_t)depth, out, PATH_MAX)) < 0) {
    fail(env, errno);
  } else if (napi_create_string_utf8(env, out, (size_t)n, &result) != napi_ok) {
    napi_throw_error(env, NULL, "presentLink: out of memory");
    result = NULL;
  }
  free(target);
  free(out);
  return result;
}

void link_napi_export(napi_env env, napi_value exports) {
  napi_value f;
  if (napi_create_function(env, "presentLink", NAPI_AUTO_LENGTH, js_present_link, NULL, &f) == napi_ok)
    napi_set_named_property(env, exports, "presentLink", f);
}
