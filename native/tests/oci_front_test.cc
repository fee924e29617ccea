// berth-oci's native front (native/oci-front): its reading of runc's flag spellings and signals,
// which must agree with src/oci-cli (flags.ts, signals.ts) wherever it answers instead of Node, and
// its reading of the plain state src/oci/native-state.ts writes.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "oci-front/commands.h"
#include "oci-front/flags.h"
#include "oci-front/native_state.h"
#include "tests/check.h"

namespace berth::test {
namespace {

using front::FlagDef;
using front::Kind;

const std::vector<FlagDef> kDefs = {{"force", "f", Kind::Bool}, {"root", nullptr, Kind::String}};

front::Parsed parse(std::vector<std::string> args, bool reorder) { return front::parseFlags(kDefs, args, 0, reorder); }

std::string tempDir() {
  char dir[] = "/tmp/berth-front-test-XXXXXX";
  CHECK(mkdtemp(dir) != nullptr);
  return dir;
}

void writeFile(const std::string& path, const std::string& data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  CHECK(fd >= 0);
  CHECK_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
}

std::string pair(const std::string& k, const std::string& v) {
  return k + std::string(1, '\0') + v + std::string(1, '\0');
}

}  // namespace

TEST_CASE(front_flags_take_every_runc_spelling) {
  auto p = parse({"-f", "--root=/r", "id"}, true);
  CHECK(p.ok);
  CHECK(p.isTrue("force"));
  CHECK_EQ(*p.get("root"), std::string("/r"));
  CHECK_EQ(p.operands.size(), size_t{1});
  p = parse({"id", "--force=false", "-root", "/x", "--", "-f"}, true);
  CHECK(p.ok);
  CHECK(!p.isTrue("force"));
  CHECK_EQ(*p.get("root"), std::string("/x"));
  CHECK_EQ(p.operands.size(), size_t{2});
  CHECK_EQ(p.operands[1], std::string("-f"));
  // without reordering the first operand ends the flags
  p = parse({"--root", "/r", "state", "-f"}, false);
  CHECK(p.ok);
  CHECK(!p.isTrue("force"));
  CHECK_EQ(p.operands.size(), size_t{2});
}

TEST_CASE(front_flags_leave_what_node_would_refuse) {
  CHECK(!parse({"--nosuch"}, true).ok);
  CHECK(!parse({"--force=maybe"}, true).ok);
  CHECK(!parse({"--root"}, true).ok);
  CHECK(!parse({"---force"}, true).ok);
  CHECK(parse({"-h"}, true).isTrue("help"));
}

TEST_CASE(front_signals_as_runc_kill_reads_them) {
  CHECK_EQ(front::parseSignal("KILL"), 9);
  CHECK_EQ(front::parseSignal("sigterm"), 15);
  CHECK_EQ(front::parseSignal("SigWinch"), 28);
  CHECK_EQ(front::parseSignal("9"), 9);
  CHECK_EQ(front::parseSignal("64"), 64);
  // Node's to answer: refusals and the rare cases
  CHECK_EQ(front::parseSignal("65"), 0);
  CHECK_EQ(front::parseSignal("0"), 0);
  CHECK_EQ(front::parseSignal("NOSUCH"), 0);
  CHECK_EQ(front::parseSignal(""), 0);
  CHECK_EQ(front::parseSignal("-9"), 0);
}

TEST_CASE(front_reads_the_plain_state_and_its_status) {
  std::string dir = tempDir();
  std::string fifo = dir + "/exec.fifo";
  std::string data =
      pair("pid", std::to_string(getpid())) + pair("start-time", std::to_string(front::processStartTime(getpid()))) +
      pair("head", "{\"status\": \"") + pair("mid", "\", \"pid\": ") + pair("tail", "}\n") + pair("fifo", fifo) +
      pair("cgroup", "/a") + pair("cgroup", "/b") + pair("hook", "poststop") + pair("from-a-newer-berth", "x");
  writeFile(dir + "/native-state", data);
  front::NativeState s;
  CHECK(front::readNativeState(dir, &s));
  CHECK_EQ(s.pid, getpid());
  CHECK_EQ(s.cgroupDirs.size(), size_t{2});
  CHECK(s.hasHook("poststop"));
  CHECK(!s.hasHook("poststart"));
  CHECK(front::statusOf(s) == front::Status::Running);
  writeFile(fifo, "");
  CHECK(front::statusOf(s) == front::Status::Created);
  unlink(fifo.c_str());
  // a pid reused by another process is stopped
  s.startTime += 1;
  CHECK(front::statusOf(s) == front::Status::Stopped);
  s.startTime = 0;
  CHECK(front::statusOf(s) == front::Status::Stopped);

  // truncated or without its pid: not the front's to answer
  writeFile(dir + "/native-state", data.substr(0, data.size() - 1));
  front::NativeState cut;
  CHECK(!front::readNativeState(dir, &cut));
  writeFile(dir + "/native-state", pair("pid", "12x") + data);
  front::NativeState bad;
  CHECK(!front::readNativeState(dir, &bad));
  unlink((dir + "/native-state").c_str());
  rmdir(dir.c_str());
}

}  // namespace berth::test
