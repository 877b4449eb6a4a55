// parameter_value.cc: see parameter_value.h.
#include "compiler/config/parameter_value.h"

#include <limits>

#include "util/strings.h"

namespace postern::config {

std::optional<bool> ParseBoolean(std::string_view value) {
  if (EqualsIgnoreCase(value, "yes")) return true;
  if (EqualsIgnoreCase(value, "no")) return false;
  return std::nullopt;
}

std::string CheckParameterValue(const ParameterSpec& spec, std::string_view expanded) {
  std::string_view value = Trim(expanded);
  switch (spec.type) {
    case ParameterType::kInteger: {
      long long n = 0;
      if (!ParseDecimal(value, &n)) return "expected a non-negative integer";
      return "";
    }
    case ParameterType::kBoolean:
      return ParseBoolean(value) ? "" : "expected yes or no";
    case ParameterType::kTime: {
      char unit = spec.extra.empty() ? 's' : spec.extra.front();
      if (!ParseTime(value, unit)) {
        return std::string(
                   "expected a time: a number with an optional unit s, m, h, d or w "
                   "(a bare number is in ") +
               unit + ")";
      }
      return "";
    }
    case ParameterType::kEnum: {
      std::vector<std::string> allowed;
      std::string_view rest = spec.extra;
      while (true) {
        size_t bar = rest.find('|');
        allowed.emplace_back(rest.substr(0, bar));
        if (bar == std::string_view::npos) break;
        rest = rest.substr(bar + 1);
      }
      for (const std::string& a : allowed) {
        if (EqualsIgnoreCase(a, value)) return "";
      }
      std::string list;
      for (const std::string& a : allowed) {
        if (a.empty()) continue;
        if (!list.empty()) list += ", ";
        list += a;
      }
      return "expected one of: " + list;
    }
    case ParameterType::kList:
    case ParameterType::kTableList:
    case ParameterType::kMatchList:
    case ParameterType::kNetworkList:
    case ParameterType::kRestrictionList:
      return SplitParameterList(value) ? "" : "unbalanced '{' or '}' in list";
    case ParameterType::kString:
      return "";
  }
  return "";
}

}  // namespace postern::config
