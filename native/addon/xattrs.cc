// Extended attributes for image layers: unpack sets what a layer's PAX SCHILY.xattr.* records say,
// commit and export read them back. The l* variants throughout: an archive may plant a symlink at
// any name, and an attribute must land on that name itself, never on what the link points to.
#include "addon/xattrs.h"

#include <sys/xattr.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "addon/convert.h"

namespace berth {
namespace {

// The list and the values can grow between the size query and the read (a running container's
// files): ERANGE asks again with the new size.
std::vector<char> listNames(const std::string& path) {
  for (;;) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0) throw SysError{errno, "llistxattr", path};
    std::vector<char> names(static_cast<size_t>(n));
    if (n == 0) return names;
    ssize_t got = llistxattr(path.c_str(), names.data(), names.size());
    if (got >= 0) {
      names.resize(static_cast<size_t>(got));
      return names;
    }
    if (errno != ERANGE) throw SysError{errno, "llistxattr", path};
  }
}

// False when the attribute vanished meanwhile.
bool readValue(const std::string& path, const char* name, std::vector<char>& value) {
  for (;;) {
    ssize_t n = lgetxattr(path.c_str(), name, nullptr, 0);
    if (n < 0 && errno == ENODATA) return false;
    if (n < 0) throw SysError{errno, "lgetxattr", path};
    value.resize(static_cast<size_t>(n));
    if (n == 0) return true;
    ssize_t got = lgetxattr(path.c_str(), name, value.data(), value.size());
    if (got >= 0) {
      value.resize(static_cast<size_t>(got));
      return true;
    }
    if (errno == ENODATA) return false;
    if (errno != ERANGE) throw SysError{errno, "lgetxattr", path};
  }
}

}  // namespace

Napi::Value ListXattrs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array out = Napi::Array::New(env);
  try {
    std::vector<char> names = listNames(path);
    std::vector<char> value;
    uint32_t i = 0;
    for (size_t off = 0; off < names.size();) {
      const char* name = names.data() + off;
      size_t len = strnlen(name, names.size() - off);
      off += len + 1;
      if (len == 0 || !readValue(path, name, value)) continue;
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, name, len));
      pair.Set(1u, Napi::Buffer<char>::Copy(env, value.data(), value.size()));
      out.Set(i++, pair);
    }
  } catch (const SysError& e) {
    throw sysErrorToJs(env, e);
  }
  return out;
}

Napi::Value SetXattr(const Napi::CallbackInfo& info) {
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0)
    throw sysErrorToJs(info.Env(), SysError{errno, "lsetxattr", path});
  return info.Env().Undefined();
}

}  // namespace berth
