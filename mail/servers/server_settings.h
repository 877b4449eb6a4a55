// server_settings.h: where the data of an SQL or LDAP table lives and how to
// reach it, as the definition file says (sqlite_table(5), pgsql_table(5),
// mysql_table(5), ldap_table(5)): plain structs the compiler fills, the
// clients connect with, and a live table's image section carries (without
// its secret, which posternd reads from the definition file itself).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::servers {

enum class DatabaseKind { kSqlite, kPgsql, kMysql };

const char* DatabaseKindName(DatabaseKind kind);
// Whether `type` is one of the kinds above, and which.
std::optional<DatabaseKind> DatabaseKindOf(std::string_view type);

struct SqlServer {
  DatabaseKind kind = DatabaseKind::kSqlite;
  // pgsql/mysql: hosts (unix:/path, inet:host:port, host[:port]; localhost
  // when none), dbname, user, password.
  std::vector<std::string> hosts;
  std::string dbname;
  std::string user;
  std::string password;  // secret
  std::string dbpath;    // sqlite
  // mysql client options.
  std::string option_file;
  std::string option_group = "client";
  std::string tls_cert_file, tls_key_file, tls_ca_file, tls_ca_path, tls_ciphers;
  bool tls_verify_cert = false;

  bool operator==(const SqlServer&) const = default;
};

struct LdapServer {
  // ldap:// URLs, from server_host and server_port (URLs kept as written).
  std::vector<std::string> urls;
  int scope = 2;  // LDAP_SCOPE_SUBTREE; 0 base, 1 one
  bool bind = true;
  std::string bind_dn;
  std::string bind_pw;  // secret
  int timeout = 10;
  int version = 3;
  int dereference = 0;
  bool chase_referrals = false;
  bool start_tls = false;
  std::string tls_ca_cert_file, tls_ca_cert_dir, tls_cert, tls_key, tls_cipher_suite, tls_random_file;
  bool tls_require_cert = false;
  int size_limit = 0;  // 0: none
  int recursion_limit = 1000;
  // The attributes, as Postfix orders them: terminal, leaf, ordinary, special.
  std::vector<std::string> terminal_attributes;
  std::vector<std::string> leaf_attributes;
  std::vector<std::string> result_attributes;
  std::vector<std::string> special_attributes;

  bool operator==(const LdapServer&) const = default;
};

}  // namespace postern::servers
