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
#include "mail/servers/server_settings.h"

namespace postern::tables {

// Where the data is and how to read it (servers::LdapServer), and how it is queried.
struct LdapConfig : servers::LdapServer {
  std::shared_ptr<const SourceFile> file;  // masked: safe to quote
  DefinitionSetting search_base;
  DefinitionSetting query_filter;
  mail::DatabaseLookupRules rules;  // result_format, domain, expansion_limit and the template needs
  SourceLocation expansion_limit_location;
  // postern_live: posternd queries the directory at run time (nothing is read now).
  std::optional<DefinitionSetting> live;
};

std::optional<LdapConfig> ReadLdapConfig(const std::string& path, const SourceLocation& reference_location,
                                         DiagnosticSink* diagnostics);

}  // namespace postern::tables
