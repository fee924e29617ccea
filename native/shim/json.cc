#include "shim/json.h"

namespace berth::shim {

int utf8Sequence(const unsigned char* p, size_t avail) {
  unsigned char c = p[0];
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  for (int i = 1; i < len; i++) {
    if (static_cast<size_t>(i) >= avail) return -1;
    unsigned char b = p[i];
    if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return len;
}

void appendJsonString(std::string& out, const char* s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  out += '"';
  size_t i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c >= 0x80) {
      int len = utf8Sequence(p + i, n - i);
      if (len > 0) {
        out.append(s + i, static_cast<size_t>(len));
        i += static_cast<size_t>(len);
      } else {
        out += "\xEF\xBF\xBD";
        i++;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          out.append(esc, sizeof esc);
        } else {
          out += static_cast<char>(c);
        }
    }
    i++;
  }
  out += '"';
}

struct timespec realtimeNow() {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

namespace {

// "YYYY-MM-DDTHH:MM:SS." then `digits` digits of the fraction and "Z"; returns the length.
size_t formatTime(const struct timespec& t, int digits, char* out) {
  struct tm tm;
  gmtime_r(&t.tv_sec, &tm);
  auto put = [&out](long v, int width) {
    for (int i = width - 1; i >= 0; i--, v /= 10) out[i] = static_cast<char>('0' + v % 10);
    out += width;
  };
  char* start = out;
  put(tm.tm_year + 1900, 4);
  *out++ = '-';
  put(tm.tm_mon + 1, 2);
  *out++ = '-';
  put(tm.tm_mday, 2);
  *out++ = 'T';
  put(tm.tm_hour, 2);
  *out++ = ':';
  put(tm.tm_min, 2);
  *out++ = ':';
  put(tm.tm_sec, 2);
  *out++ = '.';
  long frac = t.tv_nsec;
  for (int i = digits; i < 9; i++) frac /= 10;
  put(frac, digits);
  *out++ = 'Z';
  *out = '\0';
  return static_cast<size_t>(out - start);
}

}  // namespace

std::string isoMillis(const struct timespec& t) {
  char buf[40];
  return std::string(buf, formatTime(t, 3, buf));
}

void rfc3339Nano(const struct timespec& t, char out[40]) { formatTime(t, 9, out); }

}  // namespace berth::shim
