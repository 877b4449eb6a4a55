// sqlite_client.cc: OpenSqlite, with libsqlite3. The database is opened
// read-only, as Postfix's sqlite client opens it; keys are quoted as
// sqlite3_mprintf's %q quotes them, as Postfix quotes them.
#include <sqlite3.h>

#include "mail/servers/database_client.h"

namespace postern::servers {
namespace {

class SqliteConnection : public DatabaseConnection {
 public:
  SqliteConnection(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  ~SqliteConnection() override { sqlite3_close(db_); }

  Status ForEachRow(const std::string& sql, const RowVisitor& row) override {
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) != SQLITE_OK) {
      return Status::Permanent(path_ + ": " + sqlite3_errmsg(db_) + " in \"" + sql + "\"");
    }
    int rc = SQLITE_OK;
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
    Status status;
    if (rc != SQLITE_DONE) status = Status::Permanent(path_ + ": " + sqlite3_errmsg(db_) + " in \"" + sql + "\"");
    sqlite3_finalize(statement);
    return status;
  }

  std::string Quote(std::string_view value) override {
    std::string out;
    for (char c : value) {
      out += c;
      if (c == '\'') out += '\'';
    }
    return out;
  }

 private:
  std::string path_;
  sqlite3* db_;
};

}  // namespace

Result<std::unique_ptr<DatabaseConnection>> OpenSqlite(const SqlServer& config) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(config.dbpath.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = "open database " + config.dbpath + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return Status::Permanent(message);
  }
  sqlite3_busy_timeout(db, 10000);
  return std::unique_ptr<DatabaseConnection>(new SqliteConnection(config.dbpath, db));
}

}  // namespace postern::servers
