#pragma once
#include <time.h>

#include <cstddef>
#include <string>

namespace berth::shim {

// Appends s as a JSON string literal: quotes and backslashes escaped, control characters as \n,
// \r, \t or \u00XX, and every byte that is not part of valid UTF-8 replaced by U+FFFD (as Go's
// encoding/json does, so logs read the same as docker's).
void appendJsonString(std::string& out, const char* s, size_t n);
inline void appendJsonString(std::string& out, const std::string& s) { appendJsonString(out, s.data(), s.size()); }

// Length of the UTF-8 sequence at p: > 0 valid, 0 invalid, -1 a valid but unfinished prefix.
int utf8Sequence(const unsigned char* p, size_t avail);

// "2026-11-27T21:23:50.123Z", like JavaScript's Date.toISOString().
std::string isoMillis(const struct timespec& t);
// "2026-11-27T21:23:50.123456789Z", docker's json-file time (RFC 3339, nanoseconds, fixed width).
void rfc3339Nano(const struct timespec& t, char out[40]);
struct timespec realtimeNow();

}  // namespace berth::shim
