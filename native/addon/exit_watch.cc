// Exit notification without a thread per container: a pidfd becomes readable when its process
// exits, so a uv_poll on it wakes the event loop, which then reaps with waitid(P_PIDFD).
#include "addon/exit_watch.h"

#include <sys/wait.h>
#include <uv.h>

#include <map>

namespace berth {
namespace {

struct Watch {
  uv_poll_t poll;
  napi_env env;
  Napi::FunctionReference cb;
  int pidfd;
};

std::map<int, Watch*>& watches() {
  static std::map<int, Watch*> m;
  return m;
}

void closeWatch(Watch* w) {
  watches().erase(w->pidfd);
  uv_poll_stop(&w->poll);
  uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
}

void onReadable(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<Watch*>(handle->data);
  siginfo_t info;
  info.si_pid = 0;
  if (waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(w->pidfd), &info, WEXITED | WNOHANG) < 0) {
    info.si_pid = -1;  // already reaped elsewhere: report what we cannot know as signal 0, code -1
  } else if (info.si_pid == 0) {
    return;  // spurious wake-up, still running
  }
  Napi::Env env(w->env);
  Napi::HandleScope scope(env);
  Napi::Object exit = Napi::Object::New(env);
  bool exited = info.si_pid > 0 && info.si_code == CLD_EXITED;
  bool killed = info.si_pid > 0 && (info.si_code == CLD_KILLED || info.si_code == CLD_DUMPED);
  exit.Set("code", Napi::Number::New(env, exited ? info.si_status : -1));
  exit.Set("signal", Napi::Number::New(env, killed ? info.si_status : 0));
  Napi::FunctionReference cb = std::move(w->cb);
  closeWatch(w);
  cb.MakeCallback(env.Global(), {exit});
}

}  // namespace

Napi::Value WatchExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  if (watches().count(pidfd)) throw Napi::Error::New(env, "watchExit: pidfd is already watched");
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto* w = new Watch();
  w->env = env;
  w->cb = Napi::Persistent(info[1].As<Napi::Function>());
  w->pidfd = pidfd;
  w->poll.data = w;
  int r = uv_poll_init(loop, &w->poll, pidfd);
  if (r < 0) {
    delete w;
    throw Napi::Error::New(env, std::string("watchExit: ") + uv_strerror(r));
  }
  uv_poll_start(&w->poll, UV_READABLE, onReadable);
  watches()[pidfd] = w;
  return env.Undefined();
}

Napi::Value UnwatchExit(const Napi::CallbackInfo& info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  auto it = watches().find(pidfd);
  if (it != watches().end()) closeWatch(it->second);
  return info.Env().Undefined();
}

}  // namespace berth
