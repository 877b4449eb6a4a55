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
#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern::tables {

enum class DatabaseKind { kSqlite, kPgsql, kMysql };

struct DatabaseConfig {
  DatabaseKind kind = DatabaseKind::kSqlite;
  std::shared_ptr<const SourceFile> file;  // masked: safe to quote

  // Where the data is. pgsql/mysql: hosts (unix:/path, inet:host:port,
  // host[:port]; localhost when none), dbname, user, password.
  std::vector<std::string> hosts;
  std::string dbname;
  std::string user;
  std::string password;  // secret
  std::string dbpath;    // sqlite
  // mysql client options.
  std::string option_file;
  std::string option_group = "client";
  std::string tls_cert_file, tls_key_file, tls_ca_file, tls_ca_path, tls_ciphers;
  bool tls_verify_cert = false;

  // The query template (`query`, or the one Postfix builds from `table`,
  // `select_field`, `where_field` and `additional_conditions`).
  DefinitionSetting query;
  // Lists every key with its values (first column the key); optional.
  std::optional<DefinitionSetting> enumeration_query;
  mail::DatabaseLookupRules rules;  // result_format, domain, expansion_limit and the template needs
  SourceLocation expansion_limit_location;
};

const char* DatabaseKindName(DatabaseKind kind);
// Whether `type` is one of the kinds above, and which.
std::optional<DatabaseKind> DatabaseKindOf(std::string_view type);

// Reads and checks `path` (the name of `reference`). nullopt when it cannot
// be used (the reasons are in `diagnostics`).
std::optional<DatabaseConfig> ReadDatabaseConfig(DatabaseKind kind, const std::string& path,
                                                 const SourceLocation& reference_location, DiagnosticSink* diagnostics);

}  // namespace postern::tables
