/*
 * The remote shell outside the confinement. ssh reads its keys and its config, so it must not run
 * confined (a link planted in the tree could then bring a key to the replica, as any file rsync
 * may read), yet rsync starts it, and a Landlock ruleset binds every child. So, with
 * `--shell-outside`, a broker is forked before the ruleset applies, and rsync's `-e` names this
 * program in `--relay` mode, followed by the shell's own command. The relay, confined, hands its
 * arguments and its three standard streams to the broker over a socket rsync inherited; the
 * broker, unconfined, runs the shell on those streams and sends back its pid, then its wait status,
 * which the relay exits with. rsync sees its shell as before: same pipes, same arguments, same
 * status, and the signals rsync sends it (SIGUSR1 when rsync is stopped) reach the shell.
 */
#define _GNU_SOURCE
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHELL_FD_ENV "SERSYNC_SHELL_FD"
/* rsync's remote command: the shell's words, the host and `rsync --server` with its options. */
#define MAX_REQUEST 65536
/* What ssh exits with when it cannot connect: rsync reports it the same way. */
#define SHELL_FAILED 255
/* What rsync exits with when it cannot run its shell itself (RERR_IPC). */
#define CANNOT_EXEC_SHELL 14

static char request[MAX_REQUEST];

union streams {
  struct cmsghdr header;
  char space[CMSG_SPACE(3 * sizeof(int))];
};

/* Points /dev/null at `fd`: this process no longer holds what was there. */
static void to_null(int fd) {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, fd);
    close(null);
  }
}

/* Runs the one shell rsync asks for, then ends: rsync starts one per run. */
__attribute__((noreturn)) static void serve(int sock) {
  /* Hold neither the worker's stdin/stdout (it waits for them to close) nor the tree's fd. */
  to_null(0);
  to_null(1);
  for (int fd = 3; fd < 1024; fd++)
    if (fd != sock) close(fd);
  union streams control;
  struct iovec iov = {.iov_base = request, .iov_len = sizeof request - 1};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                       .msg_controllen = sizeof control.space};
  ssize_t n;
  do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0) _exit(0); /* rsync ended without starting its shell */
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (c == NULL || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(3 * sizeof(int))) {
    fprintf(stderr, "sersync2: the remote shell's relay sent no streams\n");
    _exit(SHELL_FAILED);
  }
  int streams[3];
  memcpy(streams, CMSG_DATA(c), sizeof streams);
  request[n] = '\0';
  char *args[MAX_REQUEST / 2 + 1];
  int count = 0;
  for (char *p = request; p < request + n; p += strlen(p) + 1) args[count++] = p;
  args[count] = NULL;
  int status = SHELL_FAILED << 8;
  pid_t shell = count == 0 ? -1 : fork();
  if (shell == 0) {
    for (int i = 0; i < 3; i++) dup2(streams[i], i);
    execvp(args[0], args);
    fprintf(stderr, "sersync2: cannot run the remote shell %s: %s\n", args[0], strerror(errno));
    _exit(CANNOT_EXEC_SHELL);
  }
  for (int i = 0; i < 3; i++) close(streams[i]);
  send(sock, &shell, sizeof shell, MSG_NOSIGNAL);
  if (shell > 0)
    while (waitpid(shell, &status, 0) < 0 && errno == EINTR) continue;
  send(sock, &status, sizeof status, MSG_NOSIGNAL);
  _exit(0);
}

void start_shell_broker(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    perror("sersync2: socketpair for the remote shell");
    exit(126);
  }
  pid_t broker = fork();
  if (broker < 0) {
    perror("sersync2: fork of the remote shell's broker");
    exit(126);
  }
  if (broker == 0) serve(sv[0]);
  close(sv[0]);
  /* rsync keeps it, and so does the relay it starts as its shell. */
  fcntl(sv[1], F_SETFD, 0);
  char fd[16];
  snprintf(fd, sizeof fd, "%d", sv[1]);
  setenv(SHELL_FD_ENV, fd, 1);
}

/* The shell, once the broker has started it; a signal that came before waits for it. */
static volatile pid_t shell_pid = 0;
static volatile sig_atomic_t held_signal = 0;

static void forward(int sig) {
  if (shell_pid > 0) kill(shell_pid, sig);
  else held_signal = sig;
}

/* One message of `size` bytes from the broker; false when it is gone. */
static int receive(int sock, void *into, size_t size) {
  ssize_t n;
  do n = recv(sock, into, size, 0);
  while (n < 0 && errno == EINTR);
  return n == (ssize_t)size;
}

int relay_shell(int argc, char **argv) {
  const char *fd = getenv(SHELL_FD_ENV);
  if (fd == NULL || argc < 3) {
    fprintf(stderr, "sersync2: --relay runs as rsync's remote shell under sersync-confine --shell-outside\n");
    return SHELL_FAILED;
  }
  int sock = atoi(fd);
  size_t used = 0;
  for (int i = 2; i < argc; i++) {
    size_t len = strlen(argv[i]) + 1;
    if (used + len > sizeof request - 1) {
      fprintf(stderr, "sersync2: the remote shell's command is longer than %d bytes\n", MAX_REQUEST - 1);
      return SHELL_FAILED;
    }
    memcpy(request + used, argv[i], len);
    used += len;
  }
  union streams control;
  memset(&control, 0, sizeof control);
  struct iovec iov = {.iov_base = request, .iov_len = used};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                       .msg_controllen = sizeof control.space};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(3 * sizeof(int));
  int streams[3] = {0, 1, 2};
  memcpy(CMSG_DATA(c), streams, sizeof streams);
  /* rsync stops its shell with a signal (SIGUSR1 on its way out): the shell must get it. */
  struct sigaction on = {.sa_handler = forward};
  sigemptyset(&on.sa_mask);
  const int forwarded[] = {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2};
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++) sigaction(forwarded[i], &on, NULL);
  if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    perror("sersync2: cannot reach the remote shell's broker");
    return SHELL_FAILED;
  }
  /*
   * Keeping rsync's pipes open until the shell is gone, rsync sees them end as this process exits,
   * so that it finds the shell's status (ssh's 255) at once, as when it runs the shell itself.
   */
  pid_t shell;
  if (!receive(sock, &shell, sizeof shell)) return SHELL_FAILED;
  shell_pid = shell;
  if (shell > 0 && held_signal != 0) kill(shell, held_signal);
  int status;
  if (!receive(sock, &status, sizeof status)) return SHELL_FAILED;
  if (WIFSIGNALED(status)) {
    signal(WTERMSIG(status), SIG_DFL);
    raise(WTERMSIG(status));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : SHELL_FAILED;
}
