/* What the binding's C files share. */
#ifndef SERSYNC_ERRNO_ERROR_H
#define SERSYNC_ERRNO_ERROR_H
#include <node_api.h>

/* An Error as Node's fs makes one: `code` ('ENOENT'), `errno` (negative), `syscall`, its message. */
napi_value errno_error(napi_env env, int err, const char *syscall);

/* Throws errno_error; returns NULL for the caller to return. */
napi_value throw_errno(napi_env env, int err, const char *syscall);

/* spawn.c: adds `spawn` to the binding's exports (starting rsync without copying our page tables). */
void register_spawn(napi_env env, napi_value exports);

#endif
