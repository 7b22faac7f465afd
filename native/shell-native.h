// The shell's native helpers (builtin-server.c, terminal.c), registered in the addon's init.
#ifndef DBOX_SHELL_NATIVE_H
#define DBOX_SHELL_NATIVE_H

#include <node_api.h>

/** Registers every export of the shell's native part on `exports` (one call from inroot.c); -1
 *  with an exception pending when one could not be made. */
int shell_native_register(napi_env env, napi_value exports);

/** Adds a function export; -1 with an exception pending when N-API cannot. */
int shell_export(napi_env env, napi_value exports, const char *name, napi_callback fn);

/** Throws an Error with .code (e.g. "ENOENT") and .errno; returns NULL for the caller to return. */
napi_value shell_throw_errno(napi_env env, int err, const char *syscall_name, const char *what);

int builtin_server_register(napi_env env, napi_value exports);
int terminal_register(napi_env env, napi_value exports);

#endif
