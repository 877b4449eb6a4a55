// configuration.cc: see configuration.h.
#include "compiler/check/configuration.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <set>
#include <thread>

#include "compiler/check/implementation_check.h"
#include "compiler/check/secret_files.h"
#include "compiler/config/parameter_registry.h"
#include "compiler/config/parameter_value.h"
#include "compiler/tables/list_items.h"
#include "mail/ip_address.h"
#include "mail/master_service_support.h"
#include "mail/milter_list.h"
#include "util/strings.h"
#include "util/suggest.h"

namespace postern::check {
namespace {

using config::ParameterSpec;
using config::ParameterType;

// Every $name referenced in `value` (without expanding anything).
void CollectReferences(std::string_view value, std::set<std::string, std::less<>>* names) {
  for (size_t i = 0; i + 1 < value.size(); ++i) {
    if (value[i] != '$') continue;
    size_t j = i + 1;
    if (value[j] == '$') {
      i = j;
      continue;
    }
    if (value[j] == '{' || value[j] == '(') ++j;
    while (j < value.size() && IsSpace(value[j])) ++j;
    size_t start = j;
    while (j < value.size() && (IsAlnum(value[j]) || value[j] == '_')) ++j;
    if (j > start) names->emplace(value.substr(start, j - start));
  }
  // ${{$a} == {b}} forms: the inner $a is found by the loop as well.
}

class Checker {
 public:
  Checker(Model* model, const LoadOptions& options, DiagnosticSink* diagnostics)
      : model_(model), options_(options), diagnostics_(diagnostics) {}

  void Run() {
    CollectUsedNames();
    std::map<std::string, const config::ParameterDefinition*, std::less<>> previous;
    for (const config::ParameterDefinition& def : model_->main_cf.definitions) {
      auto [it, inserted] = previous.emplace(def.name, &def);
      // A --define overrides main.cf on purpose.
      bool defined = def.name_location.file != model_->main_cf.file;
      if (!inserted && !defined) {
        diagnostics_->Warning("PC0103", it->second->name_location,
                              "parameter \"" + def.name + "\" is defined again at line " +
                                  std::to_string(def.name_location.line) + "; this definition is overridden",
                              "Postfix uses the last definition; remove the one you do not mean");
      }
      it->second = &def;
    }
    // The definitions in effect, in file order.
    for (const config::ParameterDefinition& def : model_->main_cf.definitions) {
      if (model_->parameters->Definition(def.name) != &def) continue;
      CheckSetting(def.name, def.value, def.name_location, def.value_location, *model_->parameters);
    }
    for (const config::MasterService& service : model_->master_cf.services) {
      const config::ParameterSet& parameters = ServiceParameters(*model_, service);
      for (const config::ServiceOverride& o : service.overrides) {
        CheckSetting(o.name, config::ServiceOverrideValue(service, o), o.location, o.location, parameters);
      }
    }
    CheckTlsCertificate();
    CheckClientSasl();
    if (options_.load_tables) LoadTables();
  }

 private:
  void CollectUsedNames() {
    for (const auto& def : model_->main_cf.definitions) CollectReferences(def.value, &used_);
    for (const auto& service : model_->master_cf.services) {
      transports_.insert(service.name);
      for (const auto& o : service.overrides) CollectReferences(o.value, &used_);
      for (const auto& a : service.arguments) CollectReferences(a, &used_);
    }
    config::MacroExpander expander = model_->parameters->Expander();
    std::string classes = model_->parameters->Expanded("smtpd_restriction_classes", &expander);
    if (auto list = config::SplitParameterList(classes)) {
      for (const std::string& c : *list) {
        used_.insert(c);
        restriction_classes_.insert(c);
      }
    }
  }

  bool IsUserDefinedName(std::string_view name) const {
    if (used_.count(name)) return true;
    size_t suffix = config::PerTransportSuffixLength(name);
    return suffix > 0 && transports_.count(name.substr(0, name.size() - suffix));
  }

  void ReportExpansionProblems(const config::MacroExpander& expander, const SourceLocation& where) {
    for (const auto& problem : expander.problems()) {
      switch (problem.kind) {
        case config::MacroExpander::Problem::Kind::kUndefined:
          if (reported_undefined_.insert(problem.name).second) {
            diagnostics_->Warning("PC0106", where, "undefined parameter $" + problem.name,
                                  HintForName(problem.name, "it expands to nothing"));
          }
          break;
        case config::MacroExpander::Problem::Kind::kLoop:
          diagnostics_->Error("PC0107", where, problem.message);
          break;
        case config::MacroExpander::Problem::Kind::kSyntax:
          diagnostics_->Error("PC0108", where, problem.message);
          break;
      }
    }
  }

  std::string HintForName(std::string_view name, std::string fallback) const {
    std::string suggestion = Suggest(name, config::PostfixParameterNames());
    if (!suggestion.empty()) return "did you mean \"" + suggestion + "\"?";
    return fallback;
  }

  void CheckSetting(const std::string& name, const std::string& value, const SourceLocation& name_location,
                    const SourceLocation& value_location, const config::ParameterSet& parameters) {
    config::MacroExpander expander = parameters.Expander();
    std::string expanded = config::IsRawParameter(name) ? value : expander.Expand(value, name);
    ReportExpansionProblems(expander, value_location);

    const ParameterSpec* spec = config::FindParameter(name);
    // <transport>_time_limit and the like, for a master.cf transport.
    std::optional<ParameterSpec> per_transport;
    if (spec == nullptr && IsUserDefinedName(name) && (per_transport = config::TransportParameterSpec(name))) {
      spec = &*per_transport;
    }
    if (spec == nullptr && restriction_classes_.count(name)) {
      // A restriction class is a restriction list of the user's naming.
      CollectTables(name, ParameterType::kRestrictionList, expanded, value_location);
      return;
    }
    if (spec == nullptr) {
      if (config::IsPostfixParameter(name)) {
        // A family's parameters act only through its feature, which is
        // reported where it is enabled (implementation_check.h).
        if (!config::FamilyReportedBy(name).empty()) return;
        diagnostics_->Warning("PC0105", name_location,
                              "parameter \"" + name + "\" is not supported by Postern; it has no effect",
                              "see docs/compatibility.md for the supported parameters");
      } else if (!IsUserDefinedName(name)) {
        model_->unused_parameters.insert(name);
        diagnostics_->Warning("PC0104", name_location, "unknown parameter \"" + name + "\"",
                              HintForName(name, "Postfix would report it as unused"));
      }
      return;
    }
    std::string problem = config::CheckParameterValue(*spec, expanded);
    if (!problem.empty()) {
      diagnostics_->Error("PC0110", value_location,
                          "bad " + std::string(config::ParameterTypeName(spec->type)) + " value \"" + expanded +
                              "\" for parameter \"" + name + "\"",
                          problem);
      return;
    }
    if (spec->type == ParameterType::kNetworkList) CheckNetworkList(name, expanded, value_location);
    if (name.ends_with("_tls_protocols") || name.ends_with("_tls_mandatory_protocols")) {
      CheckTlsProtocols(name, expanded, value_location);
    }
    if (name.find("_sasl_") != std::string::npos && name.ends_with("security_options")) {
      CheckSaslSecurityOptions(name, expanded, value_location);
    }
    if (name == "smtpd_milters" || name == "non_smtpd_milters") CheckMilters(name, expanded, value_location);
    if (name == "milter_protocol") CheckMilterProtocol(name, expanded, value_location);
    if (tables::ListMayReferenceTables(spec->type)) CollectTables(name, spec->type, expanded, value_location);
  }

  // smtpd_milters: endpoints and per-milter settings (MILTER_README). An
  // endpoint Postfix cannot use or a setting it does not know makes its
  // milter client fail at run time; here it is an error at its line.
  void CheckMilters(const std::string& name, const std::string& expanded, const SourceLocation& where) {
    Result<std::vector<mail::MilterEntry>> milters = mail::ParseMilterList(expanded);
    if (!milters.ok()) {
      diagnostics_->Error("PC0110", where, "bad " + name + ": " + milters.status().message(),
                          "write inet:host:port or unix:/path, or { endpoint, name=value, ... }");
      return;
    }
    for (const mail::MilterEntry& m : *milters) {
      auto time = [&](const std::optional<std::string>& value, const char* setting) {
        if (value && !ParseTime(*value, 's')) {
          diagnostics_->Error("PC0110", where,
                              "bad " + std::string(setting) + " \"" + *value + "\" for milter " + m.endpoint,
                              "a time such as 10s or 2m");
        }
      };
      time(m.connect_timeout, "connect_timeout");
      time(m.command_timeout, "command_timeout");
      time(m.content_timeout, "content_timeout");
      if (m.default_action && !mail::IsMilterDefaultAction(*m.default_action)) {
        diagnostics_->Error("PC0110", where,
                            "bad default_action \"" + *m.default_action + "\" for milter " + m.endpoint,
                            "accept, reject, tempfail or quarantine");
      }
      if (m.protocol) CheckMilterProtocol("protocol of milter " + m.endpoint, *m.protocol, where);
    }
  }

  void CheckMilterProtocol(const std::string& what, const std::string& value, const SourceLocation& where) {
    if (Result<mail::MilterProtocol> p = mail::ParseMilterProtocol(value); !p.ok()) {
      diagnostics_->Error("PC0110", where, "bad " + what + ": " + p.status().message(),
                          "6 (the default), 4, 3 or 2, optionally with no_header_reply");
    }
  }

  // STARTTLS needs a certificate. Without one Postfix's smtpd (and
  // posternd) offers no STARTTLS: at level "may" mail comes in the clear,
  // at "encrypt" nothing comes in at all. Checked for main.cf and for each
  // master.cf -o override of the level.
  void CheckTlsCertificate() {
    std::string main_level = LevelWithoutCertificate(*model_->parameters);
    const config::ParameterDefinition* def = model_->parameters->Definition("smtpd_tls_security_level");
    ReportMissingCertificate(main_level, def ? def->value_location : SourceLocation{model_->main_cf.file, 0, 0}, "");
    for (const SmtpdService& s : model_->smtpd_services) {
      std::string level = LevelWithoutCertificate(*s.parameters);
      if (level == main_level) continue;  // reported for main.cf, or fine
      SourceLocation where = s.service->location;
      for (const config::ServiceOverride& o : s.service->overrides) {
        if (o.name == "smtpd_tls_security_level" || o.name == "smtpd_tls_wrappermode") where = o.location;
      }
      ReportMissingCertificate(level, where, "service " + s.service->name);
    }
  }

  // smtp(8) with smtp_sasl_auth_enable = yes and no password table stops
  // at its start ("specify a password table"), so every delivery through
  // it defers; posternd would deliver without AUTH. Both are refused here,
  // for main.cf and for each transport that enables it with -o.
  void CheckClientSasl() {
    auto check = [&](const config::ParameterSet& parameters, const SourceLocation& where, const std::string& service) {
      config::MacroExpander expander = parameters.Expander();
      std::optional<bool> enabled = config::ParseBoolean(Trim(parameters.Expanded("smtp_sasl_auth_enable", &expander)));
      if (!enabled.value_or(false) || !Trim(parameters.Expanded("smtp_sasl_password_maps", &expander)).empty()) {
        return;
      }
      diagnostics_->Error("PC0152", where, "smtp_sasl_auth_enable = yes" + service + " without smtp_sasl_password_maps",
                          "Postfix's smtp(8) stops without a password table, so nothing would be delivered; "
                          "name the table of credentials (smtp_sasl_password_maps = hash:/etc/postfix/sasl_passwd)");
    };
    const config::ParameterDefinition* def = model_->parameters->Definition("smtp_sasl_auth_enable");
    check(*model_->parameters, def ? def->name_location : SourceLocation{model_->main_cf.file, 0, 0}, "");
    for (const config::MasterService& s : model_->master_cf.services) {
      for (const config::ServiceOverride& o : s.overrides) {
        if (o.name != "smtp_sasl_auth_enable" || s.command != "smtp") continue;
        config::ParameterSet parameters(*model_->parameters, s);
        check(parameters, o.location, " for service " + s.name);
      }
    }
  }

  // The TLS security level ("may", "encrypt", or "wrapper" for
  // smtpd_tls_wrappermode) that `parameters` ask for without a
  // certificate, or "".
  static std::string LevelWithoutCertificate(const config::ParameterSet& parameters) {
    config::MacroExpander expander = parameters.Expander();
    bool has_certificate = !Trim(parameters.Expanded("smtpd_tls_cert_file", &expander)).empty() ||
                           !Trim(parameters.Expanded("smtpd_tls_chain_files", &expander)).empty();
    if (has_certificate) return "";
    // Wrapper mode ignores the level: TLS or nothing.
    if (ToLower(Trim(parameters.Expanded("smtpd_tls_wrappermode", &expander))) == "yes") return "wrapper";
    std::string level = ToLower(Trim(parameters.Expanded("smtpd_tls_security_level", &expander)));
    if (level.empty()) {
      // The obsolete switches, as Postfix reads them when the level is unset.
      if (ToLower(Trim(parameters.Expanded("smtpd_enforce_tls", &expander))) == "yes") {
        level = "encrypt";
      } else if (ToLower(Trim(parameters.Expanded("smtpd_use_tls", &expander))) == "yes") {
        level = "may";
      }
    }
    return level == "may" || level == "encrypt" ? level : "";
  }

  void ReportMissingCertificate(const std::string& level, const SourceLocation& where, const std::string& service) {
    if (level.empty()) return;
    std::string what = (level == "wrapper" ? "smtpd_tls_wrappermode = yes" : "smtpd_tls_security_level = " + level) +
                       (service.empty() ? "" : " for " + service) + " without a certificate: " +
                       (level == "wrapper" ? "no TLS can be offered" : "no STARTTLS can be offered");
    std::string hint = "set smtpd_tls_cert_file and smtpd_tls_key_file (or smtpd_tls_chain_files)";
    if (level != "may") {
      diagnostics_->Error("PC0150", where, what + ", so every client is refused", hint);
    } else {
      diagnostics_->Warning("PC0150", where, what + "; mail comes in unencrypted", hint);
    }
  }

  // Postfix's protocol lists: ">=V", "<=V", "!V" or "V", V one of SSLv2,
  // SSLv3, TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (the daemon would refuse the
  // image otherwise: runtime/tls/tls_settings.h).
  void CheckTlsProtocols(const std::string& name, const std::string& expanded, const SourceLocation& where) {
    static constexpr std::string_view kProtocols[] = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"};
    for (const std::string& item : config::SplitParameterList(expanded).value_or(std::vector<std::string>{})) {
      std::string_view v = item;
      if (StartsWith(v, ">=") || StartsWith(v, "<=")) {
        v.remove_prefix(2);
      } else if (StartsWith(v, "!")) {
        v.remove_prefix(1);
      }
      bool known = false;
      for (std::string_view p : kProtocols) known = known || EqualsIgnoreCase(v, p);
      if (!known) {
        diagnostics_->Error("PC0110", where, "bad TLS protocol \"" + item + "\" in " + name,
                            "write >=TLSv1.2, or exclusions such as !SSLv2, !SSLv3, !TLSv1, !TLSv1.1");
      }
    }
  }

  // The words of smtp(d)_sasl_*security_options (SASL_README); Postfix
  // stops at an unknown one.
  void CheckSaslSecurityOptions(const std::string& name, const std::string& expanded, const SourceLocation& where) {
    static constexpr std::string_view kOptions[] = {"noplaintext", "noactive",    "nodictionary",
                                                    "noanonymous", "mutual_auth", "forward_secrecy"};
    for (const std::string& item : config::SplitParameterList(expanded).value_or(std::vector<std::string>{})) {
      bool known = false;
      for (std::string_view o : kOptions) known = known || EqualsIgnoreCase(item, o);
      if (!known) {
        diagnostics_->Error("PC0110", where, "bad SASL security option \"" + item + "\" in " + name,
                            "the options are noplaintext, noactive, nodictionary, noanonymous, mutual_auth and "
                            "forward_secrecy");
      }
    }
  }

  void CheckNetworkList(const std::string& name, const std::string& expanded, const SourceLocation& where) {
    for (const tables::ListItem& item : tables::ClassifyListItems(name, ParameterType::kNetworkList, expanded)) {
      if (item.kind != tables::ListItem::Kind::kWord || item.text.empty() || LooksLikeHostname(item.text)) continue;
      std::string error;
      if (mail::ParseCidrBlock(item.text, &error)) continue;
      diagnostics_->Error("PC0111", where, "bad network \"" + item.text + "\" in " + name, error);
    }
  }

  static bool LooksLikeHostname(std::string_view item) {
    bool has_alpha = false;
    for (char c : item) {
      if (IsAlpha(c)) has_alpha = true;
      if (!IsAlnum(c) && c != '.' && c != '-') return false;
    }
    return has_alpha;
  }

  void CollectTables(const std::string& name, ParameterType type, const std::string& expanded,
                     const SourceLocation& where) {
    for (const tables::ListItem& item : tables::ClassifyListItems(name, type, expanded)) {
      switch (item.kind) {
        case tables::ListItem::Kind::kFile:
          if (!PathExists(tables::ResolveTablePath(item.text, table_options()))) {
            diagnostics_->Error("PC0113", where, "file \"" + item.text + "\" listed in " + name + " does not exist");
          }
          break;
        case tables::ListItem::Kind::kBadTable:
          diagnostics_->Error("PC0112", where, "bad table reference \"" + item.text + "\" in " + name,
                              "tables are written type:name, e.g. hash:/etc/postfix/virtual");
          break;
        case tables::ListItem::Kind::kTable: {
          std::string key =
              item.table->ToString() + (item.table->format == tables::TableFormat::kAliases ? "#aliases" : "");
          if (seen_tables_.insert(key).second) pending_.push_back({*item.table, where});
          if (MatchedOutsideAQuestion(name)) undeferrable_.push_back({name, item.table->ToString(), where});
          break;
        }
        default:
          break;
      }
    }
  }

  tables::TableLoadOptions table_options() const { return TableOptions(*model_); }

  void LoadTables() {
    // Text and aliases files compile on two threads (tables/compiled_table.h:
    // each on its own, with its own diagnostics, merged in order after);
    // the others (databases, directories, patterns) one after another here.
    tables::TableLoadOptions options = table_options();
    auto from_file = [](const tables::TableReference& r) {
      return !r.inline_text && (r.format == tables::TableFormat::kText || r.format == tables::TableFormat::kAliases);
    };
    std::vector<tables::LoadedTable> loaded(pending_.size());
    std::vector<DiagnosticSink> sinks(pending_.size());
    std::atomic<size_t> next{0};
    auto compile_files = [&] {
      for (size_t i = next++; i < pending_.size(); i = next++) {
        if (from_file(pending_[i].first)) {
          loaded[i] = tables::LoadTable(pending_[i].first, options, pending_[i].second, &sinks[i]);
        }
      }
    };
    size_t files = static_cast<size_t>(
        std::count_if(pending_.begin(), pending_.end(), [&](const auto& p) { return from_file(p.first); }));
    if (files > 1) {
      std::thread helper(compile_files);
      compile_files();
      helper.join();
    } else {
      compile_files();
    }
    for (size_t i = 0; i < pending_.size(); ++i) {
      if (!from_file(pending_[i].first)) {
        loaded[i] = tables::LoadTable(pending_[i].first, options, pending_[i].second, &sinks[i]);
      }
      for (const Diagnostic& d : sinks[i].diagnostics()) diagnostics_->Add(d);
      model_->tables.push_back(std::move(loaded[i]));
    }
    for (const Undeferrable& use : undeferrable_) {
      for (const tables::LoadedTable& table : model_->tables) {
        bool can_fail = table.live || table.reference.format == tables::TableFormat::kFail;
        if (!can_fail || table.reference.ToString() != use.table) continue;
        diagnostics_->Warning("PT0337", use.where,
                              use.table + " can fail to answer, and posternd matches " + use.parameter +
                                  " where it cannot defer: a failed lookup counts as no match",
                              "use a table posternd reads from its image here (a materialised or indexed one)");
      }
    }
  }

  // Lists posternd matches outside a policy decision (the session's own
  // exceptions), where a table that fails to answer cannot defer anything.
  static bool MatchedOutsideAQuestion(std::string_view parameter) {
    return parameter == "smtpd_sasl_exceptions_networks" || parameter == "smtpd_client_event_limit_exceptions" ||
           parameter == "smtpd_authorized_xclient_hosts";
  }

  Model* model_;
  const LoadOptions& options_;
  DiagnosticSink* diagnostics_;
  std::set<std::string, std::less<>> used_;
  std::set<std::string, std::less<>> transports_;
  std::set<std::string, std::less<>> restriction_classes_;
  std::set<std::string> reported_undefined_;
  std::set<std::string> seen_tables_;
  std::vector<std::pair<tables::TableReference, SourceLocation>> pending_;
  struct Undeferrable {
    std::string parameter;
    std::string table;
    SourceLocation where;
  };
  std::vector<Undeferrable> undeferrable_;  // tables in MatchedOutsideAQuestion lists
};

}  // namespace

tables::TableLoadOptions TableOptions(const Model& model) {
  tables::TableLoadOptions o;
  o.base_directory = model.config_directory;
  o.installed_config_directory = "/etc/postfix";
  o.scratch_directory = model.scratch_directory;
  if (model.parameters) {
    config::MacroExpander expander = model.parameters->Expander();
    std::optional<bool> utf8 = config::ParseBoolean(Trim(model.parameters->Expanded("smtputf8_enable", &expander)));
    o.fold = mail::CaseFoldFor(utf8.value_or(true));
  }
  return o;
}

const config::ParameterSet& ServiceParameters(const Model& model, const config::MasterService& service) {
  for (const SmtpdService& s : model.smtpd_services) {
    if (s.service == &service) return *s.parameters;
  }
  return *model.parameters;
}

Model LoadConfiguration(const LoadOptions& options, DiagnosticSink* diagnostics) {
  Model model;
  model.config_directory = options.config_directory;
  model.scratch_directory = options.scratch_directory;
  std::string main_path = options.config_directory + "/main.cf";
  auto main_file = SourceFile::Read(main_path);
  if (main_file.ok()) {
    model.main_cf = config::ParseMainCf(main_file.value(), diagnostics);
    if (!options.defines.empty()) {
      std::string text;
      for (const std::string& define : options.defines) {
        size_t equals = define.find('=');
        text += equals == std::string::npos ? define + "\n"
                                            : define.substr(0, equals) + " = " + define.substr(equals + 1) + "\n";
      }
      config::MainCf defined =
          config::ParseMainCf(std::make_shared<const SourceFile>("--define", std::move(text)), diagnostics);
      for (config::ParameterDefinition& d : defined.definitions) model.main_cf.definitions.push_back(std::move(d));
    }
  } else {
    diagnostics->FileError("PC0001", main_path, main_file.status().message(),
                           "a configuration directory holds main.cf and master.cf");
  }
  std::string master_path = options.config_directory + "/master.cf";
  if (PathExists(master_path)) {
    auto master_file = SourceFile::Read(master_path);
    if (master_file.ok()) {
      model.master_cf = config::ParseMasterCf(master_file.value(), diagnostics);
      model.has_master_cf = true;
    } else {
      diagnostics->FileError("PC0002", master_path, master_file.status().message());
    }
  }
  config::ParameterSet::Options parameter_options;
  // $config_directory is absolute in Postfix, so "$config_directory/file" is
  // a /file list element whatever directory check was given.
  std::error_code absolute_error;
  std::string absolute = std::filesystem::absolute(options.config_directory, absolute_error).lexically_normal();
  if (absolute_error) absolute = options.config_directory;
  if (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
  parameter_options.config_directory = options.installed_directory.empty() ? absolute : options.installed_directory;
  parameter_options.config_directory_explicit =
      options.installed_directory.empty() && options.config_directory_explicit;
  parameter_options.machine = options.machine;
  model.parameters = std::make_unique<config::ParameterSet>(model.main_cf, parameter_options);
  for (const config::MasterService& service : model.master_cf.services) {
    if (mail::ClassifyService(service.type, service.command) != mail::ServiceSupport::kSmtpServer) continue;
    model.smtpd_services.push_back(
        SmtpdService{&service, std::make_unique<config::ParameterSet>(*model.parameters, service)});
  }
  Checker(&model, options, diagnostics).Run();
  CheckImplementation(model, diagnostics);
  CheckSecretFiles(model, diagnostics);
  return model;
}

}  // namespace postern::check
