// database_client.cc: see database_client.h. The per-library code is in
// sqlite_client.cc, pgsql_client.cc and mysql_client.cc.
#include "mail/servers/database_client.h"

#include <algorithm>
#include <charconv>

#include "util/strings.h"

namespace postern::servers {

std::optional<DatabaseHost> ParseDatabaseHost(std::string_view text) {
  DatabaseHost host;
  if (StartsWith(text, "unix:")) {
    host.unix_socket = true;
    host.name = std::string(text.substr(5));
    if (host.name.empty()) return std::nullopt;
    return host;
  }
  if (StartsWith(text, "inet:")) text.remove_prefix(5);
  if (text.empty()) return std::nullopt;
  // [v6]:port, v6 without brackets has several colons.
  size_t colon = text.rfind(':');
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host.name = std::string(text.substr(1, close - 1));
    if (close + 1 == text.size()) return host;
    if (text[close + 1] != ':') return std::nullopt;
    colon = close + 1;
  } else if (colon == std::string_view::npos || text.find(':') != colon) {
    host.name = std::string(text);
    return host;
  } else {
    host.name = std::string(text.substr(0, colon));
  }
  std::string_view port = text.substr(colon + 1);
  int number = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (error != std::errc() || end != port.data() + port.size() || number <= 0 || number > 65535) return std::nullopt;
  host.port = number;
  return host;
}

void ForEachRowValue(DatabaseKind kind, const DatabaseRow& row, size_t first,
                     const std::function<void(const std::string&)>& value) {
  size_t last = kind == DatabaseKind::kSqlite ? std::min(row.size(), first + 1) : row.size();
  for (size_t i = first; i < last; ++i) {
    if (row[i] && !row[i]->empty()) value(*row[i]);
  }
}

Result<std::unique_ptr<DatabaseConnection>> DatabaseConnection::Open(const SqlServer& config) {
  switch (config.kind) {
    case DatabaseKind::kPgsql:
      return OpenPgsql(config);
    case DatabaseKind::kMysql:
      return OpenMysql(config);
    case DatabaseKind::kSqlite:
      break;
  }
  return OpenSqlite(config);
}

}  // namespace postern::servers
