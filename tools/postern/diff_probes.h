// diff_probes.h: the questions `postern diff` asks both images: the
// addresses, clients, senders, HELO names and logins that a configuration
// names or distinguishes. Collected from what an image holds (its tables'
// keys, domain lists, networks, and the keys and constants its policy
// programs look up), so a change anywhere in them is asked about, plus
// fixed probes for each class (an outside client, an outside recipient,
// the null sender) and the addresses of test cases.
//
// Table keys become addresses as their table reads them: "user@domain" as
// itself, "@domain" (a catch-all) as an unknown user of the domain, a bare
// domain as postmaster@domain, a local alias name at the first local domain.
// Every list keeps the first origin of a value and never repeats it; the
// order is deterministic (images' order, old before new).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "runtime/image/image.h"
#include "tools/postern/policy_test_file.h"

namespace postern::cli {

struct Probe {
  std::string value;
  std::string origin;  // what named it: "virtual_alias_maps hash:/etc/postfix/virtual", "mynetworks", ...
};

class ProbeList {
 public:
  void Add(std::string value, std::string origin);
  const std::vector<Probe>& items() const { return items_; }
  size_t size() const { return items_.size(); }

 private:
  std::vector<Probe> items_;
  std::set<std::string, std::less<>> seen_;
};

struct ClientProbe {
  std::string address;
  std::string name;  // "unknown" when the address has no name
  std::string origin;
};

class ClientList {
 public:
  void Add(ClientProbe client);
  const std::vector<ClientProbe>& items() const { return items_; }

 private:
  std::vector<ClientProbe> items_;
  std::set<std::pair<std::string, std::string>> seen_;
};

// The outside world, which no configuration should treat as its own.
inline constexpr const char* kOutsideClient = "198.18.0.25";
inline constexpr const char* kOutsideDomain = "elsewhere.example";

struct Probes {
  ProbeList recipients;         // routing: every address named anywhere
  ProbeList policy_recipients;  // transactions: one per domain class and every recipient access key
  ClientList clients;
  ProbeList senders;
  ProbeList helos;
  ProbeList logins;  // SASL login names ("" is not one: unauthenticated is always asked)
};

// The fixed probes, first: outside client, recipient and sender, the null sender.
Probes BaseProbes();
// Adds what `image` names (main.cf's view and every smtpd service's).
void CollectProbes(const image::Image& image, Probes* probes);
// Adds the clients, senders, HELO names and recipients of test cases.
void CollectProbes(const std::string& file, const std::vector<TestCase>& cases, Probes* probes);

}  // namespace postern::cli
