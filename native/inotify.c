/*
 * The thinnest possible inotify binding for sersync-ts: one inotify instance per handle, add and
 * remove watches, raw event bytes handed to JavaScript as they become readable, and the start-up
 * walk of a tree (readdir and inotify_add_watch without a JavaScript object per entry). Parsing
 * `struct inotify_event`, the watch tree and rename pairing live in TypeScript.
 *
 * The fd is polled by libuv on the Node event loop (uv_poll_t), so reading never blocks it.
 *
 * Exports:
 *   open(callback)               -> handle  callback(err: Error | null, chunk?: Buffer)
 *   addWatch(handle, path, mask) -> wd      path is a Buffer (file names are bytes)
 *   rmWatch(handle, wd)
 *   pause(handle) / resume(handle)          stop / restart reading (backpressure: while paused the
 *                                           kernel queues, and past its limit reports IN_Q_OVERFLOW)
 *   scan(handle, dir, rel, mask, lstatAll, skip) -> ScanResult  (see js_scan)
 *   close(handle)
 * Failed system calls throw an Error with Node's usual `code` ('ENOSPC', 'ENOENT'...), `errno`
 * (negative, as in Node) and `syscall`; bad arguments throw a TypeError.
 *
 * Lifetime: the handle is a JavaScript object that owns the callback (as a hidden property); this
 * file holds only a weak reference to it. So a handle JavaScript can no longer reach is collected,
 * callback and all, and its finaliser closes the fd: close() is the prompt way, not the only one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <uv.h>

#include "errno-error.h"

/* One read batch: a few thousand events. libuv's poll is level-triggered, so whatever does not
 * fit is delivered on the next loop turn instead of starving other work. The buffer is on the
 * stack of the read (Node's threads have megabytes of it): a handle owns no memory that would
 * outlive close() until the garbage collector runs. */
#define BATCH_BYTES (256 * 1024)
/* read() on inotify fails with EINVAL unless one whole event with the longest name fits. */
#define MIN_FREE (sizeof(struct inotify_event) + NAME_MAX + 1)
/* The hidden property of the handle object that holds the callback. */
#define CALLBACK_KEY "sersync:inotify:callback"

typedef struct {
  int fd; /* -1 once closed */
  uv_poll_t poll;
  napi_env env;
  napi_ref self; /* weak: the handle object, which holds the callback */
  napi_async_context async_context;
  bool paused;      /* by pause(); resume() restarts polling */
  bool failed;      /* a read error stopped polling for good */
  bool poll_closed; /* libuv is done with `poll` */
  bool finalized;   /* JavaScript can no longer reach the handle */
} Instance;

#define CHECK(call)                                                                                     \
  do {                                                                                                  \
    if ((call) != napi_ok) return NULL;                                                                 \
  } while (0)

static napi_value type_error(napi_env env, const char *code, const char *message) {
  napi_throw_type_error(env, code, message);
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

static void deliver(Instance *in, napi_value error, const char *data, size_t length) {
  napi_env env = in->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value self = NULL, callback, recv, argv[2], result;
  napi_get_reference_value(env, in->self, &self);
  /* A handle being collected: its finaliser closes the fd, nobody is left to tell. */
  if (self == NULL || napi_get_named_property(env, self, CALLBACK_KEY, &callback) != napi_ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
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
  in->failed = true;
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
  char buf[BATCH_BYTES];
  size_t length = 0;
  while (in->fd >= 0 && BATCH_BYTES - length >= MIN_FREE) {
    ssize_t n = read(in->fd, buf + length, BATCH_BYTES - length);
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
  if (length > 0) deliver(in, NULL, buf, length);
}

static int start_polling(Instance *in) { return uv_poll_start(&in->poll, UV_READABLE, on_readable); }

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  Instance *in = data;
  stop(in);
  napi_remove_env_cleanup_hook(env, cleanup_hook, in);
  napi_delete_reference(env, in->self);
  napi_async_destroy(env, in->async_context);
  in->finalized = true;
  free_if_unused(in);
}

/* The argument count is checked first: a missing argument is a TypeError, never `undefined`. */
static bool get_args(napi_env env, napi_callback_info info, size_t expected, napi_value *argv,
                     const char *usage) {
  size_t argc = expected;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return false;
  if (argc < expected) {
    type_error(env, "ERR_MISSING_ARGS", usage);
    return false;
  }
  return true;
}

static Instance *unwrap(napi_env env, napi_value value, const char *usage) {
  Instance *in = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_object ||
      napi_unwrap(env, value, (void **)&in) != napi_ok || in == NULL) {
    type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return NULL;
  }
  return in;
}

/*
 * A path argument as a NUL-terminated string in `out` (PATH_MAX bytes). A NUL inside would make
 * the kernel see only its prefix, so it is refused, as Node's fs refuses it.
 */
static bool get_path(napi_env env, napi_value value, char *out, size_t *out_length, const char *usage) {
  bool is_buffer = false;
  char *path;
  size_t length;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer ||
      napi_get_buffer_info(env, value, (void **)&path, &length) != napi_ok) {
    type_error(env, "ERR_INVALID_ARG_TYPE", usage);
    return false;
  }
  if (memchr(path, '\0', length) != NULL) {
    type_error(env, "ERR_INVALID_ARG_VALUE", "the path must not contain a NUL byte");
    return false;
  }
  if (length >= PATH_MAX) {
    throw_errno(env, ENAMETOOLONG, "inotify_add_watch");
    return false;
  }
  memcpy(out, path, length);
  out[length] = '\0';
  if (out_length != NULL) *out_length = length;
  return true;
}

/*
 * Every step that can fail comes before polling starts, and each failure undoes the steps before
 * it: once the poll runs, nothing is left to fail.
 */
static napi_value js_open(napi_env env, napi_callback_info info) {
  static const char usage[] = "open(callback): callback must be a function";
  napi_value argv[1], handle, resource_name;
  napi_valuetype type;
  if (!get_args(env, info, 1, argv, usage)) return NULL;
  if (napi_typeof(env, argv[0], &type) != napi_ok || type != napi_function) return type_error(env, NULL, usage);
  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  napi_property_descriptor hidden = {CALLBACK_KEY, NULL, NULL, NULL, NULL, argv[0], napi_default, NULL};
  CHECK(napi_create_object(env, &handle));
  CHECK(napi_define_properties(env, handle, 1, &hidden));
  CHECK(napi_create_string_utf8(env, "sersync:inotify", NAPI_AUTO_LENGTH, &resource_name));

  Instance *in = calloc(1, sizeof(Instance));
  if (in == NULL) return throw_errno(env, ENOMEM, "inotify_init1");
  in->env = env;
  in->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (in->fd < 0) {
    int err = errno;
    free(in);
    return throw_errno(env, err, "inotify_init1");
  }
  int rc = uv_poll_init(loop, &in->poll, in->fd);
  if (rc != 0) {
    close(in->fd);
    free(in);
    return throw_errno(env, -rc, "uv_poll_init");
  }
  in->poll.data = in;
  /* From here the poll handle exists: every way out goes through stop(), which lets libuv let go. */
  napi_status status = napi_async_init(env, NULL, resource_name, &in->async_context);
  if (status == napi_ok) {
    status = napi_wrap(env, handle, in, finalize, NULL, NULL);
    if (status != napi_ok) napi_async_destroy(env, in->async_context);
  }
  if (status != napi_ok) {
    in->finalized = true; /* no handle was handed out: free once libuv lets go */
    stop(in);
    return NULL;
  }
  /* The handle is wrapped: from here the finaliser cleans up whatever fails. */
  CHECK(napi_create_reference(env, handle, 0, &in->self));
  CHECK(napi_add_env_cleanup_hook(env, cleanup_hook, in));
  rc = start_polling(in);
  if (rc != 0) {
    stop(in);
    return throw_errno(env, -rc, "uv_poll_start");
  }
  return handle;
}

static napi_value js_add_watch(napi_env env, napi_callback_info info) {
  static const char usage[] = "addWatch(handle, path: Buffer, mask: number)";
  napi_value argv[3], result;
  char path[PATH_MAX];
  uint32_t mask;
  if (!get_args(env, info, 3, argv, usage)) return NULL;
  Instance *in = unwrap(env, argv[0], usage);
  if (in == NULL || !get_path(env, argv[1], path, NULL, usage)) return NULL;
  if (napi_get_value_uint32(env, argv[2], &mask) != napi_ok) return type_error(env, "ERR_INVALID_ARG_TYPE", usage);
  if (in->fd < 0) return throw_errno(env, EBADF, "inotify_add_watch");
  int wd = inotify_add_watch(in->fd, path, mask);
  if (wd < 0) return throw_errno(env, errno, "inotify_add_watch");
  CHECK(napi_create_int32(env, wd, &result));
  return result;
}

static napi_value js_rm_watch(napi_env env, napi_callback_info info) {
  static const char usage[] = "rmWatch(handle, wd: number)";
  napi_value argv[2];
  int32_t wd;
  if (!get_args(env, info, 2, argv, usage)) return NULL;
  Instance *in = unwrap(env, argv[0], usage);
  if (in == NULL) return NULL;
  if (napi_get_value_int32(env, argv[1], &wd) != napi_ok) return type_error(env, "ERR_INVALID_ARG_TYPE", usage);
  if (in->fd < 0) return throw_errno(env, EBADF, "inotify_rm_watch");
  if (inotify_rm_watch(in->fd, wd) < 0) return throw_errno(env, errno, "inotify_rm_watch");
  return NULL;
}

static napi_value js_pause(napi_env env, napi_callback_info info) {
  static const char usage[] = "pause(handle)";
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, usage)) return NULL;
  Instance *in = unwrap(env, argv[0], usage);
  if (in == NULL) return NULL;
  if (in->fd >= 0 && !in->paused) uv_poll_stop(&in->poll);
  in->paused = true;
  return NULL;
}

static napi_value js_resume(napi_env env, napi_callback_info info) {
  static const char usage[] = "resume(handle)";
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, usage)) return NULL;
  Instance *in = unwrap(env, argv[0], usage);
  if (in == NULL) return NULL;
  if (in->fd >= 0 && in->paused && !in->failed) {
    int rc = start_polling(in);
    if (rc != 0) return throw_errno(env, -rc, "uv_poll_start");
  }
  in->paused = false;
  return NULL;
}

/* ---- scan: the start-up walk ------------------------------------------------------------------ */

/*
 * THE TREE'S BOUNDARY. Every directory is opened relative to its parent's fd with O_NOFOLLOW, read
 * through that fd, and watched as /proc/self/fd/N: the kernel resolves that magic link to exactly
 * the directory held open. A directory that a local user swaps for a symlink meanwhile (a parent
 * component or the last one) fails with ELOOP; nothing outside the tree is ever watched or listed.
 */
#define OPEN_DIR_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* One directory met by a scan. wd > 0: watched; 0: only counted (below a directory the watch limit
 * stopped); -1: opening or watching it failed with `err` in `err_syscall`. `read_err`: reading it
 * failed. */
typedef struct {
  int32_t parent;
  int32_t wd;
  uint32_t name_at; /* in the scan's name arena */
  uint32_t name_len;
  int err;
  const char *err_syscall;
  int read_err;
  const char *read_syscall;
} Entry;

/* An open directory on the path from the start to the entry being visited: its children are
 * opened relative to `fd`. */
typedef struct {
  int32_t entry;
  int fd;
} OpenDir;

typedef struct {
  Entry *entries;
  size_t count, cap;
  char *names;
  size_t names_len, names_cap;
  int32_t *stack;
  size_t depth, stack_cap;
  OpenDir *open;
  size_t open_depth, open_cap;
  /* The last device `is_leaf` looked at, and whether its link counts count subdirectories. */
  dev_t leaf_dev;
  bool leaf_known, leaf_counts;
} Scan;

static bool grow(void **items, size_t *cap, size_t need, size_t size) {
  if (need <= *cap) return true;
  size_t next = *cap == 0 ? 64 : *cap;
  while (next < need) next *= 2;
  void *grown = realloc(*items, next * size);
  if (grown == NULL) return false;
  *items = grown;
  *cap = next;
  return true;
}

static bool add_entry(Scan *s, int32_t parent, int32_t wd, const char *name, size_t name_len) {
  if (!grow((void **)&s->entries, &s->cap, s->count + 1, sizeof(Entry)) ||
      !grow((void **)&s->names, &s->names_cap, s->names_len + name_len, 1) ||
      !grow((void **)&s->stack, &s->stack_cap, s->depth + 1, sizeof(int32_t)))
    return false;
  memcpy(s->names + s->names_len, name, name_len);
  s->entries[s->count] = (Entry){parent, wd, (uint32_t)s->names_len, (uint32_t)name_len, 0, NULL, 0, NULL};
  s->names_len += name_len;
  s->stack[s->depth++] = (int32_t)s->count++;
  return true;
}

/* Closes the open directories down to (not including) `entry`; -1 closes them all. */
static void close_down_to(Scan *s, int32_t entry) {
  while (s->open_depth > 0 && s->open[s->open_depth - 1].entry != entry) close(s->open[--s->open_depth].fd);
}

/* Writes entry i's path relative to the scan's start into `out` (PATH_MAX), from its parents;
 * returns its length, or -1 when it is too long. */
static ssize_t rel_of(const Scan *s, int32_t i, char *out) {
  size_t length = 0;
  for (int32_t n = i; n > 0; n = s->entries[n].parent) length += s->entries[n].name_len + (n == i ? 0 : 1);
  if (length >= PATH_MAX) return -1;
  size_t end = length;
  for (int32_t n = i; n > 0; n = s->entries[n].parent) {
    const Entry *e = &s->entries[n];
    if (n != i) out[--end] = '/';
    end -= e->name_len;
    memcpy(out + end, s->names + e->name_at, e->name_len);
  }
  return (ssize_t)length;
}

static bool is_directory(int dir_fd, const struct dirent *d, bool lstat_all) {
  if (!lstat_all && d->d_type != DT_UNKNOWN) return d->d_type == DT_DIR;
  struct stat st;
  /* Never follows a symlink; an entry gone meanwhile is just not a directory. */
  return fstatat(dir_fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* openat of a directory, never through a symlink. A symlink fails with ELOOP, as the caller must
 * tell it from a file (ENOTDIR: its event says what it is): with O_DIRECTORY the kernel says
 * ENOTDIR for both. */
static int open_dir_at(int parent_fd, const char *name) {
  int fd = openat(parent_fd, name, OPEN_DIR_FLAGS);
  struct stat st;
  if (fd < 0 && errno == ENOTDIR && fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    errno = ELOOP;
  return fd;
}

/*
 * Opens the scan's start: the watch root (`abs` up to `root_len`, followed as named: it is the
 * tree, resolved by the watcher), then each component of `rel0` relative to the one before, never
 * through a symlink. Returns the fd, or -1 with errno set.
 */
static int open_start(const char *abs, size_t root_len, const char *rel0, size_t rel0_len) {
  char root[PATH_MAX];
  memcpy(root, abs, root_len);
  root[root_len] = '\0';
  int fd = open(root, OPEN_DIR_FLAGS);
  for (size_t at = 0; fd >= 0 && at < rel0_len;) {
    const char *slash = memchr(rel0 + at, '/', rel0_len - at);
    size_t end = slash == NULL ? rel0_len : (size_t)(slash - rel0);
    char name[NAME_MAX + 1];
    if (end - at > NAME_MAX) {
      close(fd);
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(name, rel0 + at, end - at);
    name[end - at] = '\0';
    int next = open_dir_at(fd, name);
    int err = errno;
    close(fd);
    errno = err;
    fd = next;
    at = end + 1;
  }
  return fd;
}

/*
 * Whether the directory open as `fd` has no subdirectory, known without reading it: on file systems
 * whose directory link count is 2 + its subdirectories (as GNU find's leaf optimisation trusts),
 * a count of exactly 2 says so. Asked after the watch is set, so a subdirectory made later is
 * reported by the watch. Elsewhere (btrfs and overlayfs report 1, NFS and FUSE may report anything)
 * the directory is read. Most directories of a large tree are leaves: this skips reading their files.
 */
static bool is_leaf(Scan *s, int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_nlink != 2) return false;
  if (!s->leaf_known || st.st_dev != s->leaf_dev) {
    struct statfs fs;
    if (fstatfs(fd, &fs) != 0) return false;
    /* ext2/3/4, XFS, tmpfs: each counts subdirectories in the link count (ext4 says 1 past 65,000). */
    s->leaf_counts = fs.f_type == 0xEF53 || fs.f_type == 0x58465342 || fs.f_type == 0x01021994;
    s->leaf_dev = st.st_dev;
    s->leaf_known = true;
  }
  return s->leaf_counts;
}

/* inotify_add_watch on the directory open as `fd`: no path is looked up again. */
static int watch_fd(int inotify_fd, int fd, uint32_t mask) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  /* The magic link must be followed (to the open directory itself), so no IN_DONTFOLLOW here. */
  return inotify_add_watch(inotify_fd, proc, (mask & ~(uint32_t)IN_DONT_FOLLOW) | IN_ONLYDIR);
}

typedef enum { SKIP_NO, SKIP_YES, SKIP_THREW } SkipAnswer;

static SkipAnswer ask_skip(napi_env env, napi_value skip, const char *rel, size_t length) {
  napi_value arg, result, undefined;
  bool yes = false;
  if (napi_create_string_latin1(env, rel, length, &arg) != napi_ok) return SKIP_THREW;
  napi_get_undefined(env, &undefined);
  if (napi_call_function(env, undefined, skip, 1, &arg, &result) != napi_ok) return SKIP_THREW;
  if (napi_coerce_to_bool(env, result, &result) != napi_ok || napi_get_value_bool(env, result, &yes) != napi_ok)
    return SKIP_THREW;
  return yes ? SKIP_YES : SKIP_NO;
}

/*
 * Opens directory i (relative to its parent, which is open on the path; entry 0 from `start_fd`),
 * watches it, then reads it and adds its subdirectories (minus the skipped ones) to the scan:
 * top-down, so a subdirectory made after the read is reported by the watch and one made before it
 * is found by the read. Directory i stays open while it has children to visit.
 */
static bool visit(napi_env env, Instance *in, Scan *s, int32_t i, int start_fd, size_t abs_len, const char *rel0,
                  size_t rel0_len, uint32_t mask, bool lstat_all, napi_value skip) {
  char rel[PATH_MAX];
  ssize_t own = rel_of(s, i, rel);
  Entry *e = &s->entries[i];
  bool counting = e->wd == 0;
  /* Entry 0 (own 0) always fits: its path came in below PATH_MAX. */
  if (own < 0 || (own > 0 && abs_len + 1 + (size_t)own >= PATH_MAX)) {
    if (!counting) e->wd = -1, e->err = ENAMETOOLONG, e->err_syscall = "openat";
    return true;
  }
  int fd = start_fd;
  if (i > 0) {
    close_down_to(s, e->parent);
    char name[NAME_MAX + 1];
    memcpy(name, s->names + e->name_at, e->name_len);
    name[e->name_len] = '\0';
    errno = EBADF;
    fd = s->open_depth == 0 ? -1 : open_dir_at(s->open[s->open_depth - 1].fd, name);
  }
  if (fd < 0) {
    /* gone, not a directory, a symlink now: nothing below */
    if (counting) e->read_err = errno, e->read_syscall = "openat";
    else e->wd = -1, e->err = errno, e->err_syscall = "openat";
    return true;
  }
  if (!counting) {
    int wd = watch_fd(in->fd, fd, mask);
    if (wd < 0) {
      e->wd = -1;
      e->err = errno;
      e->err_syscall = "inotify_add_watch";
      if (e->err != ENOSPC) {
        close(fd);
        return true;
      }
      counting = true;
    } else {
      e->wd = wd;
    }
  }
  if (is_leaf(s, fd)) {
    close(fd);
    return true;
  }
  /* The reading gets its own fd (fdopendir owns it); `fd` stays for the children. */
  int read_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  DIR *dir = read_fd < 0 ? NULL : fdopendir(read_fd);
  if (dir == NULL) {
    e->read_err = errno;
    e->read_syscall = "opendir";
    if (read_fd >= 0) close(read_fd);
    close(fd);
    return true;
  }
  /* The skip filter sees paths relative to the watch root: rel0, then this directory's own. */
  char child[PATH_MAX];
  size_t base = rel0_len;
  memcpy(child, rel0, rel0_len);
  if (own > 0) {
    if (base > 0) child[base++] = '/';
    memcpy(child + base, rel, (size_t)own);
    base += (size_t)own;
  }
  if (base > 0) child[base++] = '/';
  bool ok = true;
  size_t before = s->count;
  for (;;) {
    errno = 0;
    struct dirent *d = readdir(dir);
    if (d == NULL) {
      if (errno != 0) {
        s->entries[i].read_err = errno;
        s->entries[i].read_syscall = "readdir";
      }
      break;
    }
    const char *name = d->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
    if (!is_directory(fd, d, lstat_all)) continue;
    size_t name_len = strlen(name);
    if (skip != NULL && base + name_len < PATH_MAX) {
      memcpy(child + base, name, name_len);
      SkipAnswer answer = ask_skip(env, skip, child, base + name_len);
      if (answer == SKIP_THREW) {
        ok = false;
        break;
      }
      if (answer == SKIP_YES) continue;
    }
    /* e may have moved: add_entry reallocates. */
    if (!add_entry(s, i, counting ? 0 : 1, name, name_len)) {
      napi_throw_error(env, "ENOMEM", "scan: out of memory");
      ok = false;
      break;
    }
  }
  closedir(dir);
  if (s->count == before || !ok) {
    close(fd);
  } else if (grow((void **)&s->open, &s->open_cap, s->open_depth + 1, sizeof(OpenDir))) {
    s->open[s->open_depth++] = (OpenDir){i, fd};
  } else {
    close(fd);
    napi_throw_error(env, "ENOMEM", "scan: out of memory");
    ok = false;
  }
  return ok;
}

static napi_value scan_result(napi_env env, const Scan *s) {
  napi_value result, parents_buffer, wds_buffer, parents, wds, names, failures;
  int32_t *parent_data, *wd_data;
  size_t n = s->count;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_arraybuffer(env, n * sizeof(int32_t), (void **)&parent_data, &parents_buffer));
  CHECK(napi_create_arraybuffer(env, n * sizeof(int32_t), (void **)&wd_data, &wds_buffer));
  CHECK(napi_create_typedarray(env, napi_int32_array, n, parents_buffer, 0, &parents));
  CHECK(napi_create_typedarray(env, napi_int32_array, n, wds_buffer, 0, &wds));
  CHECK(napi_create_array_with_length(env, n, &names));
  CHECK(napi_create_array(env, &failures));
  uint32_t failed = 0;
  for (size_t i = 0; i < n; i++) {
    const Entry *e = &s->entries[i];
    napi_value name;
    parent_data[i] = e->parent;
    wd_data[i] = e->wd;
    CHECK(napi_create_string_latin1(env, s->names + e->name_at, e->name_len, &name));
    CHECK(napi_set_element(env, names, (uint32_t)i, name));
    for (int k = 0; k < 2; k++) {
      int err = k == 0 ? (e->wd < 0 ? e->err : 0) : e->read_err;
      if (err == 0) continue;
      napi_value failure, index;
      CHECK(napi_create_object(env, &failure));
      CHECK(napi_create_uint32(env, (uint32_t)i, &index));
      CHECK(napi_set_named_property(env, failure, "index", index));
      CHECK(napi_set_named_property(env, failure, "error",
                                    errno_error(env, err, k == 0 ? e->err_syscall : e->read_syscall)));
      CHECK(napi_set_element(env, failures, failed++, failure));
    }
  }
  CHECK(napi_set_named_property(env, result, "parent", parents));
  CHECK(napi_set_named_property(env, result, "wd", wds));
  CHECK(napi_set_named_property(env, result, "name", names));
  CHECK(napi_set_named_property(env, result, "failures", failures));
  return result;
}

/*
 * scan(handle, dir: Buffer, rel: string, mask, lstatAll: boolean, skip: ((rel) => boolean) | null)
 * Watches `dir` (the directory at `rel`, latin1 bytes, below the watch root; '' for the root; `dir`
 * is the root's path, '/', `rel`) and every directory below it that `skip` does not exclude, never
 * following a symlink: not in `rel`, not below (see THE TREE'S BOUNDARY). Returns
 * { parent: Int32Array, wd: Int32Array, name: string[], failures: { index, error }[] }: entry 0 is
 * `dir` itself (parent -1, name ''), every other entry comes after its parent; wd > 0 watched,
 * 0 only counted (below a directory the watch limit stopped), -1 failed (see failures).
 */
static napi_value js_scan(napi_env env, napi_callback_info info) {
  static const char usage[] =
      "scan(handle, dir: Buffer, rel: string, mask: number, lstatAll: boolean, skip: function | null)";
  napi_value argv[6], result = NULL;
  char abs[PATH_MAX], rel0[PATH_MAX];
  size_t abs_len, rel0_len;
  uint32_t mask;
  bool lstat_all;
  napi_valuetype skip_type;
  if (!get_args(env, info, 6, argv, usage)) return NULL;
  Instance *in = unwrap(env, argv[0], usage);
  if (in == NULL || !get_path(env, argv[1], abs, &abs_len, usage)) return NULL;
  if (napi_get_value_string_latin1(env, argv[2], rel0, sizeof rel0, &rel0_len) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &mask) != napi_ok ||
      napi_get_value_bool(env, argv[4], &lstat_all) != napi_ok || napi_typeof(env, argv[5], &skip_type) != napi_ok ||
      (skip_type != napi_function && skip_type != napi_null))
    return type_error(env, "ERR_INVALID_ARG_TYPE", usage);
  /* `dir` ends with '/' + rel: what comes before is the root, the one part opened by path. */
  size_t root_len = rel0_len == 0 ? abs_len : abs_len - rel0_len - 1;
  if (rel0_len > 0 &&
      (abs_len < rel0_len + 2 || abs[root_len] != '/' || memcmp(abs + root_len + 1, rel0, rel0_len) != 0))
    return type_error(env, "ERR_INVALID_ARG_VALUE", "scan: dir must end with '/' and rel");
  if (in->fd < 0) return throw_errno(env, EBADF, "inotify_add_watch");
  napi_value skip = skip_type == napi_function ? argv[5] : NULL;
  Scan s = {0};
  bool ok = add_entry(&s, -1, 1, "", 0);
  int start_fd = ok ? open_start(abs, root_len, rel0, rel0_len) : -1;
  if (ok && start_fd < 0) {
    s.entries[0] = (Entry){-1, -1, 0, 0, errno, "openat", 0, NULL};
    s.depth = 0;
  }
  while (ok && s.depth > 0) {
    int32_t i = s.stack[--s.depth];
    ok = visit(env, in, &s, i, start_fd, abs_len, rel0, rel0_len, mask, lstat_all, skip);
  }
  close_down_to(&s, -1);
  if (ok) result = scan_result(env, &s);
  else if (s.entries == NULL) napi_throw_error(env, "ENOMEM", "scan: out of memory");
  free(s.entries);
  free(s.names);
  free(s.stack);
  free(s.open);
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  static const char usage[] = "close(handle)";
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, usage)) return NULL;
  Instance *in = unwrap(env, argv[0], usage);
  if (in == NULL) return NULL;
  stop(in);
  return NULL;
}

/*
 * The bytes of events the kernel holds for this descriptor, not yet read (FIONREAD): a stop reads
 * at least that many more before it closes, so every event queued before it is handed on.
 */
static napi_value js_queued(napi_env env, napi_callback_info info) {
  static const char usage[] = "queued(handle)";
  napi_value argv[1];
  if (!get_args(env, info, 1, argv, usage)) return NULL;
  Instance *in = unwrap(env, argv[0], usage);
  if (in == NULL) return NULL;
  int bytes = 0;
  if (in->fd >= 0 && ioctl(in->fd, FIONREAD, &bytes) < 0) return throw_errno(env, errno, "ioctl(FIONREAD)");
  napi_value out;
  CHECK(napi_create_int32(env, bytes, &out));
  return out;
}

/*
 * The clock the kernel stamps files with (current_time() reads the coarse real-time clock), in ns:
 * a file whose ctime is older than this value cannot be changed again and keep it.
 */
static napi_value js_file_clock(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return throw_errno(env, errno, "clock_gettime");
  napi_value out;
  CHECK(napi_create_bigint_int64(env, (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec, &out));
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addWatch", NULL, js_add_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"rmWatch", NULL, js_rm_watch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pause", NULL, js_pause, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resume", NULL, js_resume, NULL, NULL, NULL, napi_enumerable, NULL},
      {"scan", NULL, js_scan, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"queued", NULL, js_queued, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fileClock", NULL, js_file_clock, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  register_spawn(env, exports);
  return exports;
}
