// The shim's config parser (native/shim/config.cc) and JSON string writer (native/shim/json.cc).
// The config is what TypeScript writes for a detached container (src/runtime/lifecycle.ts); the JSON
// writer produces every log line, so docker-compatible readers depend on its escapes.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "core/unique_fd.h"
#include "shim/config.h"
#include "shim/json.h"
#include "tests/check.h"

namespace berth::test {
namespace {

using shim::Config;
using shim::RestartPolicy;
using shim::StartError;

// readConfig takes a path: the text goes into a memfd, read back through /proc/self/fd.
Config parse(const std::string& text) {
  UniqueFd fd(memfd_create("berth-test-config", MFD_CLOEXEC));
  if (!fd.valid() || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    fail(__FILE__, __LINE__, "memfd");
  return shim::readConfig("/proc/self/fd/" + std::to_string(fd.get()));
}

// The step of the StartError parse(text) throws, "(parsed)" when it throws none.
std::string why(const std::string& text) {
  try {
    parse(text);
  } catch (const StartError& e) {
    if (e.err != EINVAL || e.index != -1 || e.path.rfind("/proc/self/fd/", 0) != 0)
      fail(__FILE__, __LINE__,
           "StartError{" + quote(e.step) + ", " + std::to_string(e.err) + ", " + std::to_string(e.index) + ", " +
               quote(e.path) + "}");
    return e.step;
  }
  return "(parsed)";
}

const std::string kRequired = "plan=/r/c.plan\nstate=/r/state.json\nlog=/r/c.log\n";

std::string json(const std::string& s) {
  std::string out;
  shim::appendJsonString(out, s);
  return out;
}

}  // namespace

TEST_CASE(config_every_key) {
  Config c = parse(
      "# written by berth\n"
      "plan=/r/c.plan\n"
      "\n"
      "state=/r/state.json\n"
      "log=/r/c.log\n"
      "log_max_size=1048576\n"
      "log_max_files=3\n"
      "cgroup_dir=/sys/fs/cgroup/berth/c\n"
      "cgroup_dir=/sys/fs/cgroup/memory/berth/c\n"
      "oom_file=/sys/fs/cgroup/berth/c/memory.events\n"
      "oom_key=oom_group_kill\n"
      "restart=on-failure\n"
      "restart_max=5\n"
      "stop_marker=/r/stopped\n"
      "remove_dir=/r/c\n"
      "name_link=/r/.names/web\n"
      "exit_command=/usr/bin/node\n"
      "exit_command=berth.js\n"
      "exit_command=container cleanup\n"
      "exit_command=\n"
      "exit_command=a=b");  // no final newline
  CHECK_EQ(c.plan, "/r/c.plan");
  CHECK_EQ(c.state, "/r/state.json");
  CHECK_EQ(c.log, "/r/c.log");
  CHECK_EQ(c.logMaxSize, 1048576u);
  CHECK_EQ(c.logMaxFiles, 3u);
  CHECK(c.cgroupDirs == (std::vector<std::string>{"/sys/fs/cgroup/berth/c", "/sys/fs/cgroup/memory/berth/c"}));
  CHECK_EQ(c.oomFile, "/sys/fs/cgroup/berth/c/memory.events");
  CHECK_EQ(c.oomKey, "oom_group_kill");
  CHECK_EQ(c.restart, RestartPolicy::kOnFailure);
  CHECK_EQ(c.restartMax, 5u);
  CHECK_EQ(c.stopMarker, "/r/stopped");
  CHECK_EQ(c.removeDir, "/r/c");
  CHECK_EQ(c.nameLink, "/r/.names/web");
  // Only the program must be absolute; arguments are kept verbatim, empty ones and '=' included.
  CHECK(c.exitCommand == (std::vector<std::string>{"/usr/bin/node", "berth.js", "container cleanup", "", "a=b"}));
}

TEST_CASE(config_defaults) {
  Config c = parse(kRequired);
  CHECK_EQ(c.logMaxSize, 0u);
  CHECK_EQ(c.logMaxFiles, 1u);
  CHECK(c.cgroupDirs.empty());
  CHECK_EQ(c.oomFile, "");
  CHECK_EQ(c.oomKey, "oom_kill");
  CHECK_EQ(c.restart, RestartPolicy::kNo);
  CHECK_EQ(c.restartMax, 0u);
  CHECK(c.exitCommand.empty());
  CHECK_EQ(parse(kRequired + "log_max_files=0").logMaxFiles, 1u);  // 0 files would lose the log
  CHECK_EQ(parse(kRequired + "restart=always").restart, RestartPolicy::kAlways);
  CHECK_EQ(parse(kRequired + "restart=unless-stopped").restart, RestartPolicy::kUnlessStopped);
  CHECK_EQ(parse(kRequired + "restart=no\nrestart=always").restart, RestartPolicy::kAlways);  // last wins
  CHECK_EQ(parse(kRequired + "log_max_size=9999999999999999999").logMaxSize,
           9999999999999999999u);  // 19 digits at most
}

TEST_CASE(config_invalid_lines) {
  CHECK_EQ(why(kRequired + "junk"), "parse config: expected key=value but received \"junk\"");
  CHECK_EQ(why(kRequired + " plan=/x"), "parse config: unknown key \" plan\"");  // no trimming
  CHECK_EQ(why(kRequired + "colour=blue"), "parse config: unknown key \"colour\"");
  CHECK_EQ(why(kRequired + "=x"), "parse config: unknown key \"\"");
  CHECK_EQ(why(kRequired + "state=relative/state.json"),
           "parse config: expected an absolute path for state but received \"relative/state.json\"");
  CHECK_EQ(why("plan=\n" + kRequired), "parse config: expected an absolute path for plan but received \"\"");
  CHECK_EQ(why(kRequired + "exit_command=node"),
           "parse config: expected an absolute path for exit_command but received \"node\"");
  CHECK_EQ(why(kRequired + "restart=sometimes"),
           "parse config: expected no, always, on-failure or unless-stopped for restart but received \"sometimes\"");
  for (const char* bad : {"-1", "12a", "", " 1", "0x10", "18446744073709551616", "99999999999999999999"})
    CHECK_EQ(
        why(kRequired + "log_max_size=" + bad),
        "parse config: expected a non-negative integer for log_max_size but received \"" + std::string(bad) + "\"");
  CHECK_EQ(why(kRequired + "restart_max=x"),
           "parse config: expected a non-negative integer for restart_max but received \"x\"");
}

TEST_CASE(config_missing_required_keys) {
  CHECK_EQ(why(""), "parse config: missing plan=");
  CHECK_EQ(why("# only a comment\n"), "parse config: missing plan=");
  CHECK_EQ(why("plan=/p\nlog=/l\n"), "parse config: missing state=");
  // without log= there is no log (--log-driver none)
  CHECK_EQ(parse("plan=/p\nstate=/s\n").log, "");
}

TEST_CASE(config_unreadable_file) {
  CHECK_THROWS(StartError, shim::readConfig("/nonexistent/berth-test.conf"), {
    CHECK_EQ(e.step, "read config");
    CHECK_EQ(e.err, ENOENT);
    CHECK_EQ(e.path, "/nonexistent/berth-test.conf");
  });
}

TEST_CASE(json_escapes) {
  CHECK_EQ(json(""), "\"\"");
  CHECK_EQ(json("plain text 123 ~"), "\"plain text 123 ~\"");
  CHECK_EQ(json("a\"b\\c/d"), "\"a\\\"b\\\\c/d\"");
  CHECK_EQ(json("line\n\r\t"), "\"line\\n\\r\\t\"");
}

TEST_CASE(json_control_characters) {
  // Every C0 control other than \n \r \t as \u00XX (lowercase hex), NUL included; DEL is legal JSON.
  const std::string want[] = {"\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
                              "\\u0008", "\\t",     "\\n",     "\\u000b", "\\u000c", "\\r",     "\\u000e", "\\u000f",
                              "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
                              "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  for (int c = 0; c < 0x20; c++) CHECK_EQ(json(std::string(1, static_cast<char>(c))), "\"" + want[c] + "\"");
  CHECK_EQ(json(std::string("a\0b", 3)), "\"a\\u0000b\"");
  CHECK_EQ(json("\x7f"), "\"\x7f\"");
}

TEST_CASE(json_valid_utf8_passes_through) {
  for (const char* s : {"h\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x90\xb3", "\xef\xbf\xbd",
                        "\xf4\x8f\xbf\xbf" /* U+10FFFF */, "\xed\x9f\xbf" /* U+D7FF */, "\xc2\x80"})
    CHECK_EQ(json(s), "\"" + std::string(s) + "\"");
}

TEST_CASE(json_invalid_utf8_becomes_replacement) {
  const std::string R = "\xef\xbf\xbd";  // U+FFFD: one per byte that starts no valid sequence
  CHECK_EQ(json("\x80"), "\"" + R + "\"");
  CHECK_EQ(json("a\xff"
                "b"),
           "\"a" + R + "b\"");
  CHECK_EQ(json("\xc0\xaf"), "\"" + R + R + "\"");                  // overlong '/'
  CHECK_EQ(json("\xe0\x80\x80"), "\"" + R + R + R + "\"");          // overlong NUL
  CHECK_EQ(json("\xed\xa0\x80"), "\"" + R + R + R + "\"");          // UTF-16 surrogate
  CHECK_EQ(json("\xf4\x90\x80\x80"), "\"" + R + R + R + R + "\"");  // above U+10FFFF
  CHECK_EQ(json("\xf5\x80"), "\"" + R + R + "\"");
  CHECK_EQ(json("x\xe6\x97"), "\"x" + R + R + "\"");       // cut short at the end
  CHECK_EQ(json("\xe6\x97x\n"), "\"" + R + R + "x\\n\"");  // cut short by ASCII
  CHECK_EQ(json("\xf0\x9f\x90\xb3\x80"), "\"\xf0\x9f\x90\xb3" + R + "\"");
}

TEST_CASE(json_utf8_sequence_lengths) {
  auto len = [](const char* s, size_t n) { return shim::utf8Sequence(reinterpret_cast<const unsigned char*>(s), n); };
  CHECK_EQ(len("\xc3\xa9", 2), 2);
  CHECK_EQ(len("\xe6\x97\xa5", 3), 3);
  CHECK_EQ(len("\xf0\x9f\x90\xb3", 4), 4);
  // A valid prefix cut by the end of the buffer is -1 (the log reader waits for more), not 0.
  CHECK_EQ(len("\xf0\x9f\x90", 3), -1);
  CHECK_EQ(len("\xe6", 1), -1);
  CHECK_EQ(len("\x80", 1), 0);
  CHECK_EQ(len("\xc1\xbf", 2), 0);
  CHECK_EQ(len("\xf0\x8f", 2), 0);  // overlong decided on the second byte, even when cut short
}

}  // namespace berth::test
