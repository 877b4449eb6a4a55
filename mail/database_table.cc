// database_table.cc: see database_table.h.
#include "mail/database_table.h"

#include <charconv>

#include "mail/lookup_failure.h"
#include "util/strings.h"

namespace postern::mail {
namespace {

// The parts of an address-like string: the local part and the domain after
// the last '@' (no domain when there is no '@').
struct KeyParts {
  std::string_view local;
  std::optional<std::string_view> domain;
};

KeyParts SplitAtLastAt(std::string_view text) {
  size_t at = text.rfind('@');
  if (at == std::string_view::npos) return {text, std::nullopt};
  return {text.substr(0, at), text.substr(at + 1)};
}

// Whether `domain` has at least `labels` labels, none of the last `labels`
// of them empty (Postfix skips such keys before a %1-%9 query).
bool HasLabels(std::string_view domain, int labels) {
  std::vector<std::string> parts = SplitFields(domain, '.');
  if (static_cast<int>(parts.size()) < labels) return false;
  for (int i = 0; i < labels; ++i) {
    if (parts[parts.size() - 1 - static_cast<size_t>(i)].empty()) return false;
  }
  return true;
}

// Label `n` (1 = the last) of `domain`. REQUIRES: HasLabels(domain, n).
std::string DomainLabel(std::string_view domain, int n) {
  std::vector<std::string> parts = SplitFields(domain, '.');
  return parts[parts.size() - static_cast<size_t>(n)];
}

// Whether the key has what the templates need: a domain, a non-empty local part.
bool KeyHasNeededParts(const DatabaseLookupRules& rules, std::string_view key) {
  if (!rules.key_needs_domain && !rules.key_needs_local_part) return true;
  KeyParts parts = SplitAtLastAt(key);
  if (rules.key_needs_domain && (!parts.domain || parts.domain->empty())) return false;
  if (rules.key_needs_local_part && parts.domain && parts.local.empty()) return false;
  if (rules.key_domain_labels > 0 && !HasLabels(parts.domain.value_or(""), rules.key_domain_labels)) return false;
  return true;
}

bool DomainFilterMatches(const std::vector<std::string>& filter, std::string_view domain) {
  for (const std::string& item : filter) {
    bool negate = !item.empty() && item.front() == '!';
    std::string_view name = negate ? std::string_view(item).substr(1) : std::string_view(item);
    if (name == domain) return !negate;
  }
  return false;
}

const char* KeyPartName(DatabaseLookupRules::KeyPart part) {
  switch (part) {
    case DatabaseLookupRules::KeyPart::kLocalPart:
      return "local";
    case DatabaseLookupRules::KeyPart::kDomain:
      return "domain";
    case DatabaseLookupRules::KeyPart::kWhole:
      break;
  }
  return "whole";
}

}  // namespace

Status AddTemplateNeeds(std::string_view format, bool query_template, DatabaseLookupRules* rules) {
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') continue;
    if (i + 1 == format.size()) return Status::Permanent("'%' at the end of \"" + std::string(format) + "\"");
    char c = format[++i];
    switch (c) {
      case '%':
      case 's':
      case 'S':
        break;
      case 'u':
        (query_template ? rules->key_needs_local_part : rules->value_needs_local_part) = true;
        break;
      case 'd':
        (query_template ? rules->key_needs_domain : rules->value_needs_domain) = true;
        break;
      case 'U':
        rules->key_needs_local_part = true;
        break;
      case 'D':
        rules->key_needs_domain = true;
        break;
      default:
        if (c >= '1' && c <= '9') {
          rules->key_needs_domain = true;
          rules->key_domain_labels = std::max(rules->key_domain_labels, c - '0');
          break;
        }
        return Status::Permanent("invalid \"%" + std::string(1, c) + "\" in \"" + std::string(format) +
                                 "\" (use %s %u %d %S %U %D %1-%9 or %%)");
    }
  }
  return Status::Ok();
}

std::optional<std::string> DatabaseKeyFor(const DatabaseLookupRules& rules, std::string_view key) {
  if (key.empty()) return std::nullopt;  // Postfix: "empty query string -- ignored"
  KeyParts parts = SplitAtLastAt(key);
  if (!rules.domain_filter.empty()) {
    if (!parts.domain || parts.local.empty()) return std::nullopt;
    if (!DomainFilterMatches(rules.domain_filter, *parts.domain)) return std::nullopt;
  }
  if (!KeyHasNeededParts(rules, key)) return std::nullopt;
  switch (rules.key_part) {
    case DatabaseLookupRules::KeyPart::kLocalPart:
      return std::string(parts.local);
    case DatabaseLookupRules::KeyPart::kDomain:
      return std::string(parts.domain.value_or(""));
    case DatabaseLookupRules::KeyPart::kWhole:
      break;
  }
  return std::string(key);
}

std::optional<DatabaseLookupRules::KeyPart> KeyPartOfForms(const std::set<char>& forms) {
  if (forms == std::set<char>{'s'} || forms == std::set<char>{'u', 'd'}) return DatabaseLookupRules::KeyPart::kWhole;
  if (forms == std::set<char>{'u'}) return DatabaseLookupRules::KeyPart::kLocalPart;
  if (forms == std::set<char>{'d'}) return DatabaseLookupRules::KeyPart::kDomain;
  return std::nullopt;
}

std::string QueryKeyFor(std::string_view database_key, DatabaseLookupRules::KeyPart part) {
  switch (part) {
    case DatabaseLookupRules::KeyPart::kLocalPart:
      return std::string(database_key) + "@";
    case DatabaseLookupRules::KeyPart::kDomain:
      return "@" + std::string(database_key);
    case DatabaseLookupRules::KeyPart::kWhole:
      break;
  }
  return std::string(database_key);
}

bool ValueGivesResult(const DatabaseLookupRules& rules, std::string_view value) {
  if (value.empty()) return false;  // Postfix: "empty lookup result -- ignored"
  if (!rules.value_needs_domain && !rules.value_needs_local_part) return true;
  KeyParts parts = SplitAtLastAt(value);
  if (rules.value_needs_domain && (!parts.domain || parts.domain->empty())) return false;
  if (rules.value_needs_local_part && parts.domain && parts.local.empty()) return false;
  return true;
}

std::string ExpandResult(const DatabaseLookupRules& rules, std::string_view value, std::string_view key) {
  KeyParts value_parts = SplitAtLastAt(value);
  KeyParts key_parts = SplitAtLastAt(key);
  const std::string_view& format = rules.result_format;
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    char c = format[++i];
    switch (c) {
      case '%':
        out += '%';
        break;
      case 's':
        out += value;
        break;
      case 'u':
        out += value_parts.local;
        break;
      case 'd':
        out += value_parts.domain.value_or("");
        break;
      case 'S':
        out += key;
        break;
      case 'U':
        out += key_parts.local;
        break;
      case 'D':
        out += key_parts.domain.value_or("");
        break;
      default:
        if (c >= '1' && c <= '9' && key_parts.domain && HasLabels(*key_parts.domain, c - '0')) {
          out += DomainLabel(*key_parts.domain, c - '0');
        }
        break;
    }
  }
  return out;
}

std::optional<std::string> ExpandQuery(std::string_view format, std::string_view key,
                                       const std::function<std::string(std::string_view)>& quote) {
  DatabaseLookupRules needs;
  if (!AddTemplateNeeds(format, true, &needs).ok() || key.empty() || !KeyHasNeededParts(needs, key)) {
    return std::nullopt;
  }
  KeyParts parts = SplitAtLastAt(key);
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%') {
      out += format[i];
      continue;
    }
    char c = format[++i];
    if (c == '%') {
      out += '%';
    } else if (c == 's' || c == 'S') {
      out += quote(key);
    } else if (c == 'u' || c == 'U') {
      out += quote(parts.local);
    } else if (c == 'd' || c == 'D') {
      out += quote(*parts.domain);
    } else {
      out += quote(DomainLabel(*parts.domain, c - '0'));
    }
  }
  return out;
}

std::string EncodeDatabaseRules(const DatabaseLookupRules& rules) {
  std::string out = "postern-database-rules 1\n";
  out += std::string("key_part=") + KeyPartName(rules.key_part) + "\n";
  out += "key_needs=" + std::string(rules.key_needs_domain ? "d" : "") + (rules.key_needs_local_part ? "u" : "") + "\n";
  out += "key_domain_labels=" + std::to_string(rules.key_domain_labels) + "\n";
  out += "value_needs=" + std::string(rules.value_needs_domain ? "d" : "") + (rules.value_needs_local_part ? "u" : "") +
         "\n";
  out += "result_format=" + rules.result_format + "\n";
  for (const std::string& item : rules.domain_filter) out += "domain=" + item + "\n";
  out += "expansion_limit=" + std::to_string(rules.expansion_limit) + "\n";
  return out;
}

Result<DatabaseLookupRules> DecodeDatabaseRules(std::string_view bytes) {
  std::vector<std::string> lines = SplitFields(bytes, '\n');
  if (lines.empty() || lines.front() != "postern-database-rules 1") {
    return Status::Permanent("database table rules: unknown format");
  }
  DatabaseLookupRules rules;
  auto number = [](std::string_view text, int* out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
    return error == std::errc() && end == text.data() + text.size() && *out >= 0;
  };
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string::npos) return Status::Permanent("database table rules: bad line \"" + line + "\"");
    std::string_view name = std::string_view(line).substr(0, eq);
    std::string_view value = std::string_view(line).substr(eq + 1);
    if (name == "key_part") {
      if (value == "whole") {
        rules.key_part = DatabaseLookupRules::KeyPart::kWhole;
      } else if (value == "local") {
        rules.key_part = DatabaseLookupRules::KeyPart::kLocalPart;
      } else if (value == "domain") {
        rules.key_part = DatabaseLookupRules::KeyPart::kDomain;
      } else {
        return Status::Permanent("database table rules: bad key_part \"" + std::string(value) + "\"");
      }
    } else if (name == "key_needs") {
      rules.key_needs_domain = value.find('d') != std::string_view::npos;
      rules.key_needs_local_part = value.find('u') != std::string_view::npos;
    } else if (name == "value_needs") {
      rules.value_needs_domain = value.find('d') != std::string_view::npos;
      rules.value_needs_local_part = value.find('u') != std::string_view::npos;
    } else if (name == "key_domain_labels") {
      if (!number(value, &rules.key_domain_labels) || rules.key_domain_labels > 9) {
        return Status::Permanent("database table rules: bad key_domain_labels");
      }
    } else if (name == "result_format") {
      DatabaseLookupRules scratch;
      if (!AddTemplateNeeds(value, false, &scratch).ok()) {
        return Status::Permanent("database table rules: bad result_format");
      }
      rules.result_format = std::string(value);
    } else if (name == "domain") {
      rules.domain_filter.emplace_back(value);
    } else if (name == "expansion_limit") {
      if (!number(value, &rules.expansion_limit)) return Status::Permanent("database table rules: bad expansion_limit");
    } else {
      return Status::Permanent("database table rules: unknown field \"" + std::string(name) + "\"");
    }
  }
  return rules;
}

std::optional<std::string> DatabaseTable::Lookup(std::string_view key) const {
  std::string folded = FoldCase(key, fold_);
  std::optional<std::string> database_key = DatabaseKeyFor(rules_, folded);
  if (!database_key) return std::nullopt;
  std::optional<std::string> values = rows_->Lookup(*database_key);
  if (!values) return std::nullopt;
  std::string result;
  int expansions = 0;
  for (const std::string& value : SplitFields(*values, kValueSeparator)) {
    if (!ValueGivesResult(rules_, value)) continue;
    // A temporary error, as Postfix's SQL and LDAP clients make it. The
    // compiler refuses a materialised table with such a key, so only a
    // live table gets here.
    if (rules_.expansion_limit > 0 && ++expansions > rules_.expansion_limit) {
      LookupFailureScope::Record("expansion limit exceeded for key \"" + folded + "\"");
      return std::nullopt;
    }
    if (!result.empty()) result += ',';
    result += ExpandResult(rules_, value, folded);
  }
  if (result.empty()) return std::nullopt;
  return result;
}

}  // namespace postern::mail
