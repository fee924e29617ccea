// The native bridge driver's netlink calls (core/netlink.h) for src/network/native-bridge.ts:
// plain objects of strings and numbers in, nothing (or whether a link was there) out; a failure is
// a Node-style error with the kernel's errno.
#include "addon/netlink_bindings.h"

#include "addon/convert.h"
#include "core/netlink.h"

namespace berth {
namespace {

std::string str(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

uint32_t num(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : 0;
}

// nlEnsureBridge({ name, address?, prefix?, mtu? })
Napi::Value EnsureBridge(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  netlink::BridgeSpec s;
  s.name = str(o, "name");
  s.address = str(o, "address");
  s.prefix = static_cast<uint8_t>(num(o, "prefix"));
  s.mtu = num(o, "mtu");
  try {
    netlink::ensureBridge(s);
  } catch (const SysError& e) {
    throw sysErrorToJs(info.Env(), e);
  }
  return info.Env().Undefined();
}

// nlAttachVeth({ bridge, hostName, netns, ifname, mac?, mtu?, address, prefix, gateway?, hairpin? })
Napi::Value AttachVeth(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  netlink::VethSpec s;
  s.bridge = str(o, "bridge");
  s.hostName = str(o, "hostName");
  s.netns = str(o, "netns");
  s.ifname = str(o, "ifname");
  s.mac = str(o, "mac");
  s.mtu = num(o, "mtu");
  s.address = str(o, "address");
  s.prefix = static_cast<uint8_t>(num(o, "prefix"));
  s.gateway = str(o, "gateway");
  Napi::Value h = o.Get("hairpin");
  s.hairpin = !h.IsBoolean() || h.As<Napi::Boolean>().Value();
  try {
    netlink::attachVeth(s);
  } catch (const SysError& e) {
    throw sysErrorToJs(info.Env(), e);
  }
  return info.Env().Undefined();
}

// nlDeleteLink(name): true if it was there.
Napi::Value DeleteLink(const Napi::CallbackInfo& info) {
  try {
    return Napi::Boolean::New(info.Env(), netlink::deleteLink(info[0].As<Napi::String>().Utf8Value()));
  } catch (const SysError& e) {
    throw sysErrorToJs(info.Env(), e);
  }
}

}  // namespace

void registerNetlink(Napi::Env env, Napi::Object exports) {
  exports.Set("nlEnsureBridge", Napi::Function::New(env, EnsureBridge));
  exports.Set("nlAttachVeth", Napi::Function::New(env, AttachVeth));
  exports.Set("nlDeleteLink", Napi::Function::New(env, DeleteLink));
}

}  // namespace berth
