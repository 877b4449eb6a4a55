// ldap_filter.h: an LDAP table's query_filter (RFC 4515, or Postfix's bare
// `attr=%s` form), read to list the keys a directory holds. Each equality
// item whose value is the key (`%s`, `%u@%d`), its local part (`%u`) or its
// domain (`%d`) names an attribute whose values are keys; the enumeration
// filter makes each such item a presence test, so one search finds every
// entry that might match. (Every key found is then looked up as Postfix
// would, so a filter that finds too much costs time, never correctness.)
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mail/database_table.h"
#include "mail/servers/ldap_client.h"
#include "util/status.h"

namespace postern::tables {

struct LdapKeyAttribute {
  std::string attribute;
  char part = 's';  // 's' the whole key, 'u' the local part, 'd' the domain
};

struct LdapEnumeration {
  std::string filter;
  std::vector<LdapKeyAttribute> key_attributes;
  mail::DatabaseLookupRules::KeyPart key_part = mail::DatabaseLookupRules::KeyPart::kWhole;
};

Result<LdapEnumeration> DeriveLdapEnumeration(std::string_view query_filter);

using servers::EscapeFilterValue;

}  // namespace postern::tables
