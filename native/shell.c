/*
 * The remote shell outside the confinement. ssh reads its keys and its config, so it must not run
 * confined (a link planted in the tree could then bring a key to the replica, as any file rsync
 * may read), yet rsync starts it, and a Landlock ruleset binds every child. So, with
 * `--shell-outside`, the helper forks before the ruleset applies: the child becomes rsync,
 * confined, and the parent stays unconfined as its supervisor. rsync's `-e` names this program in
 * `--relay` mode, followed by the shell's own command. The relay, confined, hands its arguments and
 * its three standard streams to the supervisor over a socket rsync inherited; the supervisor runs
 * the shell on those streams and sends back its pid, then its wait status, which the relay exits
 * with. rsync sees its shell as before: same pipes, same arguments, same status, and the signals
 * rsync sends it (SIGUSR1 when rsync is stopped) reach the shell. The supervisor reaps the whole
 * run, leaves nothing behind, and exits as rsync did.
 */
#define _GNU_SOURCE
#include "shell.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
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

/* Signals the supervisor passes on to rsync (the worker stops a stalled run with SIGTERM). */
static const int passed_on[] = {SIGHUP, SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGQUIT};
/* How long the shell may outlive rsync, which was its peer, before it is stopped harder. */
#define SHELL_GRACE_MS 1000

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* The signal mask the programs started here run with (the supervisor blocks what it handles). */
static sigset_t programs_mask;

/*
 * Starts the shell rsync's relay asked for (`n` bytes of `msg`, with its three streams) and tells
 * the relay its pid; returns it. When none can be started (`refuse`: rsync is gone), the relay gets
 * -1 and a failed status at once.
 */
static pid_t start_shell(int sock, ssize_t n, struct msghdr *msg, int refuse) {
  struct cmsghdr *c = CMSG_FIRSTHDR(msg);
  int streams[3] = {-1, -1, -1};
  if (c != NULL && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(3 * sizeof(int))) {
    memcpy(streams, CMSG_DATA(c), sizeof streams);
  } else {
    fprintf(stderr, "sersync2: the remote shell's relay sent no streams\n");
    refuse = 1;
  }
  request[n] = '\0';
  char *args[MAX_REQUEST / 2 + 1];
  int count = 0;
  for (char *p = request; p < request + n; p += strlen(p) + 1) args[count++] = p;
  args[count] = NULL;
  pid_t shell = refuse || count == 0 ? -1 : fork();
  if (shell == 0) {
    for (int i = 0; i < 3; i++) dup2(streams[i], i);
    sigprocmask(SIG_SETMASK, &programs_mask, NULL);
    /* A supervisor killed outright takes the shell with it (its peer, rsync, dies too). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp(args[0], args);
    fprintf(stderr, "sersync2: cannot run the remote shell %s: %s\n", args[0], strerror(errno));
    _exit(CANNOT_EXEC_SHELL);
  }
  for (int i = 0; i < 3; i++)
    if (streams[i] >= 0) close(streams[i]);
  if (shell < 0) shell = -1;
  send(sock, &shell, sizeof shell, MSG_NOSIGNAL);
  if (shell < 0) {
    int status = SHELL_FAILED << 8;
    send(sock, &status, sizeof status, MSG_NOSIGNAL);
  }
  return shell;
}

/* Ends this process as rsync ended: its exit code, or the signal that killed it. */
__attribute__((noreturn)) static void exit_as(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    raise(sig);
  }
  _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 126);
}

/* Whether `pid` (the relay) is not a live child of this process: reaped now, or never ours. */
static int gone_from_here(pid_t pid) {
  int status;
  return pid <= 0 || waitpid(pid, &status, WNOHANG) != 0;
}

/*
 * The supervisor: rsync's parent, which starts its remote shell outside the confinement and reaps
 * what the run leaves. As a child subreaper it inherits the relay when rsync dies first, so that
 * neither outlives the run unreaped (in a container whose PID 1 reaps nothing, they would pile up
 * as zombies). The signals it gets go on to rsync. Once rsync has ended, a shell still running has
 * lost its peer and is stopped (SIGTERM, then SIGKILL). It exits as rsync exited, once rsync, the
 * shell and the relay are gone; what the shell left to run on its own (an ssh ControlPersist
 * master) is not waited for.
 */
__attribute__((noreturn)) static void supervise(pid_t rsync, int sock, const sigset_t *handled) {
  /* Hold neither the worker's stdin/stdout (it waits for them to close) nor the tree's fd. */
  to_null(0);
  to_null(1);
  for (int fd = 3; fd < 1024; fd++)
    if (fd != sock) close(fd);
  int signals = signalfd(-1, handled, SFD_CLOEXEC);
  if (signals < 0) {
    perror("sersync2: signalfd");
    kill(rsync, SIGKILL);
    int status;
    waitpid(rsync, &status, 0);
    _exit(126);
  }
  int rsync_status = 0, rsync_done = 0, served = 0, stage = 0;
  pid_t shell = -1, relay = -1;
  long deadline = 0;
  for (;;) {
    if (rsync_done && shell < 0 && gone_from_here(relay)) exit_as(rsync_status);
    long wait = -1;
    if (rsync_done) {
      wait = deadline - now_ms();
      if (wait <= 0) {
        /* The run's leftovers linger: stopped harder, then left to PID 1. */
        if (stage == 2) exit_as(rsync_status);
        if (shell > 0) kill(shell, SIGKILL);
        stage = 2;
        deadline = now_ms() + SHELL_GRACE_MS;
        continue;
      }
    }
    struct pollfd fds[2] = {{.fd = signals, .events = POLLIN}, {.fd = sock, .events = POLLIN}};
    if (poll(fds, served ? 1 : 2, (int)wait) < 0) {
      if (errno == EINTR) continue;
      exit_as(rsync_status);
    }
    if (!served && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      union streams control;
      pid_t asker = -1;
      struct iovec iov[2] = {{.iov_base = &asker, .iov_len = sizeof asker},
                             {.iov_base = request, .iov_len = sizeof request - 1}};
      struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = control.space,
                           .msg_controllen = sizeof control.space};
      ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
      if (n > (ssize_t)sizeof asker) {
        relay = asker;
        shell = start_shell(sock, n - (ssize_t)sizeof asker, &msg, rsync_done);
      }
      /* rsync starts one shell per run; at EOF rsync and its relay are gone without one. */
      if (n >= 0 || errno != EINTR) served = 1;
    }
    if (!(fds[0].revents & POLLIN)) continue;
    struct signalfd_siginfo info;
    if (read(signals, &info, sizeof info) != (ssize_t)sizeof info) continue;
    if ((int)info.ssi_signo != SIGCHLD) {
      if (!rsync_done) kill(rsync, (int)info.ssi_signo);
      continue;
    }
    for (;;) {
      int status;
      pid_t gone = waitpid(-1, &status, WNOHANG);
      if (gone <= 0) break;
      if (gone == rsync) {
        rsync_status = status;
        rsync_done = 1;
        if (shell > 0) kill(shell, SIGTERM);
        stage = 1;
        deadline = now_ms() + SHELL_GRACE_MS;
      } else if (gone == shell) {
        shell = -1;
        send(sock, &status, sizeof status, MSG_NOSIGNAL);
      } else if (gone == relay) {
        relay = -1;
      }
    }
  }
}

void supervise_rsync(void) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    perror("sersync2: socketpair for the remote shell");
    exit(126);
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    perror("sersync2: prctl(PR_SET_CHILD_SUBREAPER)");
    exit(126);
  }
  sigset_t handled;
  sigemptyset(&handled);
  sigaddset(&handled, SIGCHLD);
  for (size_t i = 0; i < sizeof passed_on / sizeof *passed_on; i++) sigaddset(&handled, passed_on[i]);
  sigprocmask(SIG_BLOCK, &handled, &programs_mask);
  pid_t supervisor = getpid();
  pid_t rsync = fork();
  if (rsync < 0) {
    perror("sersync2: fork of rsync");
    exit(126);
  }
  if (rsync > 0) {
    close(sv[1]);
    supervise(rsync, sv[0], &handled);
  }
  sigprocmask(SIG_SETMASK, &programs_mask, NULL);
  /* A supervisor killed outright takes rsync with it. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != supervisor) _exit(126);
  close(sv[0]);
  /* rsync keeps it, and so does the relay it starts as its shell. */
  fcntl(sv[1], F_SETFD, 0);
  char fd[16];
  snprintf(fd, sizeof fd, "%d", sv[1]);
  setenv(SHELL_FD_ENV, fd, 1);
}

/* The shell, once the supervisor has started it; a signal that came before waits for it. */
static volatile pid_t shell_pid = 0;
static volatile sig_atomic_t held_signal = 0;

static void forward(int sig) {
  if (shell_pid > 0) kill(shell_pid, sig);
  else held_signal = sig;
}

/* One message of `size` bytes from the supervisor; false when it is gone. */
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
  /* Its pid first: when rsync dies first, the supervisor reaps it. */
  pid_t self = getpid();
  struct iovec iov[2] = {{.iov_base = &self, .iov_len = sizeof self}, {.iov_base = request, .iov_len = used}};
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = control.space,
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
    perror("sersync2: cannot reach the remote shell's supervisor");
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
