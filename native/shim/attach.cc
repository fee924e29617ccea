#include "shim/attach.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace berth::shim {
namespace {

// Output queued for one client before the container's output is no longer read.
constexpr size_t kMaxQueued = 1 << 20;
// A frame from a client larger than this is garbage: the client is dropped.
constexpr uint32_t kMaxFrame = 1 << 20;

void nonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  fcntl(fd, F_SETFD, FD_CLOEXEC);
}

long long nowMs() {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

}  // namespace

int AttachServer::listen(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return ENAMETOOLONG;
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return errno;
  unlink(path.c_str());  // a socket left by a shim that was killed
  // Only root (the runtime) may connect: the socket is the container's stdin.
  mode_t old = umask(077);
  int rc = bind(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr);
  umask(old);
  if (rc < 0 || ::listen(fd.get(), 16) < 0) return errno;
  listener_ = std::move(fd);
  path_ = path;
  return 0;
}

void AttachServer::adopt(int fd, bool owner) {
  nonBlocking(fd);
  auto c = std::make_unique<Client>();
  c->fd.reset(fd);
  c->owner = owner;
  clients_.push_back(std::move(c));
}

void AttachServer::broadcast(uint8_t type, const char* data, size_t n) {
  char head[5] = {static_cast<char>(type), static_cast<char>((n >> 24) & 0xff), static_cast<char>((n >> 16) & 0xff),
                  static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  for (auto& c : clients_) {
    if (c->dead) continue;
    c->out.append(head, sizeof head);
    c->out.append(data, n);
    writeSome(*c);
  }
}

bool AttachServer::congested() const {
  for (const auto& c : clients_)
    if (!c->dead && c->out.size() - c->outAt > kMaxQueued) return true;
  return false;
}

void AttachServer::pollFds(std::vector<struct pollfd>& fds, bool readInput) const {
  fds.push_back({listener_.get(), static_cast<short>(listener_.valid() ? POLLIN : 0), 0});
  for (const auto& c : clients_) {
    short events = readInput ? POLLIN : 0;
    if (c->out.size() > c->outAt) events |= POLLOUT;
    fds.push_back({c->fd.get(), events, 0});
  }
}

void AttachServer::handle(const std::vector<struct pollfd>& fds, size_t from, const InputHandler& input) {
  size_t count = clients_.size();  // accept() below may add clients that were not polled
  if (fds[from].revents & POLLIN) accept();
  for (size_t i = 0; i < count; i++) {
    const struct pollfd& p = fds[from + 1 + i];
    Client& c = *clients_[i];
    if (p.revents & POLLOUT) writeSome(c);
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) readSome(c, input);
  }
  clients_.erase(std::remove_if(clients_.begin(), clients_.end(), [](const auto& c) { return c->dead; }),
                 clients_.end());
}

void AttachServer::accept() {
  for (;;) {
    int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    adopt(fd);
  }
}

void AttachServer::writeSome(Client& c) {
  while (!c.dead && c.out.size() > c.outAt) {
    ssize_t w = send(c.fd.get(), c.out.data() + c.outAt, c.out.size() - c.outAt, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (w <= 0) {
      c.dead = true;  // the client is gone
      break;
    }
    c.outAt += static_cast<size_t>(w);
  }
  if (c.outAt == c.out.size()) {
    c.out.clear();
    c.outAt = 0;
  } else if (c.outAt > kMaxQueued) {
    c.out.erase(0, c.outAt);
    c.outAt = 0;
  }
}

void AttachServer::readSome(Client& c, const InputHandler& input) {
  char buf[16 * 1024];
  ssize_t n = recv(c.fd.get(), buf, sizeof buf, 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
  if (n <= 0) {
    c.dead = true;  // detached (or gone); the container goes on
    return;
  }
  c.in.append(buf, static_cast<size_t>(n));
  size_t at = 0;
  while (c.in.size() - at >= 5) {
    auto b = reinterpret_cast<const unsigned char*>(c.in.data() + at);
    uint32_t len = (uint32_t{b[1]} << 24) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 8) | b[4];
    if (len > kMaxFrame) {
      c.dead = true;
      return;
    }
    if (c.in.size() - at - 5 < len) break;
    if (b[0] == kFrameClaimExit)
      c.claimsExit = true;
    else
      input(b[0], c.in.substr(at + 5, len), c.owner);
    at += 5 + len;
  }
  c.in.erase(0, at);
}

bool AttachServer::shutdown(int timeoutMs) {
  long long deadline = nowMs() + timeoutMs;
  bool handedOver = false;
  auto ignore = [](uint8_t, const std::string&, bool) {};
  for (auto& c : clients_) {
    while (!c->dead && c->out.size() > c->outAt) {
      long long left = deadline - nowMs();
      if (left <= 0) break;
      struct pollfd p = {c->fd.get(), POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
      writeSome(*c);
    }
    if (c->dead || c->out.size() > c->outAt) continue;
    // Everything was sent: EOF after it, then read up to the client's own EOF. Closing with input
    // unread would reset the connection, and the client could lose what it had not read yet
    // (the exit); a client's late frames (its claim of the exit command) still count.
    ::shutdown(c->fd.get(), SHUT_WR);
    while (!c->dead) {
      long long left = deadline - nowMs();
      if (left <= 0) break;
      struct pollfd p = {c->fd.get(), POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) break;
      readSome(*c, ignore);
    }
    if (c->claimsExit) handedOver = true;
  }
  clients_.clear();
  listener_.reset();
  if (!path_.empty()) unlink(path_.c_str());
  return handedOver;
}

}  // namespace berth::shim
