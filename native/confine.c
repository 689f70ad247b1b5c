/*
 * sersync-confine: runs a program (rsync) that may read files only below the directories and files
 * it is given, by a Landlock ruleset (Linux 5.13+) applied to itself just before exec. rsync older
 * than 3.5 follows a symlink another user plants in the middle of a listed path between our
 * listing and its read; confined, that read is refused (EACCES) wherever the link points, so no
 * file from outside the tree reaches a replica. Only reads are restricted: writes, exec and
 * sockets are as before.
 *
 *   sersync-confine --abi                          prints the kernel's Landlock ABI (0: none)
 *   sersync-confine [--allow-fd N] [--allow PATH]... [--shell-outside] -- PROGRAM ARG...
 *   sersync-confine --relay SHELL ARG...           rsync's remote shell, run outside (shell.c)
 *
 * An allowed directory may be read below it (files and listings); an allowed file may be read.
 * A path that does not exist is skipped. On a kernel without Landlock (or with it disabled) the
 * program runs unconfined: `--abi` is how the caller learns that and says so. Any other failure
 * exits 126 with the reason on stderr, without running the program (127: it cannot be run).
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
#define LANDLOCK_ACCESS_FS_READ_FILE (1ULL << 2)
#define LANDLOCK_ACCESS_FS_READ_DIR (1ULL << 3)
#endif
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
/* New system calls have one number on every architecture. */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

#define READS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR)
#define CANNOT_CONFINE 126
#define CANNOT_RUN 127

static long abi_version(void) {
  long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? 0 : abi;
}

__attribute__((noreturn)) static void fail(const char *what, const char *path) {
  fprintf(stderr, "sersync2: cannot confine rsync's reads to the tree: %s%s%s: %s\n", what,
          path == NULL ? "" : " ", path == NULL ? "" : path, strerror(errno));
  exit(CANNOT_CONFINE);
}

/* Allows reading below `fd` (a directory) or `fd` itself (any other file). */
static void allow_fd(int ruleset, int fd, const char *what) {
  struct stat st;
  if (fstat(fd, &st) != 0) fail("fstat", what);
  struct landlock_path_beneath_attr rule = {
      .allowed_access = S_ISDIR(st.st_mode) ? READS : LANDLOCK_ACCESS_FS_READ_FILE,
      .parent_fd = fd,
  };
  if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
    fail("landlock_add_rule", what);
}

static void allow_path(int ruleset, const char *path) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == EACCES) return;
    fail("open", path);
  }
  allow_fd(ruleset, fd, path);
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
    fprintf(stderr,
            "usage: sersync-confine [--allow-fd N] [--allow PATH]... [--shell-outside] -- PROGRAM ARG...\n");
    return CANNOT_CONFINE;
  }
  if (shell_outside) start_shell_broker();
  /*
   * From ABI 2 every ruleset denies linking and renaming across directories unless a rule allows it
   * (REFER): a local replica's receiver would then copy what it hard-links (`--link-dest`, `-H`). So
   * it is allowed everywhere; the kernel still refuses any link or rename that would make a file
   * readable that was not, so no read escapes the rules by it.
   */
  long abi = abi_version();
  struct landlock_ruleset_attr attr = {.handled_access_fs = READS | (abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0)};
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
        allow_path(ruleset, value);
      } else if (strcmp(option, "--allow-fd") == 0) {
        allow_fd(ruleset, atoi(value), value);
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
