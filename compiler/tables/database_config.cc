// database_config.cc: see database_config.h.
#include "compiler/tables/database_config.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "compiler/config/main_cf.h"
#include "util/strings.h"
#include "util/suggest.h"

namespace postern::tables {
namespace {

constexpr std::string_view kSecretMask = "********";

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

bool IsSecretSetting(std::string_view name) { return name == "password"; }

// A copy of `text` in which the value of every secret setting, on its line
// and on the lines continuing it, is masked. A line that names a secret
// without '=' is masked after the name too, so no diagnostic can quote it.
std::string MaskSecrets(const std::string& text) {
  std::vector<std::string> lines = SplitFields(text, '\n');
  bool in_secret = false;
  for (std::string& line : lines) {
    std::string_view view = line;
    bool continuation = !view.empty() && IsSpace(view.front()) && !Trim(view).empty() && Trim(view).front() != '#';
    if (continuation) {
      if (in_secret) line = std::string(view.substr(0, view.size() - Trim(view).size())) + std::string(kSecretMask);
      continue;
    }
    in_secret = false;
    std::string_view trimmed = Trim(view);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    size_t name_end = 0;
    while (name_end < view.size() && !IsSpace(view[name_end]) && view[name_end] != '=') ++name_end;
    if (!IsSecretSetting(view.substr(0, name_end))) continue;
    in_secret = true;
    size_t value_start = name_end;
    while (value_start < view.size() && (IsSpace(view[value_start]) || view[value_start] == '=')) ++value_start;
    if (value_start < view.size()) line = line.substr(0, value_start) + std::string(kSecretMask);
  }
  return Join(lines, "\n");
}

class Reader {
 public:
  Reader(DatabaseKind kind, DiagnosticSink* diagnostics) : kind_(kind), diagnostics_(diagnostics) {}

  std::optional<DatabaseConfig> Read(const std::string& path, const SourceLocation& reference_location) {
    auto read = SourceFile::Read(path);
    if (!read.ok()) {
      diagnostics_->Error("PT0322", reference_location,
                          std::string(DatabaseKindName(kind_)) + " table: " + read.status().message(),
                          "create the definition file, or remove the reference");
      return std::nullopt;
    }
    const std::shared_ptr<const SourceFile>& original = read.value();
    // Secrets from the real text; everything else, and every diagnostic,
    // from the masked one.
    DiagnosticSink scratch;
    std::map<int, std::string> secrets;  // by first line
    for (const config::ParameterDefinition& def : config::ParseMainCf(original, &scratch).definitions) {
      if (IsSecretSetting(def.name)) secrets[def.name_location.line] = def.value;
    }
    config_.kind = kind_;
    config_.file = std::make_shared<const SourceFile>(original->name(), MaskSecrets(original->text()));
    for (const config::ParameterDefinition& def : config::ParseMainCf(config_.file, diagnostics_).definitions) {
      const auto& known = KnownSettings(kind_);
      if (std::find(known.begin(), known.end(), def.name) == known.end()) {
        std::string suggestion = Suggest(def.name, known);
        diagnostics_->Warning("PT0330", def.name_location,
                              "unknown " + std::string(DatabaseKindName(kind_)) + " table setting \"" + def.name +
                                  "\" (Postfix ignores it)",
                              suggestion.empty() ? "" : "did you mean \"" + suggestion + "\"?");
        continue;
      }
      DatabaseSetting setting{def.value, def.value_location};
      if (IsSecretSetting(def.name)) setting.value = secrets[def.name_location.line];
      // The last definition wins, as in main.cf.
      settings_[def.name] = std::move(setting);
    }
    if (!Interpret()) return std::nullopt;
    return std::move(config_);
  }

 private:
  const DatabaseSetting* Find(const std::string& name) const {
    auto it = settings_.find(name);
    return it == settings_.end() ? nullptr : &it->second;
  }
  std::string Value(const std::string& name, std::string fallback = "") const {
    const DatabaseSetting* setting = Find(name);
    return setting ? setting->value : fallback;
  }

  void Invalid(const DatabaseSetting& setting, std::string message, std::string hint = "") {
    diagnostics_->Error("PT0331", setting.location, std::move(message), std::move(hint));
    ok_ = false;
  }

  std::optional<bool> Boolean(const std::string& name, bool fallback) {
    const DatabaseSetting* setting = Find(name);
    if (!setting) return fallback;
    std::string value = ToLower(setting->value);
    if (value == "yes" || value == "true" || value == "1") return true;
    if (value == "no" || value == "false" || value == "0") return false;
    Invalid(*setting, name + " must be yes or no, not \"" + setting->value + "\"");
    return std::nullopt;
  }

  int Number(const std::string& name, int fallback) {
    const DatabaseSetting* setting = Find(name);
    if (!setting) return fallback;
    int value = 0;
    const std::string& text = setting->value;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || value < 0) {
      Invalid(*setting, name + " must be a number of 0 or more, not \"" + text + "\"");
      return fallback;
    }
    return value;
  }

  // The query, or the one Postfix builds from the legacy settings.
  void ReadQuery() {
    if (const DatabaseSetting* written = Find("query")) {
      config_.query = *written;
    } else if (const DatabaseSetting* function = Find("select_function"); function && kind_ == DatabaseKind::kPgsql) {
      config_.query = {"SELECT " + function->value + "('%s')", function->location};
    } else if (Find("table") && Find("select_field") && Find("where_field")) {
      const DatabaseSetting& table = *Find("table");
      std::string query =
          "SELECT " + Value("select_field") + " FROM " + table.value + " WHERE " + Value("where_field") + "='%s'";
      if (!Value("additional_conditions").empty()) query += " " + Value("additional_conditions");
      config_.query = {query, table.location};
    } else {
      diagnostics_->Error("PT0331", SourceLocation{config_.file, 0, 0},
                          std::string(DatabaseKindName(kind_)) + " table " + config_.file->name() +
                              ": no query (and not all of table, select_field and where_field)",
                          "add `query = SELECT value FROM table WHERE key = '%s'`");
      ok_ = false;
      return;
    }
    Status status = mail::AddTemplateNeeds(config_.query.value, true, &config_.rules);
    if (!status.ok()) Invalid(config_.query, "query: " + status.message());
  }

  bool Interpret() {
    ReadQuery();
    if (const DatabaseSetting* enumeration = Find("postern_enumeration_query")) {
      config_.enumeration_query = *enumeration;
    }
    config_.rules.result_format = Value("result_format", "%s");
    if (const DatabaseSetting* format = Find("result_format")) {
      config_.result_format_location = format->location;
      Status status = mail::AddTemplateNeeds(format->value, false, &config_.rules);
      if (!status.ok()) Invalid(*format, "result_format: " + status.message());
    }
    if (const DatabaseSetting* domain = Find("domain")) {
      for (const std::string& item : SplitAny(domain->value, " \t,")) {
        std::string_view name = item.front() == '!' ? std::string_view(item).substr(1) : std::string_view(item);
        if (name.empty() || name.front() == '/' || name.find(':') != std::string_view::npos) {
          diagnostics_->Error("PT0336", domain->location,
                              "domain: \"" + item + "\": Postern reads domain names here, not files or tables",
                              "list the domain names");
          ok_ = false;
          continue;
        }
        config_.rules.domain_filter.push_back(ToLower(item));
      }
    }
    config_.rules.expansion_limit = Number("expansion_limit", 0);
    if (const DatabaseSetting* limit = Find("expansion_limit")) config_.expansion_limit_location = limit->location;

    std::optional<bool> live = Boolean("postern_live", false);
    if (live.value_or(false)) {
      diagnostics_->Error("PT0336", Find("postern_live")->location,
                          "live database tables are not implemented: Postern reads this table when it compiles",
                          "remove postern_live; recompile the image when the data changes");
      ok_ = false;
    }

    if (kind_ == DatabaseKind::kSqlite) {
      config_.dbpath = Value("dbpath");
      if (config_.dbpath.empty()) {
        diagnostics_->Error("PT0331", SourceLocation{config_.file, 0, 0},
                            "sqlite table " + config_.file->name() + ": no dbpath", "add `dbpath = /path/to/file.db`");
        ok_ = false;
      }
      return ok_;
    }
    config_.hosts = SplitAny(Value("hosts"), " \t,");
    if (config_.hosts.empty()) config_.hosts.push_back("localhost");  // as Postfix
    config_.dbname = Value("dbname");
    config_.user = Value("user");
    config_.password = Value("password");
    if (config_.dbname.empty()) {
      diagnostics_->Error("PT0331", SourceLocation{config_.file, 0, 0},
                          std::string(DatabaseKindName(kind_)) + " table " + config_.file->name() + ": no dbname",
                          "add `dbname = NAME`");
      ok_ = false;
    }
    if (kind_ == DatabaseKind::kMysql) {
      config_.option_file = Value("option_file");
      config_.option_group = Value("option_group", "client");
      config_.tls_cert_file = Value("tls_cert_file");
      config_.tls_key_file = Value("tls_key_file");
      config_.tls_ca_file = Value("tls_CAfile");
      config_.tls_ca_path = Value("tls_CApath");
      config_.tls_ciphers = Value("tls_ciphers");
      config_.tls_verify_cert = Boolean("tls_verify_cert", false).value_or(false);
      Boolean("require_result_set", true);
      Number("idle_interval", 60);
      Number("retry_interval", 60);
    }
    return ok_;
  }

  DatabaseKind kind_;
  DiagnosticSink* diagnostics_;
  DatabaseConfig config_;
  std::map<std::string, DatabaseSetting> settings_;
  bool ok_ = true;
};

}  // namespace

const char* DatabaseKindName(DatabaseKind kind) {
  switch (kind) {
    case DatabaseKind::kPgsql:
      return "pgsql";
    case DatabaseKind::kMysql:
      return "mysql";
    case DatabaseKind::kSqlite:
      break;
  }
  return "sqlite";
}

std::optional<DatabaseKind> DatabaseKindOf(std::string_view type) {
  if (type == "sqlite") return DatabaseKind::kSqlite;
  if (type == "pgsql") return DatabaseKind::kPgsql;
  if (type == "mysql") return DatabaseKind::kMysql;
  return std::nullopt;
}

std::optional<DatabaseConfig> ReadDatabaseConfig(DatabaseKind kind, const std::string& path,
                                                 const SourceLocation& reference_location,
                                                 DiagnosticSink* diagnostics) {
  return Reader(kind, diagnostics).Read(path, reference_location);
}

}  // namespace postern::tables
