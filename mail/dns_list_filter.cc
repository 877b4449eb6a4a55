// dns_list_filter.cc: see dns_list_filter.h.
#include "mail/dns_list_filter.h"

#include <optional>
#include <vector>

#include "util/strings.h"

namespace postern::mail {
namespace {

std::optional<int> Octet(std::string_view text) {
  long long n = 0;
  if (text.empty() || text.size() > 3 || !ParseDecimal(text, &n) || n > 255) return std::nullopt;
  return static_cast<int>(n);
}

// One octet of the filter against a number; nullopt when malformed.
std::optional<bool> OctetMatches(std::string_view pattern, int value) {
  if (pattern.empty() || pattern.front() != '[') {
    std::optional<int> n = Octet(pattern);
    if (!n) return std::nullopt;
    return *n == value;
  }
  if (pattern.size() < 3 || pattern.back() != ']') return std::nullopt;
  bool match = false;
  for (std::string_view item : SplitAny(pattern.substr(1, pattern.size() - 2), ";")) {
    size_t dots = item.find("..");
    std::optional<int> low = Octet(item.substr(0, dots));
    std::optional<int> high = dots == std::string_view::npos ? low : Octet(item.substr(dots + 2));
    if (!low || !high || *low > *high) return std::nullopt;
    match = match || (*low <= value && value <= *high);
  }
  return match;
}

std::vector<std::string> Octets(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] == '[') ++depth;
    if (i < text.size() && text[i] == ']') --depth;
    // A dot inside brackets belongs to a range ("[2..11]").
    if (i == text.size() || (text[i] == '.' && depth == 0)) {
      parts.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

}  // namespace

std::string DnsListFilterError(std::string_view filter) {
  std::vector<std::string> parts = Octets(filter);
  if (parts.size() != 4) return "four octets expected";
  for (const std::string& part : parts) {
    if (!OctetMatches(part, 0)) return "bad octet \"" + part + "\" (a number 0-255, or [n;m..o])";
  }
  return "";
}

bool DnsListFilterMatches(std::string_view filter, std::string_view answer) {
  std::vector<std::string> patterns = Octets(filter);
  std::vector<std::string> values = Octets(answer);
  if (patterns.size() != 4 || values.size() != 4) return false;
  for (size_t i = 0; i < 4; ++i) {
    std::optional<int> value = Octet(values[i]);
    std::optional<bool> match = value ? OctetMatches(patterns[i], *value) : std::nullopt;
    if (!match || !*match) return false;
  }
  return true;
}

}  // namespace postern::mail
