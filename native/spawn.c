/*
 * Starts a program with posix_spawn, which glibc runs as clone(CLONE_VM | CLONE_VFORK): the child
 * shares sersync2's memory until its exec, where libuv's fork copies the page tables of the whole
 * process first (2.6 ms at 1 MB touched, 4.2 ms at 60 MB, 9.8 ms at 200 MB here, against 1.8–2.5 ms;
 * docs/benchmarks.md), and holds the memory map's lock meanwhile, which stalls the other threads'
 * page faults. Every rsync run starts here.
 *
 *   spawnProcess(file, argv, env, cwd, fd3, newSession, onExit) -> { pid, stdin, stdout, stderr }
 *
 * The child gets pipes as 0, 1 and 2 (the parent's ends are returned, close-on-exec), `fd3` as its
 * fd 3 (none when negative), `cwd` as its directory (this process's when empty), a session and
 * process group of its own when `newSession` (a plugin's program: its group is killed on a timeout),
 * every signal at its default and none blocked (Node ignores SIGPIPE).
 * Its exit is watched through a pidfd polled on this thread's event loop; `onExit(code, signal)`
 * is called once, after the child is reaped. A pidfd cannot name another process, and a child
 * not yet reaped keeps its pid, so `kill(pid)` from JavaScript before onExit is safe.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "errno-error.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

typedef struct {
  pid_t pid;
  int pidfd;
  uv_poll_t poll;
  napi_env env;
  napi_ref on_exit;
  napi_async_context async_context;
  bool closing;
} Child;

static void on_closed(uv_handle_t *handle) { free(handle->data); }

/* Stops watching; no N-API calls, so it is safe from the env cleanup hook. */
static void stop_watching(Child *c) {
  if (c->closing) return;
  c->closing = true;
  uv_poll_stop(&c->poll);
  close(c->pidfd);
  uv_close((uv_handle_t *)&c->poll, on_closed);
}

/* The worker thread ends with a child still running: it is left to run, unwatched. */
static void cleanup_hook(void *data) { stop_watching(data); }

static void on_exit_readable(uv_poll_t *handle, int status, int events) {
  (void)status;
  (void)events;
  Child *c = handle->data;
  int wstatus = 0;
  pid_t reaped;
  do reaped = waitpid(c->pid, &wstatus, WNOHANG);
  while (reaped < 0 && errno == EINTR);
  if (reaped == 0) return; /* not exited yet: a spurious wake-up */
  napi_env env = c->env;
  napi_remove_env_cleanup_hook(env, cleanup_hook, c);
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value callback, recv, argv[2], result;
    if (reaped < 0) {
      napi_get_null(env, &argv[0]); /* reaped by someone else: not known how it ended */
      napi_get_null(env, &argv[1]);
    } else if (WIFSIGNALED(wstatus)) {
      napi_get_null(env, &argv[0]);
      napi_create_int32(env, WTERMSIG(wstatus), &argv[1]);
    } else {
      napi_create_int32(env, WEXITSTATUS(wstatus), &argv[0]);
      napi_get_null(env, &argv[1]);
    }
    napi_get_global(env, &recv);
    if (napi_get_reference_value(env, c->on_exit, &callback) == napi_ok && callback != NULL &&
        napi_make_callback(env, c->async_context, recv, callback, 2, argv, &result) == napi_pending_exception) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
    napi_close_handle_scope(env, scope);
  }
  napi_delete_reference(env, c->on_exit);
  napi_async_destroy(env, c->async_context);
  stop_watching(c);
}

/* A NULL-terminated array of copies of a JavaScript array of strings; NULL (thrown) on failure. */
static char **string_array(napi_env env, napi_value array, const char *what) {
  uint32_t length = 0;
  bool is_array = false;
  if (napi_is_array(env, array, &is_array) != napi_ok || !is_array ||
      napi_get_array_length(env, array, &length) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
    return NULL;
  }
  char **out = calloc(length + 1, sizeof(char *));
  if (out == NULL) {
    throw_errno(env, ENOMEM, "posix_spawn");
    return NULL;
  }
  for (uint32_t i = 0; i < length; i++) {
    napi_value item;
    size_t size = 0;
    if (napi_get_element(env, array, i, &item) != napi_ok ||
        napi_get_value_string_utf8(env, item, NULL, 0, &size) != napi_ok) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", what);
      goto fail;
    }
    out[i] = malloc(size + 1);
    if (out[i] == NULL) {
      throw_errno(env, ENOMEM, "posix_spawn");
      goto fail;
    }
    napi_get_value_string_utf8(env, item, out[i], size + 1, NULL);
    if (strlen(out[i]) != size) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "an argument must not contain a NUL byte");
      goto fail;
    }
  }
  return out;
fail:
  for (uint32_t i = 0; i < length; i++) free(out[i]);
  free(out);
  return NULL;
}

static void free_array(char **array) {
  if (array == NULL) return;
  for (char **p = array; *p != NULL; p++) free(*p);
  free(array);
}

/* An fd that none of the child's fds 0-3 can clobber before it is duplicated. */
static int above_three(int fd) {
  if (fd > 3) return fd;
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, 4);
  close(fd);
  return moved;
}

static void close_all(int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0) close(fds[i]);
}

/*
 * Every step that can fail comes before the spawn, and each failure undoes the steps before it:
 * once the child runs, only watching its exit is left, and if that fails the child is killed and
 * reaped before the error is thrown.
 */
static napi_value js_spawn(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "spawnProcess(file, argv: string[], env: string[], cwd, fd3: number, newSession: boolean, onExit)";
  size_t argc = 7;
  napi_value argv[7];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  napi_valuetype type;
  int32_t fd3 = -1;
  bool new_session = false;
  if (argc < 7 || napi_get_value_int32(env, argv[4], &fd3) != napi_ok ||
      napi_get_value_bool(env, argv[5], &new_session) != napi_ok ||
      napi_typeof(env, argv[6], &type) != napi_ok || type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  char file[4096], cwd[4096];
  size_t length;
  if (napi_get_value_string_utf8(env, argv[0], file, sizeof file, &length) != napi_ok ||
      length >= sizeof file - 1 ||
      napi_get_value_string_utf8(env, argv[3], cwd, sizeof cwd, &length) != napi_ok ||
      length >= sizeof cwd - 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;

  char **child_argv = string_array(env, argv[1], usage);
  if (child_argv == NULL) return NULL;
  char **child_env = string_array(env, argv[2], usage);
  if (child_env == NULL) {
    free_array(child_argv);
    return NULL;
  }
  /* [0] stdin's read end, [1] its write end; [2], [3] stdout's; [4], [5] stderr's. */
  int pipes[6] = {-1, -1, -1, -1, -1, -1};
  int err = 0;
  const char *failed = "pipe2";
  for (int i = 0; i < 6 && err == 0; i += 2)
    if (pipe2(pipes + i, O_CLOEXEC) != 0) err = errno;
  for (int i = 0; i < 6 && err == 0; i += 2) {
    int child_end = i == 0 ? i : i + 1;
    pipes[child_end] = above_three(pipes[child_end]);
    if (pipes[child_end] < 0) err = errno;
  }
  int extra = -1;
  if (err == 0 && fd3 >= 0) {
    failed = "fcntl";
    extra = fcntl(fd3, F_DUPFD_CLOEXEC, 4);
    if (extra < 0) err = errno;
  }
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  bool ready = false;
  if (err == 0) {
    failed = "posix_spawn";
    sigset_t none, all;
    sigemptyset(&none);
    sigemptyset(&all);
    for (int s = 1; s < NSIG; s++)
      if (s != SIGKILL && s != SIGSTOP) sigaddset(&all, s);
    err = posix_spawn_file_actions_init(&actions);
    if (err == 0) {
      err = posix_spawnattr_init(&attr);
      if (err != 0) posix_spawn_file_actions_destroy(&actions);
    }
    if (err == 0) {
      ready = true;
      err = posix_spawn_file_actions_adddup2(&actions, pipes[0], 0);
      if (err == 0) err = posix_spawn_file_actions_adddup2(&actions, pipes[3], 1);
      if (err == 0) err = posix_spawn_file_actions_adddup2(&actions, pipes[5], 2);
      if (err == 0 && extra >= 0) err = posix_spawn_file_actions_adddup2(&actions, extra, 3);
      if (err == 0 && cwd[0] != '\0') err = posix_spawn_file_actions_addchdir_np(&actions, cwd);
      if (err == 0) err = posix_spawnattr_setsigmask(&attr, &none);
      if (err == 0) err = posix_spawnattr_setsigdefault(&attr, &all);
      short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | (new_session ? POSIX_SPAWN_SETSID : 0);
      if (err == 0) err = posix_spawnattr_setflags(&attr, flags);
    }
  }
  pid_t pid = -1;
  if (err == 0) err = posix_spawnp(&pid, file, &actions, &attr, child_argv, child_env);
  if (ready) {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  free_array(child_argv);
  free_array(child_env);
  int child_ends[4] = {pipes[0], pipes[3], pipes[5], extra};
  close_all(child_ends, 4);
  if (err != 0) {
    int parent_ends[3] = {pipes[1], pipes[2], pipes[4]};
    close_all(parent_ends, 3);
    return throw_errno(env, err, failed);
  }

  /* The child runs: if its exit cannot be watched, it is stopped and reaped, and the spawn fails. */
  const char *watch_failed = NULL;
  int watch_err = 0;
  Child *c = calloc(1, sizeof(Child));
  int pidfd = c == NULL ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
  if (c == NULL || pidfd < 0) {
    watch_failed = c == NULL ? "calloc" : "pidfd_open";
    watch_err = c == NULL ? ENOMEM : errno;
    free(c);
  } else {
    c->pid = pid;
    c->pidfd = pidfd;
    c->env = env;
    int rc = uv_poll_init(loop, &c->poll, pidfd);
    if (rc != 0) {
      watch_failed = "uv_poll_init";
      watch_err = -rc;
      close(pidfd);
      free(c);
    } else {
      napi_value resource_name;
      c->poll.data = c;
      rc = uv_poll_start(&c->poll, UV_READABLE, on_exit_readable);
      if (rc != 0) {
        watch_failed = "uv_poll_start";
        watch_err = -rc;
        stop_watching(c); /* closes the pidfd; frees c once libuv lets go */
      } else {
        napi_create_string_utf8(env, "sersync:spawn", NAPI_AUTO_LENGTH, &resource_name);
        napi_async_init(env, NULL, resource_name, &c->async_context);
        napi_create_reference(env, argv[6], 1, &c->on_exit);
        napi_add_env_cleanup_hook(env, cleanup_hook, c);
      }
    }
  }
  if (watch_failed != NULL) {
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
    }
    int parent_ends[3] = {pipes[1], pipes[2], pipes[4]};
    close_all(parent_ends, 3);
    return throw_errno(env, watch_err, watch_failed);
  }
  napi_value out, value;
  napi_create_object(env, &out);
  napi_create_int32(env, pid, &value);
  napi_set_named_property(env, out, "pid", value);
  napi_create_int32(env, pipes[1], &value);
  napi_set_named_property(env, out, "stdin", value);
  napi_create_int32(env, pipes[2], &value);
  napi_set_named_property(env, out, "stdout", value);
  napi_create_int32(env, pipes[4], &value);
  napi_set_named_property(env, out, "stderr", value);
  return out;
}

void register_spawn(napi_env env, napi_value exports) {
  /* Not `spawn`, the name of its first form (without `newSession`): a binding built before is told apart. */
  napi_property_descriptor property = {"spawnProcess", NULL, js_spawn, NULL, NULL, NULL, napi_enumerable, NULL};
  napi_define_properties(env, exports, 1, &property);
}
