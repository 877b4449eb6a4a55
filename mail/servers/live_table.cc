// live_table.cc: see live_table.h.
#include "mail/servers/live_table.h"

#include <chrono>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "mail/lookup_failure.h"
#include "mail/servers/database_client.h"
#include "mail/servers/ldap_client.h"
#include "util/bytes.h"
#include "util/logical_lines.h"
#include "util/source_file.h"
#include "util/strings.h"

namespace postern::servers {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRetryInterval = std::chrono::seconds(60);
constexpr std::string_view kFormat = "postern-live-table 1";
constexpr const char* kPgsqlStatementTimeout = "SET statement_timeout = 10000";

void PutInt(ByteWriter* w, int v) { w->PutU32(static_cast<uint32_t>(v)); }
void PutBool(ByteWriter* w, bool v) { w->PutU8(v ? 1 : 0); }
void PutStrings(ByteWriter* w, const std::vector<std::string>& list) {
  w->PutU32(static_cast<uint32_t>(list.size()));
  for (const std::string& s : list) w->PutString(s);
}

bool GetInt(ByteReader* r, int* v) {
  uint32_t u = 0;
  if (!r->GetU32(&u)) return false;
  *v = static_cast<int>(u);
  return true;
}
bool GetBool(ByteReader* r, bool* v) {
  uint8_t u = 0;
  if (!r->GetU8(&u) || u > 1) return false;
  *v = u == 1;
  return true;
}
bool GetStrings(ByteReader* r, std::vector<std::string>* list) {
  uint32_t count = 0;
  if (!r->GetU32(&count) || count > r->remaining() / 4) return false;  // each string has a 4-byte length
  list->resize(count);
  for (std::string& s : *list) {
    if (!r->GetString(&s)) return false;
  }
  return true;
}

// The connections to one server: idle ones kept for the next lookup, and
// the server not asked again for kRetryInterval after it could not be
// reached.
template <typename Connection>
class Pool {
 public:
  using Opener = std::function<Result<std::unique_ptr<Connection>>()>;
  explicit Pool(Opener open) : open_(std::move(open)) {}

  // An idle connection (*fresh false) or a new one (*fresh true).
  Result<std::unique_ptr<Connection>> Take(bool* fresh) {
    std::unique_lock lock(mutex_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      *fresh = false;
      return connection;
    }
    if (Clock::now() < down_until_) return Status::Temporary(down_reason_ + " (not asked again for a minute)");
    lock.unlock();
    *fresh = true;
    auto opened = open_();
    if (!opened.ok()) {
      lock.lock();
      down_until_ = Clock::now() + kRetryInterval;
      down_reason_ = opened.status().message();
    }
    return opened;
  }

  void Give(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(connection));
  }

 private:
  Opener open_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
  Clock::time_point down_until_{};
  std::string down_reason_;
};

// database key -> its values joined with kValueSeparator, from the server.
template <typename Connection>
class LiveRows : public mail::LookupTable {
 public:
  // Runs the query for a key on a connection: the values found (empty when
  // none), nullopt when the key is not asked for at all, or an error.
  using Query =
      std::function<Result<std::optional<std::vector<std::string>>>(Connection& connection, std::string_view key)>;

  LiveRows(std::string reference, typename Pool<Connection>::Opener open, Query query)
      : reference_(std::move(reference)), pool_(std::move(open)), query_(std::move(query)) {}

  std::optional<std::string> Lookup(std::string_view key) const override {
    // Once a question has a failed lookup its answer is a temporary error
    // whatever else is found: do not wait for the server again.
    if (mail::LookupFailureScope::CurrentFailed()) return std::nullopt;
    while (true) {
      bool fresh = false;
      auto taken = pool_.Take(&fresh);
      if (!taken.ok()) return Failed(key, taken.status().message());
      std::unique_ptr<Connection> connection = std::move(taken).value();
      auto values = query_(*connection, key);
      if (!values.ok()) {
        // A pooled connection may have been dropped by the server (a
        // restart, an idle timeout): it is closed, and the next one asked,
        // until a new connection answers or fails.
        if (fresh) return Failed(key, values.status().message());
        continue;
      }
      pool_.Give(std::move(connection));
      if (!values.value() || values.value()->empty()) return std::nullopt;
      std::string joined;
      for (const std::string& value : *values.value()) {
        if (value.find(mail::DatabaseTable::kValueSeparator) != std::string::npos) continue;
        if (!joined.empty()) joined += mail::DatabaseTable::kValueSeparator;
        joined += value;
      }
      return joined.empty() ? std::nullopt : std::optional<std::string>(std::move(joined));
    }
  }

 private:
  std::optional<std::string> Failed(std::string_view key, const std::string& why) const {
    mail::LookupFailureScope::RecordLookupError(reference_, key, why);
    return std::nullopt;
  }

  std::string reference_;
  mutable Pool<Connection> pool_;
  Query query_;
};

std::shared_ptr<const mail::LookupTable> SqlRows(std::string reference, const LiveTableSpec& spec) {
  auto server = std::make_shared<const SqlServer>(spec.sql);
  auto open = [server]() -> Result<std::unique_ptr<DatabaseConnection>> {
    auto opened = DatabaseConnection::Open(*server);
    if (opened.ok() && server->kind == DatabaseKind::kPgsql) {
      // A lookup waits for no query longer than MySQL's read timeout (the
      // server cancels it); libpq has no timeout of its own.
      Status limited = opened.value()->ForEachRow(kPgsqlStatementTimeout, [](const DatabaseRow&) {});
      if (!limited.ok()) return limited;
    }
    return opened;
  };
  auto query = [server, sql = spec.query](DatabaseConnection& connection,
                                          std::string_view key) -> Result<std::optional<std::vector<std::string>>> {
    std::optional<std::string> expanded =
        mail::ExpandQuery(sql, key, [&connection](std::string_view v) { return connection.Quote(v); });
    if (!expanded) return std::optional<std::vector<std::string>>();
    std::vector<std::string> values;
    Status status = connection.ForEachRow(*expanded, [&](const DatabaseRow& row) {
      ForEachRowValue(server->kind, row, 0, [&values](const std::string& v) { values.push_back(v); });
    });
    if (!status.ok()) return status;
    return std::optional<std::vector<std::string>>(std::move(values));
  };
  return std::make_shared<LiveRows<DatabaseConnection>>(std::move(reference), std::move(open), std::move(query));
}

std::shared_ptr<const mail::LookupTable> LdapRows(std::string reference, const LiveTableSpec& spec) {
  // Each directory refers to the settings it was opened with: they live as
  // long as the table.
  auto server = std::make_shared<const LdapServer>(spec.ldap);
  auto open = [server]() { return LdapDirectory::Connect(*server); };
  auto query = [server, filter = spec.query, base = spec.search_base](
                   LdapDirectory& directory, std::string_view key) -> Result<std::optional<std::vector<std::string>>> {
    std::optional<std::string> expanded_base = mail::ExpandQuery(base, key, EscapeDnValue);
    std::optional<std::string> expanded_filter = mail::ExpandQuery(filter, key, EscapeFilterValue);
    if (!expanded_base || !expanded_filter) return std::optional<std::vector<std::string>>();
    auto values = directory.Lookup(*expanded_base, *expanded_filter);
    if (!values.ok()) return values.status();
    return std::optional<std::vector<std::string>>(std::move(values).value());
  };
  return std::make_shared<LiveRows<LdapDirectory>>(std::move(reference), std::move(open), std::move(query));
}

}  // namespace

std::string EncodeLiveTable(const LiveTableSpec& spec) {
  ByteWriter w;
  w.PutString(kFormat);
  w.PutU8(static_cast<uint8_t>(spec.kind));
  w.PutString(spec.definition_path);
  w.PutString(spec.query);
  w.PutString(spec.search_base);
  w.PutString(mail::EncodeDatabaseRules(spec.rules));
  const SqlServer& s = spec.sql;
  w.PutU8(static_cast<uint8_t>(s.kind));
  PutStrings(&w, s.hosts);
  for (const std::string* field : {&s.dbname, &s.user, &s.dbpath, &s.option_file, &s.option_group, &s.tls_cert_file,
                                   &s.tls_key_file, &s.tls_ca_file, &s.tls_ca_path, &s.tls_ciphers}) {
    w.PutString(*field);
  }
  PutBool(&w, s.tls_verify_cert);
  const LdapServer& l = spec.ldap;
  PutStrings(&w, l.urls);
  for (int v : {l.scope, l.timeout, l.version, l.dereference, l.size_limit, l.recursion_limit}) PutInt(&w, v);
  for (bool v : {l.bind, l.chase_referrals, l.start_tls, l.tls_require_cert}) PutBool(&w, v);
  for (const std::string* field : {&l.bind_dn, &l.tls_ca_cert_file, &l.tls_ca_cert_dir, &l.tls_cert, &l.tls_key,
                                   &l.tls_cipher_suite, &l.tls_random_file}) {
    w.PutString(*field);
  }
  for (const auto* list : {&l.terminal_attributes, &l.leaf_attributes, &l.result_attributes, &l.special_attributes}) {
    PutStrings(&w, *list);
  }
  return w.Release();
}

Result<LiveTableSpec> DecodeLiveTable(std::string_view bytes) {
  ByteReader r(bytes);
  LiveTableSpec spec;
  std::string format, rules;
  uint8_t kind = 0, database = 0;
  bool ok = r.GetString(&format) && format == kFormat && r.GetU8(&kind) && kind <= 1 &&
            r.GetString(&spec.definition_path) && r.GetString(&spec.query) && r.GetString(&spec.search_base) &&
            r.GetString(&rules);
  spec.kind = static_cast<LiveTableSpec::Kind>(kind);
  SqlServer& s = spec.sql;
  ok = ok && r.GetU8(&database) && database <= 2 && GetStrings(&r, &s.hosts);
  s.kind = static_cast<DatabaseKind>(database);
  for (std::string* field : {&s.dbname, &s.user, &s.dbpath, &s.option_file, &s.option_group, &s.tls_cert_file,
                             &s.tls_key_file, &s.tls_ca_file, &s.tls_ca_path, &s.tls_ciphers}) {
    ok = ok && r.GetString(field);
  }
  ok = ok && GetBool(&r, &s.tls_verify_cert);
  LdapServer& l = spec.ldap;
  ok = ok && GetStrings(&r, &l.urls);
  for (int* v : {&l.scope, &l.timeout, &l.version, &l.dereference, &l.size_limit, &l.recursion_limit}) {
    ok = ok && GetInt(&r, v);
  }
  for (bool* v : {&l.bind, &l.chase_referrals, &l.start_tls, &l.tls_require_cert}) ok = ok && GetBool(&r, v);
  for (std::string* field : {&l.bind_dn, &l.tls_ca_cert_file, &l.tls_ca_cert_dir, &l.tls_cert, &l.tls_key,
                             &l.tls_cipher_suite, &l.tls_random_file}) {
    ok = ok && r.GetString(field);
  }
  for (auto* list : {&l.terminal_attributes, &l.leaf_attributes, &l.result_attributes, &l.special_attributes}) {
    ok = ok && GetStrings(&r, list);
  }
  if (!ok || r.remaining() != 0) return Status::Permanent("live table: malformed or unknown format");
  auto decoded = mail::DecodeDatabaseRules(rules);
  if (!decoded.ok()) return decoded.status();
  spec.rules = std::move(decoded).value();
  return spec;
}

Status ReadLiveTableSecret(LiveTableSpec* spec) {
  bool sql = spec->kind == LiveTableSpec::Kind::kSql;
  if (sql && spec->sql.kind == DatabaseKind::kSqlite) return Status::Ok();
  const std::string name = sql ? "password" : "bind_pw";
  auto file = SourceFile::Read(spec->definition_path);
  if (!file.ok()) return Status::Temporary("cannot read " + name + " from " + spec->definition_path);
  // main.cf syntax; the last definition wins. Problems with other lines
  // are the compiler's to report.
  DiagnosticSink ignored;
  std::string secret;
  for (const LogicalLine& line : ReadLogicalLines(file.value(), &ignored)) {
    size_t eq = line.text.find('=');
    if (eq != std::string::npos && Trim(std::string_view(line.text).substr(0, eq)) == name) {
      secret = std::string(Trim(std::string_view(line.text).substr(eq + 1)));
    }
  }
  (sql ? spec->sql.password : spec->ldap.bind_pw) = std::move(secret);
  return Status::Ok();
}

std::shared_ptr<const mail::LookupTable> MakeLiveTable(std::string reference, LiveTableSpec spec, mail::CaseFold fold) {
  // The rows are asked for the whole key: the query expands its parts.
  mail::DatabaseLookupRules rules = spec.rules;
  rules.key_part = mail::DatabaseLookupRules::KeyPart::kWhole;
  std::shared_ptr<const mail::LookupTable> rows = spec.kind == LiveTableSpec::Kind::kSql
                                                      ? SqlRows(std::move(reference), spec)
                                                      : LdapRows(std::move(reference), spec);
  return std::make_shared<mail::DatabaseTable>(std::move(rules), std::move(rows), fold);
}

std::shared_ptr<const mail::LookupTable> OfflineTable(std::string reference) {
  return std::make_shared<mail::FailTable>(std::move(reference), "a live table, not asked offline");
}

}  // namespace postern::servers
