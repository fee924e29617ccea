#include "addon/convert.h"

#include <sched.h>
#include <uv.h>

#include <cstring>

namespace berth {
namespace {

Napi::Value field(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) throw Napi::TypeError::New(o.Env(), std::string("spawn plan: missing field ") + name);
  return v;
}

std::string str(const Napi::Object& o, const char* name) {
  Napi::Value v = field(o, name);
  if (!v.IsString()) throw Napi::TypeError::New(o.Env(), std::string("spawn plan: ") + name + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

double num(const Napi::Object& o, const char* name) {
  Napi::Value v = field(o, name);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("spawn plan: ") + name + " must be a number");
  return v.As<Napi::Number>().DoubleValue();
}

bool flag(const Napi::Object& o, const char* name) {
  Napi::Value v = field(o, name);
  if (!v.IsBoolean()) throw Napi::TypeError::New(o.Env(), std::string("spawn plan: ") + name + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

Napi::Array arr(const Napi::Object& o, const char* name) {
  Napi::Value v = field(o, name);
  if (!v.IsArray()) throw Napi::TypeError::New(o.Env(), std::string("spawn plan: ") + name + " must be an array");
  return v.As<Napi::Array>();
}

std::vector<std::string> strings(const Napi::Object& o, const char* name) {
  Napi::Array a = arr(o, name);
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

int namespaceFlag(Napi::Env env, const std::string& ns) {
  if (ns == "pid") return CLONE_NEWPID;
  if (ns == "mnt") return CLONE_NEWNS;
  if (ns == "uts") return CLONE_NEWUTS;
  if (ns == "ipc") return CLONE_NEWIPC;
  if (ns == "net") return CLONE_NEWNET;
  if (ns == "cgroup") return 0;  // unshared by the child after it joined its cgroup
  throw Napi::TypeError::New(env, "spawn plan: unknown namespace " + ns);
}

MountOp mountOpFromJs(const Napi::Object& o) {
  MountOp op;
  std::string kind = str(o, "kind");
  if (kind == "mount") op.kind = MountOp::kMount;
  else if (kind == "mkdir") op.kind = MountOp::kMkdir;
  else if (kind == "mknod") op.kind = MountOp::kMknod;
  else if (kind == "symlink") op.kind = MountOp::kSymlink;
  else throw Napi::TypeError::New(o.Env(), "spawn plan: unknown mount op " + kind);
  op.target = str(o, "target");
  op.source = str(o, "source");
  op.fstype = str(o, "fstype");
  op.data = str(o, "data");
  op.flags = static_cast<unsigned long>(num(o, "flags"));
  op.create = static_cast<int>(num(o, "create"));
  op.sourceInRoot = flag(o, "sourceInRoot");
  op.optional = flag(o, "optional");
  op.mode = static_cast<unsigned>(num(o, "mode"));
  op.rdev = static_cast<uint64_t>(num(o, "rdev"));
  return op;
}

Napi::Error makeError(Napi::Env env, int err, const std::string& syscall, const std::string& path) {
  std::string msg = syscall + (path.empty() ? "" : " " + path) + ": " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

}  // namespace

SpawnPlan planFromJs(const Napi::Object& o) {
  Napi::Env env = o.Env();
  SpawnPlan p;
  for (const std::string& ns : strings(o, "namespaces")) {
    if (ns == "cgroup") p.unshareCgroup = true;
    p.cloneFlags |= namespaceFlag(env, ns);
  }
  p.rootfs = str(o, "rootfs");
  Napi::Object rm = field(o, "rootfsMount").As<Napi::Object>();
  p.rootfsSource = str(rm, "source");
  p.rootfsFstype = str(rm, "fstype");
  p.rootfsData = str(rm, "data");
  p.rootfsFlags = static_cast<unsigned long>(num(rm, "flags"));
  Napi::Array mounts = arr(o, "mounts");
  for (uint32_t i = 0; i < mounts.Length(); i++) p.mounts.push_back(mountOpFromJs(mounts.Get(i).As<Napi::Object>()));
  p.hostname = str(o, "hostname");
  p.cgroupDirs = strings(o, "cgroupDirs");
  Napi::Array writes = arr(o, "cgroupWrites");
  for (uint32_t i = 0; i < writes.Length(); i++) {
    Napi::Array w = writes.Get(i).As<Napi::Array>();
    p.cgroupWrites.emplace_back(w.Get(0u).As<Napi::String>().Utf8Value(), w.Get(1u).As<Napi::String>().Utf8Value());
  }
  p.cgroupProcs = strings(o, "cgroupProcs");
  p.loopbackUp = flag(o, "loopbackUp");
  p.execCandidates = strings(o, "execCandidates");
  p.argv = strings(o, "argv");
  p.env = strings(o, "env");
  p.cwd = str(o, "cwd");
  p.uid = static_cast<uid_t>(num(o, "uid"));
  p.gid = static_cast<gid_t>(num(o, "gid"));
  Napi::Array groups = arr(o, "groups");
  for (uint32_t i = 0; i < groups.Length(); i++) p.groups.push_back(groups.Get(i).As<Napi::Number>().Uint32Value());
  Napi::Array drop = arr(o, "capsDrop");
  for (uint32_t i = 0; i < drop.Length(); i++) p.capsDrop.push_back(drop.Get(i).As<Napi::Number>().Int32Value());
  Napi::Array keep = arr(o, "capsKeep");
  p.capsKeep[0] = keep.Get(0u).As<Napi::Number>().Uint32Value();
  p.capsKeep[1] = keep.Get(1u).As<Napi::Number>().Uint32Value();
  p.noNewPrivileges = flag(o, "noNewPrivileges");
  Napi::Array stdio = arr(o, "stdio");
  for (uint32_t i = 0; i < 3; i++) p.stdio[i] = stdio.Get(i).As<Napi::Number>().Int32Value();
  p.tty = flag(o, "tty");
  Napi::Array size = arr(o, "ttySize");
  p.ttyRows = static_cast<unsigned short>(size.Get(0u).As<Napi::Number>().Uint32Value());
  p.ttyCols = static_cast<unsigned short>(size.Get(1u).As<Napi::Number>().Uint32Value());
  p.parentDeathSignal = static_cast<int>(num(o, "parentDeathSignal"));
  if (p.argv.empty() || p.execCandidates.empty()) throw Napi::TypeError::New(env, "spawn plan: empty argv");
  return p;
}

Napi::Error sysErrorToJs(Napi::Env env, const SysError& e) { return makeError(env, e.err, e.syscall, e.path); }

Napi::Error childErrorToJs(Napi::Env env, const ChildError& e) {
  Napi::Error err = makeError(env, e.failure.err, e.failure.step, e.path);
  err.Set("step", Napi::String::New(env, e.failure.step));
  err.Set("index", Napi::Number::New(env, e.failure.index));
  return err;
}

}  // namespace berth
