#pragma once
#include <napi.h>

namespace berth {

// nlEnsureBridge, nlAttachVeth, nlDeleteLink (core/netlink.h) on the addon's exports.
void registerNetlink(Napi::Env env, Napi::Object exports);

}  // namespace berth
