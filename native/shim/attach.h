#pragma once
#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/unique_fd.h"

namespace berth::shim {

// The attach socket (conmon's): every connected client gets the container's output, and what a
// client sends goes to the container's stdin. Frames both ways: 1 byte type, 4 bytes big-endian
// length, payload. Detach keys are the client's business: it just disconnects.
enum : uint8_t {
  // shim -> client
  kFrameStdout = 1,
  kFrameStderr = 2,
  kFrameExit = 3,  // "CODE OOM" (OOM 0 or 1): the final exit, after everything else was done
  // client -> shim
  kFrameStdin = 0,
  kFrameStdinEof = 4,
  kFrameResize = 5,  // "ROWS COLS"
  // "I run the exit command's work myself once I have the exit" (a foreground CLI): when the exit
  // frame reaches such a client, the shim does not run its exit command.
  kFrameClaimExit = 6,
  // "1" or "2": the owner's stdout or stderr is closed (`berth run ... | head`): the container's
  // pipe is closed too, so that its writes fail as they would on the pipe it once had.
  kFrameOutputClosed = 7,
};

class AttachServer {
 public:
  // Frames received from a client: type, payload, and whether it came from the owner (the client
  // adopted at the start: a foreground CLI).
  using InputHandler = std::function<void(uint8_t, const std::string&, bool)>;
  // Binds and listens on path (replacing a stale socket); 0 or the errno.
  int listen(const std::string& path);
  // A client that is connected already (the launcher's end of a socketpair, inherited as a fd).
  void adopt(int fd, bool owner = false);
  // Queues a frame for every client.
  void broadcast(uint8_t type, const char* data, size_t n);
  // Too much output is queued for a slow client: the caller stops reading the container's output
  // until it is written, as a terminal would block the container.
  bool congested() const;
  // Appends this server's descriptors to fds; `readInput` false leaves client input unread.
  void pollFds(std::vector<struct pollfd>& fds, bool readInput) const;
  // Handles fds[from...] as appended by the last pollFds.
  void handle(const std::vector<struct pollfd>& fds, size_t from, const InputHandler& input);
  // Writes what is queued (waiting at most timeoutMs in all), then closes every client and the
  // socket, and unlinks the socket. True when a client that sent kFrameClaimExit got everything.
  bool shutdown(int timeoutMs);

 private:
  struct Client {
    UniqueFd fd;
    std::string out;  // queued frames
    size_t outAt = 0;
    std::string in;  // a partly received frame
    bool dead = false;
    bool claimsExit = false;
    bool owner = false;
  };
  void accept();
  void writeSome(Client& c);
  void readSome(Client& c, const InputHandler& input);
  UniqueFd listener_;
  std::string path_;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace berth::shim
