// implementation_check.cc: see implementation_check.h.
#include "compiler/check/implementation_check.h"

#include <filesystem>

#include "compiler/config/parameter_registry.h"
#include "compiler/config/parameter_value.h"
#include "mail/master_service_support.h"
#include "mail/pipe_service.h"
#include "util/strings.h"

namespace postern::check {
namespace {

using config::Impact;
using config::ParameterSpec;
using config::ParameterType;
using config::Support;

bool IsListType(ParameterType type) {
  return type == ParameterType::kList || type == ParameterType::kTableList || type == ParameterType::kMatchList ||
         type == ParameterType::kNetworkList || type == ParameterType::kRestrictionList;
}

// Whether two expanded values mean the same to Postfix.
bool SameValue(const ParameterSpec& spec, std::string_view a, std::string_view b) {
  a = Trim(a);
  b = Trim(b);
  if (spec.type == ParameterType::kBoolean) {
    std::optional<bool> x = config::ParseBoolean(a);
    std::optional<bool> y = config::ParseBoolean(b);
    if (x && y) return *x == *y;
  }
  if (IsListType(spec.type)) {
    auto x = config::SplitParameterList(a);
    auto y = config::SplitParameterList(b);
    if (x && y) return *x == *y;
  }
  return a == b;
}

std::string Quoted(std::string_view value) { return "\"" + std::string(Trim(value)) + "\""; }

class ImplementationChecker {
 public:
  ImplementationChecker(const Model& model, DiagnosticSink* diagnostics) : model_(model), diagnostics_(diagnostics) {}

  void Run() {
    for (const config::ParameterDefinition& def : model_.main_cf.definitions) {
      if (model_.parameters->Definition(def.name) == &def) CheckMainSetting(def);
    }
    for (const config::MasterService& service : model_.master_cf.services) CheckService(service);
    CheckHeaderRewriting();
    CheckSaslType();
    CheckReceiveOverrides();
    CheckContentFilters();
    CheckMissingHeaderClients();
  }

 private:
  void Report(Impact impact, const std::string& code, const SourceLocation& where, const std::string& message,
              const std::string& hint) {
    if (impact == Impact::kSafety) {
      diagnostics_->Error(code, where, message, hint);
    } else {
      diagnostics_->Warning(code, where, message, hint);
    }
  }

  std::string Expand(const std::string& name, const std::string& value) {
    if (config::IsRawParameter(name)) return value;
    config::MacroExpander expander = model_.parameters->Expander();
    return expander.Expand(value, name);
  }

  std::string ExpandedDefault(const ParameterSpec& spec) {
    std::optional<std::string> raw = model_.parameters->DefaultRaw(spec.name);
    return raw ? Expand(std::string(spec.name), *raw) : "";
  }

  std::string ExpandedEffective(std::string_view name) {
    config::MacroExpander expander = model_.parameters->Expander();
    return model_.parameters->Expanded(name, &expander);
  }

  // A kMissing parameter set to something other than its default (a bad
  // value is reported as such, PC0110, and not again here).
  bool AsksForMissing(const ParameterSpec& spec, const std::string& expanded) {
    if (spec.support != Support::kMissing || !spec.reported_by.empty()) return false;
    if (!config::CheckParameterValue(spec, expanded).empty()) return false;
    return !SameValue(spec, expanded, ExpandedDefault(spec));
  }

  void ReportMissing(const ParameterSpec& spec, const std::string& expanded, const SourceLocation& where,
                     const std::string& for_service) {
    std::string setting = std::string(spec.name) + " = " + std::string(Trim(expanded));
    std::string message = "\"" + setting + "\"" + for_service + " is not implemented by posternd";
    std::string hint =
        spec.impact == Impact::kSafety
            ? "posternd would run as if it were not set, which weakens security or loses mail; "
              "Postern refuses what it would not honour (docs/compatibility.md)"
            : "posternd behaves as with the default, " + Quoted(ExpandedDefault(spec)) + " (docs/compatibility.md)";
    if (spec.name == "non_smtpd_milters") {
      // Nothing to filter: no sendmail(1), pickup or QMQP in posternd.
      hint =
          "posternd takes mail only over SMTP, which smtpd_milters filter; there is no sendmail(1), pickup "
          "or QMQP mail for these milters (docs/posternd.md)";
    }
    Report(spec.impact, "PC0160", where, message, hint);
  }

  void CheckMainSetting(const config::ParameterDefinition& def) {
    const ParameterSpec* spec = config::FindParameter(def.name);
    if (spec == nullptr) {
      CheckPerTransportSetting(def);
      return;  // other Postfix names without a spec: PC0105 (configuration.cc)
    }
    std::string expanded = Expand(def.name, def.value);
    if (AsksForMissing(*spec, expanded)) ReportMissing(*spec, expanded, def.name_location, "");
  }

  // `<transport>_<suffix>` for a master.cf transport.
  void CheckPerTransportSetting(const config::ParameterDefinition& def) {
    size_t suffix = config::PerTransportSuffixLength(def.name);
    if (suffix == 0) return;
    std::string_view transport = std::string_view(def.name).substr(0, def.name.size() - suffix);
    const config::MasterService* service = nullptr;
    for (const config::MasterService& s : model_.master_cf.services) {
      if (s.name == transport) service = &s;
    }
    if (service == nullptr) return;
    // pipe(8) reads <transport>_time_limit; posternd runs no other command
    // that would (spawn, for one, is not run at all).
    std::string_view which = std::string_view(def.name).substr(transport.size());
    if (config::IsImplementedTransportSuffix(which) && (which != "_time_limit" || service->command == "pipe")) return;
    Report(Impact::kMinor, "PC0160", def.name_location,
           "per-transport parameter \"" + def.name + "\" is not implemented by posternd",
           "posternd applies only <transport>_destination_concurrency_limit, "
           "<transport>_destination_recipient_limit and, for pipe services, <transport>_time_limit per "
           "transport (docs/compatibility.md)");
  }

  void CheckService(const config::MasterService& service) {
    mail::ServiceSupport support = mail::ClassifyService(service.type, service.command);
    switch (support) {
      case mail::ServiceSupport::kSmtpServer:
      case mail::ServiceSupport::kDeliveryAgent:
        for (const config::ServiceOverride& o : service.overrides) CheckOverride(service, support, o);
        // An smtpd service's process limit is its session limit in posternd.
        if (support == mail::ServiceSupport::kDeliveryAgent) CheckProcessLimit(service);
        if (service.command == "pipe") CheckPipeService(service);
        return;
      case mail::ServiceSupport::kInert:
      case mail::ServiceSupport::kMissingAgent:  // reported where mail is routed to it (PC0136)
        return;
      case mail::ServiceSupport::kMissing:
        break;
    }
    if (service.type == "inet") {
      Report(Impact::kSafety, "PC0162", service.location,
             "service \"" + service.name + "\" runs " + service.command +
                 ", which posternd does not implement: nothing would accept mail on " + service.name,
             service.command == "postscreen" ? "serve the port with smtpd (" + service.name +
                                                   " inet n - y - - smtpd); postscreen's tests "
                                                   "are not available in Postern"
                                             : "posternd serves inet services whose command is smtpd");
    } else {
      Report(Impact::kMinor, "PC0162", service.location,
             "service \"" + service.name + "\" runs " + service.command + ", which posternd does not implement",
             "posternd ignores the service");
    }
  }

  // A pipe(8) service's attributes (PC0206), and a command that runs
  // sendmail (PC0208). (Flags D and O without a recipient limit of 1 are a
  // routing check, PC0207: only where mail is routed to the service.)
  void CheckPipeService(const config::MasterService& service) {
    size_t bad = 0;
    Result<mail::PipeService> pipe = mail::ParsePipeService(service.arguments, &bad);
    if (!pipe.ok()) {
      SourceLocation where =
          bad < service.argument_locations.size() ? service.argument_locations[bad] : service.location;
      diagnostics_->Error("PC0206", where, "pipe service \"" + service.name + "\": " + pipe.status().message(),
                          "pipe(8) takes flags=, user=, directory=, chroot=, eol=, null_sender=, size= and, last, "
                          "argv=; it would defer every delivery to this service");
      return;
    }
    for (size_t i = 0; i < pipe->argv.size(); ++i) {
      if (std::filesystem::path(pipe->argv[i]).filename() != "sendmail") continue;
      // After-queue filters such as spamc hand mail back through sendmail(1).
      size_t at = service.arguments.size() - pipe->argv.size() + i;
      diagnostics_->Warning(
          "PC0208", at < service.argument_locations.size() ? service.argument_locations[at] : service.location,
          "pipe service \"" + service.name +
              "\" runs sendmail, which Postern does not provide: the mail it "
              "submits goes to whichever MTA installed " +
              pipe->argv[i],
          "re-inject over SMTP into a posternd service that has -o content_filter= (FILTER_README's advanced "
          "content filter); Postern's sendmail(1) is not written yet");
      break;
    }
  }

  void CheckOverride(const config::MasterService& service, mail::ServiceSupport support,
                     const config::ServiceOverride& o) {
    const ParameterSpec* spec = config::FindParameter(o.name);
    if (spec == nullptr || spec->support == Support::kInert) return;
    // A client's parameter on a server and a server's on a client do
    // nothing in Postfix either.
    bool server = support == mail::ServiceSupport::kSmtpServer;
    if (server && (StartsWith(o.name, "smtp_") || StartsWith(o.name, "lmtp_"))) return;
    if (!server && StartsWith(o.name, "smtpd_")) return;
    std::string expanded = Expand(o.name, config::ServiceOverrideValue(service, o));
    if (spec->support == Support::kMissing) {
      if (AsksForMissing(*spec, expanded)) ReportMissing(*spec, expanded, o.location, " for service " + service.name);
      return;
    }
    if (spec->per_service & (server ? config::kPerSmtpd : config::kPerTransport)) return;
    if (!config::CheckParameterValue(*spec, expanded).empty()) return;  // PC0110
    std::string main_value = ExpandedEffective(o.name);
    if (SameValue(*spec, expanded, main_value)) return;
    Report(spec->impact, "PC0161", o.location,
           "-o " + o.name + "=" + std::string(Trim(o.value)) + ": posternd does not apply this override to service " +
               service.name + "; it would use main.cf's value, " + Quoted(main_value),
           server ? "posternd applies per smtpd service the settings Postfix's smtpd reads (docs/posternd.md); "
                    "this one is read by another part of Postfix, which ignores the override too, so it belongs "
                    "in main.cf"
                  : "posternd applies per transport the delivery agent's own settings (docs/delivery.md); this one "
                    "belongs in main.cf");
  }

  // canonical(5) maps rewrite envelope addresses, and header addresses for
  // the classes that say so (mail from local_header_rewrite_clients).
  // posternd rewrites the envelope only.
  void CheckHeaderRewriting() {
    struct Maps {
      const char* maps;
      const char* classes;
    };
    for (const Maps& m :
         {Maps{"canonical_maps", "canonical_classes"}, Maps{"sender_canonical_maps", "sender_canonical_classes"},
          Maps{"recipient_canonical_maps", "recipient_canonical_classes"}}) {
      if (Trim(ExpandedEffective(m.maps)).empty()) continue;
      std::vector<std::string> classes =
          config::SplitParameterList(ExpandedEffective(m.classes)).value_or(std::vector<std::string>{});
      std::vector<std::string> headers;
      for (const std::string& c : classes) {
        if (StartsWith(ToLower(c), "header_")) headers.push_back(c);
      }
      if (headers.empty()) continue;
      const config::ParameterDefinition* def = model_.parameters->Definition(m.maps);
      Report(Impact::kMinor, "PC0164", def ? def->name_location : SourceLocation{model_.main_cf.file, 0, 0},
             std::string(m.maps) + " rewrites header addresses too (" + m.classes + " has " + Join(headers, ", ") +
                 "), which posternd does not do",
             "posternd rewrites envelope addresses only; say so with " + std::string(m.classes) + " = " +
                 (std::string(m.classes) == "recipient_canonical_classes" ? "envelope_recipient"
                  : std::string(m.classes) == "sender_canonical_classes"  ? "envelope_sender"
                                                                          : "envelope_sender, envelope_recipient"));
    }
  }

  // content_filter, in main.cf or per smtpd service: [transport][:nexthop],
  // the transport a master.cf service posternd delivers with (smtp, lmtp, pipe),
  // or mail accepted there would stay deferred.
  void CheckContentFilters() {
    if (!model_.has_master_cf) return;
    auto check = [&](const std::string& value, const SourceLocation& where, const std::string& service) {
      std::string filter(Trim(value));
      if (filter.empty()) return;
      // transport:nexthop, or a transport alone (the nexthop is then the
      // recipient's domain, default_filter_nexthop being empty).
      std::string transport = filter.substr(0, filter.find(':'));
      if (transport.empty()) {
        diagnostics_->Error("PC0110", where, "bad content_filter \"" + filter + "\"" + service,
                            "write transport:nexthop, as in smtp:[127.0.0.1]:10024");
        return;
      }
      const config::MasterService* target = nullptr;
      for (const config::MasterService& s : model_.master_cf.services) {
        if (s.name == transport && s.type == "unix") target = &s;
      }
      if (target == nullptr) {
        diagnostics_->Error("PC0132", where,
                            "content_filter transport \"" + transport + "\"" + service +
                                " is not a master.cf service; mail accepted there would be deferred",
                            "define it in master.cf (" + transport + " unix - - n - - smtp), or use smtp or lmtp");
      } else if (!mail::IsImplementedAgent(target->command)) {
        diagnostics_->Error("PC0136", where,
                            "content_filter transport \"" + transport + "\"" + service + " runs " + target->command +
                                ", which posternd does not implement; mail accepted there would stay deferred",
                            "posternd hands mail to a content filter over SMTP or LMTP, or through a pipe(8) command "
                            "(docs/delivery.md)");
      }
    };
    const config::ParameterDefinition* def = model_.parameters->Definition("content_filter");
    if (def) check(Expand("content_filter", def->value), def->value_location, "");
    for (const SmtpdService& s : model_.smtpd_services) {
      for (const config::ServiceOverride& o : s.service->overrides) {
        if (o.name == "content_filter") {
          config::MacroExpander expander = s.parameters->Expander();
          check(s.parameters->Expanded("content_filter", &expander), o.location, " for service " + s.service->name);
        }
      }
    }
  }

  // receive_override_options, in main.cf or per smtpd service: posternd
  // turns off the unknown recipient checks, header/body checks and milters;
  // it cannot leave addresses unmapped.
  // local_header_rewrite_clients: posternd adds cleanup's missing headers
  // for the clients of these items, and no others.
  void CheckMissingHeaderClients() {
    const config::ParameterDefinition* def = model_.parameters->Definition("local_header_rewrite_clients");
    if (def == nullptr) return;
    std::vector<std::string> items = config::SplitParameterList(ExpandedEffective("local_header_rewrite_clients"))
                                         .value_or(std::vector<std::string>{});
    for (const std::string& item : items) {
      std::string word = ToLower(item);
      if (word == "permit_inet_interfaces" || word == "permit_mynetworks" || word == "permit_sasl_authenticated" ||
          word == "permit_tls_all_clientcerts" || word == "permit_tls_clientcerts" || word == "static:all") {
        continue;
      }
      Report(Impact::kMinor, "PC0160", def->value_location,
             "\"" + item + "\" in local_header_rewrite_clients is not implemented by posternd",
             "posternd adds the missing Message-Id:, Date: and From: headers for permit_inet_interfaces, "
             "permit_mynetworks, permit_sasl_authenticated, permit_tls_all_clientcerts, permit_tls_clientcerts "
             "and static:all clients only (address maps are not implemented)");
    }
  }

  void CheckReceiveOverrides() {
    auto check = [&](const config::ParameterSet& parameters, const SourceLocation& where, const std::string& service) {
      config::MacroExpander expander = parameters.Expander();
      for (const std::string& option :
           config::SplitParameterList(parameters.Expanded("receive_override_options", &expander))
               .value_or(std::vector<std::string>{})) {
        if (option == "no_unknown_recipient_checks" || option == "no_header_body_checks" || option == "no_milters") {
          continue;
        }
        if (option == "no_address_mappings") {
          Report(Impact::kSafety, "PC0160", where,
                 "\"receive_override_options = no_address_mappings\"" + service +
                     " is not implemented by posternd: it would rewrite and expand the addresses (canonical "
                     "maps, virtual aliases) that Postfix leaves alone there",
                 "posternd applies no_unknown_recipient_checks, no_header_body_checks and no_milters; remove "
                 "no_address_mappings, or keep the mapping in one place (docs/compatibility.md)");
        } else {
          diagnostics_->Error("PC0110", where, "bad receive_override_options value \"" + option + "\"" + service,
                              "the options are no_unknown_recipient_checks, no_address_mappings, "
                              "no_header_body_checks and no_milters");
        }
      }
    };
    const config::ParameterDefinition* def = model_.parameters->Definition("receive_override_options");
    check(*model_.parameters, def ? def->value_location : SourceLocation{model_.main_cf.file, 0, 0}, "");
    for (const SmtpdService& s : model_.smtpd_services) {
      for (const config::ServiceOverride& o : s.service->overrides) {
        if (o.name == "receive_override_options") check(*s.parameters, o.location, " for service " + s.service->name);
      }
    }
  }

  // posternd speaks Dovecot's authentication protocol; with AUTH enabled,
  // Cyrus SASL (Postfix's default type) is refused, in main.cf or per
  // smtpd service.
  void CheckSaslType() {
    auto check = [&](const config::ParameterSet& parameters, const std::string& service) {
      config::MacroExpander expander = parameters.Expander();
      std::optional<bool> enabled =
          config::ParseBoolean(Trim(parameters.Expanded("smtpd_sasl_auth_enable", &expander)));
      std::string type = std::string(Trim(parameters.Expanded("smtpd_sasl_type", &expander)));
      if (!enabled.value_or(false) || type == "dovecot") return;
      const config::ParameterDefinition* def = parameters.Definition("smtpd_sasl_type");
      if (def == nullptr) def = parameters.Definition("smtpd_sasl_auth_enable");
      SourceLocation where = def ? def->name_location : SourceLocation{model_.main_cf.file, 0, 0};
      Report(Impact::kSafety, "PC0160", where,
             "\"smtpd_sasl_type = " + type + "\"" + (service.empty() ? "" : " for service " + service) +
                 " is not implemented by posternd: no AUTH would be offered",
             "posternd authenticates through Dovecot: smtpd_sasl_type = dovecot, smtpd_sasl_path = private/auth "
             "(docs/posternd.md)");
    };
    check(*model_.parameters, "");
    for (const SmtpdService& s : model_.smtpd_services) {
      // Reported once for main.cf unless the service sets it differently.
      bool own = false;
      for (const config::ServiceOverride& o : s.service->overrides) {
        own = own || o.name == "smtpd_sasl_type" || o.name == "smtpd_sasl_auth_enable";
      }
      if (own) check(*s.parameters, s.service->name);
    }
  }

  void CheckProcessLimit(const config::MasterService& service) {
    if (service.max_process == "-") return;
    std::string limit = ExpandedEffective("default_process_limit");
    if (Trim(limit) == service.max_process) return;
    Report(Impact::kMinor, "PC0163", service.location,
           "process limit " + service.max_process + " of service \"" + service.name + "\" is not applied by posternd",
           "posternd limits concurrent deliveries with default_process_limit (" + std::string(Trim(limit)) +
               ") and, per destination, "
               "<transport>_destination_concurrency_limit");
  }

  const Model& model_;
  DiagnosticSink* diagnostics_;
};

}  // namespace

void CheckImplementation(const Model& model, DiagnosticSink* diagnostics) {
  if (!model.parameters) return;
  ImplementationChecker(model, diagnostics).Run();
}

}  // namespace postern::check
