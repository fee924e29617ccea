// berth-health's docker rules (native/health/status.cc: streak, start period, the last 5 results,
// the State.Health JSON) and its config parser (native/health/config.cc), which reads what
// src/runtime/health/monitor.ts writes.
#include <sys/mman.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "core/unique_fd.h"
#include "health/config.h"
#include "health/status.h"
#include "tests/check.h"

namespace berth::test {
namespace {

using health::Health;
using health::Probe;

Probe probe(int exitCode, const std::string& output = "") {
  return Probe{{1700000000, 5}, {1700000001, 0}, exitCode, output};
}

health::Config parse(const std::string& text) {
  UniqueFd fd(memfd_create("berth-test-health", MFD_CLOEXEC));
  if (!fd.valid() || write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    fail(__FILE__, __LINE__, "memfd");
  return health::readConfig("/proc/self/fd/" + std::to_string(fd.get()));
}

bool refused(const std::string& text) {
  try {
    parse(text);
  } catch (const std::runtime_error&) {
    return true;
  }
  return false;
}

std::string status(const Health& h) {
  std::string j = h.json();
  size_t at = j.find("\"Status\":\"") + 10;
  return j.substr(at, j.find('"', at) - at);
}

}  // namespace

TEST_CASE(health_retries_then_unhealthy) {
  Health h;
  CHECK_EQ(status(h), std::string("starting"));
  h.record(probe(0), false, 3);
  CHECK_EQ(status(h), std::string("healthy"));
  h.record(probe(1), false, 3);
  h.record(probe(2), false, 3);
  CHECK_EQ(status(h), std::string("healthy"));
  h.record(probe(-1), false, 3);
  CHECK_EQ(status(h), std::string("unhealthy"));
  CHECK(h.json().find("\"FailingStreak\":3") != std::string::npos);
  h.record(probe(0), false, 3);
  CHECK_EQ(status(h), std::string("healthy"));
  CHECK(h.json().find("\"FailingStreak\":0") != std::string::npos);
}

TEST_CASE(health_start_period) {
  Health h;
  // failures inside the start period, before any success, do not count
  for (int i = 0; i < 5; i++) h.record(probe(1), true, 1);
  CHECK_EQ(status(h), std::string("starting"));
  CHECK(h.json().find("\"FailingStreak\":0") != std::string::npos);
  // after a success they do, in the period or not
  h.record(probe(0), true, 1);
  h.record(probe(1), true, 1);
  CHECK_EQ(status(h), std::string("unhealthy"));
  // a restart starts over, the log kept
  h.restart();
  CHECK_EQ(status(h), std::string("starting"));
  CHECK(h.json().find("\"ExitCode\":1") != std::string::npos);
}

TEST_CASE(health_json_shape) {
  Health h;
  CHECK_EQ(h.json(), std::string("{\"Status\":\"starting\",\"FailingStreak\":0,\"Log\":[]}\n"));
  h.record(probe(0, "ok \"q\"\n"), false, 3);
  CHECK_EQ(h.json(),
           std::string("{\"Status\":\"healthy\",\"FailingStreak\":0,\"Log\":[{\"Start\":\"2023-11-14T22:13:20."
                       "000000005Z\",\"End\":\"2023-11-14T22:13:21.000000000Z\",\"ExitCode\":0,\"Output\":"
                       "\"ok \\\"q\\\"\\n\"}]}\n"));
  // docker keeps the last 5
  for (int i = 1; i <= 7; i++) h.record(probe(0, std::to_string(i)), false, 3);
  std::string j = h.json();
  CHECK(j.find("\"Output\":\"2\"") == std::string::npos);
  CHECK(j.find("\"Output\":\"3\"") != std::string::npos);
  CHECK(j.find("\"Output\":\"7\"") != std::string::npos);
}

TEST_CASE(health_config) {
  health::Config c = parse(
      "plan=/c/health.plan\nhealth=/c/health.json\nstate=/c/state.json\npid=42\npid_start=99\ninterval_ms=200\n"
      "timeout_ms=300\nstart_period_ms=1000\nstart_interval_ms=50\nretries=2\njoin_pid_offset=481\n"
      "timeout_text=300ms\n");
  CHECK_EQ(c.plan, std::string("/c/health.plan"));
  CHECK_EQ(c.pid, 42);
  CHECK_EQ(c.pidStart, 99u);
  CHECK_EQ(c.intervalMs, 200u);
  CHECK_EQ(c.timeoutMs, 300u);
  CHECK_EQ(c.startPeriodMs, 1000u);
  CHECK_EQ(c.startIntervalMs, 50u);
  CHECK_EQ(c.retries, 2u);
  CHECK_EQ(c.joinPidOffset, 481u);
  CHECK_EQ(c.timeoutText, std::string("300ms"));
  const std::string base = "plan=/p\nhealth=/h\nstate=/s\n";
  CHECK(!refused(base + "pid=1\n"));
  CHECK(refused(base));                                      // no pid
  CHECK(refused(base + "pid=1\nretries=-1\n"));              // not a number
  CHECK(refused(base + "pid=1\ncolour=red\n"));              // unknown key
  CHECK(refused("plan=rel\nhealth=/h\nstate=/s\npid=1\n"));  // a relative path
  CHECK(refused(base + "pid=1\nno equals sign\n"));
}

}  // namespace berth::test
