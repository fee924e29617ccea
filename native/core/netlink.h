#pragma once
// rtnetlink for the native bridge driver (src/network/native-bridge.ts): the bridge, the veth pair
// (its container end created straight in the container's network namespace under its final name),
// addresses, the default route, MAC, MTU and link state. Plain data in; every decision (names,
// addresses, which network gets what) is TypeScript's. The encoders are pure functions of their
// arguments (native/tests/netlink_test.cc checks their bytes); the executors send them on a
// NETLINK_ROUTE socket and throw SysError with the kernel's errno.
#include <cstdint>
#include <string>
#include <vector>

namespace berth {
namespace netlink {

using Bytes = std::vector<uint8_t>;

// The encoders. `seq` is the message's sequence number; every request asks for an ACK.
// IPv4 addresses are in network byte order (as inet_pton writes them).
Bytes encodeNewBridge(uint32_t seq, const std::string& name, uint32_t mtu);
// A veth pair: `hostName` in the socket's namespace (enslaved to masterIndex when non-zero), its peer
// `peerName` created in the namespace of peerNetnsFd, with `peerMac` (6 bytes, or empty: random).
Bytes encodeNewVeth(uint32_t seq, const std::string& hostName, int masterIndex, uint32_t mtu,
                    const std::string& peerName, int peerNetnsFd, const Bytes& peerMac);
Bytes encodeSetUp(uint32_t seq, int ifindex);
Bytes encodeHairpin(uint32_t seq, int ifindex);
Bytes encodeNewAddr(uint32_t seq, int ifindex, uint32_t addr, uint8_t prefix);
Bytes encodeDefaultRoute(uint32_t seq, int ifindex, uint32_t gateway);
Bytes encodeDelLink(uint32_t seq, const std::string& name);
Bytes encodeGetLink(uint32_t seq, const std::string& name);

// The errno of an NLMSG_ERROR reply to seq (0: the ACK), or -1 if the buffer holds no such reply.
int ackError(const uint8_t* buf, size_t len, uint32_t seq);
// The ifindex in an RTM_NEWLINK reply to seq, or 0 if there is none.
int replyIndex(const uint8_t* buf, size_t len, uint32_t seq);

// "aa:bb:cc:dd:ee:ff" as 6 bytes; throws SysError EINVAL otherwise. "" gives no bytes.
Bytes parseMac(const std::string& mac);
// "10.1.2.3" in network byte order; throws SysError EINVAL otherwise.
uint32_t parseIPv4(const std::string& ip);

// The executors.
struct BridgeSpec {
  std::string name;
  std::string address;  // the gateway, or "" (an internal network's bridge has none)
  uint8_t prefix = 0;
  uint32_t mtu = 0;  // 0: the kernel's default
};
// Creates the bridge if missing, adds its address if missing, sets it up. Idempotent.
void ensureBridge(const BridgeSpec& spec);

struct VethSpec {
  std::string bridge;    // the host end's master
  std::string hostName;  // the host end
  std::string netns;     // path of the container's network namespace (a pinned nsfs file or /proc/PID/ns/net)
  std::string ifname;    // the container end's name there (eth0)
  std::string mac;       // the container end's MAC, or "" for a random one
  uint32_t mtu = 0;
  std::string address;  // the container's IPv4 address
  uint8_t prefix = 0;
  std::string gateway;  // the default route's gateway, or "" for none (internal)
  bool hairpin = true;
};
// The veth pair, the container end's address, link up and default route, the host end on the
// bridge (hairpin mode) and up. On failure the pair is deleted again before the error is thrown.
void attachVeth(const VethSpec& spec);

// Deletes a link of the host's namespace by name (a veth takes its peer along). false: none there.
bool deleteLink(const std::string& name);

}  // namespace netlink
}  // namespace berth
