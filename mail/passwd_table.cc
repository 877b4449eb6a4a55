// passwd_table.cc: see passwd_table.h.
#include "mail/passwd_table.h"

#include <pwd.h>

#include <vector>

namespace postern::mail {

std::optional<std::string> PasswdTable::Lookup(std::string_view key) const {
  std::string name(key);
  struct passwd entry {};
  struct passwd* found = nullptr;
  std::vector<char> buffer(16384);
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return name + ":x:" + std::to_string(entry.pw_uid) + ":" + std::to_string(entry.pw_gid) + ":" + entry.pw_gecos +
         ":" + entry.pw_dir + ":" + entry.pw_shell;
}

}  // namespace postern::mail
