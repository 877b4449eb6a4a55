// passwd_table.h: unix:passwd.byname, the system's user database, looked up
// live (getpwnam_r) as Postfix does. It is part of the machine, not of the
// configuration, so an image records the reference and never a copy.
#pragma once

#include <memory>
#include <string_view>

#include "mail/lookup_table.h"

namespace postern::mail {

class PasswdTable : public LookupTable {
 public:
  // "name:x:uid:gid:gecos:home:shell" for a known user.
  std::optional<std::string> Lookup(std::string_view key) const override;
};

// A user table from passwd(5) text (name:x:uid:gid:gecos:home:shell per
// line; '#' comments), for dry runs that describe another machine's users.
std::shared_ptr<const ExactTable> ParsePasswdText(std::string_view text);

}  // namespace postern::mail
