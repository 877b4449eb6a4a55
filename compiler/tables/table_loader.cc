// table_loader.cc: see table_loader.h.
#include "compiler/tables/table_loader.h"

#include "compiler/config/parameter_value.h"
#include "compiler/tables/database_config.h"
#include "compiler/tables/database_materialiser.h"
#include "compiler/tables/ldap_config.h"
#include "compiler/tables/ldap_materialiser.h"
#include "mail/passwd_table.h"
#include "util/strings.h"
#include "util/suggest.h"

namespace postern::tables {
namespace {

// The inside of "{ ... }", or nullopt with a diagnostic.
std::optional<std::string_view> BraceBody(const TableReference& ref, const SourceLocation& location,
                                          DiagnosticSink* diagnostics) {
  std::string_view text = Trim(ref.name);
  if (text.empty() || text.front() != '{') {
    diagnostics->Error("PT0323", location, ref.type + " table: missing '{' in \"" + ref.ToString() + "\"",
                       "write " + ref.type + ":{ ... }");
    return std::nullopt;
  }
  int level = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '{') ++level;
    if (text[i] == '}' && --level == 0) {
      if (i + 1 != text.size()) {
        diagnostics->Error("PT0323", location, "syntax error after '}' in \"" + ref.ToString() + "\"");
        return std::nullopt;
      }
      return text.substr(1, i - 1);
    }
  }
  diagnostics->Error("PT0323", location, "missing '}' in \"" + ref.ToString() + "\"");
  return std::nullopt;
}

// A table posternd asks at run time: the image gets `live` without its
// secret; the compiler's own lookups ask the server with it.
LoadedTable LiveTable(LoadedTable loaded, servers::LiveTableSpec live, const std::string& secret, mail::CaseFold fold) {
  servers::LiveTableSpec with_secret = live;
  bool sql = live.kind == servers::LiveTableSpec::Kind::kSql;
  (sql ? live.sql.password : live.ldap.bind_pw).clear();
  (sql ? with_secret.sql.password : with_secret.ldap.bind_pw) = secret;
  loaded.table = servers::MakeLiveTable(loaded.reference.ToString(), std::move(with_secret), fold);
  loaded.live = std::move(live);
  return loaded;
}

}  // namespace

std::string ResolveTablePath(const std::string& path, const TableLoadOptions& options) {
  if (path.empty() || path.front() != '/') return options.base_directory + "/" + path;
  const std::string& installed = options.installed_config_directory;
  if (!installed.empty() && StartsWith(path, installed + "/")) {
    std::string mapped = options.base_directory + path.substr(installed.size());
    if (PathExists(mapped)) return mapped;
  }
  return path;
}

LoadedTable LoadTable(const TableReference& reference, const TableLoadOptions& options, const SourceLocation& location,
                      DiagnosticSink* diagnostics) {
  LoadedTable loaded;
  loaded.reference = reference;
  const std::string& type = reference.type;

  if (type == "nis" && reference.name == "mail.aliases") {
    // Part of Postfix's built-in alias_maps. Without an NIS domain (a Debian
    // host unless NIS is set up) Postfix's lookups there find nothing, and
    // so do Postern's: it has no NIS client.
    diagnostics->Warning("PT0324", location,
                         "nis:mail.aliases finds nothing: Postern does not look up NIS, as Postfix on a host "
                         "without an NIS domain",
                         "leave it out of alias_maps (e.g. alias_maps = hash:/etc/aliases)");
    loaded.table = std::make_shared<mail::ExactTable>(options.fold);
    return loaded;
  }
  if (reference.format == TableFormat::kUnsupported) {
    if (IsKnownTableType(type)) {
      diagnostics->Error("PT0320", location,
                         "table type \"" + type + "\" is not supported by Postern (" + reference.ToString() + ")",
                         "Postern compiles tables into its image; export the data to a hash: or cdb: source file");
    } else {
      std::string suggestion = Suggest(type, SupportedTableTypes());
      diagnostics->Error("PT0321", location, "unknown table type \"" + type + "\" in \"" + reference.ToString() + "\"",
                         suggestion.empty() ? "" : "did you mean \"" + suggestion + ":\"?");
    }
    return loaded;
  }

  if (reference.format == TableFormat::kFail) {
    loaded.table = std::make_shared<mail::FailTable>(reference.ToString());
    return loaded;
  }

  if (reference.format == TableFormat::kPasswd) {
    loaded.table = std::make_shared<mail::PasswdTable>();
    return loaded;
  }

  if (reference.format == TableFormat::kDatabase || reference.format == TableFormat::kDirectory) {
    if (reference.inline_text || reference.name.empty() ||
        (reference.name.front() != '/' && reference.name.front() != '.')) {
      // pgsql:name reads name_hosts, name_query, ... from main.cf.
      diagnostics->Error("PT0336", location,
                         type + ":" + reference.name + ": settings in main.cf are not supported; Postern reads a " +
                             type + " table's settings from a file",
                         "move the settings to a file and write " + type + ":/path/to/file.cf");
      return loaded;
    }
    loaded.source_path = ResolveTablePath(reference.name, options);
    // posternd reads a live table's secret from the file where it is installed.
    servers::LiveTableSpec live;
    live.definition_path = reference.name.front() == '/' ? reference.name : loaded.source_path;
    std::optional<MaterialisedTable> materialised;
    if (reference.format == TableFormat::kDirectory) {
      auto config = ReadLdapConfig(loaded.source_path, location, diagnostics);
      if (!config) return loaded;
      loaded.holds_secret = config->bind && !config->bind_pw.empty();
      if (config->live) {
        live.kind = servers::LiveTableSpec::Kind::kLdap;
        live.ldap = *config;
        live.query = config->query_filter.value;
        live.search_base = config->search_base.value;
        live.rules = config->rules;
        return LiveTable(std::move(loaded), std::move(live), config->bind_pw, options.fold);
      }
      materialised = MaterialiseLdapTable(*config, options.fold, location, diagnostics);
    } else {
      auto config = ReadDatabaseConfig(*servers::DatabaseKindOf(type), loaded.source_path, location, diagnostics);
      if (!config) return loaded;
      loaded.holds_secret = !config->password.empty();
      if (config->live) {
        live.sql = *config;
        live.query = config->query.value;
        live.rules = config->rules;
        return LiveTable(std::move(loaded), std::move(live), config->password, options.fold);
      }
      materialised = MaterialiseDatabaseTable(*config, options.fold, location, diagnostics);
    }
    if (!materialised) return loaded;
    loaded.entry_count = materialised->rows->key_count();
    loaded.table = materialised->table;
    return loaded;
  }

  if (reference.format == TableFormat::kStatic) {
    std::string value = reference.name;
    if (reference.inline_text) {
      auto body = BraceBody(reference, location, diagnostics);
      if (!body) return loaded;
      value = std::string(Trim(*body));
    }
    loaded.table = std::make_shared<mail::StaticTable>(value);
    loaded.entry_count = 1;
    return loaded;
  }

  if (reference.format == TableFormat::kInline) {
    auto body = BraceBody(reference, location, diagnostics);
    if (!body) return loaded;
    auto items = config::SplitParameterList(*body);
    if (!items) {
      diagnostics->Error("PT0323", location, "unbalanced braces in \"" + reference.ToString() + "\"");
      return loaded;
    }
    auto table = std::make_shared<mail::ExactTable>(options.fold);
    for (const std::string& item : *items) {
      size_t eq = item.find('=');
      if (eq == std::string::npos) {
        diagnostics->Error("PT0323", location, "missing '=' after \"" + item + "\" in \"" + reference.ToString() + "\"",
                           "inline tables list key=value pairs; use { key = value } when a value has spaces");
        continue;
      }
      std::string key(Trim(std::string_view(item).substr(0, eq)));
      if (!table->Insert(key, std::string(Trim(std::string_view(item).substr(eq + 1))))) {
        diagnostics->Warning("PT0302", location, "duplicate entry \"" + key + "\" in \"" + reference.ToString() + "\"",
                             "the first value is used");
      }
    }
    loaded.entry_count = table->size();
    loaded.table = table;
    return loaded;
  }

  // Everything else has source text: a file, or cidr:/regexp:/pcre:{{...}}.
  std::shared_ptr<const SourceFile> file;
  if (reference.inline_text && (reference.format == TableFormat::kCidr || reference.format == TableFormat::kRegexp ||
                                reference.format == TableFormat::kPcre)) {
    auto body = BraceBody(reference, location, diagnostics);
    if (!body) return loaded;
    auto items = config::SplitParameterList(*body);
    if (!items) {
      diagnostics->Error("PT0323", location, "unbalanced braces in \"" + reference.ToString() + "\"");
      return loaded;
    }
    file = std::make_shared<const SourceFile>(reference.ToString(), Join(*items, "\n") + "\n");
  } else if (reference.format == TableFormat::kText || reference.format == TableFormat::kAliases) {
    loaded.source_path = ResolveTablePath(reference.name, options);
    Result<CompiledTable> compiled = CompileTableSource(loaded.source_path, loaded.source_path, reference.format,
                                                        options.fold, options.scratch_directory, diagnostics);
    if (!compiled.ok()) {
      // Permanent: the source cannot be read; temporary: the compiled file
      // cannot be written (the images directory or $TMPDIR).
      diagnostics->Error("PT0322", location, "table " + reference.ToString() + ": " + compiled.status().message(),
                         compiled.status().temporary() ? "check the space and permissions where it is compiled to"
                                                       : "create the source file, or remove the reference");
      return loaded;
    }
    loaded.table = compiled->table;
    loaded.compiled = compiled->file;
    loaded.source_sha256 = compiled->source_sha256;
    loaded.entry_count = compiled->entries;
    return loaded;
  } else {
    loaded.source_path = ResolveTablePath(reference.name, options);
    auto read = SourceFile::Read(loaded.source_path);
    if (!read.ok()) {
      diagnostics->Error("PT0322", location, "table " + reference.ToString() + ": " + read.status().message(),
                         "create the source file, or remove the reference");
      return loaded;
    }
    file = read.value();
  }

  switch (reference.format) {
    case TableFormat::kCidr:
    case TableFormat::kRegexp:
    case TableFormat::kPcre: {
      auto rules = ParsePatternTable(file, reference.format, diagnostics);
      loaded.entry_count = rules.size();
      loaded.table = std::make_shared<mail::PatternTable>(std::move(rules));
      break;
    }
    default:
      break;
  }
  return loaded;
}

}  // namespace postern::tables
