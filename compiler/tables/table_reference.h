// table_reference.h: `type:name` lookup-table references as they appear in
// main.cf (`hash:/etc/postfix/virtual`, `inline:{a=b}`, `pcre:/x.pcre`).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::tables {

enum class TableFormat {
  kText,       // postmap(1) source: hash btree lmdb cdb dbm sdbm texthash
  kAliases,    // aliases(5) source, for the same types under alias_maps
  kInline,     // inline:{ key=value, ... }
  kStatic,     // static:value
  kCidr,       // cidr_table(5)
  kRegexp,     // regexp_table(5)
  kPcre,       // pcre_table(5)
  kPasswd,     // unix:passwd.byname, the system's users, read live
  kDatabase,   // sqlite/pgsql/mysql: a definition file; the data is read when compiling
  kDirectory,  // ldap: likewise, from an LDAP directory
  kFail,       // fail:name, every lookup a temporary error (Postfix 3.0, for tests)
  kUnsupported,
};

struct TableReference {
  std::string type;  // "hash"; "proxy:" is unwrapped
  std::string name;  // the path, or the {...} text of an inline form
  TableFormat format = TableFormat::kUnsupported;
  bool inline_text = false;  // cidr:{...} / pcre:{...} / regexp:{...}

  std::string ToString() const { return type + ":" + name; }
};

// Parses "type:name". Returns nullopt when there is no ':' or no type.
// `aliases` picks the aliases(5) format for the indexed file types.
std::optional<TableReference> ParseTableReference(std::string_view text, bool aliases = false);

// Whether `type` is a Postfix table type at all (supported or not).
bool IsKnownTableType(std::string_view type);
// The supported types, for did-you-mean hints.
const std::vector<std::string_view>& SupportedTableTypes();

}  // namespace postern::tables
