// ldap_materialiser.h: reads an LDAP table whole when the image is
// compiled: the keys the directory holds (the values of the attributes
// query_filter compares with the key, found with one search), then, for
// each, the lookup Postfix would make (ldap_client.h), so the image answers
// as Postfix's client would have answered from the directory.
//
// Codes: PT0332 the directory cannot be read, PT0333 query_filter or
// search_base do not let the keys be listed, PT0335 expansion_limit.
#pragma once

#include <optional>

#include "compiler/tables/database_materialiser.h"
#include "compiler/tables/ldap_config.h"

namespace postern::tables {

std::optional<MaterialisedTable> MaterialiseLdapTable(const LdapConfig& config, mail::CaseFold fold,
                                                      const SourceLocation& where, DiagnosticSink* diagnostics);

}  // namespace postern::tables
