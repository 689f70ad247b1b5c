/*
 * The thinnest possible inotify binding for sersync-ts: one inotify instance per handle, add and
 * remove watches, and raw event bytes handed to JavaScript as they become readable. Everything
 * else (parsing `struct inotify_event`, the watch tree, rename pairing) lives in TypeScript.
 *
 * The fd is polled by libuv on the Node event loop (uv_poll_t), so reading never blocks it.
 *
 * Exports:
 *   open(callback)              -> handle   callback(err: Error | null, chunk?: Buffer)
 *   addWatch(handle, path, mask) -> wd      path is a Buffer (file names are bytes)
 *   rmWatch(handle, wd)
 *   close(handle)
 * Failed system calls throw an Error with Node's usual `code` ('ENOSPC', 'ENOENT'...), `errno`
 * (negative, as in Node) and `syscall`.
 */
#include <errno.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>
#include <uv.h>

/* One read batch: a few thousand events. libuv's poll is level-triggered, so whatever does not
 * fit is delivered on the next loop turn instead of starving other work. */
#define BATCH_BYTES (256 * 1024)
/* read() on inotify fails with EINVAL unless one whole event with the longest name fits. */
#define MIN_FREE (sizeof(struct inotify_event) + NAME_MAX + 1)

typedef struct {
  int fd; /* -1 once closed */
  uv_poll_t poll;
  napi_env env;
  napi_ref callback;
  napi_async_context async_context;
  bool poll_closed; /* libuv is done with `poll` */
  bool finalized;   /* JavaScript can no longer reach the handle */
  char buf[BATCH_BYTES];
} Instance;

#define CHECK(call)                                                                                     \
  do {                                                                                                  \
    if ((call) != napi_ok) return NULL;                                                                 \
  } while (0)

static napi_value errno_error(napi_env env, int err, const char *syscall) {
  napi_value code, message, error, errno_value, syscall_value;
  napi_create_string_utf8(env, uv_err_name(-err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, uv_strerror(-err), NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  return error;
}

static napi_value throw_errno(napi_env env, int err, const char *syscall) {
  napi_throw(env, errno_error(env, err, syscall));
  return NULL;
}

static void free_if_unused(Instance *in) {
  if (in->poll_closed && in->finalized) free(in);
}

static void on_poll_closed(uv_handle_t *handle) {
  Instance *in = handle->data;
  in->poll_closed = true;
  free_if_unused(in);
}

/* Stops polling and closes the fd; no N-API calls, so it is safe from the env cleanup hook. */
static void stop(Instance *in) {
  if (in->fd < 0) return;
  uv_poll_stop(&in->poll);
  uv_close((uv_handle_t *)&in->poll, on_poll_closed);
  close(in->fd);
  in->fd = -1;
}

static void cleanup_hook(void *data) { stop(data); }

static void release_js(Instance *in) {
  if (in->callback == NULL) return;
  napi_remove_env_cleanup_hook(in->env, cleanup_hook, in);
  napi_delete_reference(in->env, in->callback);
  napi_async_destroy(in->env, in->async_context);
  in->callback = NULL;
}

static void deliver(Instance *in, napi_value error, const char *data, size_t length) {
  napi_env env = in->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value callback, recv, argv[2], result;
  napi_get_reference_value(env, in->callback, &callback);
  napi_get_global(env, &recv); /* make_callback needs an object receiver */
  if (error != NULL) {
    argv[0] = error;
    napi_get_undefined(env, &argv[1]);
  } else {
    void *copy;
    napi_get_null(env, &argv[0]);
    napi_create_buffer_copy(env, length, data, &copy, &argv[1]);
  }
  /* make_callback, not call_function: runs the microtask queue and nextTicks afterwards. */
  if (napi_make_callback(env, in->async_context, recv, callback, 2, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

/* A broken fd would make the level-triggered poll fire forever: stop, and tell JavaScript once. */
static void fail(Instance *in, int err, const char *syscall) {
  uv_poll_stop(&in->poll);
  napi_handle_scope scope;
  if (napi_open_handle_scope(in->env, &scope) != napi_ok) return;
  deliver(in, errno_error(in->env, err, syscall), NULL, 0);
  napi_close_handle_scope(in->env, scope);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  Instance *in = handle->data;
  if (status < 0) {
    fail(in, -status, "uv_poll");
    return;
  }
  size_t length = 0;
  while (in->fd >= 0 && BATCH_BYTES - length >= MIN_FREE) {
    ssize_t n = read(in->fd, in->buf + length, BATCH_BYTES - length);
    if (n > 0) {
      length += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno != EAGAIN) {
      fail(in, errno, "read");
      return;
    } else {
      break;
    }
  }
  if (length > 0) deliver(in, NULL, in->buf, length);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Instance *in = data;
  stop(in);
  release_js(in);
  in->finalized = true;
  free_if_unused(in);
}

static Instance *unwrap(napi_env env, napi_value value) {
  Instance *in = NULL;
  if (napi_get_value_external(env, value, (void **)&in) != napi_ok || in == NULL) {
    napi_throw_type_error(env, NULL, "expected an inotify handle");
    return NULL;
  }
  return in;
}

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], handle, resource_name;
  napi_valuetype type;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, NULL, "open(callback): callback must be a function");
    return NULL;
  }
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "inotify_init1");

  Instance *in = calloc(1, sizeof(Instance));
  if (in == NULL) {
    close(fd);
    return throw_errno(env, ENOMEM, "inotify_init1");
  }
  in->fd = fd;
  in->env = env;
  int rc = uv_poll_init(loop, &in->poll, fd);
  if (rc != 0) {
    close(fd);
    free(in);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  in->poll.data = in;
  rc = uv_poll_start(&in->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    in->finalized = true; /* no handle was handed out: free once libuv lets go */
    stop(in);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  CHECK(napi_create_string_utf8(env, "sersync:inotify", NAPI_AUTO_LENGTH, &resource_name));
  CHECK(napi_async_init(env, NULL, resource_name, &in->async_context));
  CHECK(napi_create_reference(env, argv[0], 1, &in->callback));
  CHECK(napi_add_env_cleanup_hook(env, cleanup_hook, in));
  CHECK(napi_create_external(env, in, finalize, NULL, &handle));
  return handle;
}

static napi_value js_add_watch(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], result;
  char *path;
  size_t path_length;
  uint32_t mask;
  bool is_buffer = false;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Instance *in = argc == 3 ? unwrap(env, argv[0]) : NULL;
  if (in == NULL) return NULL;
  if (napi_is_buffer(env, argv[1], &is_buffer) != napi_ok || !is_buffer ||
      napi_get_value_uint32(env, argv[2], &mask) != napi_ok) {
    napi_throw_type_error(env, NULL, "addWatch(handle, path: Buffer, mask: number)");
    return NULL;
  }
  CHECK(napi_get_buffer_info(env, argv[1], (void **)&path, &path_length));
  if (in->fd < 0) return throw_errno(env, EBADF, "inotify_add_watch");
  /* The kernel wants a NUL-terminated name; a Buffer is not. */
  char *cpath = malloc(path_length + 1);
  if (cpath == NULL) return throw_errno(env, ENOMEM, "inotify_add_watch");
  memcpy(cpath, path, path_length);
  cpath[path_length] = '\0';
  int wd = inotify_add_watch(in->fd, cpath, mask);
  int err = errno;
  free(cpath);
  if (wd < 0) return throw_errno(env, err, "inotify_add_watch");
  CHECK(napi_create_int32(env, wd, &result));
  return result;
}

static napi_value js_rm_watch(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t wd;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Instance *in = argc == 2 ? unwrap(env, argv[0]) : NULL;
  if (in == NULL) return NULL;
  if (napi_get_value_int32(env, argv[1], &wd) != napi_ok) {
    napi_throw_type_error(env, NULL, "rmWatch(handle, wd: number)");
    return NULL;
  }
  if (in->fd < 0) return throw_errno(env, EBADF, "inotify_rm_watch");
  if (inotify_rm_watch(in->fd, wd) < 0) return throw_errno(env, errno, "inotify_rm_watch");
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Instance *in = argc == 1 ? unwrap(env, argv[0]) : NULL;
  if (in == NULL) return NULL;
  stop(in);
  release_js(in);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addWatch", NULL, js_add_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rmWatch", NULL, js_rm_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}
