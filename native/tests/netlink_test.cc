// The rtnetlink encoders of the native bridge driver (core/netlink.cc), byte by byte: header
// lengths and flags, 4-byte attribute padding, nests whose lengths cover their contents, the veth
// peer's ifinfomsg inside VETH_INFO_PEER, and the parsing of the kernel's replies.
#include "core/netlink.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>
#include <linux/if_bridge.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>

#include "core/errors.h"
#include "tests/check.h"

namespace berth::test {
namespace {

using netlink::Bytes;

nlmsghdr header(const Bytes& b) {
  nlmsghdr h;
  memcpy(&h, b.data(), sizeof h);
  return h;
}

struct Attr {
  uint16_t type;
  std::string data;  // payload bytes
  size_t at;         // offset of the rtattr
};

// The attributes between [from, to), in order.
std::vector<Attr> attrs(const Bytes& b, size_t from, size_t to) {
  std::vector<Attr> out;
  while (from + sizeof(rtattr) <= to) {
    rtattr a;
    memcpy(&a, b.data() + from, sizeof a);
    if (a.rta_len < sizeof a || from + a.rta_len > to) fail(__FILE__, __LINE__, "attribute overruns its container");
    out.push_back({a.rta_type,
                   std::string(reinterpret_cast<const char*>(b.data() + from + sizeof a), a.rta_len - sizeof a), from});
    from += RTA_ALIGN(a.rta_len);
  }
  CHECK_EQ(from, to);
  return out;
}

std::string u32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

TEST_CASE(netlink_new_bridge_encoding) {
  Bytes b = netlink::encodeNewBridge(7, "br-x", 1500);
  nlmsghdr h = header(b);
  CHECK_EQ(h.nlmsg_len, b.size());
  CHECK_EQ(b.size() % 4, size_t{0});
  CHECK_EQ(h.nlmsg_type, RTM_NEWLINK);
  CHECK_EQ(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  CHECK_EQ(h.nlmsg_seq, 7u);
  auto top = attrs(b, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg)), b.size());
  CHECK_EQ(top.size(), size_t{3});
  CHECK_EQ(top[0].type, IFLA_IFNAME);
  CHECK_EQ(top[0].data, std::string("br-x\0", 5));
  CHECK_EQ(top[1].type, IFLA_MTU);
  CHECK_EQ(top[1].data, u32(1500));
  CHECK_EQ(top[2].type, IFLA_LINKINFO);
  auto info = attrs(b, top[2].at + sizeof(rtattr), top[2].at + sizeof(rtattr) + top[2].data.size());
  CHECK_EQ(info.size(), size_t{1});
  CHECK_EQ(info[0].type, IFLA_INFO_KIND);
  CHECK_EQ(info[0].data, std::string("bridge\0", 7));
}

TEST_CASE(netlink_veth_peer_in_namespace_encoding) {
  Bytes mac = netlink::parseMac("02:42:0a:e7:00:c8");
  Bytes b = netlink::encodeNewVeth(9, "bv0123456789a", 5, 0, "eth0", 42, mac);
  CHECK_EQ(header(b).nlmsg_len, b.size());
  auto top = attrs(b, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg)), b.size());
  CHECK_EQ(top.size(), size_t{3});  // no IFLA_MTU when 0
  CHECK_EQ(top[0].data, std::string("bv0123456789a\0", 14));
  CHECK_EQ(top[1].type, IFLA_MASTER);
  CHECK_EQ(top[1].data, u32(5));
  CHECK_EQ(top[2].type, IFLA_LINKINFO);
  size_t infoAt = top[2].at + sizeof(rtattr);
  auto info = attrs(b, infoAt, infoAt + top[2].data.size());
  CHECK_EQ(info.size(), size_t{2});
  CHECK_EQ(info[0].data, std::string("veth\0", 5));
  CHECK_EQ(info[1].type, IFLA_INFO_DATA);
  size_t dataAt = info[1].at + sizeof(rtattr);
  auto data = attrs(b, dataAt, dataAt + info[1].data.size());
  CHECK_EQ(data.size(), size_t{1});
  CHECK_EQ(data[0].type, VETH_INFO_PEER);
  // the peer: an ifinfomsg, then its own attributes
  size_t peerAt = data[0].at + sizeof(rtattr);
  ifinfomsg ph;
  memcpy(&ph, b.data() + peerAt, sizeof ph);
  CHECK_EQ(ph.ifi_index, 0);
  auto peer = attrs(b, peerAt + NLMSG_ALIGN(sizeof(ifinfomsg)), peerAt + data[0].data.size());
  CHECK_EQ(peer.size(), size_t{3});
  CHECK_EQ(peer[0].type, IFLA_IFNAME);
  CHECK_EQ(peer[0].data, std::string("eth0\0", 5));
  CHECK_EQ(peer[1].type, IFLA_NET_NS_FD);
  CHECK_EQ(peer[1].data, u32(42));
  CHECK_EQ(peer[2].type, IFLA_ADDRESS);
  CHECK_EQ(peer[2].data, std::string("\x02\x42\x0a\xe7\x00\xc8", 6));
}

TEST_CASE(netlink_address_route_up_encoding) {
  uint32_t ip = netlink::parseIPv4("10.231.4.7");
  Bytes a = netlink::encodeNewAddr(3, 12, ip, 24);
  ifaddrmsg ah;
  memcpy(&ah, a.data() + NLMSG_HDRLEN, sizeof ah);
  CHECK_EQ(ah.ifa_family, AF_INET);
  CHECK_EQ(ah.ifa_prefixlen, 24);
  CHECK_EQ(ah.ifa_index, 12u);
  auto at = attrs(a, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifaddrmsg)), a.size());
  CHECK_EQ(at.size(), size_t{3});
  CHECK_EQ(at[0].type, IFA_LOCAL);
  CHECK_EQ(at[0].data, std::string("\x0a\xe7\x04\x07", 4));
  CHECK_EQ(at[1].type, IFA_ADDRESS);
  CHECK_EQ(at[2].type, IFA_BROADCAST);
  CHECK_EQ(at[2].data, std::string("\x0a\xe7\x04\xff", 4));

  Bytes r = netlink::encodeDefaultRoute(4, 12, netlink::parseIPv4("10.231.4.1"));
  CHECK_EQ(header(r).nlmsg_type, RTM_NEWROUTE);
  rtmsg rh;
  memcpy(&rh, r.data() + NLMSG_HDRLEN, sizeof rh);
  CHECK_EQ(rh.rtm_dst_len, 0);
  CHECK_EQ(rh.rtm_table, RT_TABLE_MAIN);
  CHECK_EQ(rh.rtm_type, RTN_UNICAST);
  auto ra = attrs(r, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(rtmsg)), r.size());
  CHECK_EQ(ra.size(), size_t{2});
  CHECK_EQ(ra[0].type, RTA_GATEWAY);
  CHECK_EQ(ra[0].data, std::string("\x0a\xe7\x04\x01", 4));
  CHECK_EQ(ra[1].type, RTA_OIF);
  CHECK_EQ(ra[1].data, u32(12));

  Bytes u = netlink::encodeSetUp(5, 12);
  CHECK_EQ(u.size(), size_t{NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg))});
  ifinfomsg uh;
  memcpy(&uh, u.data() + NLMSG_HDRLEN, sizeof uh);
  CHECK_EQ(uh.ifi_index, 12);
  CHECK_EQ(uh.ifi_flags, unsigned{IFF_UP});
  CHECK_EQ(uh.ifi_change, unsigned{IFF_UP});

  Bytes hp = netlink::encodeHairpin(6, 12);
  ifinfomsg hh;
  memcpy(&hh, hp.data() + NLMSG_HDRLEN, sizeof hh);
  CHECK_EQ(hh.ifi_family, AF_BRIDGE);
  auto pa = attrs(hp, NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(ifinfomsg)), hp.size());
  CHECK_EQ(pa.size(), size_t{1});
  CHECK_EQ(pa[0].type, IFLA_PROTINFO | NLA_F_NESTED);
  size_t protAt = pa[0].at + sizeof(rtattr);
  auto mode = attrs(hp, protAt, protAt + RTA_ALIGN(pa[0].data.size()));
  CHECK_EQ(mode[0].type, IFLA_BRPORT_MODE);
  CHECK_EQ(mode[0].data, std::string("\x01", 1));
}

TEST_CASE(netlink_replies_and_input_parsing) {
  // an NLMSG_ERROR for seq 11 carrying -EEXIST, after an unrelated message
  Bytes buf(NLMSG_LENGTH(sizeof(ifinfomsg)) + NLMSG_LENGTH(sizeof(nlmsgerr)), 0);
  nlmsghdr other{};
  other.nlmsg_len = NLMSG_LENGTH(sizeof(ifinfomsg));
  other.nlmsg_type = RTM_NEWLINK;
  other.nlmsg_seq = 11;
  ifinfomsg li{};
  li.ifi_index = 33;
  memcpy(buf.data(), &other, sizeof other);
  memcpy(buf.data() + NLMSG_HDRLEN, &li, sizeof li);
  nlmsghdr err{};
  err.nlmsg_len = NLMSG_LENGTH(sizeof(nlmsgerr));
  err.nlmsg_type = NLMSG_ERROR;
  err.nlmsg_seq = 11;
  nlmsgerr e{};
  e.error = -EEXIST;
  size_t off = NLMSG_ALIGN(other.nlmsg_len);
  memcpy(buf.data() + off, &err, sizeof err);
  memcpy(buf.data() + off + NLMSG_HDRLEN, &e, sizeof e);
  CHECK_EQ(netlink::ackError(buf.data(), buf.size(), 11), EEXIST);
  CHECK_EQ(netlink::ackError(buf.data(), buf.size(), 12), -1);
  CHECK_EQ(netlink::replyIndex(buf.data(), buf.size(), 11), 33);
  CHECK_EQ(netlink::ackError(buf.data(), 5, 11), -1);  // truncated: no reply

  Bytes d = netlink::encodeDelLink(2, "bvx");
  CHECK_EQ(header(d).nlmsg_type, RTM_DELLINK);
  CHECK_EQ(header(d).nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  CHECK_THROWS(SysError, netlink::parseMac("02:42:0a:e7:00"), CHECK_EQ(e.err, EINVAL));
  CHECK_THROWS(SysError, netlink::parseMac("02:42:0a:e7:00:c8:ff"), CHECK_EQ(e.err, EINVAL));
  CHECK_THROWS(SysError, netlink::parseIPv4("10.1.2"), CHECK_EQ(e.err, EINVAL));
  CHECK(netlink::parseMac("").empty());
}

}  // namespace
}  // namespace berth::test
