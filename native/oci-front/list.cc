// `list`: every container of the root, as src/oci-cli/inspect.ts prints them (runc's list): the
// JSON array, the table (Go's tabwriter as runc sets it up), or the IDs. One container without
// the front's plain data (made by an older berth) sends the whole command to Node.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "core/io.h"
#include "oci-front/commands.h"
#include "oci-front/native_state.h"

namespace berth::front {

namespace {

// src/oci/state-store.ts ids(): names that are container IDs and hold a state.json, in the
// order Node's readdir gives them (libuv sorts by strcmp).
bool containerIds(const std::string& root, std::vector<std::string>* out) {
  DIR* d = opendir(root.c_str());
  if (!d) return errno == ENOENT;
  while (struct dirent* e = readdir(d)) {
    std::string name = e->d_name;
    bool id = !name.empty() && name != "." && name != "..";
    for (char c : name)
      id = id && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '.' || c == '-');
    if (id && access((root + "/" + name + "/state.json").c_str(), F_OK) == 0) out->push_back(name);
  }
  closedir(d);
  std::sort(out->begin(), out->end());
  return true;
}

// Go's text/tabwriter with minwidth 12, padding 3: every cell but a line's last padded.
std::string tabwriter(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& r : rows)
    for (size_t i = 0; i + 1 < r.size(); i++) {
      if (widths.size() <= i) widths.push_back(12);
      widths[i] = std::max(widths[i], r[i].size() + 3);
    }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); i++) {
      out += r[i];
      if (i + 1 < r.size()) out.append(widths[i] - r[i].size(), ' ');
    }
    out += '\n';
  }
  return out;
}

}  // namespace

int listCommand(const std::string& root, const std::string& format, bool quiet) {
  if (!quiet && format != "table" && format != "json") return kHandOver;
  std::vector<std::string> ids;
  if (!containerIds(root, &ids)) return kHandOver;
  std::vector<NativeState> states(ids.size());
  for (size_t i = 0; i < ids.size(); i++)
    if (!readNativeState(root + "/" + ids[i], &states[i]) || states[i].listHead.empty()) return kHandOver;
  std::string out;
  if (quiet) {
    for (const std::string& id : ids) out += id + "\n";
  } else if (format == "json") {
    out = "[";
    for (size_t i = 0; i < ids.size(); i++) {
      Status st = statusOf(states[i]);
      if (i) out += ",";
      out += states[i].listHead + std::to_string(st == Status::Stopped ? 0 : states[i].pid) + states[i].listMid +
             statusName(st) + states[i].listTail;
    }
    out += "]\n";
  } else {
    std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (size_t i = 0; i < ids.size(); i++) {
      Status st = statusOf(states[i]);
      rows.push_back({ids[i], std::to_string(st == Status::Stopped ? 0 : states[i].pid), statusName(st),
                      states[i].listBundle, states[i].listCreated, states[i].listOwner});
    }
    out = tabwriter(rows);
  }
  return writeAll(1, out.data(), out.size()) ? 0 : 1;
}

}  // namespace berth::front
