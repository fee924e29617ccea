// Node-API surface of berth. Only conversion and error translation live here; the work is in core/.
#include <fcntl.h>
#include <napi.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>

#include "addon/convert.h"
#include "addon/exit_watch.h"
#include "addon/netlink_bindings.h"
#include "addon/remove_tree.h"
#include "addon/xattrs.h"
#include "core/enter.h"
#include "core/netns.h"
#include "core/plan_codec.h"
#include "core/sealed_exe.h"
#include "core/spawn.h"

namespace berth {
namespace {

SpawnPlan planFromBuffer(const Napi::CallbackInfo& info) {
  Napi::Buffer<uint8_t> buf = info[0].As<Napi::Buffer<uint8_t>>();
  try {
    return decodePlan(buf.Data(), buf.Length());
  } catch (const PlanFormatError& e) {
    throw Napi::TypeError::New(info.Env(), "spawn plan: malformed field " + e.field);
  }
}

Napi::Object startedToJs(Napi::Env env, pid_t pid, int pidfd, int ptyMaster) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("pidfd", Napi::Number::New(env, pidfd));
  out.Set("ptyMaster", Napi::Number::New(env, ptyMaster));
  return out;
}

// spawn(plan): {pid, pidfd, ptyMaster} once the container's command has exec'd.
Napi::Value Spawn(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SpawnPlan plan = planFromBuffer(info);
  try {
    Napi::Buffer<uint8_t> encoded = info[0].As<Napi::Buffer<uint8_t>>();
    // exec, the OCI create, and a start that joins another container's PID or IPC namespace go
    // through berth-nsenter (core/enter.h): nothing a container sees may share our memory
    bool viaHelper = plan.joinPid || !plan.execFifoPath.empty() || startsThroughHelper(plan);
    Spawned s = viaHelper ? spawnInside(plan, encoded.Data(), encoded.Length()) : spawn(plan);
    return startedToJs(env, s.pid, s.pidfd, s.ptyMaster);
  } catch (const SysError& e) {
    throw sysErrorToJs(env, e);
  } catch (const ChildError& e) {
    throw childErrorToJs(env, e);
  }
}

Napi::Value PidfdSignal(const Napi::CallbackInfo& info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0)
    throw sysErrorToJs(info.Env(), SysError{errno, "pidfd_send_signal", ""});
  return info.Env().Undefined();
}

Napi::Value Pipe(const Napi::CallbackInfo& info) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) < 0) throw sysErrorToJs(info.Env(), SysError{errno, "pipe2", ""});
  Napi::Array out = Napi::Array::New(info.Env(), 2);
  out.Set(0u, Napi::Number::New(info.Env(), fds[0]));
  out.Set(1u, Napi::Number::New(info.Env(), fds[1]));
  return out;
}

Napi::Value SetWinsize(const Napi::CallbackInfo& info) {
  struct winsize ws = {};
  ws.ws_row = static_cast<unsigned short>(info[1].As<Napi::Number>().Uint32Value());
  ws.ws_col = static_cast<unsigned short>(info[2].As<Napi::Number>().Uint32Value());
  if (ioctl(info[0].As<Napi::Number>().Int32Value(), TIOCSWINSZ, &ws) < 0)
    throw sysErrorToJs(info.Env(), SysError{errno, "ioctl TIOCSWINSZ", ""});
  return info.Env().Undefined();
}

Napi::Value Flock(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  int op = info[1].As<Napi::Boolean>().Value() ? LOCK_EX : LOCK_SH;
  if (!info[2].As<Napi::Boolean>().Value()) op |= LOCK_NB;
  int r;
  do r = flock(fd, op);
  while (r < 0 && errno == EINTR);
  if (r < 0) throw sysErrorToJs(info.Env(), SysError{errno, "flock", ""});
  return info.Env().Undefined();
}

// createNetns(path) / removeNetns(path): a network namespace pinned at path (see core/netns.h).
template <void (*Fn)(const std::string&)>
Napi::Value OnPath(const Napi::CallbackInfo& info) {
  try {
    Fn(info[0].As<Napi::String>().Utf8Value());
  } catch (const SysError& e) {
    throw sysErrorToJs(info.Env(), e);
  }
  return info.Env().Undefined();
}

// getXattr(path, name): the value (as a string) of an extended attribute of path itself (never
// followed if a symlink), or undefined when it has none.
Napi::Value GetXattr(const Napi::CallbackInfo& info) {
  std::string p = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  char buf[256];
  ssize_t n = lgetxattr(p.c_str(), name.c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA || errno == ENOTSUP) return info.Env().Undefined();
    throw sysErrorToJs(info.Env(), SysError{errno, "lgetxattr", p});
  }
  return Napi::String::New(info.Env(), buf, static_cast<size_t>(n));
}

// Starts a program in its own session with stdio on /dev/null and does not wait for it: the CLI
// hands slow cleanup (deleting a write layer) to it and exits. posix_spawn is vfork-based in glibc,
// so this costs microseconds, not a copy of Node's page tables.
Napi::Value SpawnDetached(const Napi::CallbackInfo& info) {
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<std::string> args;
  for (uint32_t i = 0; i < a.Length(); i++) args.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  if (args.empty()) throw Napi::TypeError::New(info.Env(), "spawnDetached: empty argv");
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  char* envp[] = {nullptr};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  for (int fd = 0; fd < 3; fd++)
    posix_spawn_file_actions_addopen(&fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  int r = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (r != 0) throw sysErrorToJs(info.Env(), SysError{r, "posix_spawn", args[0]});
  return Napi::Number::New(info.Env(), pid);
}

Napi::Value SealedExecutable(const Napi::CallbackInfo& info) {
  try {
    return Napi::Number::New(info.Env(), sealedExecutable(info[0].As<Napi::String>().Utf8Value()));
  } catch (const SysError& e) {
    throw sysErrorToJs(info.Env(), e);
  }
}

}  // namespace
}  // namespace berth

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace berth;
  exports.Set("spawn", Napi::Function::New(env, Spawn));
  exports.Set("watchExit", Napi::Function::New(env, WatchExit));
  exports.Set("unwatchExit", Napi::Function::New(env, UnwatchExit));
  exports.Set("pidfdSignal", Napi::Function::New(env, PidfdSignal));
  exports.Set("pipe", Napi::Function::New(env, Pipe));
  exports.Set("setWinsize", Napi::Function::New(env, SetWinsize));
  exports.Set("flock", Napi::Function::New(env, Flock));
  exports.Set("spawnDetached", Napi::Function::New(env, SpawnDetached));
  exports.Set("removeTree", Napi::Function::New(env, RemoveTree));
  exports.Set("sealedExecutable", Napi::Function::New(env, SealedExecutable));
  exports.Set("createNetns", Napi::Function::New(env, OnPath<createNetns>));
  exports.Set("getXattr", Napi::Function::New(env, GetXattr));
  exports.Set("listXattrs", Napi::Function::New(env, ListXattrs));
  exports.Set("setXattr", Napi::Function::New(env, SetXattr));
  exports.Set("removeNetns", Napi::Function::New(env, OnPath<removeNetns>));
  registerNetlink(env, exports);
  return exports;
}

NODE_API_MODULE(berth, Init)
