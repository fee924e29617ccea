/* berth-init -- CMD [ARG...]: a minimal PID 1 for `run --init`.
 *
 * A shell or a program that never expected to be PID 1 neither reaps the orphans the kernel hands
 * to PID 1 nor dies of SIGTERM (the kernel drops signals PID 1 has no handler for). This runs CMD
 * as its child in a process group of its own, forwards the usual termination and job signals to
 * that group, reaps every zombie, and exits as the child did: its exit code, or 128 + the signal
 * that killed it. Plain C, linked statically, so that it runs in any image. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])

static void say(const char* a, const char* b, const char* c) {
  char line[512];
  int n = snprintf(line, sizeof line, "berth-init: %s%s%s\n", a, b, c);
  if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
  if (n > 0 && write(2, line, (size_t)n) < 0) {
    /* nowhere else to complain */
  }
}

static void exec_child(char** argv, const sigset_t* old) {
  /* A group of its own, so that forwarded signals reach the whole job, and the terminal's
   * foreground group when there is one (the mask still blocks SIGTTOU here). */
  setpgid(0, 0);
  if (isatty(STDIN_FILENO)) tcsetpgrp(STDIN_FILENO, getpid());
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &dfl, NULL);
  /* The command starts with nothing blocked, whatever berth handed to init: berth blocks every
   * signal before it execs init, so that none sent in the instant before init blocks its own is
   * lost (the kernel drops a signal to a namespace's PID 1 that has no handler and no block). */
  (void)old;
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execvp(argv[0], argv);
  int err = errno;
  say("exec ", argv[0], err == ENOENT ? ": executable file not found in $PATH" : ": cannot execute");
  _exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

int main(int argc, char** argv) {
  int first = 1;
  if (first < argc && strcmp(argv[first], "--") == 0) first++;
  if (first >= argc) {
    say("usage: berth-init -- CMD [ARG...]", "", "");
    return 2;
  }
  /* Not PID 1 (a test, or a nested init): orphans still come to us. */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

  /* Everything arrives through sigwaitinfo: blocked signals are queued even for a namespace's
   * PID 1, which the kernel would otherwise spare from any signal it has no handler for. */
  sigset_t wanted, old;
  sigemptyset(&wanted);
  sigaddset(&wanted, SIGCHLD);
  for (size_t i = 0; i < NFORWARDED; i++) sigaddset(&wanted, forwarded[i]);
  sigaddset(&wanted, SIGTTOU);
  sigaddset(&wanted, SIGTTIN);
  sigprocmask(SIG_BLOCK, &wanted, &old);
  sigdelset(&wanted, SIGTTOU);
  sigdelset(&wanted, SIGTTIN);

  pid_t child = fork();
  if (child < 0) {
    say("fork: ", strerror(errno), "");
    return 125;
  }
  if (child == 0) exec_child(argv + first, &old);
  /* Also from here: whichever of the two runs first, the group exists before a signal comes. */
  setpgid(child, child);

  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&wanted, &info);
    if (sig < 0) continue; /* EINTR */
    if (sig != SIGCHLD) {
      if (kill(-child, sig) < 0) kill(child, sig);
      continue;
    }
    for (;;) {
      int status;
      pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid < 0 && errno == EINTR) continue;
      if (pid <= 0) break;
      if (pid != child) continue;
      /* The rest of the container dies with us when we are a namespace's PID 1. */
      if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
      return WEXITSTATUS(status);
    }
  }
}
