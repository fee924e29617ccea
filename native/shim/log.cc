#include "shim/log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/io.h"
#include "shim/json.h"

namespace berth::shim {

int JsonLog::open() {
  if (path_.empty()) return 0;
  fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640));
  if (!fd_.valid()) return errno;
  struct stat st;
  size_ = fstat(fd_.get(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return 0;
}

void JsonLog::rotate() {
  if (maxFiles_ > 1) {
    // Oldest first: each rename replaces the file it lands on, so log.<maxFiles-1> is dropped.
    for (unsigned i = maxFiles_ - 1; i >= 1; i--) {
      std::string from = i == 1 ? path_ : path_ + "." + std::to_string(i - 1);
      std::string to = path_ + "." + std::to_string(i);
      rename(from.c_str(), to.c_str());
    }
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0640));
  } else if (fd_.valid()) {
    ftruncate(fd_.get(), 0);
  }
  size_ = 0;
}

void JsonLog::append(const char* stream, const char* data, size_t n, const struct timespec& when) {
  if (!fd_.valid()) return;
  char time[40];
  rfc3339Nano(when, time);
  entry_.clear();
  entry_ += "{\"log\":";
  appendJsonString(entry_, data, n);
  entry_ += ",\"stream\":\"";
  entry_ += stream;
  entry_ += "\",\"time\":\"";
  entry_ += time;
  entry_ += "\"}\n";
  if (maxSize_ > 0 && size_ > 0 && size_ + entry_.size() > maxSize_) rotate();
  if (!fd_.valid() && open() != 0) return;
  if (berth::writeAll(fd_.get(), entry_.data(), entry_.size())) size_ += entry_.size();
  // A long line may leave a large buffer behind; the shim should stay small.
  if (entry_.capacity() > 64 * 1024) std::string().swap(entry_);
}

void LogStream::feed(JsonLog& log, const char* data, size_t n) {
  struct timespec now = realtimeNow();
  size_t start = 0;
  while (start < n) {
    const char* nl = static_cast<const char*>(memchr(data + start, '\n', n - start));
    size_t lineEnd = nl ? static_cast<size_t>(nl - data) + 1 : n;
    if (pending_.empty() && nl && lineEnd - start <= kMaxLine) {
      log.append(name_, data + start, lineEnd - start, now);  // the common case: no copy
      start = lineEnd;
      continue;
    }
    size_t part = lineEnd - start;
    if (part > kMaxLine - pending_.size()) part = kMaxLine - pending_.size();
    pending_.append(data + start, part);
    start += part;
    if (nl && start == lineEnd) {
      log.append(name_, pending_.data(), pending_.size(), now);
      pending_.clear();
    } else if (pending_.size() >= kMaxLine) {
      size_t cut = pending_.size();
      // Keep an unfinished UTF-8 sequence at the end for the next entry.
      for (size_t k = 1; k <= 3 && k <= cut; k++) {
        auto b = static_cast<unsigned char>(pending_[cut - k]);
        if ((b & 0xC0) == 0x80) continue;
        if (utf8Sequence(reinterpret_cast<const unsigned char*>(pending_.data()) + cut - k, k) == -1) cut -= k;
        break;
      }
      log.append(name_, pending_.data(), cut, now);
      pending_.erase(0, cut);
    }
  }
}

void LogStream::flush(JsonLog& log) {
  if (pending_.empty()) return;
  log.append(name_, pending_.data(), pending_.size(), realtimeNow());
  pending_.clear();
  pending_.shrink_to_fit();
}

void LogStream::pump(JsonLog& log, bool untilEof) {
  static char buf[16 * 1024];
  int idle = 0, reads = 0;
  while (fd >= 0) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!untilEof) return;
      // Every writer is gone once the container is reaped, so EOF is due; but never hang on a
      // descriptor something else still holds open.
      if (++idle > 100) break;
      struct timespec pause = {0, 1000000};
      nanosleep(&pause, nullptr);
      continue;
    }
    if (n <= 0) break;  // EOF, or EIO from a pty master whose slave side closed
    idle = 0;
    if (tap) tap(buf, static_cast<size_t>(n));
    feed(log, buf, static_cast<size_t>(n));
    // Back to poll now and then: a chatty container must not delay reaping.
    if (!untilEof && (static_cast<size_t>(n) < sizeof buf || ++reads >= 16)) return;
  }
  flush(log);
  close();
}

void LogStream::close() {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace berth::shim
