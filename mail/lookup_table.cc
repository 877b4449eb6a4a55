// lookup_table.cc: see lookup_table.h.
#include "mail/lookup_table.h"

#include "mail/lookup_failure.h"
#include "util/strings.h"

namespace postern::mail {

bool ExactTable::Insert(std::string_view key, std::string value) {
  return entries_.emplace(FoldCase(key, fold_), std::move(value)).second;
}

std::optional<std::string> ExactTable::Lookup(std::string_view key) const {
  auto it = MayFold(key, fold_) ? entries_.find(FoldCase(key, fold_)) : entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> FailTable::Lookup(std::string_view key) const {
  LookupFailureScope::RecordLookupError(reference_, key, why_);
  return std::nullopt;
}

PatternTable::PatternTable(std::vector<PatternRule> rules) : rules_(std::move(rules)) {
  for (const PatternRule& rule : rules_) cidr_ = cidr_ || rule.cidr.has_value();
}

bool PatternTable::Matches(const PatternRule& rule, std::string_view key, const std::optional<IpAddress>& address,
                           std::vector<std::string>* groups) const {
  bool matched = false;
  if (rule.cidr) {
    matched = address && rule.cidr->Contains(*address);
  } else if (rule.regexp) {
    matched = rule.regexp->Match(key, rule.negate ? nullptr : groups);
    if (matched && rule.regexp_unless) matched = !rule.regexp_unless->Match(key, nullptr);
  }
  return rule.negate ? !matched : matched;
}

std::optional<std::string> PatternTable::LookupWithRule(std::string_view key, const PatternRule** matched) const {
  std::optional<IpAddress> address;
  if (cidr_) {
    address = IpAddress::Parse(key);
    if (!address) return std::nullopt;
  }
  std::vector<std::string> groups;
  size_t i = 0;
  while (i < rules_.size()) {
    const PatternRule& rule = rules_[i];
    switch (rule.kind) {
      case PatternRule::Kind::kEndif:
        ++i;
        break;
      case PatternRule::Kind::kIf:
        i = Matches(rule, key, address, nullptr) ? i + 1 : rule.endif + 1;
        break;
      case PatternRule::Kind::kMatch:
        if (Matches(rule, key, address, &groups)) {
          if (matched != nullptr) *matched = &rule;
          if (rule.negate || rule.cidr) return rule.replacement;
          return ExpandReplacement(rule.replacement, groups);
        }
        ++i;
        break;
    }
  }
  return std::nullopt;
}

std::optional<std::string> PatternTable::Lookup(std::string_view key) const { return LookupWithRule(key, nullptr); }

}  // namespace postern::mail
