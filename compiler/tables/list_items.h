// list_items.h: what each element of a list-valued parameter is (a word, a
// /file, a type:name table), so the checker and the image writer agree on
// which tables and files a configuration uses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/config/parameter_registry.h"
#include "compiler/tables/table_reference.h"

namespace postern::tables {

struct ListItem {
  enum class Kind {
    kWord,      // a name, a network, a restriction, a restriction argument
    kFile,      // /path: its contents are list elements
    kTable,     // a type:name table
    kBadTable,  // looks like type:name but does not parse
    kEndpoint,  // the argument of check_policy_service (a socket, not a table)
  };
  Kind kind = Kind::kWord;
  bool negate = false;  // a leading '!' (match and network lists)
  std::string text;     // without the '!'
  std::optional<TableReference> table;
};

// Classifies the elements of `expanded`, the value of parameter `name` of
// type `type`. Unbalanced braces give an empty list (the checker reports
// them as a bad value).
std::vector<ListItem> ClassifyListItems(std::string_view name, config::ParameterType type, std::string_view expanded);

// Whether `type` is a list whose elements may name tables or files.
bool ListMayReferenceTables(config::ParameterType type);

}  // namespace postern::tables
