// dns_oracle.h: the DNS questions policy restrictions ask. The daemon
// answers them with its resolver; `postern test` with the facts a test case
// states; the default answers that every name exists and no list lists
// anyone, so a dry run without DNS never rejects because of DNS.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::vm {

enum class DnsAnswer { kYes, kNo, kTemporaryFailure };

class DnsOracle {
 public:
  virtual ~DnsOracle() = default;
  // Whether mail can be routed to `domain` (MX, A or AAAA records).
  virtual DnsAnswer DomainExists(std::string_view domain) const = 0;
  // The A record `address` has in the DNS list `zone`, if it is listed
  // ("127.0.0.2").
  virtual std::optional<std::string> ListedIn(std::string_view zone, std::string_view address) const = 0;
};

class OptimisticDns : public DnsOracle {
 public:
  DnsAnswer DomainExists(std::string_view) const override { return DnsAnswer::kYes; }
  std::optional<std::string> ListedIn(std::string_view, std::string_view) const override { return std::nullopt; }
};

}  // namespace postern::vm
