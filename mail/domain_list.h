// domain_list.h: Postfix's domain match lists (mydestination, relay_domains,
// virtual_alias_domains, ...): names, `.parent` patterns, `!negation` and
// lookup tables, first match wins. With parent matching (the names listed in
// `parent_domain_matches_subdomains`) a name also matches its subdomains.
//
// Immutable after construction; Match() is thread-safe when the tables are.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/lookup_table.h"

namespace postern::mail {

class DomainList {
 public:
  struct Element {
    bool negate = false;
    std::string pattern;                 // a name or .name (when table is null)
    const LookupTable* table = nullptr;  // a type:name element
    bool table_matches_partial = true;   // false for regexp/pcre: only the full name is a key
  };

  DomainList() = default;
  DomainList(std::vector<Element> elements, bool parent_style)
      : elements_(std::move(elements)), parent_style_(parent_style) {}

  // Whether `domain` (without a trailing dot) is in the list.
  bool Match(std::string_view domain) const;
  // Which element matched, for traces ("" when none did).
  bool Match(std::string_view domain, std::string* matched_by) const;
  bool empty() const { return elements_.empty(); }

 private:
  bool MatchElement(const Element& element, std::string_view domain) const;

  std::vector<Element> elements_;
  bool parent_style_ = false;
};

}  // namespace postern::mail
