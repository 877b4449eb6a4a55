// database_materialiser.h: reads a whole SQL table when the image is
// compiled, so the image answers its lookups as Postfix's client would
// answer them from the live database, and posternd needs no connection.
//
// With one query that lists every key with its values when the table's
// query allows (sql_enumeration.h); otherwise the keys are listed, and each
// is looked up with the table's own query, quoted as Postfix quotes it.
//
// Codes: PT0332 the database cannot be read (connection, query), PT0333 no
// enumeration query can be derived, PT0334 keys that differ from their
// lower-case form (a warning: Postfix looks up lower-case keys; whether the
// database matches them depends on the column's collation: the image
// assumes each server's default, exact for SQLite and PostgreSQL,
// case-insensitive for MySQL), PT0335 a key
// with more results than expansion_limit (Postfix's lookups of it fail).
#pragma once

#include <memory>
#include <optional>

#include "compiler/tables/database_config.h"
#include "compiler/tables/database_rows.h"
#include "mail/case_fold.h"
#include "mail/database_table.h"
#include "mail/lookup_table.h"
#include "util/diagnostic.h"

namespace postern::tables {

struct MaterialisedTable {
  std::shared_ptr<const mail::DatabaseTable> table;
  std::shared_ptr<const DatabaseRows> rows;  // database key -> values, as the image stores them
};

// `where` is the table reference, for errors that have no place in the file.
std::optional<MaterialisedTable> MaterialiseDatabaseTable(const DatabaseConfig& config, mail::CaseFold fold,
                                                          const SourceLocation& where, DiagnosticSink* diagnostics);

// What every materialiser (SQL, LDAP) ends with: `rows` grouped, keys over
// rules.expansion_limit refused (PT0335), the table made.
std::optional<MaterialisedTable> FinishMaterialisedTable(std::shared_ptr<DatabaseRows> rows,
                                                         mail::DatabaseLookupRules rules, mail::CaseFold fold,
                                                         const SourceLocation& expansion_limit_location,
                                                         DiagnosticSink* diagnostics);

}  // namespace postern::tables
