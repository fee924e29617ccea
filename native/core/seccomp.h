#pragma once
#include <linux/filter.h>

#include <vector>

namespace berth {

// berth's default seccomp filter, in the spirit of docker's default profile but as a deny list:
// the syscalls that reach kernel state a container must not touch (keyrings, which are not
// namespaced; module loading; kexec; mount and namespace creation, which would otherwise let a
// root process without CAP_SYS_ADMIN regain capabilities in a new user namespace; clocks; swap;
// BPF and perf; userfaultfd; io_uring; open_by_handle_at, the classic container breakout) fail
// with EPERM, clone3 with ENOSYS (so that libc falls back to clone, whose namespace flags can be
// checked), clone with any CLONE_NEW* flag with EPERM, a foreign architecture or the x32 ABI
// with EPERM. Everything else is allowed: capabilities do the rest.
// Built in the parent (once per process): the child between clone and execve allocates nothing.
std::vector<sock_filter> defaultSeccompFilter();

}  // namespace berth
