// peer_names.h: the names of an SMTP client, as Postfix's smtpd finds
// them: the PTR name of its address (reverse_name), and that name again
// only when a forward lookup of it gives the address back (name);
// "unknown" otherwise. Blocking (the system resolver); the daemon calls it
// on its lookup threads. Asks for no service names (no /etc/services).
#pragma once

#include <string>

namespace postern::daemon {

struct PeerNames {
  std::string name = "unknown";
  std::string reverse_name = "unknown";
};

PeerNames LookUpPeerNames(const std::string& address);

}  // namespace postern::daemon
