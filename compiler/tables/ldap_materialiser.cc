// ldap_materialiser.cc: see ldap_materialiser.h.
#include "compiler/tables/ldap_materialiser.h"

#include <set>

#include "compiler/tables/ldap_filter.h"
#include "mail/servers/ldap_client.h"

namespace postern::tables {
namespace {

using KeyPart = mail::DatabaseLookupRules::KeyPart;

// The keys one entry's values give: each whole-key value; or each local
// part with each domain.
void AddKeys(const std::vector<std::string>& whole, const std::vector<std::string>& locals,
             const std::vector<std::string>& domains, KeyPart part, mail::CaseFold fold, std::set<std::string>* keys) {
  auto add = [&](const std::string& key) {
    if (!key.empty()) keys->insert(mail::FoldCase(key, fold));
  };
  for (const std::string& key : whole) add(key);
  if (part == KeyPart::kLocalPart) {
    for (const std::string& local : locals) add(local);
  } else if (part == KeyPart::kDomain) {
    for (const std::string& domain : domains) add(domain);
  } else {
    for (const std::string& local : locals) {
      for (const std::string& domain : domains) add(local + "@" + domain);
    }
  }
}

}  // namespace

std::optional<MaterialisedTable> MaterialiseLdapTable(const LdapConfig& config, mail::CaseFold fold,
                                                      const SourceLocation& where, DiagnosticSink* diagnostics) {
  std::string name = "ldap table " + config.file->name();
  auto enumeration = DeriveLdapEnumeration(config.query_filter.value);
  if (!enumeration.ok()) {
    diagnostics->Error("PT0333", config.query_filter.location,
                       "cannot list this table's keys from its query_filter: " + enumeration.status().message(),
                       "compare attributes with the key as (attribute=%s), (attribute=%u) or (attribute=%d)");
    return std::nullopt;
  }
  if (config.search_base.value.find('%') != std::string::npos) {
    diagnostics->Error("PT0333", config.search_base.location,
                       "cannot list this table's keys: its search_base depends on the key",
                       "search from a fixed base and compare the key in query_filter");
    return std::nullopt;
  }
  auto connected = servers::LdapDirectory::Connect(config);
  if (!connected.ok()) {
    diagnostics->Error("PT0332", where, name + ": " + connected.status().message(),
                       "Postern reads LDAP tables when it compiles: the directory must be reachable from here");
    return std::nullopt;
  }
  servers::LdapDirectory& directory = *connected.value();
  const KeyPart part = enumeration.value().key_part;

  // Every key the directory holds.
  std::set<std::string> keys;
  std::vector<std::string> attributes;
  for (const LdapKeyAttribute& key : enumeration.value().key_attributes) attributes.push_back(key.attribute);
  std::vector<std::string> whole, locals, domains;
  Status status = directory.ForEachValue(
      config.search_base.value, enumeration.value().filter, attributes,
      [&](std::string_view attribute, const std::vector<std::string>& values) {
        for (const LdapKeyAttribute& key : enumeration.value().key_attributes) {
          if (key.attribute != attribute) continue;
          for (const std::string& value : values) {
            size_t at = value.rfind('@');
            if (key.part == 's') whole.push_back(value);
            if (key.part == 'u') locals.push_back(at == std::string::npos ? value : value.substr(0, at));
            if (key.part == 'd' && at != std::string::npos) domains.push_back(value.substr(at + 1));
            if (key.part == 'd' && at == std::string::npos) domains.push_back(value);
          }
        }
      },
      [&] {
        AddKeys(whole, locals, domains, part, fold, &keys);
        whole.clear();
        locals.clear();
        domains.clear();
      });
  if (!status.ok()) {
    diagnostics->Error("PT0332", where, name + ": listing the keys: " + status.message(),
                       "the bind DN needs to read every entry the table can find (check the server's size limit)");
    return std::nullopt;
  }

  // Each key looked up as Postfix would look it up.
  auto rows = std::make_shared<DatabaseRows>();
  for (const std::string& key : keys) {
    if (key.find(mail::DatabaseTable::kValueSeparator) != std::string::npos) continue;
    std::string search_key = mail::QueryKeyFor(key, part);
    auto filter = mail::ExpandQuery(config.query_filter.value, search_key, EscapeFilterValue);
    if (!filter) continue;
    auto values = directory.Lookup(config.search_base.value, *filter);
    if (!values.ok()) {
      diagnostics->Error("PT0332", where, name + ": looking up \"" + key + "\": " + values.status().message());
      return std::nullopt;
    }
    for (const std::string& value : values.value()) {
      if (!value.empty() && value.find(mail::DatabaseTable::kValueSeparator) == std::string::npos) {
        rows->Add(key, value);
      }
    }
  }
  mail::DatabaseLookupRules rules = config.rules;
  rules.key_part = part;
  return FinishMaterialisedTable(std::move(rows), std::move(rules), fold, config.expansion_limit_location, diagnostics);
}

}  // namespace postern::tables
