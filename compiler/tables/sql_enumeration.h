// sql_enumeration.h: turns a Postfix SQL query template, which asks for the
// values of one key, into a query that lists every key with its values, so
// the compiler can read the whole table once.
//
// The common shape is derived: a WHERE clause whose conditions on the key
// are top-level `column = '%s'` conjuncts (or `'%u'` and `'%d'`, or one of
// them alone). Those conditions become `1=1`, the key columns are selected
// first, and a trailing `LIMIT n` becomes "the first n rows of each key".
// Anything else (the key inside a function, a join condition, OR, %1-%9)
// needs an explicit `postern_enumeration_query`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mail/database_table.h"
#include "util/status.h"

namespace postern::tables {

struct Enumeration {
  std::string sql;
  // How many leading columns make the key: 1, or 2 for a local part and a
  // domain that are joined with '@'.
  int key_columns = 1;
  mail::DatabaseLookupRules::KeyPart key_part = mail::DatabaseLookupRules::KeyPart::kWhole;
  std::optional<int> rows_per_key;  // from a LIMIT n on the query
};

// Derives the enumeration of `query`, or says why it cannot.
// `double_quoted_strings`: whether "%s" is a string (MySQL, SQLite) or names
// a column (PostgreSQL, standard SQL).
Result<Enumeration> DeriveEnumeration(std::string_view query, bool double_quoted_strings = true);

// When the query's own listing cannot be derived (the key in a JOIN
// condition, under OR), the keys are listed apart and each is then looked
// up with the query itself, as Postfix would look it up. The listing
// selects the distinct values of every column the query compares with the
// key (`column = '%s'`, `'%u'`, `'%d'`, anywhere but under NOT), with those
// comparisons made `1=1` and a final ORDER BY or LIMIT left out; it may
// list more keys than the query finds, never fewer.
struct KeyListing {
  std::string sql;
  std::string column_parts;  // per selected column: 's' the key, 'u' its local part, 'd' its domain
  mail::DatabaseLookupRules::KeyPart key_part = mail::DatabaseLookupRules::KeyPart::kWhole;
};
Result<KeyListing> DeriveKeyListing(std::string_view query, bool double_quoted_strings = true);

// The key part an explicit enumeration query's first column holds, from the
// query template's placeholders. Errors for templates it cannot describe.
Result<mail::DatabaseLookupRules::KeyPart> KeyPartOfQuery(std::string_view query);

}  // namespace postern::tables
