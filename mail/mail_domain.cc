// mail_domain.cc: see mail_domain.h.
#include "mail/mail_domain.h"

#include "mail/ip_address.h"
#include "util/strings.h"

namespace postern::mail {
namespace {

bool ValidAddressLiteral(std::string_view literal) {
  std::string_view inside = literal.substr(1, literal.size() - 2);
  if (inside.size() > 5 && EqualsIgnoreCase(inside.substr(0, 5), "IPv6:")) {
    std::optional<IpAddress> ip = IpAddress::Parse(inside.substr(5));
    return ip && ip->ipv6;
  }
  std::optional<IpAddress> ip = IpAddress::Parse(inside);
  return ip && !ip->ipv6;
}

bool ValidLabel(std::string_view label, bool utf8) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
  for (char ch : label) {
    auto c = static_cast<unsigned char>(ch);
    if (IsAlnum(ch) || ch == '-' || ch == '_') continue;
    if (c >= 0x80 && utf8) continue;
    return false;
  }
  return true;
}

}  // namespace

bool ValidMailDomain(std::string_view domain, bool utf8) {
  if (domain.empty()) return false;
  if (domain.front() == '[') return domain.back() == ']' && ValidAddressLiteral(domain);
  if (domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 255) return false;
  bool numeric = true;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view label = domain.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!ValidLabel(label, utf8)) return false;
    for (char ch : label) numeric = numeric && IsDigit(ch);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return !numeric;  // 1.2.3.4 without brackets, 123.456: not a host name
}

}  // namespace postern::mail
