#include "oci-front/flags.h"

#include <cstring>

namespace berth::front {

namespace {

// Go's strconv.ParseBool spellings (src/oci-cli/flags.ts TRUE and FALSE).
int parseBool(const std::string& v) {
  for (const char* t : {"1", "t", "T", "true", "TRUE", "True"})
    if (v == t) return 1;
  for (const char* f : {"0", "f", "F", "false", "FALSE", "False"})
    if (v == f) return 0;
  return -1;
}

const FlagDef kHelp = {"help", "h", Kind::Bool};

const FlagDef* find(const std::vector<FlagDef>& defs, const std::string& name) {
  for (const FlagDef& d : defs)
    if (name == d.name || (d.shortName && name == d.shortName)) return &d;
  if (name == kHelp.name || name == kHelp.shortName) return &kHelp;
  return nullptr;
}

}  // namespace

const std::string* Parsed::get(const char* name) const {
  const std::string* out = nullptr;
  for (size_t i = 0; i < names.size(); i++)
    if (names[i] == name) out = &values[i];
  return out;
}

bool Parsed::isTrue(const char* name) const {
  const std::string* v = get(name);
  return v && *v == "true";
}

Parsed parseFlags(const std::vector<FlagDef>& defs, const std::vector<std::string>& args, size_t from, bool reorder) {
  Parsed p;
  size_t i = from;
  for (; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--") {
      for (i++; i < args.size(); i++) p.operands.push_back(args[i]);
      break;
    }
    if (a == "-" || a.empty() || a[0] != '-') {
      if (!reorder) break;
      p.operands.push_back(a);
      continue;
    }
    std::string body = a.compare(0, 2, "--") == 0 ? a.substr(2) : a.substr(1);
    size_t eq = body.find('=');
    std::string name = eq == std::string::npos ? body : body.substr(0, eq);
    const FlagDef* def = find(defs, name);
    if (!def || name.empty() || name[0] == '-') return Parsed{};
    std::string value;
    if (def->kind == Kind::Bool) {
      int b = parseBool(eq == std::string::npos ? "true" : body.substr(eq + 1));
      if (b < 0) return Parsed{};
      value = b ? "true" : "false";
    } else if (eq != std::string::npos) {
      value = body.substr(eq + 1);
    } else {
      if (i + 1 >= args.size()) return Parsed{};
      value = args[++i];
    }
    p.names.push_back(def->name);
    p.values.push_back(value);
  }
  if (!reorder)
    for (; i < args.size(); i++) p.operands.push_back(args[i]);
  p.ok = true;
  return p;
}

}  // namespace berth::front
