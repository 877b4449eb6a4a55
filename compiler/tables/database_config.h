// database_config.h: reads the definition file of an SQL table
// (`sqlite:/etc/postfix/x.cf`, `pgsql:...`, `mysql:...`): main.cf syntax,
// the settings sqlite_table(5), pgsql_table(5) and mysql_table(5) list, and
// Postern's own `postern_enumeration_query` (which Postfix never reads).
//
// The password is a secret: diagnostics quote a copy of the file with it
// masked, and it goes nowhere but into the connection.
//
// Codes: those of definition_file.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/tables/definition_file.h"
#include "mail/database_table.h"
#include "mail/servers/server_settings.h"
#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern::tables {

using servers::DatabaseKind;

// Where the data is (servers::SqlServer), and how it is queried.
struct DatabaseConfig : servers::SqlServer {
  std::shared_ptr<const SourceFile> file;  // masked: safe to quote

  // The query template (`query`, or the one Postfix builds from `table`,
  // `select_field`, `where_field` and `additional_conditions`).
  DefinitionSetting query;
  // Lists every key with its values (first column the key); optional.
  std::optional<DefinitionSetting> enumeration_query;
  mail::DatabaseLookupRules rules;  // result_format, domain, expansion_limit and the template needs
  SourceLocation expansion_limit_location;
  // postern_live: posternd queries the server at run time (nothing is read now).
  std::optional<DefinitionSetting> live;
};

// Reads and checks `path` (the name of `reference`). nullopt when it cannot
// be used (the reasons are in `diagnostics`).
std::optional<DatabaseConfig> ReadDatabaseConfig(DatabaseKind kind, const std::string& path,
                                                 const SourceLocation& reference_location, DiagnosticSink* diagnostics);

}  // namespace postern::tables
