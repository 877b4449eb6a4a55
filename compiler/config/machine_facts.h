// machine_facts.h: what Postfix's computed defaults depend on: the host
// name and the addresses of the network interfaces.
//
// Probed once from the running system, or built by hand in tests so that
// computed defaults are deterministic there.
#pragma once

#include <string>
#include <vector>

namespace postern::config {

struct InterfaceAddress {
  std::string address;  // numeric, as inet_ntop prints it
  int prefix_length;    // from the interface's netmask
  bool ipv6;
};

struct MachineFacts {
  std::string hostname;  // gethostname(), possibly without a domain
  std::vector<InterfaceAddress> addresses;

  static MachineFacts Probe();
};

// The network of `address`/`prefix_length` in Postfix's mynetworks syntax:
// "10.1.2.0/24" or "[fe80::]/64".
std::string NetworkText(const InterfaceAddress& address, int prefix_length);

}  // namespace postern::config
