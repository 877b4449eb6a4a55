// sqlite_client.cc: ForEachSqliteRow, with libsqlite3. The database is
// opened read-only, as Postfix's sqlite client opens it.
#include <sqlite3.h>

#include "compiler/tables/database_client.h"

namespace postern::tables {

Status ForEachSqliteRow(const DatabaseConfig& config, const std::string& sql,
                        const std::function<void(const DatabaseRow&)>& row) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(config.dbpath.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "open database " + config.dbpath + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return Status::Permanent(message);
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_stmt* statement = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
    std::string message = config.dbpath + ": " + sqlite3_errmsg(db) + " in \"" + sql + "\"";
    sqlite3_close(db);
    return Status::Permanent(message);
  }
  Status status;
  DatabaseRow values;
  while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    int columns = sqlite3_column_count(statement);
    values.assign(static_cast<size_t>(columns), std::nullopt);
    for (int i = 0; i < columns; ++i) {
      const unsigned char* text = sqlite3_column_text(statement, i);
      if (!text) continue;
      values[static_cast<size_t>(i)] =
          std::string(reinterpret_cast<const char*>(text), static_cast<size_t>(sqlite3_column_bytes(statement, i)));
    }
    row(values);
  }
  if (rc != SQLITE_DONE) status = Status::Permanent(config.dbpath + ": " + sqlite3_errmsg(db) + " in \"" + sql + "\"");
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return status;
}

}  // namespace postern::tables
