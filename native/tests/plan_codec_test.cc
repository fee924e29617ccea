// decodePlan (native/core/plan_codec.cc) against test/fixtures/native/plan-golden.bin, the bytes
// encodePlan (src/native/plan-codec.ts) writes for plan-golden.json; test/unit/native.test.ts pins
// the TypeScript side to the same file. Every field of the JSON is checked here by value, so a
// field added, dropped or reordered on either side fails one of the two.
#include "core/plan_codec.h"

#include <sched.h>

#include <cmath>
#include <cstring>
#include <string>

#include "tests/check.h"

namespace berth::test {
namespace {

std::string golden() { return readFile(fixturePath("plan-golden.bin")); }

// Decodes from a heap copy of exactly `len` bytes, so that a read past the end is a read past the
// allocation (caught when built with AddressSanitizer).
SpawnPlan decode(const std::string& bytes, size_t len) {
  std::vector<uint8_t> copy(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(len));
  return decodePlan(copy.data(), copy.size());
}
SpawnPlan decode(const std::string& bytes) { return decode(bytes, bytes.size()); }

// Where `marker` starts in the golden bytes; every marker used is unique there.
size_t at(const std::string& g, const std::string& marker) {
  size_t off = g.find(marker);
  if (off == std::string::npos || g.find(marker, off + 1) != std::string::npos)
    fail(__FILE__, __LINE__, "marker " + quote(marker) + " not found exactly once");
  return off;
}
std::string u32(uint32_t v) {
  return std::string{static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 24)};
}
std::string f64(double v) {
  std::string s(8, '\0');
  memcpy(s.data(), &v, 8);
  return s;
}
std::string lp(const std::string& s) { return u32(static_cast<uint32_t>(s.size())) + s; }
// Bytes of the string list that starts at off (count + strings).
size_t listBytes(const std::string& g, size_t off) {
  auto rd = [&g](size_t o) {
    uint32_t v;
    memcpy(&v, g.data() + o, 4);
    return v;
  };
  size_t end = off + 4;
  for (uint32_t i = 0, n = rd(off); i < n; i++) end += 4 + rd(end);
  return end - off;
}
std::string fieldOf(const std::string& bytes) {
  try {
    decode(bytes);
  } catch (const PlanFormatError& e) {
    return e.field;
  }
  return "(decoded)";
}

}  // namespace

TEST_CASE(plan_golden_decodes_every_field) {
  SpawnPlan p = decode(golden());
  CHECK_EQ(p.cloneFlags, CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUSER);
  CHECK(p.unshareCgroup);
  CHECK_EQ(p.rootfs, "/var/lib/berth/containers/0123abcd/rootfs");
  CHECK_EQ(p.rootfsSource, "overlay");
  CHECK_EQ(p.rootfsFstype, "overlay");
  CHECK_EQ(p.rootfsData,
           "lowerdir=/var/lib/berth/layers/top:/var/lib/berth/layers/base,upperdir=/c/upper,workdir=/c/work");
  CHECK_EQ(p.rootfsFlags, 2ul);

  CHECK_EQ(p.mounts.size(), 9u);
  struct Want {
    MountOp::Kind kind;
    const char *target, *source, *fstype, *data;
    unsigned long flags;
    int create;
    bool sourceInRoot, optional, intoKernelFs;
    unsigned mode;
    uint64_t rdev;
    unsigned long propagation;
  };
  const Want want[] = {
      {MountOp::kMount, "proc", "proc", "proc", "", 14, 1, false, false, false, 0, 0, 278528},
      {MountOp::kMount, "etc/hostname", "/var/lib/berth/containers/0123abcd/hostname", "", "", 20480, 2, false, false,
       false, 0, 0, 0},
      {MountOp::kMount, "proc/sys", "proc/sys", "", "", 20515, 0, true, true, true, 0, 0, 0},
      {MountOp::kMount, "dev", "tmpfs", "tmpfs", "mode=755,size=65536k", 2, 1, false, false, false, 0, 0, 0},
      {MountOp::kMkdir, "dev/pts", "", "", "", 0, 0, false, false, false, 040755, 0, 0},
      {MountOp::kMknod, "dev/null", "", "", "", 0, 0, false, false, false, 020666, 259, 0},
      {MountOp::kMknod, "dev/big", "", "", "", 0, 0, false, true, false, 020666, 4294967295u, 0},
      {MountOp::kSymlink, "dev/fd", "/proc/self/fd", "", "", 0, 0, false, false, false, 0, 0, 0},
      {MountOp::kWrite, "proc/sys/net/ipv4/ip_forward", "", "", "1", 0, 0, false, false, false, 0, 0, 0},
  };
  for (size_t i = 0; i < p.mounts.size() && i < 9; i++) {
    const MountOp& op = p.mounts[i];
    const Want& w = want[i];
    CHECK_EQ(op.kind, w.kind);
    CHECK_EQ(op.target, w.target);
    CHECK_EQ(op.source, w.source);
    CHECK_EQ(op.fstype, w.fstype);
    CHECK_EQ(op.data, w.data);
    CHECK_EQ(op.flags, w.flags);
    CHECK_EQ(op.create, w.create);
    CHECK_EQ(op.sourceInRoot, w.sourceInRoot);
    CHECK_EQ(op.optional, w.optional);
    CHECK_EQ(op.intoKernelFs, w.intoKernelFs);
    CHECK_EQ(op.mode, w.mode);
    CHECK_EQ(op.rdev, w.rdev);
    CHECK_EQ(op.propagation, w.propagation);
  }

  CHECK_EQ(p.hostname, "h1-\xc3\xa9");
  CHECK(p.cgroupDirs == (std::vector<std::string>{"/sys/fs/cgroup/berth", "/sys/fs/cgroup/berth/0123abcd"}));
  CHECK_EQ(p.cgroupWrites.size(), 2u);
  CHECK_EQ(p.cgroupWrites[0].first, "/sys/fs/cgroup/berth/0123abcd/memory.max");
  CHECK_EQ(p.cgroupWrites[0].second, "67108864");
  CHECK_EQ(p.cgroupWrites[1].first, "/sys/fs/cgroup/berth/0123abcd/pids.max");
  CHECK_EQ(p.cgroupWrites[1].second, "max");
  CHECK(p.cgroupProcs == (std::vector<std::string>{"/sys/fs/cgroup/berth/0123abcd/cgroup.procs"}));
  CHECK(p.loopbackUp);
  CHECK(p.execCandidates == (std::vector<std::string>{"/usr/local/bin/sh", "/bin/sh"}));
  CHECK(p.argv == (std::vector<std::string>{"sh", "-c", "echo \"$GREETING\"\n", ""}));
  // UTF-8 passes through as bytes: 2-, 3- and 4-byte sequences.
  CHECK(p.env ==
        (std::vector<std::string>{"PATH=/bin:/usr/bin",
                                  "GREETING=h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\xb3", "EMPTY="}));
  CHECK_EQ(p.cwd, "/work/dir");
  CHECK_EQ(p.uid, 1000u);
  CHECK_EQ(p.gid, 1001u);
  CHECK(p.groups == (std::vector<gid_t>{1000, 10, 65534}));
  CHECK(p.capsDrop == (std::vector<int>{21, 0, 40}));
  CHECK_EQ(p.capsKeep[0], 0xffffffffu);
  CHECK_EQ(p.capsKeep[1], 511u);
  CHECK(p.noNewPrivileges);
  CHECK_EQ(p.stdio[0], 3);
  CHECK_EQ(p.stdio[1], 4);
  CHECK_EQ(p.stdio[2], 5);
  CHECK(p.tty);
  CHECK_EQ(p.ttyRows, 50);
  CHECK_EQ(p.ttyCols, 132);
  CHECK_EQ(p.parentDeathSignal, 9);
  CHECK_EQ(p.joinPid, 4242);
  CHECK(p.blockSignals);
  CHECK_EQ(p.netnsPath, "/run/berth/netns/0123abcd");
  CHECK(p.seccomp);
  CHECK_EQ(p.helperPath, "/usr/lib/berth/berth-nsenter");
  CHECK_EQ(p.initPath, "/usr/lib/berth/berth-init");
  CHECK_EQ(p.execFifoPath, "/run/berth-oci/c1/exec.fifo");
  CHECK_EQ(p.consoleSocket, "/tmp/console.sock");
  CHECK(p.rootfsReadonly);
  CHECK_EQ(p.rootfsPropagation, 540672ul);
  CHECK(p.noPivot);
  CHECK_EQ(p.umask, 077u);
  CHECK_EQ(p.rlimits.size(), 2u);
  CHECK_EQ(p.rlimits[0].resource, 7);
  CHECK_EQ(p.rlimits[0].soft, 1024u);
  CHECK_EQ(p.rlimits[0].hard, 4096u);
  CHECK_EQ(p.rlimits[1].soft, ~0ULL);  // -1 in the plan: RLIM_INFINITY
  CHECK_EQ(p.rlimits[1].hard, ~0ULL);
  CHECK_EQ(p.oomScoreAdj, "-500");
  CHECK_EQ(p.domainname, "example.org");
  CHECK_EQ(p.joinNamespaces.size(), 3u);
  CHECK_EQ(p.joinNamespaces[0].first, CLONE_NEWUSER);
  CHECK_EQ(p.joinNamespaces[0].second, "/proc/7/ns/user");
  CHECK_EQ(p.joinNamespaces[1].first, CLONE_NEWNET);
  CHECK_EQ(p.joinNamespaces[1].second, "/proc/1/ns/net");
  CHECK_EQ(p.joinNamespaces[2].first, CLONE_NEWUTS);
  CHECK_EQ(p.seccompFilter.size(), 16u);  // two struct sock_filter
  CHECK_EQ(p.seccompFilter.substr(0, 4), std::string("\x20\x00\x00\x00", 4));
  CHECK(p.capsForAnyUser);
  CHECK_EQ(p.capsInheritable[0], 536870912u);
  CHECK_EQ(p.capsInheritable[1], 0u);
  CHECK(p.capsAmbient == (std::vector<int>{29, 5}));
  CHECK_EQ(p.uidMap, "0 100000 65536\n");
  CHECK_EQ(p.gidMap, "0 100000 65536\n65536 5000 1\n");
  CHECK_EQ(p.preserveFds, 2);
  CHECK_EQ(p.createContainerHooks.size(), 1u);
  CHECK_EQ(p.createContainerHooks[0].path, "/usr/bin/hook");
  CHECK(p.createContainerHooks[0].args == (std::vector<std::string>{"hook", "--create"}));
  CHECK(p.createContainerHooks[0].env == (std::vector<std::string>{"HOOK=1"}));
  CHECK_EQ(p.createContainerHooks[0].timeout, 5);
  CHECK_EQ(p.hookStateHead, "{\"ociVersion\":\"1.1.0\",\"id\":\"golden\",\"status\":\"creating\",\"pid\":");
  CHECK_EQ(p.hookStateTail, ",\"bundle\":\"/b\",\"annotations\":{}}");
}

TEST_CASE(plan_truncated_at_every_offset_fails) {
  std::string g = golden();
  for (size_t n = 0; n < g.size(); n++) {
    CHECK_THROWS(PlanFormatError, decode(g, n), {
      // The error names what was being read: a caller reports a broken plan by field.
      if (n < 4) CHECK_EQ(e.field, "magic");
      if (n >= 4 && n < 8) CHECK_EQ(e.field, "namespaces");
      if (n + 1 == g.size()) CHECK_EQ(e.field, "hookStateTail");
    });
  }
}

// A negative --preserve-fds count would have berth-nsenter keep descriptors it must close.
TEST_CASE(plan_negative_preserve_fds_fail) {
  std::string g = golden();
  size_t at = g.rfind(f64(2));  // preserveFds, the last 2 of the golden plan
  std::string bad = g.substr(0, at) + f64(-1) + g.substr(at + 8);
  CHECK_EQ(fieldOf(bad), "preserveFds");
}

// A hook the init would run by a relative path (or with no argv) is not a plan.
TEST_CASE(plan_relative_hook_path_fails) {
  std::string g = golden();
  size_t at = g.find("/usr/bin/hook");
  std::string bad = g;
  bad[at] = 'x';
  CHECK_EQ(fieldOf(bad), "createContainerHooks");
}

TEST_CASE(plan_trailing_bytes_fail) {
  std::string g = golden();
  CHECK_EQ(fieldOf(g + '\0'), "trailing bytes");
  CHECK_EQ(fieldOf(g + f64(0)), "trailing bytes");
}

TEST_CASE(plan_bad_magic_fails) {
  std::string g = golden();
  CHECK_EQ(fieldOf(""), "magic");
  CHECK_EQ(fieldOf("BPL2" + g.substr(4)), "magic");
}

TEST_CASE(plan_unknown_names_fail) {
  std::string g = golden();
  std::string ns = g;
  ns.replace(at(g, lp("ipc")) + 4, 3, "ipx");
  CHECK_EQ(fieldOf(ns), "namespaces: unknown namespace ipx");
  std::string kind = g;
  kind.replace(at(g, lp("symlink")) + 4, 7, "symlinx");
  CHECK_EQ(fieldOf(kind), "mounts: unknown kind symlinx");
}

TEST_CASE(plan_needs_argv_and_a_program) {
  std::string g = golden();
  size_t argv = at(g, u32(4) + lp("sh") + lp("-c"));
  CHECK_EQ(fieldOf(g.substr(0, argv) + u32(0) + g.substr(argv + listBytes(g, argv))), "argv: empty");
  // No exec candidates is fine with --init (initPath set), not without it.
  size_t cands = at(g, u32(2) + lp("/usr/local/bin/sh"));
  std::string noCands = g.substr(0, cands) + u32(0) + g.substr(cands + listBytes(g, cands));
  CHECK(decode(noCands).execCandidates.empty());
  std::string init = lp("/usr/lib/berth/berth-init");
  size_t initAt = at(noCands, init);
  CHECK_EQ(fieldOf(noCands.substr(0, initAt) + u32(0) + noCands.substr(initAt + init.size())), "argv: empty");
}

// A count is read before the items it announces: one larger than the bytes left must fail as a
// format error, not allocate gigabytes or throw std::bad_alloc past the callers' catch.
TEST_CASE(plan_huge_counts_fail_cleanly) {
  std::string g = golden();
  CHECK_EQ(fieldOf("BPL1" + u32(0xffffffff)), "namespaces");
  CHECK_EQ(fieldOf("BPL1" + u32(0x10000000) + g.substr(8)), "namespaces");
  size_t mounts = at(g, u32(9) + lp("mount") + lp("proc"));
  CHECK_EQ(fieldOf(g.substr(0, mounts) + u32(0xffffffff) + g.substr(mounts + 4)), "mounts");
  size_t groups = at(g, u32(3) + f64(1000) + f64(10));
  CHECK_EQ(fieldOf(g.substr(0, groups) + u32(0xfffffff0) + g.substr(groups + 4)), "groups");
}

// Numbers travel as f64; one the field's integer type cannot hold (NaN, negative for an unsigned
// field, too large) is a format error, where converting it would be undefined behaviour.
TEST_CASE(plan_numbers_out_of_range_fail) {
  std::string g = golden();
  auto with = [&g](const std::string& marker, size_t skip, double v) {
    size_t off = at(g, marker) + skip;
    return g.substr(0, off) + f64(v) + g.substr(off + 8);
  };
  const std::string uid = lp("/work/dir") + f64(1000);  // cwd, then uid
  const size_t uidAt = 4 + 9;
  CHECK_EQ(decode(with(uid, uidAt, 4294967295.0)).uid, 4294967295u);  // the largest uid_t still decodes
  CHECK_EQ(decode(with(uid, uidAt, 7.9)).uid, 7u);                    // fractions truncate
  for (double bad : {std::nan(""), -1.0, 4294967296.0, HUGE_VAL, -HUGE_VAL, 1e300})
    CHECK_EQ(fieldOf(with(uid, uidAt, bad)), "uid");
  CHECK_EQ(fieldOf(with(f64(50) + f64(132), 8, 65536)), "ttySize");
  CHECK_EQ(decode(with(f64(50) + f64(132), 8, 65535)).ttyCols, 65535);
  CHECK_EQ(fieldOf(with(f64(020666) + f64(4294967295.0), 8, 18446744073709551616.0)), "mounts.rdev");
  CHECK_EQ(fieldOf(with(f64(4294967295.0) + f64(511), 0, -1)), "capsKeep");
  const std::string stdio = f64(3) + f64(4) + f64(5);
  CHECK_EQ(decode(with(stdio, 0, -2147483648.0)).stdio[0], -2147483647 - 1);  // signed fields take negatives
  CHECK_EQ(fieldOf(with(stdio, 0, 2147483648.0)), "stdio");
}

}  // namespace berth::test
