#pragma once
// A tiny test harness for the native unit tests (berth-native-tests): no external framework, so the
// tests build everywhere the addon builds. A case is a function registered by TEST_CASE; a failed
// CHECK throws Failure, which ends that case only. test/unit/native.test.ts runs each case by name.
#include <cstdint>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

namespace berth::test {

struct Case {
  const char* name;
  void (*fn)();
};
std::vector<Case>& registry();

struct Register {
  Register(const char* name, void (*fn)()) { registry().push_back({name, fn}); }
};

struct Failure {
  std::string what;  // "file:line: message"
};
[[noreturn]] void fail(const char* file, int line, const std::string& message);

// Printable form of a checked value; strings are quoted with non-printable bytes as \xNN so a
// mismatch in escapes or UTF-8 is visible.
std::string quote(const std::string& s);
inline std::string show(const std::string& s) { return quote(s); }
inline std::string show(const char* s) { return quote(s); }
template <typename T>
std::string show(const T& v) {
  std::ostringstream o;
  if constexpr (std::is_enum_v<T>)
    o << static_cast<long long>(v);
  else if constexpr (std::is_same_v<T, unsigned char> || std::is_same_v<T, char>)
    o << static_cast<int>(v);
  else
    o << v;
  return o.str();
}

// Directory of the committed fixtures (test/fixtures/native): $BERTH_NATIVE_FIXTURES, else found
// from this executable's own path (build/Release/berth-native-tests).
std::string fixturePath(const std::string& name);
std::string readFile(const std::string& path);

}  // namespace berth::test

#define TEST_CASE(name)                                                \
  static void name();                                                  \
  static const ::berth::test::Register name##_registered(#name, name); \
  static void name()

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (!(cond)) ::berth::test::fail(__FILE__, __LINE__, "CHECK(" #cond ")"); \
  } while (0)

#define CHECK_EQ(actual, expected)                                                                                   \
  do {                                                                                                               \
    const auto& check_a_ = (actual);                                                                                 \
    const auto& check_e_ = (expected);                                                                               \
    if (!(check_a_ == check_e_))                                                                                     \
      ::berth::test::fail(__FILE__, __LINE__,                                                                        \
                          "CHECK_EQ(" #actual ", " #expected "): got " + ::berth::test::show(check_a_) + ", want " + \
                              ::berth::test::show(check_e_));                                                        \
  } while (0)

// expr must throw exactly ExcType; `inspect` then runs with the exception bound to `e`.
#define CHECK_THROWS(ExcType, expr, inspect)                                                      \
  do {                                                                                            \
    bool check_threw_ = false;                                                                    \
    try {                                                                                         \
      (void)(expr);                                                                               \
    } catch (const ExcType& e) {                                                                  \
      check_threw_ = true;                                                                        \
      inspect;                                                                                    \
    }                                                                                             \
    if (!check_threw_) ::berth::test::fail(__FILE__, __LINE__, #expr " did not throw " #ExcType); \
  } while (0)
