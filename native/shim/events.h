#pragma once
#include <string>

namespace berth::shim {

// Appends one line to the events journal (src/runtime/events-journal.ts): `tmpl` is the line
// TypeScript prepared, whose only `%` are the placeholders %EXIT% (exitCode), %TIME% (seconds) and
// %NANO% (nanoseconds since the epoch). One write(2) with O_APPEND, so that the line lands whole
// beside other writers'; no fsync. Failures are ignored: an event never fails the container.
void appendEvent(const std::string& journal, const std::string& tmpl, int exitCode);

}  // namespace berth::shim
