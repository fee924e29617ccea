#include "core/plan_codec.h"

#include <sched.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

namespace berth {
namespace {

class Reader {
 public:
  Reader(const uint8_t* p, size_t n) : p_(p), n_(n) {}

  double num(const char* field) {
    need(8, field);
    double v;
    memcpy(&v, p_ + off_, 8);
    off_ += 8;
    return v;
  }
  uint32_t count(const char* field) {
    need(4, field);
    uint32_t v = static_cast<uint32_t>(p_[off_]) | static_cast<uint32_t>(p_[off_ + 1]) << 8 |
                 static_cast<uint32_t>(p_[off_ + 2]) << 16 | static_cast<uint32_t>(p_[off_ + 3]) << 24;
    off_ += 4;
    return v;
  }
  std::string str(const char* field) {
    uint32_t len = count(field);
    need(len, field);
    std::string s(reinterpret_cast<const char*>(p_ + off_), len);
    off_ += len;
    return s;
  }
  // A list's count, refused when the bytes left cannot hold that many items of at least `minItem`
  // bytes: a corrupt count must fail here, not allocate gigabytes (or throw std::bad_alloc, which
  // no caller catches).
  uint32_t items(const char* field, size_t minItem) {
    uint32_t n = count(field);
    if (n > (n_ - off_) / minItem) throw PlanFormatError{field};
    return n;
  }
  std::vector<std::string> strs(const char* field) {
    std::vector<std::string> out(items(field, 4));
    for (auto& s : out) s = str(field);
    return out;
  }
  // A number as the integer type of its field. NaN, infinities and values T cannot hold are format
  // errors: converting them is undefined behaviour (and gave garbage uids). Fractions truncate.
  template <typename T>
  T integer(const char* field) {
    double v = num(field);
    constexpr int bits = std::numeric_limits<T>::digits;  // value bits: 31 for int, 32 for uid_t
    double lo = std::is_signed_v<T> ? -std::ldexp(1.0, bits) - 1 : -1.0;
    if (!(v > lo && v < std::ldexp(1.0, bits))) throw PlanFormatError{field};
    return static_cast<T>(v);
  }
  bool flag(const char* field) { return num(field) != 0; }
  void end() {
    if (off_ != n_) throw PlanFormatError{"trailing bytes"};
  }

 private:
  void need(size_t k, const char* field) {
    if (n_ - off_ < k) throw PlanFormatError{field};
  }
  const uint8_t* p_;
  size_t n_;
  size_t off_ = 0;
};

// The smallest encoded mount op: five empty strings and seven numbers.
constexpr size_t kMountOpMinBytes = 5 * 4 + 8 * 8;

int namespaceFlag(const std::string& ns) {
  if (ns == "pid") return CLONE_NEWPID;
  if (ns == "mnt") return CLONE_NEWNS;
  if (ns == "uts") return CLONE_NEWUTS;
  if (ns == "ipc") return CLONE_NEWIPC;
  if (ns == "net") return CLONE_NEWNET;
  if (ns == "cgroup") return 0;  // unshared by the child after it joined its cgroup
  if (ns == "user") return CLONE_NEWUSER;
  throw PlanFormatError{"namespaces: unknown namespace " + ns};
}

// An rlimit as the plan writes it: -1 for RLIM_INFINITY (a double cannot hold 2^64-1), else the
// value itself.
uint64_t rlimitValue(double v, const char* field) {
  if (v == -1) return ~0ULL;
  if (!(v >= 0 && v < 18446744073709551616.0)) throw PlanFormatError{field};
  return static_cast<uint64_t>(v);
}

// A namespace joined by path, as setns(2) names its type.
int setnsFlag(const std::string& ns) {
  if (ns == "user") return CLONE_NEWUSER;
  if (ns == "pid") return CLONE_NEWPID;
  if (ns == "net") return CLONE_NEWNET;
  if (ns == "ipc") return CLONE_NEWIPC;
  if (ns == "uts") return CLONE_NEWUTS;
  if (ns == "cgroup") return CLONE_NEWCGROUP;
  throw PlanFormatError{"joinNamespaces: cannot join namespace type " + ns};
}

MountOp::Kind mountKind(const std::string& kind) {
  if (kind == "mount") return MountOp::kMount;
  if (kind == "mkdir") return MountOp::kMkdir;
  if (kind == "mknod") return MountOp::kMknod;
  if (kind == "symlink") return MountOp::kSymlink;
  if (kind == "write") return MountOp::kWrite;
  throw PlanFormatError{"mounts: unknown kind " + kind};
}

}  // namespace

SpawnPlan decodePlan(const uint8_t* data, size_t len) {
  if (len < 4 || memcmp(data, "BPL1", 4) != 0) throw PlanFormatError{"magic"};
  Reader r(data + 4, len - 4);
  SpawnPlan p;
  for (const std::string& ns : r.strs("namespaces")) {
    if (ns == "cgroup") p.unshareCgroup = true;
    p.cloneFlags |= namespaceFlag(ns);
  }
  p.rootfs = r.str("rootfs");
  p.rootfsSource = r.str("rootfsMount.source");
  p.rootfsFstype = r.str("rootfsMount.fstype");
  p.rootfsData = r.str("rootfsMount.data");
  p.rootfsFlags = r.integer<unsigned long>("rootfsMount.flags");
  p.mounts.resize(r.items("mounts", kMountOpMinBytes));
  for (MountOp& op : p.mounts) {
    op.kind = mountKind(r.str("mounts.kind"));
    op.target = r.str("mounts.target");
    op.source = r.str("mounts.source");
    op.fstype = r.str("mounts.fstype");
    op.data = r.str("mounts.data");
    op.flags = r.integer<unsigned long>("mounts.flags");
    op.create = r.integer<int>("mounts.create");
    op.sourceInRoot = r.flag("mounts.sourceInRoot");
    op.optional = r.flag("mounts.optional");
    op.mode = r.integer<unsigned>("mounts.mode");
    op.rdev = r.integer<uint64_t>("mounts.rdev");
    op.intoKernelFs = r.flag("mounts.intoKernelFs");
    op.propagation = r.integer<unsigned long>("mounts.propagation");
  }
  p.hostname = r.str("hostname");
  p.cgroupDirs = r.strs("cgroupDirs");
  p.cgroupWrites.resize(r.items("cgroupWrites", 8));
  for (auto& w : p.cgroupWrites) {
    w.first = r.str("cgroupWrites.file");
    w.second = r.str("cgroupWrites.value");
  }
  p.cgroupProcs = r.strs("cgroupProcs");
  p.loopbackUp = r.flag("loopbackUp");
  p.execCandidates = r.strs("execCandidates");
  p.argv = r.strs("argv");
  p.env = r.strs("env");
  p.cwd = r.str("cwd");
  p.uid = r.integer<uid_t>("uid");
  p.gid = r.integer<gid_t>("gid");
  p.groups.resize(r.items("groups", 8));
  for (gid_t& g : p.groups) g = r.integer<gid_t>("groups");
  p.capsDrop.resize(r.items("capsDrop", 8));
  for (int& c : p.capsDrop) c = r.integer<int>("capsDrop");
  p.capsKeep[0] = r.integer<uint32_t>("capsKeep");
  p.capsKeep[1] = r.integer<uint32_t>("capsKeep");
  p.noNewPrivileges = r.flag("noNewPrivileges");
  for (int& fd : p.stdio) fd = r.integer<int>("stdio");
  p.tty = r.flag("tty");
  p.ttyRows = r.integer<unsigned short>("ttySize");
  p.ttyCols = r.integer<unsigned short>("ttySize");
  p.parentDeathSignal = r.integer<int>("parentDeathSignal");
  p.joinPid = r.integer<pid_t>("joinPid");
  p.blockSignals = r.flag("blockSignals");
  p.netnsPath = r.str("netnsPath");
  p.seccomp = r.flag("seccomp");
  p.helperPath = r.str("helperPath");
  p.initPath = r.str("initPath");
  p.execFifoPath = r.str("execFifoPath");
  p.consoleSocket = r.str("consoleSocket");
  p.rootfsReadonly = r.flag("rootfsReadonly");
  p.rootfsPropagation = r.integer<unsigned long>("rootfsPropagation");
  p.noPivot = r.flag("noPivot");
  p.umask = r.integer<unsigned>("umask");
  p.rlimits.resize(r.items("rlimits", 24));
  for (SpawnPlan::Rlimit& l : p.rlimits) {
    l.resource = r.integer<int>("rlimits.resource");
    l.soft = rlimitValue(r.num("rlimits.soft"), "rlimits.soft");
    l.hard = rlimitValue(r.num("rlimits.hard"), "rlimits.hard");
  }
  p.oomScoreAdj = r.str("oomScoreAdj");
  p.domainname = r.str("domainname");
  p.joinNamespaces.resize(r.items("joinNamespaces", 8));
  for (auto& ns : p.joinNamespaces) {
    ns.first = setnsFlag(r.str("joinNamespaces.type"));
    ns.second = r.str("joinNamespaces.path");
  }
  p.seccompFilter = r.str("seccompFilter");
  p.capsForAnyUser = r.flag("capsForAnyUser");
  p.capsInheritable[0] = r.integer<uint32_t>("capsInheritable");
  p.capsInheritable[1] = r.integer<uint32_t>("capsInheritable");
  p.capsAmbient.resize(r.items("capsAmbient", 8));
  for (int& c : p.capsAmbient) c = r.integer<int>("capsAmbient");
  p.uidMap = r.str("uidMap");
  p.gidMap = r.str("gidMap");
  p.preserveFds = r.integer<int>("preserveFds");
  if (p.preserveFds < 0) throw PlanFormatError{"preserveFds"};
  p.createContainerHooks.resize(r.items("createContainerHooks", 20));
  for (SpawnPlan::Hook& h : p.createContainerHooks) {
    h.path = r.str("createContainerHooks.path");
    h.args = r.strs("createContainerHooks.args");
    h.env = r.strs("createContainerHooks.env");
    h.timeout = r.integer<int>("createContainerHooks.timeout");
    if (h.path.empty() || h.path[0] != '/' || h.args.empty() || h.timeout < 0)
      throw PlanFormatError{"createContainerHooks"};
  }
  p.hookStateHead = r.str("hookStateHead");
  p.hookStateTail = r.str("hookStateTail");
  if (p.seccompFilter.size() % 8 != 0 || p.seccompFilter.size() / 8 > 4096) throw PlanFormatError{"seccompFilter"};
  r.end();
  if (p.argv.empty() || (p.execCandidates.empty() && p.initPath.empty())) throw PlanFormatError{"argv: empty"};
  return p;
}

}  // namespace berth
