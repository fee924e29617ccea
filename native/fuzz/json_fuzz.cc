// libFuzzer target for appendJsonString (native/shim/json.cc), which turns whatever a container
// writes into the JSON of its log lines. For every input the output must be one valid JSON string
// literal in valid UTF-8: quoted, no raw control character, nothing but known escapes.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "shim/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string out;
  berth::shim::appendJsonString(out, reinterpret_cast<const char*>(data), size);
  const auto* p = reinterpret_cast<const unsigned char*>(out.data());
  size_t n = out.size();
  if (n < 2 || p[0] != '"' || p[n - 1] != '"') __builtin_trap();
  for (size_t i = 1; i < n - 1;) {
    unsigned char c = p[i];
    if (c < 0x20) __builtin_trap();
    if (c == '"') __builtin_trap();  // an unescaped quote would end the string early
    if (c == '\\') {
      if (i + 1 >= n - 1) __builtin_trap();
      char e = static_cast<char>(p[i + 1]);
      if (e == 'u') {
        if (i + 6 > n - 1 || memcmp(p + i + 2, "00", 2) != 0) __builtin_trap();
        i += 6;
      } else if (strchr("\"\\nrt", e) && e != '\0') {
        i += 2;
      } else {
        __builtin_trap();
      }
      continue;
    }
    if (c >= 0x80) {
      int len = berth::shim::utf8Sequence(p + i, n - 1 - i);
      if (len <= 0) __builtin_trap();
      i += static_cast<size_t>(len);
      continue;
    }
    i++;
  }
  return 0;
}
