#pragma once
// runc's command line as the front reads it: the same spellings src/oci-cli/flags.ts accepts
// (-name and --name, --name=value or --name value, Booleans as --name or --name=false, `--`). The
// front is strict where the TypeScript parser would report an error: it never reports one, it
// answers "not mine" and Node parses the line again and says what is wrong.
#include <string>
#include <vector>

namespace berth::front {

enum class Kind { Bool, String };

struct FlagDef {
  const char* name;
  const char* shortName;  // nullptr: none
  Kind kind;
};

struct Parsed {
  bool ok = false;  // false: something the front leaves to Node
  std::vector<std::string> names;
  std::vector<std::string> values;
  std::vector<std::string> operands;

  // The value given last for a flag, or nullptr when absent.
  const std::string* get(const char* name) const;
  // A Boolean flag's value (absent: false).
  bool isTrue(const char* name) const;
};

// Parses args from index `from` against defs (plus --help/-h). With `reorder`, flags may follow
// operands (urfave's argument reordering); without it the first operand ends the flags, and it and
// everything after it are the operands.
Parsed parseFlags(const std::vector<FlagDef>& defs, const std::vector<std::string>& args, size_t from, bool reorder);

}  // namespace berth::front
