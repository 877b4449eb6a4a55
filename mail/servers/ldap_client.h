// ldap_client.h: a connection to the directory of an LDAP table (libldap),
// with Postfix's lookup on it: the search for a key, then the values of
// the entries' result attributes, following DN and URL references in the
// special attributes, with the terminal and leaf rules of ldap_table(5).
//
// Connection errors and search errors are values; they name the server and
// what it said, never bind_pw.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mail/servers/server_settings.h"
#include "util/status.h"

typedef struct ldap LDAP;
typedef struct ldapmsg LDAPMessage;

namespace postern::servers {

// A value made safe inside a filter (RFC 4515: * ( ) \ and NUL as \XX), as
// Postfix quotes the key.
std::string EscapeFilterValue(std::string_view value);
// A value made safe inside a DN (RFC 2253: , + " \ < > ; and a leading #
// or space, a trailing space escaped with \), as Postfix quotes the key in
// search_base.
std::string EscapeDnValue(std::string_view value);

class LdapDirectory {
 public:
  static Result<std::unique_ptr<LdapDirectory>> Connect(const LdapServer& config);
  ~LdapDirectory();
  LdapDirectory(const LdapDirectory&) = delete;
  LdapDirectory& operator=(const LdapDirectory&) = delete;

  // For each entry `filter` finds under `base`: visit(attribute,
  // values) for each of `attributes` it has, then entry_done().
  Status ForEachValue(const std::string& base, const std::string& filter, const std::vector<std::string>& attributes,
                      const std::function<void(std::string_view, const std::vector<std::string>&)>& visit,
                      const std::function<void()>& entry_done);

  // The values Postfix's lookup collects for a search with `base` and
  // `filter` (the key already expanded into them), before result_format,
  // in the order it collects them.
  Result<std::vector<std::string>> Lookup(const std::string& base, const std::string& filter);

 private:
  LdapDirectory(const LdapServer& config, LDAP* ld);
  // An LDAP result code; `*result` is the search's result (to free) when it is LDAP_SUCCESS.
  int Search(const std::string& base, int scope, const std::string& filter, const std::vector<std::string>& attributes,
             LDAPMessage** result);
  static Status SearchError(int rc, const std::string& base, const std::string& filter);
  Status Collect(LDAPMessage* result, int depth, std::vector<std::string>* values);
  Status FollowReference(const std::string& reference, int depth, std::vector<std::string>* values);
  // Where `attribute` is in attributes_ (terminal, leaf, ordinary, special); its size when nowhere.
  size_t IndexOf(std::string_view attribute) const;

  const LdapServer& config_;
  LDAP* ld_;
  std::vector<std::string> attributes_;
  size_t terminal_count_ = 0;
  size_t leaf_count_ = 0;
  size_t ordinary_end_ = 0;  // terminal + leaf + ordinary
};

}  // namespace postern::servers
