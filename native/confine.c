/*
 * sersync-confine: runs a program (rsync) that may read files only below the directories and files
 * it is given, and write only below those it is given for writing, by a Landlock ruleset (Linux
 * 5.13+) applied to itself just before exec. rsync older than 3.5 follows a symlink another user
 * plants in the middle of a listed path between our listing and its read; confined, that read is
 * refused (EACCES) wherever the link points, so no file from outside the tree reaches a replica.
 * Likewise a local replica's receiver (rsync as root) that met a link planted in the replica could
 * write where it points: it may create, write and remove only below the replica. Exec and sockets
 * are as before; attributes (chmod, chown, times) are not among what Landlock restricts.
 *
 *   sersync-confine --abi                          prints the kernel's Landlock ABI (0: none)
 *   sersync-confine [--allow-fd N] [--allow PATH] [--allow-write PATH]... [--shell-outside]
 *                   -- PROGRAM ARG...
 *   sersync-confine --relay SHELL ARG...           rsync's remote shell, run outside (shell.c)
 *
 * An allowed directory may be read below it (files and listings); an allowed file may be read.
 * Below a directory allowed for writing, files may also be created, written, truncated and removed;
 * an allowed file may be written. A path that does not exist is skipped. On a kernel without
 * Landlock (or with it disabled) the program runs unconfined: `--abi` is how the caller learns that
 * and says so. Any other failure exits 126 with the reason on stderr, without running the program
 * (127: it cannot be run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shell.h"

/* Kernel headers older than 5.13 (Debian 11's) lack Landlock: its ABI is stable, so it is spelt out. */
#if __has_include(<linux/landlock.h>)
#include <linux/landlock.h>
#else
struct landlock_ruleset_attr {
  uint64_t handled_access_fs;
};
struct landlock_path_beneath_attr {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));
#define LANDLOCK_CREATE_RULESET_VERSION (1U << 0)
#define LANDLOCK_RULE_PATH_BENEATH 1
#define LANDLOCK_ACCESS_FS_WRITE_FILE (1ULL << 1)
#define LANDLOCK_ACCESS_FS_READ_FILE (1ULL << 2)
#define LANDLOCK_ACCESS_FS_READ_DIR (1ULL << 3)
#define LANDLOCK_ACCESS_FS_REMOVE_DIR (1ULL << 4)
#define LANDLOCK_ACCESS_FS_REMOVE_FILE (1ULL << 5)
#define LANDLOCK_ACCESS_FS_MAKE_CHAR (1ULL << 6)
#define LANDLOCK_ACCESS_FS_MAKE_DIR (1ULL << 7)
#define LANDLOCK_ACCESS_FS_MAKE_REG (1ULL << 8)
#define LANDLOCK_ACCESS_FS_MAKE_SOCK (1ULL << 9)
#define LANDLOCK_ACCESS_FS_MAKE_FIFO (1ULL << 10)
#define LANDLOCK_ACCESS_FS_MAKE_BLOCK (1ULL << 11)
#define LANDLOCK_ACCESS_FS_MAKE_SYM (1ULL << 12)
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
/* New system calls have one number on every architecture. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define READS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
/* Everything that changes what a directory holds, and writing a file (TRUNCATE from ABI 3). */
#define MAKES                                                                                      \
  (LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |       \
   LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |    \
   LANDLOCK_ACCESS_FS_MAKE_SYM)
#define DIR_WRITES (LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE | MAKES)
#define CANNOT_CONFINE 126
#define CANNOT_RUN 127

static long abi_version(void) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : abi;
}

__attribute__((noreturn)) static void fail(const char *what, const char *path) {
  fprintf(stderr, "sersync2: cannot confine rsync to the tree: %s%s%s: %s\n", what,
          path == NULL ? "" : " ", path == NULL ? "" : path, strerror(errno));
  exit(CANNOT_CONFINE);
}

/* What a file may be written with: from ABI 3 truncation is handled, and so must be allowed. */
static uint64_t file_writes = LANDLOCK_ACCESS_FS_WRITE_FILE;

/*
 * Allows reading below `fd` (a directory) or `fd` itself (any other file); and, when `write`,
 * changing what is below it (or writing it).
 */
static void allow_fd(int ruleset, int fd, int write, const char *what) {
  struct stat st;
  if (fstat(fd, &st) != 0) fail("fstat", what);
  uint64_t access = S_ISDIR(st.st_mode) ? READS : LANDLOCK_ACCESS_FS_READ_FILE;
  if (write) access |= file_writes | (S_ISDIR(st.st_mode) ? DIR_WRITES : 0);
  struct landlock_path_beneath_attr rule = {.allowed_access = access, .parent_fd = fd};
  if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
    fail("landlock_add_rule", what);
}

static void allow_path(int ruleset, const char *path, int write) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) return;
    fail("open", path);
  }
  allow_fd(ruleset, fd, write, path);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "--abi") == 0) {
    printf("%ld\n", abi_version());
    return 0;
  }
  if (argc >= 2 && strcmp(argv[1], "--relay") == 0) return relay_shell(argc, argv);
  int program = 1;
  int shell_outside = 0;
  while (program < argc && strcmp(argv[program], "--") != 0) {
    if (strcmp(argv[program], "--shell-outside") == 0) {
      shell_outside = 1;
      program += 1;
    } else {
      program += 2;
    }
  }
  if (program >= argc - 1) {
    fprintf(stderr, "usage: sersync-confine [--allow-fd N] [--allow PATH] [--allow-write PATH]... "
                    "[--shell-outside] -- PROGRAM ARG...\n");
    return CANNOT_CONFINE;
  }
  if (shell_outside) supervise_rsync();
  /*
   * From ABI 2 every ruleset denies linking and renaming across directories unless a rule allows it
   * (REFER): a local replica's receiver would then copy what it hard-links (`--link-dest`, `-H`). So
   * it is allowed everywhere; the kernel still refuses any link or rename that would give a file
   * rights it did not have (readable, or writable), so nothing escapes the rules by it.
   */
  long abi = abi_version();
  if (abi >= 3) file_writes |= LANDLOCK_ACCESS_FS_TRUNCATE;
  struct landlock_ruleset_attr attr = {
      .handled_access_fs = READS | file_writes | DIR_WRITES | (abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0)};
  int ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0);
  if (ruleset < 0 && errno != ENOSYS && errno != EOPNOTSUPP) fail("landlock_create_ruleset", NULL);
  if (ruleset >= 0 && abi >= 2) {
    int root = open("/", O_PATH | O_CLOEXEC);
    struct landlock_path_beneath_attr refer = {.allowed_access = LANDLOCK_ACCESS_FS_REFER, .parent_fd = root};
    if (root < 0 || syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &refer, 0) != 0)
      fail("landlock_add_rule (links and renames)", "/");
    close(root);
  }
  if (ruleset >= 0) {
    for (int i = 1; i < program; i++) {
      if (strcmp(argv[i], "--shell-outside") == 0) continue;
      const char *option = argv[i], *value = argv[++i];
      if (strcmp(option, "--allow") == 0) {
        allow_path(ruleset, value, 0);
      } else if (strcmp(option, "--allow-write") == 0) {
        allow_path(ruleset, value, 1);
      } else if (strcmp(option, "--allow-fd") == 0) {
        allow_fd(ruleset, atoi(value), 0, value);
      } else {
        errno = EINVAL;
        fail("unknown option", option);
      }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("prctl(PR_SET_NO_NEW_PRIVS)", NULL);
    if (syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) fail("landlock_restrict_self", NULL);
    close(ruleset);
  }
  execvp(argv[program + 1], argv + program + 1);
  fprintf(stderr, "sersync2: cannot run %s: %s\n", argv[program + 1], strerror(errno));
  return CANNOT_RUN;
}
