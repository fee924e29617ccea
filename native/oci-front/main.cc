// berth-oci, the executable: answers state, start, kill, delete, pause, resume and list from the plain
// data `create` recorded (src/oci/native-state.ts), and hands every other command line, and
// anything it meets that it does not cover, to the Node command line (dist/oci-cli/berth-oci.js)
// unchanged. conmon and containerd's shim run several of these per container; each answered here
// costs about a millisecond instead of Node's start.
//
//   BERTH_OCI_NATIVE=0   hand everything to Node (to compare, or to debug)
//   BERTH_OCI_NODE=PATH  the node to run it with (default: `node` from PATH, as the script's
//                        #!/usr/bin/env node would)
#include <limits.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "oci-front/commands.h"
#include "oci-front/flags.h"
#include "oci-front/native_state.h"

namespace {

using berth::front::FlagDef;
using berth::front::Kind;
using berth::front::NativeState;

// src/oci-cli/main.ts GLOBAL_FLAGS.
const std::vector<FlagDef> kGlobalFlags = {
    {"debug", nullptr, Kind::Bool},      {"log", nullptr, Kind::String},  {"log-format", nullptr, Kind::String},
    {"root", nullptr, Kind::String},     {"criu", nullptr, Kind::String}, {"systemd-cgroup", nullptr, Kind::Bool},
    {"rootless", nullptr, Kind::String}, {"version", "v", Kind::Bool},
};

struct Command {
  const char* name;
  std::vector<FlagDef> flags;
  size_t minArgs, maxArgs;
};

// src/oci-cli/lifecycle.ts: the same flags and operand counts.
const Command kCommands[] = {
    {"state", {}, 1, 1},
    {"start", {}, 1, 1},
    {"kill", {{"all", "a", Kind::Bool}}, 1, 2},
    {"delete", {{"force", "f", Kind::Bool}}, 1, 1},
    {"pause", {}, 1, 1},
    {"resume", {}, 1, 1},
    {"list", {{"format", "f", Kind::String}, {"quiet", "q", Kind::Bool}}, 0, 0},
};

// Where this executable's package is: build/Release/berth-oci -> the package root.
std::string packageDir() {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return ".";
  std::string dir(self, static_cast<size_t>(n));
  for (int up = 0; up < 3; up++) {
    size_t slash = dir.rfind('/');
    dir = slash == std::string::npos || slash == 0 ? "/" : dir.substr(0, slash);
  }
  return dir;
}

// Runs the same command line in Node. Nothing has been changed by the front when this is called.
[[noreturn]] void handOver(int argc, char** argv) {
  std::string script = packageDir() + "/dist/oci-cli/berth-oci.js";
  const char* node = getenv("BERTH_OCI_NODE");
  std::vector<char*> args;
  args.push_back(const_cast<char*>(node && *node ? node : "node"));
  // `--`: Node 20 would take options of the command line for its own (nodejs/node#54232)
  args.push_back(const_cast<char*>("--"));
  args.push_back(script.data());
  for (int i = 1; i < argc; i++) args.push_back(argv[i]);
  args.push_back(nullptr);
  if (node && *node)
    execv(node, args.data());
  else
    execvp("node", args.data());
  fprintf(stderr, "berth-oci: cannot run %s for %s: %s (set BERTH_OCI_NODE to the path of node)\n", args[0],
          script.c_str(), strerror(errno));
  exit(1);
}

// runc's container ID rule (src/oci/state-store.ts ID).
bool validId(const std::string& id) {
  if (id.empty() || id == "." || id == "..") return false;
  for (char c : id)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '.' || c == '-')) return false;
  return true;
}

int run(const std::vector<std::string>& args) {
  using namespace berth::front;
  Parsed g = parseFlags(kGlobalFlags, args, 0, false);
  if (!g.ok || g.operands.empty() || g.isTrue("help") || g.isTrue("version") || g.isTrue("debug") ||
      g.isTrue("systemd-cgroup"))
    return kHandOver;
  if (const std::string* f = g.get("log-format"); f && *f != "text" && *f != "json") return kHandOver;
  if (const std::string* r = g.get("rootless"); r && *r != "auto" && *r != "true" && *r != "false") return kHandOver;
  const std::string* rootFlag = g.get("root");
  std::string root = rootFlag ? *rootFlag : "/run/berth-oci";
  if (root.empty()) return kHandOver;

  const Command* cmd = nullptr;
  for (const Command& c : kCommands)
    if (g.operands[0] == c.name) cmd = &c;
  if (!cmd) return kHandOver;
  Parsed p = parseFlags(cmd->flags, g.operands, 1, true);
  if (!p.ok || p.isTrue("help") || p.operands.size() < cmd->minArgs || p.operands.size() > cmd->maxArgs)
    return kHandOver;
  std::string name = cmd->name;
  if (name == "list") {
    const std::string* format = p.get("format");
    return listCommand(root, format ? *format : "table", p.isTrue("quiet"));
  }
  if (!validId(p.operands[0])) return kHandOver;

  std::string dir = root + "/" + p.operands[0];
  NativeState s;
  if (!readNativeState(dir, &s)) return kHandOver;
  if (name == "state") return stateCommand(s);
  if (name == "start") return startCommand(s);
  if (name == "kill") {
    if (p.isTrue("all")) return kHandOver;
    return killCommand(s, p.operands.size() > 1 ? p.operands[1] : "TERM");
  }
  if (name == "delete") return deleteCommand(s, dir, p.isTrue("force"));
  if (name == "pause") return pauseCommand(s);
  return resumeCommand(s);
}

}  // namespace

int main(int argc, char** argv) {
  const char* native = getenv("BERTH_OCI_NATIVE");
  if (native && strcmp(native, "0") == 0) handOver(argc, argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  int status = run(args);
  if (status == berth::front::kHandOver) handOver(argc, argv);
  return status;
}
