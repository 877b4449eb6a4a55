// database_config.cc: see database_config.h.
#include "compiler/tables/database_config.h"

#include "util/strings.h"

namespace postern::tables {
namespace {

// The settings each kind reads (its man page), and Postern's own.
const std::vector<std::string_view>& KnownSettings(DatabaseKind kind) {
  auto list = [](std::vector<std::string_view> own) {
    for (std::string_view common :
         {"query", "result_format", "domain", "expansion_limit", "table", "select_field", "where_field",
          "additional_conditions", "postern_enumeration_query", "postern_live"}) {
      own.push_back(common);
    }
    return own;
  };
  static const std::vector<std::string_view> sqlite = list({"dbpath"});
  static const std::vector<std::string_view> pgsql = list({"hosts", "user", "password", "dbname", "select_function"});
  static const std::vector<std::string_view> mysql =
      list({"hosts", "user", "password", "dbname", "option_file", "option_group", "require_result_set", "tls_cert_file",
            "tls_key_file", "tls_CAfile", "tls_CApath", "tls_ciphers", "tls_verify_cert", "idle_interval",
            "retry_interval"});
  switch (kind) {
    case DatabaseKind::kPgsql:
      return pgsql;
    case DatabaseKind::kMysql:
      return mysql;
    case DatabaseKind::kSqlite:
      break;
  }
  return sqlite;
}

// The query, or the one Postfix builds from the legacy settings.
std::optional<DefinitionSetting> QueryOf(DatabaseKind kind, DefinitionFile* file) {
  if (const DefinitionSetting* written = file->Find("query")) return *written;
  const DefinitionSetting* function = file->Find("select_function");
  if (function && kind == DatabaseKind::kPgsql) {
    return DefinitionSetting{"SELECT " + function->value + "('%s')", function->location};
  }
  if (file->Find("table") && file->Find("select_field") && file->Find("where_field")) {
    const DefinitionSetting& table = *file->Find("table");
    std::string query = "SELECT " + file->Value("select_field") + " FROM " + table.value + " WHERE " +
                        file->Value("where_field") + "='%s'";
    if (!file->Value("additional_conditions").empty()) query += " " + file->Value("additional_conditions");
    return DefinitionSetting{query, table.location};
  }
  file->FileError("PT0331", "no query (and not all of table, select_field and where_field)",
                  "add `query = SELECT value FROM table WHERE key = '%s'`");
  return std::nullopt;
}

}  // namespace

std::optional<DatabaseConfig> ReadDatabaseConfig(DatabaseKind kind, const std::string& path,
                                                 const SourceLocation& reference_location,
                                                 DiagnosticSink* diagnostics) {
  auto read = DefinitionFile::Read(servers::DatabaseKindName(kind), path, KnownSettings(kind), {"password"},
                                   reference_location, diagnostics);
  if (!read) return std::nullopt;
  DefinitionFile& file = *read;
  DatabaseConfig config;
  config.kind = kind;
  config.file = file.file();
  std::optional<DefinitionSetting> query = QueryOf(kind, &file);
  if (query) config.query = *query;
  if (const DefinitionSetting* enumeration = file.Find("postern_enumeration_query")) {
    config.enumeration_query = *enumeration;
  }
  LookupRulesLocations locations =
      ReadLookupRules(&file, query ? std::vector<DefinitionSetting>{*query} : std::vector<DefinitionSetting>{},
                      {"result_format"}, &config.rules);
  config.expansion_limit_location = locations.expansion_limit;
  if (file.Boolean("postern_live", false)) config.live = *file.Find("postern_live");

  if (kind == DatabaseKind::kSqlite) {
    config.dbpath = file.Value("dbpath");
    if (config.dbpath.empty()) file.FileError("PT0331", "no dbpath", "add `dbpath = /path/to/file.db`");
    return file.ok() ? std::optional<DatabaseConfig>(std::move(config)) : std::nullopt;
  }
  config.hosts = SplitAny(file.Value("hosts"), " \t,");
  if (config.hosts.empty()) config.hosts.push_back("localhost");  // as Postfix
  config.dbname = file.Value("dbname");
  config.user = file.Value("user");
  config.password = file.Value("password");
  if (config.dbname.empty()) file.FileError("PT0331", "no dbname", "add `dbname = NAME`");
  if (kind == DatabaseKind::kMysql) {
    config.option_file = file.Value("option_file");
    config.option_group = file.Value("option_group", "client");
    config.tls_cert_file = file.Value("tls_cert_file");
    config.tls_key_file = file.Value("tls_key_file");
    config.tls_ca_file = file.Value("tls_CAfile");
    config.tls_ca_path = file.Value("tls_CApath");
    config.tls_ciphers = file.Value("tls_ciphers");
    config.tls_verify_cert = file.Boolean("tls_verify_cert", false);
    file.Boolean("require_result_set", true);
    file.Number("idle_interval", 60);
    file.Number("retry_interval", 60);
  }
  return file.ok() ? std::optional<DatabaseConfig>(std::move(config)) : std::nullopt;
}

}  // namespace postern::tables
