// live_table.h: an SQL or LDAP table looked up at run time (`postern_live
// = yes` in its definition file), with the lookup semantics of Postfix's
// clients (mail/database_table.h) and a failed lookup a temporary error
// (mail/lookup_failure.h), never "not found".
//
// The image carries a LiveTableSpec: where the server is and how to ask
// it, without the secret (password, bind_pw), which posternd reads from the
// definition file when it loads the image, as Postfix reads it.
//
// Connections are pooled: a lookup takes an idle connection or opens one,
// and gives it back. A pooled connection that fails is closed and the
// lookup asks the next, until a new connection answers or fails (after a
// server restart, every pooled connection is stale). A server that cannot be reached is not asked
// again for 60 seconds (Postfix's retry interval): lookups fail at once
// instead of each waiting for a connection timeout.
//
// Thread-safe: lookups on several threads each use their own connection.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "mail/case_fold.h"
#include "mail/database_table.h"
#include "mail/lookup_table.h"
#include "mail/servers/server_settings.h"
#include "util/status.h"

namespace postern::servers {

struct LiveTableSpec {
  enum class Kind : uint8_t { kSql, kLdap };
  Kind kind = Kind::kSql;
  std::string definition_path;  // the definition file: the secret is read from it
  SqlServer sql;                // kSql, without its password
  LdapServer ldap;              // kLdap, without its bind_pw
  std::string query;            // SQL: the query template; LDAP: query_filter
  std::string search_base;      // LDAP: the search base template
  mail::DatabaseLookupRules rules;

  bool operator==(const LiveTableSpec&) const = default;
};

// The spec as image bytes (never with the secret), and back.
std::string EncodeLiveTable(const LiveTableSpec& spec);
Result<LiveTableSpec> DecodeLiveTable(std::string_view bytes);

// Reads the secret (password, bind_pw) from spec->definition_path: the last
// definition, in main.cf syntax. An error names the file, never the value.
Status ReadLiveTableSecret(LiveTableSpec* spec);

// The table `reference` ("pgsql:/etc/postfix/x.cf", for messages) for
// `spec`, keys folded as `fold`. Connects only when first asked.
std::shared_ptr<const mail::LookupTable> MakeLiveTable(std::string reference, LiveTableSpec spec, mail::CaseFold fold);

// What a live table is with --offline: every lookup fails, saying why.
std::shared_ptr<const mail::LookupTable> OfflineTable(std::string reference);

}  // namespace postern::servers
