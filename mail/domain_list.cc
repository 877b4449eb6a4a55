// domain_list.cc: see domain_list.h.
#include "mail/domain_list.h"

#include "util/strings.h"

namespace postern::mail {
namespace {

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

}  // namespace

bool DomainList::MatchElement(const Element& element, std::string_view domain) const {
  if (element.table != nullptr) {
    // The name, then each parent: ".parent" (or "parent" with parent
    // matching). Pattern tables only ever see the whole name.
    std::string_view name = domain;
    while (!name.empty()) {
      if (name.data() == domain.data() || element.table_matches_partial) {
        if (element.table->Lookup(name)) return true;
      }
      size_t dot = name.find('.', 1);
      if (dot == std::string_view::npos) break;
      name = name.substr(parent_style_ ? dot + 1 : dot);
    }
    return false;
  }
  std::string_view pattern = element.pattern;
  if (EqualsIgnoreCase(domain, pattern)) return true;
  if (!pattern.empty() && pattern[0] == '.') return EndsWithIgnoreCase(domain, pattern);
  if (parent_style_ && domain.size() > pattern.size()) {
    return EndsWithIgnoreCase(domain, pattern) && domain[domain.size() - pattern.size() - 1] == '.';
  }
  return false;
}

bool DomainList::Match(std::string_view domain, std::string* matched_by) const {
  for (const Element& element : elements_) {
    if (!MatchElement(element, domain)) continue;
    if (matched_by != nullptr) *matched_by = (element.negate ? "!" : "") + element.pattern;
    return !element.negate;
  }
  return false;
}

bool DomainList::Match(std::string_view domain) const { return Match(domain, nullptr); }

}  // namespace postern::mail
