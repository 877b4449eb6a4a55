// pgsql_client.cc: OpenPgsql, with libpq, rows streamed in single-row
// mode, keys quoted with PQescapeStringConn (as Postfix quotes them). `hosts` forms as pgsql_table(5): unix:/directory,
// inet:host:port, host[:port], and postgresql:// URIs.
#include <libpq-fe.h>

#include <memory>

#include "mail/servers/database_client.h"
#include "util/strings.h"

namespace postern::servers {
namespace {

struct ConnectionCloser {
  void operator()(PGconn* connection) const { PQfinish(connection); }
};
using Connection = std::unique_ptr<PGconn, ConnectionCloser>;

// libpq's messages span lines ("...failed: Connection refused\n\tIs the
// server running..."): one line for a diagnostic.
std::string OneLine(std::string_view message) {
  std::string out;
  for (char c : Trim(message)) {
    if (c == '\n' || c == '\t' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string LastError(PGconn* connection) { return OneLine(PQerrorMessage(connection)); }

Connection Connect(const SqlServer& config, const std::string& host_text, std::string* error) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  std::string host;
  std::string port;
  if (StartsWith(host_text, "postgresql://") || StartsWith(host_text, "postgres://")) {
    keys.push_back("dbname");
    values.push_back(host_text.c_str());
  } else {
    auto parsed = ParseDatabaseHost(host_text);
    if (!parsed) {
      *error = "bad host \"" + host_text + "\"";
      return nullptr;
    }
    host = parsed->name;
    if (parsed->port) port = std::to_string(*parsed->port);
    keys.push_back("host");
    values.push_back(host.c_str());
    if (!port.empty()) {
      keys.push_back("port");
      values.push_back(port.c_str());
    }
  }
  // A URI's own settings come first; these fill what it leaves out.
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    keys.push_back(key);
    values.push_back(value.c_str());
  };
  add("dbname", config.dbname);
  add("user", config.user);
  add("password", config.password);
  keys.push_back("connect_timeout");
  values.push_back("10");
  keys.push_back(nullptr);
  values.push_back(nullptr);
  Connection connection(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
  if (!connection || PQstatus(connection.get()) != CONNECTION_OK) {
    *error = host_text + ": " + (connection ? LastError(connection.get()) : "out of memory");
    return nullptr;
  }
  return connection;
}

class PgsqlConnection : public DatabaseConnection {
 public:
  explicit PgsqlConnection(Connection connection) : connection_(std::move(connection)) {}

  Status ForEachRow(const std::string& sql, const RowVisitor& row) override {
    if (!PQsendQuery(connection_.get(), sql.c_str()) || !PQsetSingleRowMode(connection_.get())) {
      return Status::Permanent("PostgreSQL: " + LastError(connection_.get()));
    }
    Status status;
    DatabaseRow values;
    while (PGresult* result = PQgetResult(connection_.get())) {
      ExecStatusType kind = PQresultStatus(result);
      if (kind == PGRES_SINGLE_TUPLE) {
        int columns = PQnfields(result);
        values.assign(static_cast<size_t>(columns), std::nullopt);
        for (int i = 0; i < columns; ++i) {
          if (PQgetisnull(result, 0, i)) continue;
          values[static_cast<size_t>(i)] =
              std::string(PQgetvalue(result, 0, i), static_cast<size_t>(PQgetlength(result, 0, i)));
        }
        row(values);
      } else if (kind != PGRES_TUPLES_OK && kind != PGRES_COMMAND_OK && status.ok()) {
        status = Status::Permanent("PostgreSQL: " + OneLine(PQresultErrorMessage(result)) + " in \"" + sql + "\"");
      }
      PQclear(result);
    }
    return status;
  }

  std::string Quote(std::string_view value) override {
    std::string out(value.size() * 2 + 1, '\0');
    int error = 0;
    size_t length = PQescapeStringConn(connection_.get(), out.data(), value.data(), value.size(), &error);
    out.resize(length);
    return out;
  }

 private:
  Connection connection_;
};

}  // namespace

Result<std::unique_ptr<DatabaseConnection>> OpenPgsql(const SqlServer& config) {
  std::string errors;
  Connection connection = ConnectToFirstHost<Connection>(
      config.hosts, [&](const std::string& host, std::string* error) { return Connect(config, host, error); }, &errors);
  if (!connection) return Status::Permanent("cannot connect to PostgreSQL: " + errors);
  return std::unique_ptr<DatabaseConnection>(new PgsqlConnection(std::move(connection)));
}

}  // namespace postern::servers
