// Deleting a container's write layer off the event loop, in one piece: fs.promises.rm would run a
// JavaScript callback per file on the main thread, competing with the next container's start.
// nftw with FTW_PHYS never follows a symlink and FTW_MOUNT never crosses into a mount, so nothing
// outside the tree can be deleted even if something is mounted or linked inside it.
#include "addon/remove_tree.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "core/io.h"

namespace berth {
namespace {

class RemoveTreeWorker : public Napi::AsyncWorker {
 public:
  RemoveTreeWorker(Napi::Env env, std::string path)
      : Napi::AsyncWorker(env), path_(std::move(path)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override { err_ = removeTree(path_.c_str(), false); }
  void OnOK() override {
    Napi::Env env = Env();
    if (err_ == 0) {
      deferred_.Resolve(env.Undefined());
      return;
    }
    Napi::Error e = Napi::Error::New(env, "remove " + path_ + ": " + strerror(err_));
    e.Set("errno", Napi::Number::New(env, err_));
    e.Set("syscall", Napi::String::New(env, "remove"));
    e.Set("path", Napi::String::New(env, path_));
    deferred_.Reject(e.Value());
  }

 private:
  std::string path_;
  Napi::Promise::Deferred deferred_;
  int err_ = 0;
};

}  // namespace

Napi::Value RemoveTree(const Napi::CallbackInfo& info) {
  auto* w = new RemoveTreeWorker(info.Env(), info[0].As<Napi::String>().Utf8Value());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

}  // namespace berth
