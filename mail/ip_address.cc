// ip_address.cc: see ip_address.h.
#include "mail/ip_address.h"

#include <arpa/inet.h>

#include "util/strings.h"

namespace postern::mail {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  std::string s(text);
  IpAddress address;
  if (s.find(':') != std::string::npos) {
    address.ipv6 = true;
    if (inet_pton(AF_INET6, s.c_str(), address.bytes.data()) != 1) return std::nullopt;
    return address;
  }
  // inet_pton(AF_INET) accepts only dotted quads of decimal numbers.
  if (inet_pton(AF_INET, s.c_str(), address.bytes.data()) != 1) return std::nullopt;
  return address;
}

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
  return text;
}

bool CidrBlock::Contains(const IpAddress& address) const {
  if (address.ipv6 != network.ipv6) return false;
  int remaining = prefix_length;
  for (size_t i = 0; i < address.size() && remaining > 0; ++i, remaining -= 8) {
    int keep = remaining >= 8 ? 8 : remaining;
    auto mask = static_cast<uint8_t>(0xff00 >> keep);
    if ((address.bytes[i] & mask) != (network.bytes[i] & mask)) return false;
  }
  return true;
}

std::optional<CidrBlock> ParseCidrBlock(std::string_view text, std::string* error) {
  std::string_view address_text = text;
  std::string_view mask_text;
  bool has_mask = false;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *error = "missing ']' character after \"" + std::string(text) + "\"";
      return std::nullopt;
    }
    address_text = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != '/') {
        *error = "garbage after \"" + std::string(text.substr(0, close + 1)) + "\"";
        return std::nullopt;
      }
      has_mask = true;
      mask_text = rest.substr(1);
    }
  } else if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    address_text = text.substr(0, slash);
    mask_text = text.substr(slash + 1);
    has_mask = true;
  }
  std::optional<IpAddress> address = IpAddress::Parse(address_text);
  if (!address) {
    *error = has_mask ? "bad network value in \"" + std::string(text) + "\""
                      : "bad address pattern: \"" + std::string(text) + "\"";
    return std::nullopt;
  }
  CidrBlock block{*address, address->bits()};
  if (has_mask) {
    long long length = 0;
    if (!ParseDecimal(mask_text, &length)) {
      *error = "bad mask value in \"" + std::string(text) + "\"";
      return std::nullopt;
    }
    if (length > address->bits()) {
      *error = "bad mask length in \"" + std::string(text) + "\"";
      return std::nullopt;
    }
    block.prefix_length = static_cast<int>(length);
    CidrBlock masked = block;
    int remaining = block.prefix_length;
    for (size_t i = 0; i < address->size(); ++i, remaining -= 8) {
      int keep = remaining >= 8 ? 8 : (remaining > 0 ? remaining : 0);
      masked.network.bytes[i] = static_cast<uint8_t>(address->bytes[i] & (0xff00 >> keep));
    }
    if (masked.network.bytes != address->bytes) {
      std::string suggestion = masked.network.ToString();
      if (address->ipv6 && text.front() == '[') suggestion = "[" + suggestion + "]";
      *error = "non-null host address bits in \"" + std::string(text) + "\", perhaps you should use \"" + suggestion +
               "/" + std::to_string(length) + "\" instead";
      return std::nullopt;
    }
  }
  return block;
}

}  // namespace postern::mail
