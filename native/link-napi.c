// The addon's door to link.c, so that the mount's fuse-native server (src/fuse/ops.ts) presents
// links by the same rule as dbox-fuse: presentLink(target, depth) -> string, or throws an Error
// with .code (EINVAL, ENAMETOOLONG). Target and result are names as the addon carries them
// (name-codec.h: a byte that is not UTF-8 is U+DC00+byte), so the rule sees the link's own bytes.
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "name-codec.h"

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
  size_t units;
  int64_t depth;
  if (napi_get_value_string_utf16(env, argv[0], NULL, 0, &units) != napi_ok || napi_get_value_int64(env, argv[1], &depth) != napi_ok ||
      depth < 0) {
    napi_throw_type_error(env, NULL, "presentLink(target: string, depth: number >= 0)");
    return NULL;
  }
  // The target as the container's bytes (a UTF-16 unit becomes at most 3 bytes), and the result
  // back as a name (at most one unit per byte).
  uint16_t *in = malloc((units + 1) * sizeof *in);
  char *target = malloc(units * 3 + 1);
  char *out = malloc(PATH_MAX);
  uint16_t *back = malloc(PATH_MAX * sizeof *back);
  napi_value result = NULL;
  long len;
  ssize_t n;
  if (!in || !target || !out || !back) {
    fail(env, ENOMEM);
  } else if (napi_get_value_string_utf16(env, argv[0], (char16_t *)in, units + 1, &units) != napi_ok) {
    napi_throw_type_error(env, NULL, "presentLink: bad target");
  } else if ((len = name_encode(in, units, target, units * 3 + 1)) < 0 || (n = link_present(target, (size_t)len, (size_t)depth, out, PATH_MAX)) < 0) {
    fail(env, errno);
  } else if (napi_create_string_utf16(env, (const char16_t *)back, name_decode(out, (size_t)n, back, PATH_MAX), &result) != napi_ok) {
    napi_throw_error(env, NULL, "presentLink: out of memory");
    result = NULL;
  }
  free(in);
  free(target);
  free(out);
  free(back);
  return result;
}

int link_napi_export(napi_env env, napi_value exports) {
  napi_value f;
  if (napi_create_function(env, "presentLink", NAPI_AUTO_LENGTH, js_present_link, NULL, &f) == napi_ok &&
      napi_set_named_property(env, exports, "presentLink", f) == napi_ok)
    return 0;
  napi_throw_error(env, NULL, "dbox native: cannot export presentLink");
  return -1;
}
