// Fuzzes what Postern reads from SQL and LDAP table definitions before it
// asks a server anything: the query template's needs and expansion for
// keys of every shape, the derivation of an SQL enumeration query or key
// listing (both quoting dialects) and of an LDAP enumeration filter. The first byte picks
// the reader; the rest is the template.
#include <cstdint>
#include <string>

#include "compiler/tables/ldap_filter.h"
#include "compiler/tables/sql_enumeration.h"
#include "mail/database_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  if (size < 1) return 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: {
      mail::DatabaseLookupRules rules;
      if (!mail::AddTemplateNeeds(text, true, &rules).ok()) break;
      for (const char* key : {"joe@example.com", "joe", "@example.com", "joe@", "a@b.c.d.e.f.g.h.i.j", ""}) {
        (void)mail::ExpandQuery(text, key, [](std::string_view v) { return servers::EscapeFilterValue(v); });
        (void)mail::DatabaseKeyFor(rules, key);
      }
      break;
    }
    case 1:
      (void)tables::DeriveEnumeration(text, true);
      (void)tables::DeriveEnumeration(text, false);
      (void)tables::KeyPartOfQuery(text);
      (void)tables::DeriveKeyListing(text, true);
      (void)tables::DeriveKeyListing(text, false);
      break;
    case 2:
      (void)tables::DeriveLdapEnumeration(text);
      break;
  }
  return 0;
}
