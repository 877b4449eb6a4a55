// query_command.cc: `postern query`, table lookups as postmap -q and
// postalias -q answer them.
#include <iostream>

#include "compiler/check/configuration.h"
#include "compiler/tables/table_loader.h"
#include "mail/lookup_failure.h"
#include "tools/postern/commands.h"
#include "util/strings.h"

namespace postern::cli {

int RunQuery(const QueryOptions& options) {
  DiagnosticSink diagnostics;
  tables::TableLoadOptions load;
  // Keys fold as postmap's do, by smtputf8_enable of the configuration
  // (-c, else $MAIL_CONFIG or /etc/postfix; without a main.cf, Postfix's
  // built-in compatibility_level 0: ASCII only).
  std::string directory = options.explicit_directory ? options.config_directory : DefaultConfigDirectory();
  if (PathExists(directory + "/main.cf")) {
    DiagnosticSink ignored;  // `postern check` is the command that reports on main.cf
    check::LoadOptions configuration;
    configuration.config_directory = directory;
    configuration.machine = config::MachineFacts::Probe();
    configuration.load_tables = false;
    check::Model model = check::LoadConfiguration(configuration, &ignored);
    load.fold = check::TableOptions(model).fold;
  }
  if (options.explicit_directory) {
    load.base_directory = options.config_directory;
    load.installed_config_directory = "/etc/postfix";
  }
  std::vector<tables::LoadedTable> loaded;
  for (const std::string& text : options.tables) {
    auto ref = tables::ParseTableReference(text, options.aliases);
    if (!ref) {
      std::cerr << "postern: error: bad table reference \"" << text << "\": expected type:name\n";
      return 2;
    }
    loaded.push_back(tables::LoadTable(*ref, load, SourceLocation{}, &diagnostics));
    if (options.offline && loaded.back().live) {
      loaded.back().table = servers::OfflineTable(text);
    }
  }
  for (const Diagnostic& d : diagnostics.diagnostics()) std::cerr << RenderDiagnostic(d);
  for (const auto& t : loaded) {
    if (!t.table) return 2;
  }

  // A table that fails to answer (fail:, a server that is down) stops the
  // query, as postmap's "query error"; the exit status is 2, not the 1 of
  // a key that is not there.
  bool failed = false;
  auto lookup = [&](std::string_view key) -> std::optional<std::string> {
    for (const auto& t : loaded) {
      mail::LookupFailureScope lookups;
      std::optional<std::string> value = t.table->Lookup(key);
      if (lookups.failed()) {
        std::cerr << "postern: error: " << lookups.reason() << "\n";
        failed = true;
        return std::nullopt;
      }
      if (value) return value;
    }
    return std::nullopt;
  };

  if (options.key != "-") {
    auto value = lookup(options.key);
    if (failed) return 2;
    if (!value) return 1;
    std::cout << *value << "\n";
    return 0;
  }
  bool found_any = false;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string_view key = Trim(line);
    if (key.empty()) continue;
    auto value = lookup(key);
    if (failed) return 2;
    if (value) {
      // postalias -q - prints "key:<TAB>value"; postmap -q - "key<TAB>value".
      std::cout << key << (options.aliases ? ":\t" : "\t") << *value << "\n";
      found_any = true;
    }
  }
  return found_any ? 0 : 1;
}

}  // namespace postern::cli
