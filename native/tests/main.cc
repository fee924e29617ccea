// berth-native-tests: runs the registered cases. `--list` prints their names; names as arguments run
// only those (test/unit/native.test.ts runs one case per process, so a crash names its case). Ends
// with "N passed, N failed" and exits 1 when any case failed.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

#include "core/plan_codec.h"
#include "core/unique_fd.h"
#include "tests/check.h"

namespace berth::test {

std::vector<Case>& registry() {
  static std::vector<Case> cases;
  return cases;
}

void fail(const char* file, int line, const std::string& message) {
  throw Failure{std::string(file) + ":" + std::to_string(line) + ": " + message};
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out + "\"";
}

std::string fixturePath(const std::string& name) {
  if (const char* dir = getenv("BERTH_NATIVE_FIXTURES")) return std::string(dir) + "/" + name;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) fail(__FILE__, __LINE__, "readlink /proc/self/exe: " + std::string(strerror(errno)));
  std::string dir(exe, static_cast<size_t>(n));
  dir.resize(dir.rfind('/'));  // build/Release
  return dir + "/../../test/fixtures/native/" + name;
}

std::string readFile(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) fail(__FILE__, __LINE__, "open " + path + ": " + strerror(errno));
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  if (n < 0) fail(__FILE__, __LINE__, "read " + path + ": " + strerror(errno));
  return out;
}

namespace {

// One case; every way it can end is turned into a line naming it, so no exception escapes main.
bool run(const Case& c) {
  std::string why;
  try {
    c.fn();
    printf("ok %s\n", c.name);
    return true;
  } catch (const Failure& f) {
    why = f.what;
  } catch (const PlanFormatError& e) {
    why = "unexpected PlanFormatError{" + quote(e.field) + "}";
  } catch (const std::exception& e) {
    why = std::string("unexpected exception: ") + e.what();
  } catch (...) {
    why = "unexpected exception of unknown type";
  }
  printf("FAIL %s\n  %s\n", c.name, why.c_str());
  return false;
}

}  // namespace
}  // namespace berth::test

int main(int argc, char** argv) {
  using berth::test::registry;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc == 2 && strcmp(argv[1], "--list") == 0) {
    for (const auto& c : registry()) printf("%s\n", c.name);
    return 0;
  }
  int passed = 0, failed = 0;
  for (int i = 1; i < argc; i++) {  // every name asked for must exist: a typo is not a pass
    bool found = false;
    for (const auto& c : registry()) found = found || strcmp(c.name, argv[i]) == 0;
    if (!found) {
      printf("FAIL %s\n  no such case\n", argv[i]);
      failed++;
    }
  }
  for (const auto& c : registry()) {
    bool wanted = argc == 1;
    for (int i = 1; i < argc && !wanted; i++) wanted = strcmp(c.name, argv[i]) == 0;
    if (wanted) (berth::test::run(c) ? passed : failed)++;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}
