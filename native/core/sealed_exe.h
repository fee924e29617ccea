#pragma once
#include <string>

namespace berth {

// A close-on-exec memfd holding a copy of the executable at `path`, sealed against every write,
// growth and shrink: what berth runs where a container could reach the process (berth-nsenter,
// berth-init, the shim). /proc/PID/exe of such a process is the memfd, so root in the container
// who opens it gets a file nobody can write, never the host's binary (runc's fix for
// CVE-2019-5736). Made once per process and path (again when the file on disk changed); the fd
// stays open for the process's life. Throws SysError.
int sealedExecutable(const std::string& path);

}  // namespace berth
