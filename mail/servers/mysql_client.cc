// mysql_client.cc: OpenMysql, with libmariadb (MySQL and MariaDB servers),
// rows streamed with mysql_use_result, keys quoted with
// mysql_real_escape_string (as Postfix quotes them). `hosts` forms as
// mysql_table(5): unix:/socket, inet:host:port, host[:port]; the option
// file and group and the TLS settings as Postfix passes them.
#include <mysql.h>

#include <memory>

#include "mail/servers/database_client.h"

namespace postern::servers {
namespace {

struct ConnectionCloser {
  void operator()(MYSQL* connection) const { mysql_close(connection); }
};
using Connection = std::unique_ptr<MYSQL, ConnectionCloser>;

const char* OrNull(const std::string& text) { return text.empty() ? nullptr : text.c_str(); }

Connection Connect(const SqlServer& config, const std::string& host_text, std::string* error) {
  auto host = ParseDatabaseHost(host_text);
  if (!host) {
    *error = "bad host \"" + host_text + "\"";
    return nullptr;
  }
  Connection connection(mysql_init(nullptr));
  if (!connection) {
    *error = "out of memory";
    return nullptr;
  }
  unsigned int timeout = 10;
  mysql_options(connection.get(), MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_options(connection.get(), MYSQL_OPT_READ_TIMEOUT, &timeout);
  if (!config.option_file.empty()) mysql_options(connection.get(), MYSQL_READ_DEFAULT_FILE, config.option_file.c_str());
  if (!config.option_group.empty()) {
    mysql_options(connection.get(), MYSQL_READ_DEFAULT_GROUP, config.option_group.c_str());
  }
  if (!config.tls_key_file.empty() || !config.tls_cert_file.empty() || !config.tls_ca_file.empty() ||
      !config.tls_ca_path.empty() || !config.tls_ciphers.empty()) {
    mysql_ssl_set(connection.get(), OrNull(config.tls_key_file), OrNull(config.tls_cert_file),
                  OrNull(config.tls_ca_file), OrNull(config.tls_ca_path), OrNull(config.tls_ciphers));
  }
  my_bool verify = config.tls_verify_cert ? 1 : 0;
  mysql_options(connection.get(), MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
  const char* name = host->unix_socket ? "localhost" : host->name.c_str();
  const char* socket = host->unix_socket ? host->name.c_str() : nullptr;
  if (!mysql_real_connect(connection.get(), name, OrNull(config.user), OrNull(config.password), OrNull(config.dbname),
                          static_cast<unsigned int>(host->port.value_or(0)), socket, 0)) {
    *error = host_text + ": " + mysql_error(connection.get());
    return nullptr;
  }
  return connection;
}

class MysqlConnection : public DatabaseConnection {
 public:
  explicit MysqlConnection(Connection connection) : connection_(std::move(connection)) {}

  Status ForEachRow(const std::string& sql, const RowVisitor& row) override {
    MYSQL* db = connection_.get();
    if (mysql_real_query(db, sql.data(), sql.size()) != 0) {
      return Status::Permanent("MySQL: " + std::string(mysql_error(db)) + " in \"" + sql + "\"");
    }
    MYSQL_RES* result = mysql_use_result(db);
    if (!result) {
      if (mysql_field_count(db) == 0) return Status::Ok();  // no result set
      return Status::Permanent("MySQL: " + std::string(mysql_error(db)));
    }
    unsigned int columns = mysql_num_fields(result);
    DatabaseRow values;
    while (MYSQL_ROW fields = mysql_fetch_row(result)) {
      unsigned long* lengths = mysql_fetch_lengths(result);
      values.assign(columns, std::nullopt);
      for (unsigned int i = 0; i < columns; ++i) {
        if (fields[i]) values[i] = std::string(fields[i], lengths[i]);
      }
      row(values);
    }
    Status status;
    if (mysql_errno(db) != 0) status = Status::Permanent("MySQL: " + std::string(mysql_error(db)));
    mysql_free_result(result);
    return status;
  }

  std::string Quote(std::string_view value) override {
    std::string out(value.size() * 2 + 1, '\0');
    unsigned long length = mysql_real_escape_string(connection_.get(), out.data(), value.data(), value.size());
    out.resize(length);
    return out;
  }

 private:
  Connection connection_;
};

}  // namespace

Result<std::unique_ptr<DatabaseConnection>> OpenMysql(const SqlServer& config) {
  std::string errors;
  Connection connection = ConnectToFirstHost<Connection>(
      config.hosts, [&](const std::string& host, std::string* error) { return Connect(config, host, error); }, &errors);
  if (!connection) return Status::Permanent("cannot connect to MySQL: " + errors);
  return std::unique_ptr<DatabaseConnection>(new MysqlConnection(std::move(connection)));
}

}  // namespace postern::servers
