// ldap_config.cc: see ldap_config.h.
#include "compiler/tables/ldap_config.h"

#include "util/strings.h"

namespace postern::tables {
namespace {

const std::vector<std::string_view>& KnownSettings() {
  static const std::vector<std::string_view> known = {"server_host",
                                                      "server_port",
                                                      "timeout",
                                                      "search_base",
                                                      "query_filter",
                                                      "result_format",
                                                      "result_filter",
                                                      "domain",
                                                      "result_attribute",
                                                      "special_result_attribute",
                                                      "terminal_result_attribute",
                                                      "leaf_result_attribute",
                                                      "scope",
                                                      "bind",
                                                      "bind_dn",
                                                      "bind_pw",
                                                      "cache",
                                                      "cache_expiry",
                                                      "cache_size",
                                                      "recursion_limit",
                                                      "expansion_limit",
                                                      "size_limit",
                                                      "dereference",
                                                      "chase_referrals",
                                                      "version",
                                                      "debuglevel",
                                                      "sasl_mechs",
                                                      "sasl_realm",
                                                      "sasl_authz_id",
                                                      "sasl_minssf",
                                                      "start_tls",
                                                      "tls_ca_cert_dir",
                                                      "tls_ca_cert_file",
                                                      "tls_cert",
                                                      "tls_key",
                                                      "tls_require_cert",
                                                      "tls_random_file",
                                                      "tls_cipher_suite",
                                                      "postern_live"};
  return known;
}

std::vector<std::string> Attributes(const DefinitionFile& file, const std::string& name, const std::string& fallback) {
  return SplitAny(file.Value(name, fallback), " \t,");
}

}  // namespace

std::optional<LdapConfig> ReadLdapConfig(const std::string& path, const SourceLocation& reference_location,
                                         DiagnosticSink* diagnostics) {
  auto read = DefinitionFile::Read("ldap", path, KnownSettings(), {"bind_pw"}, reference_location, diagnostics);
  if (!read) return std::nullopt;
  DefinitionFile& file = *read;
  LdapConfig config;
  config.file = file.file();

  int port = file.Number("server_port", 389);
  for (const std::string& host : SplitAny(file.Value("server_host", "localhost"), " \t,")) {
    if (host.find("://") != std::string::npos) {
      config.urls.push_back(host);
    } else {
      config.urls.push_back("ldap://" + host + (host.find(':') == std::string::npos ? ":" + std::to_string(port) : ""));
    }
  }
  if (const DefinitionSetting* base = file.Find("search_base")) {
    config.search_base = *base;
  } else {
    file.FileError("PT0331", "no search_base", "add `search_base = dc=example, dc=com`");
  }
  config.query_filter = DefinitionSetting{"mailacceptinggeneralid=%s", SourceLocation{config.file, 0, 0}};
  if (const DefinitionSetting* filter = file.Find("query_filter")) config.query_filter = *filter;
  LookupRulesLocations locations = ReadLookupRules(&file, {config.query_filter, config.search_base},
                                                   {"result_format", "result_filter"}, &config.rules);
  config.expansion_limit_location = locations.expansion_limit;

  if (const DefinitionSetting* scope = file.Find("scope")) {
    std::string value = ToLower(scope->value);
    if (value == "sub") {
      config.scope = 2;
    } else if (value == "one") {
      config.scope = 1;
    } else if (value == "base") {
      config.scope = 0;
    } else {
      file.Invalid(*scope, "scope must be sub, one or base, not \"" + scope->value + "\"");
    }
  }
  if (const DefinitionSetting* bind = file.Find("bind")) {
    std::string value = ToLower(bind->value);
    if (value == "yes" || value == "simple") {
      config.bind = true;
    } else if (value == "no" || value == "none") {
      config.bind = false;
    } else if (value == "sasl") {
      file.Unimplemented(*bind, "SASL binds to LDAP are not implemented", "bind with bind_dn and bind_pw (bind = yes)");
    } else {
      file.Invalid(*bind, "bind must be yes, no or sasl, not \"" + bind->value + "\"");
    }
  }
  config.bind_dn = file.Value("bind_dn");
  config.bind_pw = file.Value("bind_pw");
  config.timeout = file.Number("timeout", 10);
  config.version = file.Number("version", 3);
  config.dereference = file.Number("dereference", 0);
  if (config.dereference > 3) file.Invalid(*file.Find("dereference"), "dereference must be 0, 1, 2 or 3");
  config.chase_referrals = file.Number("chase_referrals", 0) != 0;
  config.start_tls = file.Boolean("start_tls", false);
  config.tls_ca_cert_file = file.Value("tls_ca_cert_file");
  config.tls_ca_cert_dir = file.Value("tls_ca_cert_dir");
  config.tls_cert = file.Value("tls_cert");
  config.tls_key = file.Value("tls_key");
  config.tls_cipher_suite = file.Value("tls_cipher_suite");
  config.tls_random_file = file.Value("tls_random_file");
  config.tls_require_cert = file.Boolean("tls_require_cert", false);
  config.size_limit = file.Number("size_limit", config.rules.expansion_limit);
  config.recursion_limit = file.Number("recursion_limit", 1000);
  if (config.recursion_limit == 0) file.Invalid(*file.Find("recursion_limit"), "recursion_limit must be 1 or more");
  file.Number("debuglevel", 0);
  if (file.Boolean("postern_live", false)) config.live = *file.Find("postern_live");

  config.terminal_attributes = Attributes(file, "terminal_result_attribute", "");
  config.leaf_attributes = Attributes(file, "leaf_result_attribute", "");
  config.result_attributes = Attributes(file, "result_attribute", "maildrop");
  config.special_attributes = Attributes(file, "special_result_attribute", "");
  return file.ok() ? std::optional<LdapConfig>(std::move(config)) : std::nullopt;
}

}  // namespace postern::tables
