// ldap_config.h: reads the definition file of an LDAP table
// (`ldap:/etc/postfix/x.cf`) with the settings ldap_table(5) lists.
//
// bind_pw is a secret: diagnostics quote a copy of the file with it masked,
// and it goes nowhere but into the bind. SASL binds and the obsolete cache
// settings are not implemented (PT0336).
//
// Codes: those of definition_file.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compiler/tables/definition_file.h"
#include "mail/database_table.h"

namespace postern::tables {

struct LdapConfig {
  std::shared_ptr<const SourceFile> file;  // masked: safe to quote
  // ldap:// URLs, from server_host and server_port (URLs kept as written).
  std::vector<std::string> urls;
  DefinitionSetting search_base;
  DefinitionSetting query_filter;
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
  mail::DatabaseLookupRules rules;  // result_format, domain, expansion_limit and the template needs
  SourceLocation expansion_limit_location;
};

std::optional<LdapConfig> ReadLdapConfig(const std::string& path, const SourceLocation& reference_location,
                                         DiagnosticSink* diagnostics);

}  // namespace postern::tables
