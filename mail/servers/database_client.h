// database_client.h: a connection to the database an SQL table definition
// names, with the client library Debian ships for it (libsqlite3, libpq,
// libmariadb): queries with their rows streamed, and a key quoted as
// Postfix's client quotes it for that database.
//
// Hosts are tried in the order written (Postfix picks at random; a compile
// is reproducible), each with a 10-second connection timeout. Errors name
// the host and what the server said; never the password.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mail/servers/server_settings.h"
#include "util/status.h"

namespace postern::servers {

using DatabaseRow = std::vector<std::optional<std::string>>;  // nullopt: SQL NULL

using RowVisitor = std::function<void(const DatabaseRow&)>;

// Calls `value` for each value of `row` a lookup returns, from column
// `first` on: Postfix's sqlite client reads the first column of a row,
// pgsql and mysql every column; NULL and empty values are skipped.
void ForEachRowValue(DatabaseKind kind, const DatabaseRow& row, size_t first,
                     const std::function<void(const std::string&)>& value);

class DatabaseConnection {
 public:
  // Connects to the first host that answers (sqlite: opens dbpath read-only).
  static Result<std::unique_ptr<DatabaseConnection>> Open(const SqlServer& config);
  virtual ~DatabaseConnection() = default;

  // Calls `row` for every row `sql` returns, or says why it cannot.
  virtual Status ForEachRow(const std::string& sql, const RowVisitor& row) = 0;
  // `value` made safe between single quotes, as Postfix's client quotes a
  // key for this database.
  virtual std::string Quote(std::string_view value) = 0;
};

// One `hosts` element: unix:/path, inet:host:port, host:port or host.
struct DatabaseHost {
  bool unix_socket = false;
  std::string name;  // the host, or the socket path
  std::optional<int> port;
};
std::optional<DatabaseHost> ParseDatabaseHost(std::string_view text);

// The connection to the first of `hosts` that `connect(host, &error)`
// reaches; null when none does, with every host's error in `errors`.
template <typename Connection>
Connection ConnectToFirstHost(const std::vector<std::string>& hosts,
                              const std::function<Connection(const std::string&, std::string*)>& connect,
                              std::string* errors) {
  for (const std::string& host : hosts) {
    std::string error;
    Connection connection = connect(host, &error);
    if (connection) return connection;
    *errors += (errors->empty() ? "" : "; ") + error;
  }
  return nullptr;
}

Result<std::unique_ptr<DatabaseConnection>> OpenSqlite(const SqlServer& config);
Result<std::unique_ptr<DatabaseConnection>> OpenPgsql(const SqlServer& config);
Result<std::unique_ptr<DatabaseConnection>> OpenMysql(const SqlServer& config);

}  // namespace postern::servers
