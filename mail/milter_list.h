// milter_list.h: the Milter applications of smtpd_milters (MILTER_README),
// as both the compiler (checking) and posternd (reading the image) read
// them: each item is a server endpoint ("inet:host:port", "unix:path",
// "local:path"), or a `{ endpoint, name=value, ... }` group whose settings
// override the milter_* parameters of the same name for that milter
// (command_timeout, connect_timeout, content_timeout, default_action,
// protocol).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::mail {

struct MilterEntry {
  std::string endpoint;
  // The per-milter settings given, by name without "milter_"; unset ones
  // take the main.cf parameter.
  std::optional<std::string> command_timeout, connect_timeout, content_timeout, default_action, protocol;
};

// Parses a smtpd_milters value. An error names the item: unbalanced
// braces, an endpoint without "inet:", "unix:" or "local:", an unknown
// per-milter setting, a setting without "=".
Result<std::vector<MilterEntry>> ParseMilterList(std::string_view value);

// Whether `value` is a milter_default_action: accept, reject, tempfail or
// quarantine.
bool IsMilterDefaultAction(std::string_view value);

// The protocol version of a milter_protocol value ("6", "2", "4
// no_header_reply"...), or an error for one without exactly one version
// among 2, 3, 4 and 6, or with an unknown word.
struct MilterProtocol {
  int version = 6;
  bool no_header_reply = false;
};
Result<MilterProtocol> ParseMilterProtocol(std::string_view value);

}  // namespace postern::mail
