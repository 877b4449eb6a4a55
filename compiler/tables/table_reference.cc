// table_reference.cc: see table_reference.h.
#include "compiler/tables/table_reference.h"

#include <algorithm>

#include "util/strings.h"

namespace postern::tables {
namespace {

constexpr std::string_view kIndexedTypes[] = {"btree", "cdb", "dbm", "hash", "lmdb", "sdbm", "texthash"};

// Table types Postfix has that Postern cannot compile into an image (they
// query live services, or have no static content).
constexpr std::string_view kOtherPostfixTypes[] = {
    "environ", "internal", "memcache",  "mongodb", "nis",      "nisplus", "pipemap",
    "proxy",   "randmap",  "socketmap", "tcp",     "unionmap", "unix",
};

}  // namespace

const std::vector<std::string_view>& SupportedTableTypes() {
  static const std::vector<std::string_view> types = {"btree",  "cdb",  "cidr",   "dbm",    "fail",    "hash",
                                                      "inline", "ldap", "lmdb",   "mysql",  "pcre",    "pgsql",
                                                      "regexp", "sdbm", "sqlite", "static", "texthash"};
  return types;
}

bool IsKnownTableType(std::string_view type) {
  const auto& supported = SupportedTableTypes();
  return std::find(supported.begin(), supported.end(), type) != supported.end() ||
         std::find(std::begin(kOtherPostfixTypes), std::end(kOtherPostfixTypes), type) != std::end(kOtherPostfixTypes);
}

std::optional<TableReference> ParseTableReference(std::string_view text, bool aliases) {
  text = Trim(text);
  // proxy:type:name is served by Postfix's proxymap; the table is the same.
  while (StartsWith(text, "proxy:")) text.remove_prefix(6);
  size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  TableReference ref;
  ref.type = ToLower(text.substr(0, colon));
  for (char c : ref.type) {
    if (!IsAlnum(c) && c != '_') return std::nullopt;
  }
  ref.name = std::string(text.substr(colon + 1));
  if (std::find(std::begin(kIndexedTypes), std::end(kIndexedTypes), ref.type) != std::end(kIndexedTypes)) {
    // texthash is read by Postfix's own text reader, postmap(1) input even
    // under alias_maps ("postmaster: root" has the key "postmaster:").
    ref.format = aliases && ref.type != "texthash" ? TableFormat::kAliases : TableFormat::kText;
  } else if (ref.type == "sqlite" || ref.type == "pgsql" || ref.type == "mysql") {
    ref.format = TableFormat::kDatabase;
  } else if (ref.type == "ldap") {
    ref.format = TableFormat::kDirectory;
  } else if (ref.type == "inline") {
    ref.format = TableFormat::kInline;
  } else if (ref.type == "static") {
    ref.format = TableFormat::kStatic;
  } else if (ref.type == "cidr") {
    ref.format = TableFormat::kCidr;
  } else if (ref.type == "regexp") {
    ref.format = TableFormat::kRegexp;
  } else if (ref.type == "pcre") {
    ref.format = TableFormat::kPcre;
  } else if (ref.type == "fail") {
    ref.format = TableFormat::kFail;
  } else if (ref.type == "unix" && ref.name == "passwd.byname") {
    ref.format = TableFormat::kPasswd;
  }
  ref.inline_text = StartsWith(ref.name, "{");
  return ref;
}

}  // namespace postern::tables
