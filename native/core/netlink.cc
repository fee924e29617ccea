#include "core/netlink.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/errors.h"
#include "core/unique_fd.h"

namespace berth {
namespace netlink {
namespace {

// throwSys lives in spawn.cc; this file also links into berth-native-tests without it.
[[noreturn]] void sysFail(int err, const char* what, const std::string& name) { throw SysError{err, what, name}; }

// A message under construction: nlmsghdr, the family header, then attributes (each padded to 4
// bytes; a nest's length is fixed up when it ends).
class Msg {
 public:
  Msg(uint16_t type, uint16_t flags, uint32_t seq, const void* header, size_t headerLen) {
    nlmsghdr h{};
    h.nlmsg_type = type;
    h.nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST | NLM_F_ACK);
    h.nlmsg_seq = seq;
    append(&h, sizeof h);
    append(header, headerLen);
  }
  void attr(uint16_t type, const void* data, size_t len) {
    rtattr a{};
    a.rta_type = type;
    a.rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    append(&a, sizeof a);
    append(data, len);
  }
  void str(uint16_t type, const std::string& s) { attr(type, s.c_str(), s.size() + 1); }
  void u32(uint16_t type, uint32_t v) { attr(type, &v, sizeof v); }
  void u8(uint16_t type, uint8_t v) { attr(type, &v, sizeof v); }
  size_t begin(uint16_t type) {
    size_t at = buf_.size();
    attr(type, nullptr, 0);
    return at;
  }
  void end(size_t at) {
    uint16_t len = static_cast<uint16_t>(buf_.size() - at);
    memcpy(buf_.data() + at, &len, sizeof len);
  }
  // Raw bytes inside a nest (VETH_INFO_PEER carries an ifinfomsg before its attributes).
  void raw(const void* data, size_t len) { append(data, len); }
  Bytes done() {
    uint32_t len = static_cast<uint32_t>(buf_.size());
    memcpy(buf_.data(), &len, sizeof len);
    return std::move(buf_);
  }

 private:
  void append(const void* data, size_t len) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    if (len) buf_.insert(buf_.end(), p, p + len);
    buf_.resize((buf_.size() + 3) & ~size_t{3}, 0);
  }
  Bytes buf_;
};

ifinfomsg linkHeader(int index = 0, unsigned flags = 0, unsigned change = 0, uint8_t family = AF_UNSPEC) {
  ifinfomsg i{};
  i.ifi_family = family;
  i.ifi_index = index;
  i.ifi_flags = flags;
  i.ifi_change = change;
  return i;
}

// A NETLINK_ROUTE socket of the calling thread's network namespace.
UniqueFd openSocket() {
  UniqueFd s(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!s.valid()) sysFail(errno, "socket", "NETLINK_ROUTE");
  return s;
}

// Sends one request and reads up to its reply; returns the ACK's errno (0: done) and, for a
// RTM_GETLINK, the index through *index.
int request(int sock, const Bytes& msg, int* index = nullptr) {
  sockaddr_nl to{};
  to.nl_family = AF_NETLINK;
  ssize_t n;
  do n = sendto(sock, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  while (n < 0 && errno == EINTR);
  if (n < 0) sysFail(errno, "sendto", "NETLINK_ROUTE");
  uint32_t seq;
  memcpy(&seq, msg.data() + offsetof(nlmsghdr, nlmsg_seq), sizeof seq);
  alignas(nlmsghdr) uint8_t buf[8192];
  for (;;) {
    do n = recv(sock, buf, sizeof buf, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) sysFail(errno, "recv", "NETLINK_ROUTE");
    if (index) {
      int i = replyIndex(buf, static_cast<size_t>(n), seq);
      if (i > 0) *index = i;
    }
    int err = ackError(buf, static_cast<size_t>(n), seq);
    if (err >= 0) return err;
  }
}

void must(int sock, const Bytes& msg, const char* what, const std::string& name, bool existOk = false) {
  int err = request(sock, msg);
  if (err && !(existOk && err == EEXIST)) sysFail(err, what, name);
}

int indexOf(const std::string& name) {
  unsigned i = if_nametoindex(name.c_str());
  if (i == 0) sysFail(errno, "if_nametoindex", name);
  return static_cast<int>(i);
}

std::atomic<uint32_t> nextSeq{1};
uint32_t seqNo() { return nextSeq++; }

// The container end's address, link up and default route, from a thread that joined its namespace
// (setns moves only the calling thread; Node's threads stay where they are).
SysError setupInside(int nsfd, const VethSpec& s) {
  try {
    if (setns(nsfd, CLONE_NEWNET) < 0) return SysError{errno, "setns", s.netns};
    UniqueFd sock = openSocket();
    int idx = indexOf(s.ifname);
    must(sock.get(), encodeNewAddr(seqNo(), idx, parseIPv4(s.address), s.prefix), "add address", s.ifname, true);
    must(sock.get(), encodeSetUp(seqNo(), idx), "set link up", s.ifname);
    if (!s.gateway.empty())
      must(sock.get(), encodeDefaultRoute(seqNo(), idx, parseIPv4(s.gateway)), "add default route", s.ifname, true);
    return SysError{0, "", ""};
  } catch (const SysError& e) {
    return e;
  }
}

}  // namespace

Bytes encodeNewBridge(uint32_t seq, const std::string& name, uint32_t mtu) {
  ifinfomsg h = linkHeader();
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq, &h, sizeof h);
  m.str(IFLA_IFNAME, name);
  if (mtu) m.u32(IFLA_MTU, mtu);
  size_t info = m.begin(IFLA_LINKINFO);
  m.str(IFLA_INFO_KIND, "bridge");
  m.end(info);
  return m.done();
}

Bytes encodeNewVeth(uint32_t seq, const std::string& hostName, int masterIndex, uint32_t mtu,
                    const std::string& peerName, int peerNetnsFd, const Bytes& peerMac) {
  ifinfomsg h = linkHeader();
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, seq, &h, sizeof h);
  m.str(IFLA_IFNAME, hostName);
  if (mtu) m.u32(IFLA_MTU, mtu);
  if (masterIndex) m.u32(IFLA_MASTER, static_cast<uint32_t>(masterIndex));
  size_t info = m.begin(IFLA_LINKINFO);
  m.str(IFLA_INFO_KIND, "veth");
  size_t data = m.begin(IFLA_INFO_DATA);
  size_t peer = m.begin(VETH_INFO_PEER);
  ifinfomsg ph = linkHeader();
  m.raw(&ph, sizeof ph);
  m.str(IFLA_IFNAME, peerName);
  if (mtu) m.u32(IFLA_MTU, mtu);
  if (peerNetnsFd >= 0) m.u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peerNetnsFd));
  if (!peerMac.empty()) m.attr(IFLA_ADDRESS, peerMac.data(), peerMac.size());
  m.end(peer);
  m.end(data);
  m.end(info);
  return m.done();
}

Bytes encodeSetUp(uint32_t seq, int ifindex) {
  ifinfomsg h = linkHeader(ifindex, IFF_UP, IFF_UP);
  Msg m(RTM_NEWLINK, 0, seq, &h, sizeof h);
  return m.done();
}

Bytes encodeHairpin(uint32_t seq, int ifindex) {
  ifinfomsg h = linkHeader(ifindex, 0, 0, AF_BRIDGE);
  Msg m(RTM_SETLINK, 0, seq, &h, sizeof h);
  size_t p = m.begin(IFLA_PROTINFO | NLA_F_NESTED);
  m.u8(IFLA_BRPORT_MODE, 1);
  m.end(p);
  return m.done();
}

Bytes encodeNewAddr(uint32_t seq, int ifindex, uint32_t addr, uint8_t prefix) {
  ifaddrmsg h{};
  h.ifa_family = AF_INET;
  h.ifa_prefixlen = prefix;
  h.ifa_scope = RT_SCOPE_UNIVERSE;
  h.ifa_index = static_cast<uint32_t>(ifindex);
  Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, seq, &h, sizeof h);
  m.attr(IFA_LOCAL, &addr, sizeof addr);
  m.attr(IFA_ADDRESS, &addr, sizeof addr);
  if (prefix < 31) {
    uint32_t mask = prefix == 0 ? 0 : htonl(~uint32_t{0} << (32 - prefix));
    uint32_t brd = addr | ~mask;
    m.attr(IFA_BROADCAST, &brd, sizeof brd);
  }
  return m.done();
}

Bytes encodeDefaultRoute(uint32_t seq, int ifindex, uint32_t gateway) {
  rtmsg h{};
  h.rtm_family = AF_INET;
  h.rtm_table = RT_TABLE_MAIN;
  h.rtm_protocol = RTPROT_BOOT;
  h.rtm_scope = RT_SCOPE_UNIVERSE;
  h.rtm_type = RTN_UNICAST;
  Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, seq, &h, sizeof h);
  m.attr(RTA_GATEWAY, &gateway, sizeof gateway);
  m.u32(RTA_OIF, static_cast<uint32_t>(ifindex));
  return m.done();
}

Bytes encodeDelLink(uint32_t seq, const std::string& name) {
  ifinfomsg h = linkHeader();
  Msg m(RTM_DELLINK, 0, seq, &h, sizeof h);
  m.str(IFLA_IFNAME, name);
  return m.done();
}

Bytes encodeGetLink(uint32_t seq, const std::string& name) {
  ifinfomsg h = linkHeader();
  Msg m(RTM_GETLINK, 0, seq, &h, sizeof h);
  m.str(IFLA_IFNAME, name);
  return m.done();
}

int ackError(const uint8_t* buf, size_t len, uint32_t seq) {
  for (size_t off = 0; off + sizeof(nlmsghdr) <= len;) {
    nlmsghdr h;
    memcpy(&h, buf + off, sizeof h);
    if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > len) return -1;
    if (h.nlmsg_seq == seq && h.nlmsg_type == NLMSG_ERROR && h.nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr))) {
      nlmsgerr e;
      memcpy(&e, buf + off + NLMSG_HDRLEN, sizeof e);
      return -e.error;
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return -1;
}

int replyIndex(const uint8_t* buf, size_t len, uint32_t seq) {
  for (size_t off = 0; off + sizeof(nlmsghdr) <= len;) {
    nlmsghdr h;
    memcpy(&h, buf + off, sizeof h);
    if (h.nlmsg_len < sizeof h || off + h.nlmsg_len > len) return 0;
    if (h.nlmsg_seq == seq && h.nlmsg_type == RTM_NEWLINK && h.nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg))) {
      ifinfomsg i;
      memcpy(&i, buf + off + NLMSG_HDRLEN, sizeof i);
      return i.ifi_index;
    }
    off += NLMSG_ALIGN(h.nlmsg_len);
  }
  return 0;
}

Bytes parseMac(const std::string& mac) {
  if (mac.empty()) return {};
  unsigned v[6];
  char tail;
  if (mac.size() != 17 ||
      sscanf(mac.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &tail) != 6)
    sysFail(EINVAL, "parse MAC address", mac);
  Bytes out;
  for (unsigned b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

uint32_t parseIPv4(const std::string& ip) {
  in_addr a;
  if (inet_pton(AF_INET, ip.c_str(), &a) != 1) sysFail(EINVAL, "parse IPv4 address", ip);
  return a.s_addr;
}

void ensureBridge(const BridgeSpec& s) {
  UniqueFd sock = openSocket();
  if (if_nametoindex(s.name.c_str()) == 0)
    must(sock.get(), encodeNewBridge(seqNo(), s.name, s.mtu), "create bridge", s.name, true);
  int idx = indexOf(s.name);
  if (!s.address.empty())
    must(sock.get(), encodeNewAddr(seqNo(), idx, parseIPv4(s.address), s.prefix), "add address", s.name, true);
  must(sock.get(), encodeSetUp(seqNo(), idx), "set link up", s.name);
}

void attachVeth(const VethSpec& s) {
  Bytes mac = parseMac(s.mac);
  UniqueFd sock = openSocket();
  int master = indexOf(s.bridge);
  UniqueFd ns(open(s.netns.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.valid()) sysFail(errno, "open network namespace", s.netns);
  must(sock.get(), encodeNewVeth(seqNo(), s.hostName, master, s.mtu, s.ifname, ns.get(), mac), "create veth",
       s.hostName);
  try {
    int host = indexOf(s.hostName);
    if (s.hairpin) must(sock.get(), encodeHairpin(seqNo(), host), "set hairpin mode", s.hostName);
    must(sock.get(), encodeSetUp(seqNo(), host), "set link up", s.hostName);
    SysError inside{0, "", ""};
    std::thread t([&] { inside = setupInside(ns.get(), s); });
    t.join();
    if (inside.err) throw inside;
  } catch (...) {
    request(sock.get(), encodeDelLink(seqNo(), s.hostName));
    throw;
  }
}

bool deleteLink(const std::string& name) {
  UniqueFd sock = openSocket();
  int err = request(sock.get(), encodeDelLink(seqNo(), name));
  if (err == ENODEV) return false;
  if (err) sysFail(err, "delete link", name);
  return true;
}

}  // namespace netlink
}  // namespace berth
