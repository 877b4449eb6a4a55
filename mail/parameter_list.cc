// parameter_list.cc: see parameter_list.h.
#include "mail/parameter_list.h"

#include "util/strings.h"

namespace postern::mail {

std::optional<std::vector<std::string>> SplitParameterList(std::string_view value) {
  std::vector<std::string> items;
  size_t i = 0;
  auto is_separator = [](char c) { return c == ',' || IsSpace(c); };
  while (i < value.size()) {
    while (i < value.size() && is_separator(value[i])) ++i;
    if (i >= value.size()) break;
    if (value[i] == '{') {
      int level = 0;
      size_t start = i;
      for (; i < value.size(); ++i) {
        if (value[i] == '{') ++level;
        if (value[i] == '}' && --level == 0) break;
      }
      if (i >= value.size()) return std::nullopt;
      items.emplace_back(Trim(value.substr(start + 1, i - start - 1)));
      ++i;
      continue;
    }
    size_t start = i;
    int level = 0;
    // A word may itself contain a `{...}` group, as in inline:{a=b, c=d}.
    while (i < value.size() && (level > 0 || !is_separator(value[i]))) {
      if (value[i] == '{') ++level;
      if (value[i] == '}') {
        if (level == 0) return std::nullopt;
        --level;
      }
      ++i;
    }
    if (level > 0) return std::nullopt;
    items.emplace_back(value.substr(start, i - start));
  }
  return items;
}

}  // namespace postern::mail
