// Measures mount(2) latency for the benchmark, in a forked child with its own mount namespace so
// that nothing is ever mounted on the host.
#include "bench/bench_mount.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "core/unique_fd.h"

namespace berth {

std::vector<double> benchMount(const std::string& fstype, const std::string& source, const std::string& target,
                               const std::string& data, int iterations, unsigned long flags) {
  std::vector<double> out(static_cast<size_t>(iterations), 0.0);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throwSys(errno, "pipe2");
  UniqueFd rd(fds[0]), wr(fds[1]);
  pid_t pid = fork();
  if (pid < 0) throwSys(errno, "fork");
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) < 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) _exit(1);
    for (int i = 0; i < iterations; i++) {
      struct timespec a, b;
      clock_gettime(CLOCK_MONOTONIC, &a);
      if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags, data.c_str()) < 0) _exit(2);
      clock_gettime(CLOCK_MONOTONIC, &b);
      umount2(target.c_str(), MNT_DETACH);
      out[static_cast<size_t>(i)] =
          static_cast<double>(b.tv_sec - a.tv_sec) * 1e9 + static_cast<double>(b.tv_nsec - a.tv_nsec);
    }
    ssize_t n = write(wr.get(), out.data(), out.size() * sizeof(double));
    _exit(n == static_cast<ssize_t>(out.size() * sizeof(double)) ? 0 : 3);
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
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != want) throwSys(EIO, "mount", target);
  return out;
}

}  // namespace berth
