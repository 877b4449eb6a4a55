// query_command.cc: `postern query`, table lookups as postmap -q and
// postalias -q answer them.
#include <iostream>

#include "compiler/tables/table_loader.h"
#include "tools/postern/commands.h"
#include "util/strings.h"

namespace postern::cli {

int RunQuery(const QueryOptions& options) {
  DiagnosticSink diagnostics;
  tables::TableLoadOptions load;
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
  }
  for (const Diagnostic& d : diagnostics.diagnostics()) std::cerr << RenderDiagnostic(d);
  for (const auto& t : loaded) {
    if (!t.table) return 2;
  }

  auto lookup = [&](std::string_view key) -> std::optional<std::string> {
    for (const auto& t : loaded) {
      if (auto value = t.table->Lookup(key)) return value;
    }
    return std::nullopt;
  };

  if (options.key != "-") {
    auto value = lookup(options.key);
    if (!value) return 1;
    std::cout << *value << "\n";
    return 0;
  }
  bool found_any = false;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::string_view key = Trim(line);
    if (key.empty()) continue;
    if (auto value = lookup(key)) {
      // postalias -q - prints "key:<TAB>value"; postmap -q - "key<TAB>value".
      std::cout << key << (options.aliases ? ":\t" : "\t") << *value << "\n";
      found_any = true;
    }
  }
  return found_any ? 0 : 1;
}

}  // namespace postern::cli
