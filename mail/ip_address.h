// ip_address.h: IPv4/IPv6 addresses and CIDR blocks, parsed strictly and
// locale-independently, for cidr tables and network lists.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::mail {

struct IpAddress {
  bool ipv6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4

  // Numeric form only ("192.0.2.1", "2001:db8::1"); no brackets, no names.
  static std::optional<IpAddress> Parse(std::string_view text);
  std::string ToString() const;
  size_t size() const { return ipv6 ? 16 : 4; }
  int bits() const { return ipv6 ? 128 : 32; }
  bool operator==(const IpAddress&) const = default;
};

struct CidrBlock {
  IpAddress network;
  int prefix_length = 0;

  bool Contains(const IpAddress& address) const;
};

// Parses "addr", "addr/len", "[v6addr]", "[v6addr]/len" as cidr_table(5)
// does. On failure returns nullopt and sets *error to Postfix's reason, e.g.
// "non-null host address bits in \"172.16.1.3/21\", perhaps you should use
// \"172.16.0.0/21\" instead".
std::optional<CidrBlock> ParseCidrBlock(std::string_view text, std::string* error);

}  // namespace postern::mail
