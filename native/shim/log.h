#pragma once
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "core/unique_fd.h"

namespace berth::shim {

// The container's output in docker's json-file format: one object per line,
// {"log":"text\n","stream":"stdout","time":"2026-11-27T21:23:50.123456789Z"}. Bounded: before an
// entry would take the file past maxSize it is rotated (log -> log.1 -> ... -> log.<maxFiles-1>,
// the oldest dropped; with maxFiles 1 the file is truncated). Write errors (a full disk) drop
// entries rather than stop reading the container's output, which would block the container.
class JsonLog {
 public:
  JsonLog(std::string path, uint64_t maxSize, unsigned maxFiles)
      : path_(std::move(path)), maxSize_(maxSize), maxFiles_(maxFiles) {}
  // 0, or the errno of open(2). An empty path is `--log-driver none`: nothing is written.
  int open();
  void append(const char* stream, const char* data, size_t n, const struct timespec& when);

 private:
  void rotate();
  std::string path_;
  uint64_t maxSize_;
  unsigned maxFiles_;
  UniqueFd fd_;
  uint64_t size_ = 0;
  std::string entry_;
};

// One output stream of the container (stdout, stderr, or the pty): split into lines, each line
// one entry. A line longer than kMaxLine is written as several entries, every one but the last
// without its newline, never cutting a UTF-8 sequence in two; so is an unfinished last line.
class LogStream {
 public:
  static constexpr size_t kMaxLine = 16 * 1024;
  explicit LogStream(const char* name) : name_(name) {}
  void feed(JsonLog& log, const char* data, size_t n);
  // Writes the unfinished line, if any (at EOF).
  void flush(JsonLog& log);
  // Reads what is available from fd (non-blocking) into the log; closes fd at EOF (or EIO: a
  // pty whose other side is gone). `untilEof` keeps reading until then, for the final drain.
  void pump(JsonLog& log, bool untilEof);
  void close();
  int fd = -1;
  // Sees every chunk read, before the log does (the attach clients' copy).
  std::function<void(const char*, size_t)> tap;

 private:
  const char* name_;
  std::string pending_;
};

}  // namespace berth::shim
