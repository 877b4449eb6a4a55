// server_settings.cc: see server_settings.h.
#include "mail/servers/server_settings.h"

namespace postern::servers {

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

}  // namespace postern::servers
