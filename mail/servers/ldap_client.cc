// ldap_client.cc: see ldap_client.h.
#include "mail/servers/ldap_client.h"

#include <ldap.h>
#include <sys/time.h>

#include "util/strings.h"

namespace postern::servers {
namespace {

std::string Join(const std::vector<std::string>& parts) { return postern::Join(parts, " "); }

std::vector<char*> Argv(const std::vector<std::string>& strings) {
  std::vector<char*> argv;
  for (const std::string& s : strings) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  return argv;
}

bool SameAttribute(std::string_view a, std::string_view b) { return ToLower(a) == ToLower(b); }

struct MessageFreer {
  void operator()(LDAPMessage* message) const { ldap_msgfree(message); }
};
using Message = std::unique_ptr<LDAPMessage, MessageFreer>;

}  // namespace

LdapDirectory::LdapDirectory(const LdapServer& config, LDAP* ld) : config_(config), ld_(ld) {
  // Postfix's order: terminal, leaf, ordinary, then special attributes.
  for (const auto* list : {&config.terminal_attributes, &config.leaf_attributes, &config.result_attributes}) {
    attributes_.insert(attributes_.end(), list->begin(), list->end());
  }
  terminal_count_ = config.terminal_attributes.size();
  leaf_count_ = config.leaf_attributes.size();
  ordinary_end_ = attributes_.size();
  attributes_.insert(attributes_.end(), config.special_attributes.begin(), config.special_attributes.end());
}

LdapDirectory::~LdapDirectory() { ldap_unbind_ext_s(ld_, nullptr, nullptr); }

Result<std::unique_ptr<LdapDirectory>> LdapDirectory::Connect(const LdapServer& config) {
  std::string servers = Join(config.urls);
  LDAP* ld = nullptr;
  int rc = ldap_initialize(&ld, servers.c_str());
  if (rc != LDAP_SUCCESS) return Status::Permanent(servers + ": " + ldap_err2string(rc));
  std::unique_ptr<LdapDirectory> directory(new LdapDirectory(config, ld));
  int version = config.version;
  timeval timeout{config.timeout, 0};
  int dereference = config.dereference;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &timeout);
  ldap_set_option(ld, LDAP_OPT_DEREF, &dereference);
  ldap_set_option(ld, LDAP_OPT_REFERRALS, config.chase_referrals ? LDAP_OPT_ON : LDAP_OPT_OFF);
  bool tls = config.start_tls;
  for (const std::string& url : config.urls) tls = tls || StartsWith(ToLower(url), "ldaps:");
  if (tls) {
    auto set = [&](int option, const std::string& value) {
      if (!value.empty()) ldap_set_option(ld, option, value.c_str());
    };
    set(LDAP_OPT_X_TLS_CACERTFILE, config.tls_ca_cert_file);
    set(LDAP_OPT_X_TLS_CACERTDIR, config.tls_ca_cert_dir);
    set(LDAP_OPT_X_TLS_CERTFILE, config.tls_cert);
    set(LDAP_OPT_X_TLS_KEYFILE, config.tls_key);
    set(LDAP_OPT_X_TLS_CIPHER_SUITE, config.tls_cipher_suite);
    set(LDAP_OPT_X_TLS_RANDOM_FILE, config.tls_random_file);
    int require = config.tls_require_cert ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require);
    int server = 0;
    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &server);
  }
  if (config.start_tls && (rc = ldap_start_tls_s(ld, nullptr, nullptr)) != LDAP_SUCCESS) {
    return Status::Permanent(servers + ": STARTTLS: " + ldap_err2string(rc));
  }
  if (config.bind) {
    berval credentials{config.bind_pw.size(), const_cast<char*>(config.bind_pw.c_str())};
    rc = ldap_sasl_bind_s(ld, config.bind_dn.c_str(), LDAP_SASL_SIMPLE, &credentials, nullptr, nullptr, nullptr);
    if (rc != LDAP_SUCCESS) {
      std::string who = config.bind_dn.empty() ? "anonymously" : "as " + config.bind_dn;
      return Status::Permanent(servers + ": cannot bind " + who + ": " + ldap_err2string(rc));
    }
  }
  return directory;
}

int LdapDirectory::Search(const std::string& base, int scope, const std::string& filter,
                          const std::vector<std::string>& attributes, LDAPMessage** result) {
  std::vector<char*> argv = Argv(attributes);
  timeval timeout{config_.timeout, 0};
  int limit = config_.size_limit > 0 ? config_.size_limit : LDAP_NO_LIMIT;
  *result = nullptr;
  int rc = ldap_search_ext_s(ld_, base.c_str(), scope, filter.c_str(), attributes.empty() ? nullptr : argv.data(), 0,
                             nullptr, nullptr, &timeout, limit, result);
  if (rc != LDAP_SUCCESS) {
    ldap_msgfree(*result);
    *result = nullptr;
  }
  return rc;
}

Status LdapDirectory::SearchError(int rc, const std::string& base, const std::string& filter) {
  return Status::Permanent("search of \"" + base + "\" for " + filter + ": " + ldap_err2string(rc));
}

Status LdapDirectory::ForEachValue(const std::string& base, const std::string& filter,
                                   const std::vector<std::string>& attributes,
                                   const std::function<void(std::string_view, const std::vector<std::string>&)>& visit,
                                   const std::function<void()>& entry_done) {
  LDAPMessage* found = nullptr;
  int rc = Search(base, config_.scope, filter, attributes, &found);
  if (rc != LDAP_SUCCESS) return SearchError(rc, base, filter);
  Message result(found);
  for (LDAPMessage* entry = ldap_first_entry(ld_, result.get()); entry; entry = ldap_next_entry(ld_, entry)) {
    for (const std::string& attribute : attributes) {
      berval** values = ldap_get_values_len(ld_, entry, attribute.c_str());
      if (!values) continue;
      std::vector<std::string> texts;
      for (int i = 0; values[i]; ++i) texts.emplace_back(values[i]->bv_val, values[i]->bv_len);
      ldap_value_free_len(values);
      visit(attribute, texts);
    }
    entry_done();
  }
  return Status::Ok();
}

Result<std::vector<std::string>> LdapDirectory::Lookup(const std::string& base, const std::string& filter) {
  LDAPMessage* found = nullptr;
  int rc = Search(base, config_.scope, filter, attributes_, &found);
  if (rc != LDAP_SUCCESS) return SearchError(rc, base, filter);
  Message result(found);
  std::vector<std::string> values;
  Status status = Collect(result.get(), 1, &values);
  if (!status.ok()) return status;
  return values;
}

size_t LdapDirectory::IndexOf(std::string_view attribute) const {
  for (size_t i = 0; i < attributes_.size(); ++i) {
    if (SameAttribute(attributes_[i], attribute)) return i;
  }
  return attributes_.size();
}

// As Postfix's dict_ldap_get_values, including its state: whether an entry
// is terminal or a leaf is only recomputed from attributes it has.
Status LdapDirectory::Collect(LDAPMessage* result, int depth, std::vector<std::string>* values) {
  bool is_leaf = true;
  bool is_terminal = false;
  int entries = 0;
  for (LDAPMessage* entry = ldap_first_entry(ld_, result); entry; entry = ldap_next_entry(ld_, entry)) {
    if (config_.size_limit > 0 && ++entries > config_.size_limit) {
      return Status::Permanent("more entries than size_limit (" + std::to_string(config_.size_limit) + ")");
    }
    for (size_t i = 0; i < terminal_count_; ++i) {
      berval** found = ldap_get_values_len(ld_, entry, attributes_[i].c_str());
      if (!found) continue;
      is_terminal = ldap_count_values_len(found) > 0;
      ldap_value_free_len(found);
      if (is_terminal) break;
    }
    if (!is_terminal && leaf_count_ > 0) {
      for (size_t i = ordinary_end_; i < attributes_.size(); ++i) {
        berval** found = ldap_get_values_len(ld_, entry, attributes_[i].c_str());
        if (!found) continue;
        is_leaf = ldap_count_values_len(found) == 0;
        ldap_value_free_len(found);
        if (!is_leaf) break;
      }
    }
    BerElement* ber = nullptr;
    for (char* attribute = ldap_first_attribute(ld_, entry, &ber); attribute;
         attribute = ldap_next_attribute(ld_, entry, ber)) {
      std::string name = attribute;
      ldap_memfree(attribute);
      berval** found = ldap_get_values_len(ld_, entry, name.c_str());
      if (!found) continue;
      std::vector<std::string> texts;
      for (int v = 0; found[v]; ++v) texts.emplace_back(found[v]->bv_val, found[v]->bv_len);
      ldap_value_free_len(found);
      if (texts.empty()) continue;
      size_t index = IndexOf(name);
      if (index < ordinary_end_ || is_terminal) {
        bool skipped = (is_terminal && index >= terminal_count_) || (!is_leaf && index < terminal_count_ + leaf_count_);
        if (!skipped) values->insert(values->end(), texts.begin(), texts.end());
      } else if (index < attributes_.size()) {
        if (depth >= config_.recursion_limit) {
          if (ber) ber_free(ber, 0);
          return Status::Permanent("recursion limit exceeded at " + name + "=" + texts.front());
        }
        for (const std::string& reference : texts) {
          Status status = FollowReference(reference, depth, values);
          if (!status.ok()) {
            if (ber) ber_free(ber, 0);
            return status;
          }
        }
      }
    }
    if (ber) ber_free(ber, 0);
  }
  return Status::Ok();
}

Status LdapDirectory::FollowReference(const std::string& reference, int depth, std::vector<std::string>* values) {
  std::string base = reference;
  std::string filter = "objectclass=*";
  int scope = LDAP_SCOPE_BASE;
  std::vector<std::string> wanted = attributes_;
  if (ldap_is_ldap_url(reference.c_str())) {
    LDAPURLDesc* url = nullptr;
    if (ldap_url_parse(reference.c_str(), &url) != LDAP_URL_SUCCESS) {
      return Status::Permanent("malformed URL " + reference);
    }
    // The URL's attributes that the table also names (all of them when it names none).
    wanted.clear();
    for (const std::string& attribute : attributes_) {
      bool listed = url->lud_attrs == nullptr;
      for (char** a = url->lud_attrs; a && *a; ++a) listed = listed || SameAttribute(*a, attribute);
      if (listed) wanted.push_back(attribute);
    }
    base = url->lud_dn ? url->lud_dn : "";
    filter = url->lud_filter ? url->lud_filter : "(objectclass=*)";
    scope = url->lud_scope == LDAP_SCOPE_DEFAULT ? LDAP_SCOPE_BASE : url->lud_scope;
    ldap_free_urldesc(url);
    if (wanted.empty()) return Status::Ok();
  }
  LDAPMessage* found = nullptr;
  int rc = Search(base, scope, filter, wanted, &found);
  if (rc == LDAP_NO_SUCH_OBJECT) return Status::Ok();  // Postfix skips a DN that is not there
  if (rc != LDAP_SUCCESS) return SearchError(rc, base, filter);
  Message result(found);
  return Collect(result.get(), depth + 1, values);
}

std::string EscapeFilterValue(std::string_view value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : value) {
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c == '\0') {
      auto byte = static_cast<unsigned char>(c);
      out += '\\';
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeDnValue(std::string_view value) {
  std::string out;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    bool special = c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' ||
                   (i == 0 && (c == '#' || c == ' ')) || (i + 1 == value.size() && c == ' ');
    if (special) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace postern::servers
