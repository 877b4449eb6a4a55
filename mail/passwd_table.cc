// passwd_table.cc: see passwd_table.h.
#include "mail/passwd_table.h"

#include <pwd.h>

#include <vector>

#include "util/strings.h"

namespace postern::mail {

std::optional<std::string> PasswdTable::Lookup(std::string_view key) const {
  std::string name(key);
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return name + ":x:" + std::to_string(entry.pw_uid) + ":" + std::to_string(entry.pw_gid) + ":" + entry.pw_gecos + ":" +
         entry.pw_dir + ":" + entry.pw_shell;
}

std::shared_ptr<const ExactTable> ParsePasswdText(std::string_view text) {
  auto table = std::make_shared<ExactTable>();
  for (std::string_view line : SplitAny(text, "\n")) {
    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string entry(line);
    if (colon == std::string_view::npos) entry += ":x:65534:65534::/nonexistent:/usr/sbin/nologin";
    table->Insert(name, std::move(entry));
  }
  return table;
}

}  // namespace postern::mail
