// routing_checks.h: checks of a compiled configuration that need the
// resolver itself (so they agree with what the daemon will do): alias and
// virtual-alias loops and limits, transports without a master.cf service,
// malformed nexthops, domains in more than one address class, and a
// postmaster that cannot receive mail. `postern check` runs them on the
// image it compiles and turns the problems into diagnostics.
//
// Codes: PC0130 virtual alias expansion fails (loop or limit), PC0131 alias
// forwarding loop, PC0132 transport with no master.cf service, PC0133 bad
// nexthop, PC0134 domain in more than one address class, PC0135 mail to
// postmaster is rejected, PC0136 transport whose delivery agent posternd
// does not have (virtual), PC0207 a pipe service with flag D or O that mail
// is routed to, whose recipient limit is not 1.
#pragma once

#include <string>
#include <vector>

#include "runtime/resolve/resolver.h"

namespace postern::resolve {

struct RoutingProblem {
  std::string code;
  bool error = false;     // otherwise a warning
  std::string parameter;  // the main.cf parameter it is about
  std::string table;      // a table reference, when it is about an entry
  std::string key;        // that entry's key
  std::string message;
  std::string hint;
};

std::vector<RoutingProblem> CheckRouting(const Resolver& resolver);

// Whether `nexthop` is valid for a delivery agent running `command`
// (smtp, lmtp); sets *why when it is not.
bool ValidNexthop(std::string_view command, std::string_view nexthop, std::string* why);

}  // namespace postern::resolve
