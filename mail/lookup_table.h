// lookup_table.h: the lookup-table kinds Postfix defines, as the compiler's
// dry runs and the runtime both query them.
//
// ExactTable: key -> value with case folding (hash, btree, cdb, lmdb, dbm,
// texthash, inline: the postmap(1) semantics). StaticTable: one value for
// every key. FailTable: no answer, ever. PatternTable: first-match rules with IF/ENDIF over CIDR blocks or
// regular expressions (cidr_table(5), regexp_table(5), pcre_table(5)).
// Tables are immutable once built; Lookup() is thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/case_fold.h"
#include "mail/ip_address.h"
#include "mail/regexp.h"

namespace postern::mail {

class LookupTable {
 public:
  using EntryVisitor = std::function<void(std::string_view key, std::string_view value)>;

  virtual ~LookupTable() = default;
  // The value for `key`, or nullopt when the table has none.
  virtual std::optional<std::string> Lookup(std::string_view key) const = 0;
  // Calls `visit` for every key and value of a table that holds them
  // (exact tables, CDB files: keys as stored, i.e. folded) and returns
  // true; false for a table whose keys cannot be listed (patterns, the
  // system's users, a server's).
  virtual bool ForEachEntry(const EntryVisitor& /*visit*/) const { return false; }
  // Whether partial keys (user@domain without its extension, a bare domain,
  // @domain) are looked up here. Pattern tables only ever see the whole
  // address, as Postfix's DICT_FLAG_FIXED rule says.
  virtual bool AcceptsPartialKeys() const { return true; }
};

class ExactTable : public LookupTable {
 public:
  explicit ExactTable(CaseFold fold = CaseFold::kAscii) : fold_(fold) {}
  // Keeps the first value for a key; returns false for a duplicate.
  bool Insert(std::string_view key, std::string value);
  std::optional<std::string> Lookup(std::string_view key) const override;
  bool ForEachEntry(const EntryVisitor& visit) const override {
    for (const auto& [key, value] : entries_) visit(key, value);
    return true;
  }
  size_t size() const { return entries_.size(); }
  const std::map<std::string, std::string, std::less<>>& entries() const { return entries_; }

 private:
  CaseFold fold_;
  std::map<std::string, std::string, std::less<>> entries_;
};

class StaticTable : public LookupTable {
 public:
  explicit StaticTable(std::string value) : value_(std::move(value)) {}
  std::optional<std::string> Lookup(std::string_view) const override { return value_; }
  const std::string& value() const { return value_; }

 private:
  std::string value_;
};

// fail:name (Postfix's fail table): every lookup fails, a temporary error
// (mail/lookup_failure.h). For testing what a configuration does when a
// table's server is down.
class FailTable : public LookupTable {
 public:
  // `why`, when given, follows the failure's reason.
  explicit FailTable(std::string reference, std::string why = "")
      : reference_(std::move(reference)), why_(std::move(why)) {}
  std::optional<std::string> Lookup(std::string_view key) const override;

 private:
  std::string reference_;
  std::string why_;
};

struct PatternRule {
  enum class Kind { kMatch, kIf, kEndif };
  Kind kind = Kind::kMatch;
  bool negate = false;
  std::optional<CidrBlock> cidr;                // cidr tables
  std::shared_ptr<const Regexp> regexp;         // regexp/pcre tables
  std::shared_ptr<const Regexp> regexp_unless;  // regexp: /a/!/b/ form
  std::string replacement;                      // kMatch only
  size_t endif = 0;                             // kIf: index of its ENDIF
  int line = 0;                                 // source line, for traces
};

class PatternTable : public LookupTable {
 public:
  // REQUIRES: every kIf rule's `endif` indexes its kEndif rule.
  explicit PatternTable(std::vector<PatternRule> rules);
  std::optional<std::string> Lookup(std::string_view key) const override;
  // Like Lookup, also saying which rule matched (its source line).
  std::optional<std::string> LookupWithRule(std::string_view key, const PatternRule** matched) const;
  const std::vector<PatternRule>& rules() const { return rules_; }
  bool AcceptsPartialKeys() const override { return false; }

 private:
  bool Matches(const PatternRule& rule, std::string_view key, const std::optional<IpAddress>& address,
               std::vector<std::string>* groups) const;

  std::vector<PatternRule> rules_;
  bool cidr_ = false;  // keys are IP addresses
};

}  // namespace postern::mail
