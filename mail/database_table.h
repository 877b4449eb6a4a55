// database_table.h: the lookup semantics Postfix's SQL tables share
// (sqlite_table(5), pgsql_table(5), mysql_table(5); db_common in Postfix):
// which keys reach the database at all (the `domain` filter, keys without
// the parts the query names), which part of the key the database is asked
// for, and how each value found becomes part of the answer (result_format
// with %s %u %d %S %U %D %1-%9, empty values skipped, several joined with
// commas).
//
// The values come from a rows table: database key -> the values the query
// returns for it, in order, separated by kValueSeparator. The compiler fills
// it by reading the whole table once (materialisation); the image keeps it
// as a CDB.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "mail/case_fold.h"
#include "mail/lookup_table.h"
#include "util/status.h"

namespace postern::mail {

struct DatabaseLookupRules {
  // Which part of the (folded) lookup key the query compares with.
  enum class KeyPart : uint8_t {
    kWhole,      // %s, or %u and %d together
    kLocalPart,  // %u alone: the local part of user@domain, else the key
    kDomain,     // %d alone: the domain of user@domain
  };
  KeyPart key_part = KeyPart::kWhole;
  // What the templates need of the key (%d %D %1-%9: a domain; %u in the
  // query or %U anywhere: a non-empty local part when the key has '@');
  // keys without it are not looked up.
  bool key_needs_domain = false;
  bool key_needs_local_part = false;
  int key_domain_labels = 0;  // the highest %1-%9: keys with fewer labels are skipped
  // What result_format needs of each value (%d, %u): values without it are skipped.
  bool value_needs_domain = false;
  bool value_needs_local_part = false;
  std::string result_format = "%s";
  // The `domain` setting: names, "!name" negations, folded; first match
  // wins. When not empty, only user@domain keys with a listed domain are
  // looked up.
  std::vector<std::string> domain_filter;
  int expansion_limit = 0;  // 0: no limit

  bool operator==(const DatabaseLookupRules&) const = default;
};

// Adds what `format` needs to `rules` (as Postfix's db_common_parse). A query
// template sets key needs; a result template value needs. Returns an error
// naming the first invalid '%' sequence.
Status AddTemplateNeeds(std::string_view format, bool query_template, DatabaseLookupRules* rules);

// The key the database is asked for, or nullopt when Postfix would not ask
// (filtered by `domain`, or lacking a part the templates need).
// REQUIRES: `key` is already folded.
std::optional<std::string> DatabaseKeyFor(const DatabaseLookupRules& rules, std::string_view key);

// The key part a query compares, from the forms of the key it compares
// columns with ('s' the whole key, 'u' its local part, 'd' its domain): the
// whole key for {s} or {u, d}, the local part for {u}, the domain for {d};
// nullopt for other mixes.
std::optional<DatabaseLookupRules::KeyPart> KeyPartOfForms(const std::set<char>& forms);

// The reverse: a key that DatabaseKeyFor turns into `database_key` under
// `part` (an address with just that local part or domain), to run a query
// template with.
std::string QueryKeyFor(std::string_view database_key, DatabaseLookupRules::KeyPart part);

// Whether `value` gives a result under rules.result_format (not empty, and
// with the parts result_format names).
bool ValueGivesResult(const DatabaseLookupRules& rules, std::string_view value);

// result_format expanded for one value found for `key`.
// REQUIRES: ValueGivesResult(rules, value), and DatabaseKeyFor(rules, key).
std::string ExpandResult(const DatabaseLookupRules& rules, std::string_view value, std::string_view key);

// A query template (an SQL query, an LDAP filter or search base) expanded
// for `key` as Postfix expands it: %s %S the key, %u %U its local part (the
// key when it has no '@'), %d %D its domain, %1-%9 the domain's labels from
// the right, %% a '%'; each expansion passed through `quote`. nullopt when
// Postfix would not query: the key lacks a part the template names.
std::optional<std::string> ExpandQuery(std::string_view format, std::string_view key,
                                       const std::function<std::string(std::string_view)>& quote);

// The rules as image bytes, and back.
std::string EncodeDatabaseRules(const DatabaseLookupRules& rules);
Result<DatabaseLookupRules> DecodeDatabaseRules(std::string_view bytes);

class DatabaseTable : public LookupTable {
 public:
  static constexpr char kValueSeparator = '\0';

  // `rows`: database key -> values joined with kValueSeparator, folded as `fold`.
  DatabaseTable(DatabaseLookupRules rules, std::shared_ptr<const LookupTable> rows, CaseFold fold)
      : rules_(std::move(rules)), rows_(std::move(rows)), fold_(fold) {}

  std::optional<std::string> Lookup(std::string_view key) const override;
  const DatabaseLookupRules& rules() const { return rules_; }
  const LookupTable& rows() const { return *rows_; }

 private:
  DatabaseLookupRules rules_;
  std::shared_ptr<const LookupTable> rows_;
  CaseFold fold_;
};

}  // namespace postern::mail
