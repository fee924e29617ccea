#include "addon/convert.h"

#include <sched.h>
#include <uv.h>

#include <cstring>

namespace berth {
namespace {

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

Napi::Error sysErrorToJs(Napi::Env env, const SysError& e) { return makeError(env, e.err, e.syscall, e.path); }

Napi::Error childErrorToJs(Napi::Env env, const ChildError& e) {
  Napi::Error err = makeError(env, e.failure.err, stepName(e.failure.step), e.path);
  err.Set("step", Napi::String::New(env, stepName(e.failure.step)));
  err.Set("index", Napi::Number::New(env, e.failure.index));
  return err;
}

}  // namespace berth
