#pragma once
#include <string>

namespace berth {

// A failed system call in the parent process; the addon turns it into a Node-style error
// (code, errno, syscall, path).
struct SysError {
  int err;
  std::string syscall;
  std::string path;
};

[[noreturn]] void throwSys(int err, const char* syscall, const std::string& path = "");

// What the container's child process reports when it fails between clone and execve. It lives in
// memory the child shares with the parent (CLONE_VM), so the child only stores three words.
struct ChildFailure {
  const char* step;  // static string: "mount", "pivot_root", "execve", ...
  int err;           // errno
  int index;         // which mount op / exec candidate / cgroup file, or -1
};

}  // namespace berth
