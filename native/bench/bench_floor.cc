// The raw syscalls of a container start, with nothing of berth's around them: the row every start
// latency of `berth bench` is compared with. A forked child (single-threaded, so a raw clone is as
// safe as fork) times, per iteration: clone of the namespaces, in the new child the overlay mount
// of the rootfs, pivot_root into it and execve of the command, and the parent's wait for its exit.
#include "bench/bench_floor.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "core/unique_fd.h"

namespace berth {
namespace {

double nowNs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<double>(t.tv_sec) * 1e9 + static_cast<double>(t.tv_nsec);
}

// In the cloned child: exit codes 10.. name the step that failed (the parent reports EIO then).
[[noreturn]] void containerChild(const char* data, const char* merged, const char* argv0) {
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(10);
  if (mount("overlay", merged, "overlay", 0, data) < 0) _exit(11);
  if (chdir(merged) < 0) _exit(12);
  if (syscall(SYS_pivot_root, ".", ".") < 0) _exit(13);
  if (umount2(".", MNT_DETACH) < 0) _exit(14);
  if (chdir("/") < 0) _exit(15);
  char* const argv[] = {const_cast<char*>(argv0), nullptr};
  char* const envp[] = {nullptr};
  execve(argv0, argv, envp);
  _exit(16);
}

}  // namespace

std::vector<double> benchFloor(const std::string& overlayData, const std::string& merged, const std::string& argv0,
                               int iterations) {
  std::vector<double> out(static_cast<size_t>(iterations), 0.0);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throwSys(errno, "pipe2");
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = fork();
  if (pid < 0) throwSys(errno, "fork");
  if (pid == 0) {
    const unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD;
    int failed = 0;
    for (int i = 0; i < iterations && failed == 0; i++) {
      double a = nowNs();
      long child = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
      if (child < 0) _exit(2);
      if (child == 0) containerChild(overlayData.c_str(), merged.c_str(), argv0.c_str());
      int status = 0;
      if (waitpid(static_cast<pid_t>(child), &status, 0) < 0) _exit(3);
      double b = nowNs();
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed = WIFEXITED(status) ? WEXITSTATUS(status) : 4;
      out[static_cast<size_t>(i)] = b - a;
    }
    if (failed != 0) _exit(failed);
    ssize_t n = write(wr.get(), out.data(), out.size() * sizeof(double));
    _exit(n == static_cast<ssize_t>(out.size() * sizeof(double)) ? 0 : 5);
  }
  wr.reset();
  size_t want = out.size() * sizeof(double), got = 0;
  char* p = reinterpret_cast<char*>(out.data());
  while (got < want) {
    ssize_t n = read(rd.get(), p + got, want - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != want) {
    // 10..16: the step of containerChild that failed; the command's own status otherwise
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    static const char* const steps[] = {"make / private",  "mount overlay", "chdir", "pivot_root",
                                        "umount old root", "chdir /",       "execve"};
    const char* step = code >= 10 && code <= 16 ? steps[code - 10] : "clone, wait or the command's exit status";
    throwSys(EIO, step, merged);
  }
  return out;
}

}  // namespace berth
