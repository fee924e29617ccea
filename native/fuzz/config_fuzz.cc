// libFuzzer target for the shim's config parser (native/shim/config.cc). readConfig reads a path,
// so each input is written to one memfd and read back through /proc/self/fd. Any input must parse
// or throw StartError; a config that parses has what the shim relies on without checking again.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "shim/config.h"

namespace {

int memfd() {
  static int fd = memfd_create("berth-fuzz-config", MFD_CLOEXEC);
  return fd;
}

bool absolute(const std::string& p) { return !p.empty() && p[0] == '/'; }
// Optional paths (no log with --log-driver none, no attach socket): empty or absolute.
bool emptyOrAbsolute(const std::string& p) { return p.empty() || p[0] == '/'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/proc/self/fd/" + std::to_string(memfd());
  if (memfd() < 0 || ftruncate(memfd(), 0) < 0 || pwrite(memfd(), data, size, 0) != static_cast<ssize_t>(size))
    __builtin_trap();  // the harness itself failed: not a finding about the parser
  try {
    berth::shim::Config c = berth::shim::readConfig(path);
    if (!absolute(c.plan) || !absolute(c.state) || !emptyOrAbsolute(c.log) || c.logMaxFiles == 0) __builtin_trap();
    if (!emptyOrAbsolute(c.attachSocket) || !emptyOrAbsolute(c.stopMarker)) __builtin_trap();
    if (!c.exitCommand.empty() && !absolute(c.exitCommand[0])) __builtin_trap();
    for (const std::string& d : c.cgroupDirs)
      if (!absolute(d)) __builtin_trap();
  } catch (const berth::shim::StartError&) {
  }
  return 0;
}
