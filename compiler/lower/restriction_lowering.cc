// restriction_lowering.cc: see restriction_lowering.h.
#include "compiler/lower/restriction_lowering.h"

#include <algorithm>
#include <optional>
#include <set>

#include "compiler/config/parameter_registry.h"
#include "compiler/config/parameter_value.h"
#include "compiler/lower/rbl_reply_check.h"
#include "mail/access_result.h"
#include "mail/dns_list_filter.h"
#include "mail/lookup_table.h"
#include "util/strings.h"
#include "util/suggest.h"

namespace postern::lower {
namespace {

using policy::RestrictionKind;
using policy::Stage;

struct Known {
  std::string_view name;
  RestrictionKind kind;
  bool takes_argument;
  // It asks the network (DNS, a policy server, address verification):
  // posternd fetches the answers before the stage decides
  // (session/session_network.cc), except at the end of data, where only the
  // DNS records earlier stages fetched are at hand; `postern test` answers
  // from its cases' dns, policy and verify lines.
  bool asks_dns = false;
};

constexpr Known kKnown[] = {
    {"permit", RestrictionKind::kPermit, false},
    {"reject", RestrictionKind::kReject, false},
    {"defer", RestrictionKind::kDefer, false},
    {"defer_if_permit", RestrictionKind::kDeferIfPermit, false},
    {"defer_if_reject", RestrictionKind::kDeferIfReject, false},
    {"warn_if_reject", RestrictionKind::kWarnIfReject, false},
    {"permit_mynetworks", RestrictionKind::kPermitMynetworks, false},
    {"permit_sasl_authenticated", RestrictionKind::kPermitSaslAuthenticated, false},
    {"permit_tls_all_clientcerts", RestrictionKind::kPermitTlsAllCerts, false},
    {"reject_plaintext_session", RestrictionKind::kRejectPlaintextSession, false},
    {"permit_auth_destination", RestrictionKind::kPermitAuthDestination, false},
    {"reject_unauth_destination", RestrictionKind::kRejectUnauthDestination, false},
    {"defer_unauth_destination", RestrictionKind::kDeferUnauthDestination, false},
    {"reject_unauth_pipelining", RestrictionKind::kRejectUnauthPipelining, false},
    {"reject_unlisted_recipient", RestrictionKind::kRejectUnlistedRecipient, false},
    {"check_recipient_maps", RestrictionKind::kRejectUnlistedRecipient, false},
    {"reject_unlisted_sender", RestrictionKind::kRejectUnlistedSender, false},
    {"reject_non_fqdn_helo_hostname", RestrictionKind::kRejectNonFqdnHelo, false},
    {"reject_non_fqdn_hostname", RestrictionKind::kRejectNonFqdnHelo, false},
    {"reject_invalid_helo_hostname", RestrictionKind::kRejectInvalidHelo, false},
    {"reject_invalid_hostname", RestrictionKind::kRejectInvalidHelo, false},
    {"reject_non_fqdn_sender", RestrictionKind::kRejectNonFqdnSender, false},
    {"reject_non_fqdn_recipient", RestrictionKind::kRejectNonFqdnRecipient, false},
    {"reject_unknown_sender_domain", RestrictionKind::kRejectUnknownSenderDomain, false, true},
    {"reject_unknown_recipient_domain", RestrictionKind::kRejectUnknownRecipientDomain, false, true},
    {"reject_unknown_client_hostname", RestrictionKind::kRejectUnknownClientHostname, false},
    {"reject_unknown_client", RestrictionKind::kRejectUnknownClientHostname, false},
    {"reject_unknown_reverse_client_hostname", RestrictionKind::kRejectUnknownReverseClientHostname, false},
    {"reject_rbl_client", RestrictionKind::kRejectRblClient, true, true},
    {"reject_rhsbl_client", RestrictionKind::kRejectRhsblClient, true, true},
    {"reject_rhsbl_reverse_client", RestrictionKind::kRejectRhsblReverseClient, true, true},
    {"reject_rhsbl_helo", RestrictionKind::kRejectRhsblHelo, true, true},
    {"reject_rhsbl_sender", RestrictionKind::kRejectRhsblSender, true, true},
    {"reject_rhsbl_recipient", RestrictionKind::kRejectRhsblRecipient, true, true},
    {"reject_unknown_helo_hostname", RestrictionKind::kRejectUnknownHeloHostname, false, true},
    {"reject_unknown_hostname", RestrictionKind::kRejectUnknownHeloHostname, false, true},
    {"check_policy_service", RestrictionKind::kCheckPolicyService, true, true},
    {"reject_multi_recipient_bounce", RestrictionKind::kRejectMultiRecipientBounce, false},
    {"permit_dnswl_client", RestrictionKind::kPermitDnswlClient, true, true},
    {"permit_rhswl_client", RestrictionKind::kPermitRhswlClient, true, true},
    {"check_client_access", RestrictionKind::kCheckClientAccess, true},
    {"check_reverse_client_hostname_access", RestrictionKind::kCheckReverseClientHostnameAccess, true},
    {"check_helo_access", RestrictionKind::kCheckHeloAccess, true},
    {"check_sender_access", RestrictionKind::kCheckSenderAccess, true},
    {"check_recipient_access", RestrictionKind::kCheckRecipientAccess, true},
    {"check_sasl_access", RestrictionKind::kCheckSaslAccess, true},
    {"check_ccert_access", RestrictionKind::kCheckCcertAccess, true},
    {"permit_tls_clientcerts", RestrictionKind::kPermitTlsClientcerts, false},
    {"sleep", RestrictionKind::kSleep, true},
    {"check_client_a_access", RestrictionKind::kCheckClientAAccess, true, true},
    {"check_client_mx_access", RestrictionKind::kCheckClientMxAccess, true, true},
    {"check_client_ns_access", RestrictionKind::kCheckClientNsAccess, true, true},
    {"check_reverse_client_hostname_a_access", RestrictionKind::kCheckReverseClientHostnameAAccess, true, true},
    {"check_reverse_client_hostname_mx_access", RestrictionKind::kCheckReverseClientHostnameMxAccess, true, true},
    {"check_reverse_client_hostname_ns_access", RestrictionKind::kCheckReverseClientHostnameNsAccess, true, true},
    {"check_helo_a_access", RestrictionKind::kCheckHeloAAccess, true, true},
    {"check_helo_mx_access", RestrictionKind::kCheckHeloMxAccess, true, true},
    {"check_helo_ns_access", RestrictionKind::kCheckHeloNsAccess, true, true},
    {"check_sender_a_access", RestrictionKind::kCheckSenderAAccess, true, true},
    {"check_sender_mx_access", RestrictionKind::kCheckSenderMxAccess, true, true},
    {"check_sender_ns_access", RestrictionKind::kCheckSenderNsAccess, true, true},
    {"check_recipient_a_access", RestrictionKind::kCheckRecipientAAccess, true, true},
    {"check_recipient_mx_access", RestrictionKind::kCheckRecipientMxAccess, true, true},
    {"check_recipient_ns_access", RestrictionKind::kCheckRecipientNsAccess, true, true},
    {"reject_sender_login_mismatch", RestrictionKind::kRejectSenderLoginMismatch, false},
    {"reject_authenticated_sender_login_mismatch", RestrictionKind::kRejectAuthenticatedSenderLoginMismatch, false},
    {"reject_known_sender_login_mismatch", RestrictionKind::kRejectKnownSenderLoginMismatch, false},
    {"reject_unauthenticated_sender_login_mismatch", RestrictionKind::kRejectUnauthenticatedSenderLoginMismatch, false},
    {"reject_unverified_recipient", RestrictionKind::kRejectUnverifiedRecipient, false, true},
    {"reject_unverified_sender", RestrictionKind::kRejectUnverifiedSender, false, true},
};

// Postfix restrictions Postern does not implement (yet): a configuration
// that uses one is refused rather than run with different behaviour.
constexpr std::string_view kUnsupported[] = {
    "check_relay_domains",
    "permit_mx_backup",
    "permit_naked_ip_address",
    "reject_maps_rbl",
    "smtpd_access_policy",
    "check_etrn_access",
    "reject_unknown_forward_client_hostname",
};

bool IsDnsList(RestrictionKind kind) {
  return kind == RestrictionKind::kRejectRblClient || kind == RestrictionKind::kRejectRhsblClient ||
         kind == RestrictionKind::kRejectRhsblReverseClient || kind == RestrictionKind::kRejectRhsblHelo ||
         kind == RestrictionKind::kRejectRhsblSender || kind == RestrictionKind::kRejectRhsblRecipient ||
         kind == RestrictionKind::kPermitDnswlClient || kind == RestrictionKind::kPermitRhswlClient;
}

bool IsLoginMismatch(RestrictionKind kind) {
  return kind == RestrictionKind::kRejectSenderLoginMismatch ||
         kind == RestrictionKind::kRejectAuthenticatedSenderLoginMismatch ||
         kind == RestrictionKind::kRejectKnownSenderLoginMismatch ||
         kind == RestrictionKind::kRejectUnauthenticatedSenderLoginMismatch;
}

bool IsAccessCheck(RestrictionKind kind) {
  return kind == RestrictionKind::kCheckClientAccess || kind == RestrictionKind::kCheckReverseClientHostnameAccess ||
         kind == RestrictionKind::kCheckHeloAccess || kind == RestrictionKind::kCheckSenderAccess ||
         kind == RestrictionKind::kCheckRecipientAccess || kind == RestrictionKind::kCheckSaslAccess ||
         kind == RestrictionKind::kCheckCcertAccess || policy::ServerAccessOf(kind).has_value();
}

// What a bare type:table means in each list (Postfix: the list's own
// check_*_access); nullopt where Postfix has no such default.
std::optional<RestrictionKind> BareTableKind(std::string_view list) {
  if (list == "smtpd_client_restrictions") return RestrictionKind::kCheckClientAccess;
  if (list == "smtpd_helo_restrictions") return RestrictionKind::kCheckHeloAccess;
  if (list == "smtpd_sender_restrictions") return RestrictionKind::kCheckSenderAccess;
  if (list == "smtpd_relay_restrictions" || list == "smtpd_recipient_restrictions") {
    return RestrictionKind::kCheckRecipientAccess;
  }
  return std::nullopt;
}

bool LooksLikeTable(std::string_view word) {
  size_t colon = word.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == word.size()) return false;
  for (char c : word.substr(0, colon)) {
    if (!IsAlnum(c)) return false;
  }
  return true;
}

const Known* FindKnown(std::string_view name) {
  for (const Known& k : kKnown) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

class Lowering {
 public:
  Lowering(const check::Model& model, const config::ParameterSet& parameters, DiagnosticSink* diagnostics)
      : model_(model), parameters_(parameters), diagnostics_(diagnostics) {}

  policy::PolicyIr Run() {
    CheckRblReplyTemplates(model_, parameters_, diagnostics_);
    config::MacroExpander expander = parameters_.Expander();
    for (const std::string& name :
         config::SplitParameterList(parameters_.Expanded("smtpd_restriction_classes", &expander))
             .value_or(std::vector<std::string>{})) {
      class_names_.insert(name);
    }
    for (const std::string& name : class_names_) {
      if (!parameters_.IsExplicit(name)) {
        diagnostics_->Error("PP0504", LocationOf("smtpd_restriction_classes", name),
                            "restriction class \"" + name + "\" is listed but not defined",
                            "define it in main.cf: " + name + " = ...");
        continue;
      }
      ir_.classes[name] = List(name);
    }
    config::MacroExpander delay_expander = parameters_.Expander();
    bool delay_reject =
        config::ParseBoolean(Trim(parameters_.Expanded("smtpd_delay_reject", &delay_expander))).value_or(true);
    using policy::ReplyContext;
    auto add = [&](Stage stage, const char* name, ReplyContext context) {
      policy::RestrictionList list = List(name);
      if (!list.items.empty()) ir_.stages[static_cast<int>(stage)].lists.push_back({std::move(list), context});
    };
    add(delay_reject ? Stage::kRcpt : Stage::kConnect, "smtpd_client_restrictions", ReplyContext::kClient);
    add(delay_reject ? Stage::kRcpt : Stage::kHelo, "smtpd_helo_restrictions", ReplyContext::kHelo);
    add(delay_reject ? Stage::kRcpt : Stage::kMail, "smtpd_sender_restrictions", ReplyContext::kSender);
    add(Stage::kRcpt, "smtpd_relay_restrictions", ReplyContext::kRecipient);
    add(Stage::kRcpt, "smtpd_recipient_restrictions", ReplyContext::kRecipient);
    add(Stage::kData, "smtpd_data_restrictions", ReplyContext::kData);
    add(Stage::kEndOfData, "smtpd_end_of_data_restrictions", ReplyContext::kEndOfData);
    // Access tables may answer with a restriction list; compile each one.
    for (size_t i = 0; i < ir_.tables.size(); ++i) LowerTableValues(ir_.tables[i]);
    // header_checks and body_checks run on the content, at end of data.
    // They are cleanup(8)'s in Postfix, so main.cf's for every smtpd
    // service (an -o override of them changes nothing: PC0161).
    for (const auto& [name, kind] : {std::pair{"header_checks", RestrictionKind::kHeaderChecks},
                                     std::pair{"body_checks", RestrictionKind::kBodyChecks}}) {
      config::MacroExpander content_expander = model_.parameters->Expander();
      std::string value = model_.parameters->Expanded(name, &content_expander);
      std::vector<std::string> tables = config::SplitParameterList(value).value_or(std::vector<std::string>{});
      if (tables.empty()) continue;
      policy::RestrictionList list;
      list.name = name;
      list.location = LocationOf(name, "");
      list.items.push_back(policy::Restriction{kind, value, nullptr, list.location});
      for (const std::string& t : tables) {
        if (std::find(ir_.tables.begin(), ir_.tables.end(), t) == ir_.tables.end()) ir_.tables.push_back(t);
      }
      ir_.stages[static_cast<int>(Stage::kEndOfData)].lists.push_back({std::move(list), ReplyContext::kEndOfData});
    }
    return std::move(ir_);
  }

 private:
  // Where `item` is written in parameter `name`'s value (the value's start
  // when it cannot be told, e.g. for a default).
  SourceLocation LocationOf(const std::string& name, std::string_view item) const {
    const config::ParameterDefinition* def = parameters_.Definition(name);
    if (def == nullptr) return SourceLocation{model_.main_cf.file, 0, 0};
    SourceLocation where = def->value_location;
    if (!where.file) return where;
    for (int line = where.line; line <= where.file->line_count(); ++line) {
      std::string_view text = where.file->Line(line);
      if (line > where.line && (text.empty() || !IsSpace(text.front()))) break;  // past the logical line
      size_t from = line == where.line ? static_cast<size_t>(std::max(where.column - 1, 0)) : 0;
      size_t pos = text.find(item, from);
      if (pos != std::string_view::npos) {
        return SourceLocation{where.file, line, static_cast<int>(pos) + 1, static_cast<int>(item.size())};
      }
    }
    return where;
  }

  policy::RestrictionList List(const std::string& name) {
    config::MacroExpander expander = parameters_.Expander();
    std::vector<std::string> items =
        config::SplitParameterList(parameters_.Expanded(name, &expander)).value_or(std::vector<std::string>{});
    return Lower(name, items, [&](std::string_view word) { return LocationOf(name, word); });
  }

  // Values of access tables that are not access(5) actions are restriction
  // lists (or class names), evaluated when the lookup returns them.
  void LowerTableValues(const std::string& reference) {
    const mail::LookupTable* table = nullptr;
    for (const tables::LoadedTable& loaded : model_.tables) {
      if (loaded.table && loaded.reference.ToString() == reference) table = loaded.table.get();
    }
    std::vector<std::string> values;
    if (table != nullptr &&
        table->ForEachEntry([&](std::string_view, std::string_view value) { values.emplace_back(value); })) {
    } else if (auto* pattern = dynamic_cast<const mail::PatternTable*>(table)) {
      for (const mail::PatternRule& rule : pattern->rules()) {
        if (rule.kind == mail::PatternRule::Kind::kMatch) values.push_back(rule.replacement);
      }
    } else if (auto* fixed = dynamic_cast<const mail::StaticTable*>(table)) {
      values.push_back(fixed->value());
    }
    for (const std::string& value : values) {
      if (mail::ParseAccessResult(value).verb != mail::AccessResult::Verb::kRestrictions ||
          ir_.value_lists.count(value)) {
        continue;
      }
      std::vector<std::string> items = config::SplitParameterList(value).value_or(std::vector<std::string>{});
      SourceLocation where{model_.main_cf.file, 0, 0};
      ir_.value_lists[value] =
          Lower(reference + " value \"" + value + "\"", items, [&](std::string_view) { return where; });
    }
  }

  // A policy server may answer with the name of a restriction or of a
  // restriction class, which smtpd then evaluates: each one without an
  // argument is compiled as a value list, as access table values are.
  void LowerPolicyServiceValues() {
    if (policy_values_lowered_) return;
    policy_values_lowered_ = true;
    std::vector<std::string> names(class_names_.begin(), class_names_.end());
    for (const Known& k : kKnown) {
      if (!k.takes_argument) names.emplace_back(k.name);
    }
    SourceLocation where{model_.main_cf.file, 0, 0};
    // What these lists would say (PP0507 for a login check...) is not about
    // the configuration: their diagnostics go nowhere.
    DiagnosticSink unused;
    DiagnosticSink* configuration = diagnostics_;
    diagnostics_ = &unused;
    for (const std::string& name : names) {
      if (ir_.value_lists.count(name)) continue;
      ir_.value_lists[name] =
          Lower("check_policy_service value \"" + name + "\"", {name}, [&](std::string_view) { return where; });
    }
    diagnostics_ = configuration;
  }

  template <typename Locate>
  policy::RestrictionList Lower(const std::string& name, const std::vector<std::string>& items, Locate locate) {
    policy::RestrictionList list;
    list.name = name;
    list.location = locate("");
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& word = items[i];
      SourceLocation where = locate(word);
      policy::Restriction r;
      r.location = where;
      if (class_names_.count(word)) {
        r.kind = RestrictionKind::kClass;
        r.argument = word;
        list.items.push_back(std::move(r));
        continue;
      }
      const Known* known = FindKnown(ToLower(word));
      if (known == nullptr && LooksLikeTable(word)) {
        std::optional<RestrictionKind> kind = BareTableKind(name);
        if (!kind) {
          diagnostics_->Error("PP0506", where, "table \"" + word + "\" without a restriction in " + name,
                              "write check_client_access, check_sender_access, ... before it");
          continue;
        }
        // Postfix reads a bare table as the list's own access check.
        r.kind = *kind;
        r.argument = word;
        if (std::find(ir_.tables.begin(), ir_.tables.end(), word) == ir_.tables.end()) ir_.tables.push_back(word);
        list.items.push_back(std::move(r));
        continue;
      }
      if (known == nullptr) {
        std::string lower = ToLower(word);
        if (std::find(std::begin(kUnsupported), std::end(kUnsupported), lower) != std::end(kUnsupported)) {
          diagnostics_->Error("PP0503", where, "restriction \"" + word + "\" is not supported by Postern",
                              "Postern refuses what it would not enforce; see docs/policy.md for the supported ones");
          if (lower.rfind("check_", 0) == 0) ++i;  // skip its argument
          continue;
        }
        std::vector<std::string_view> names;
        for (const Known& k : kKnown) names.push_back(k.name);
        std::string suggestion = Suggest(word, names);
        diagnostics_->Error("PP0501", where, "unknown restriction \"" + word + "\" in " + name,
                            suggestion.empty() ? "it is neither a restriction nor a class of smtpd_restriction_classes"
                                               : "did you mean \"" + suggestion + "\"?");
        continue;
      }
      r.kind = known->kind;
      if (r.kind == RestrictionKind::kCheckPolicyService && name == "smtpd_end_of_data_restrictions") {
        diagnostics_->Error("PP0505", where,
                            "check_policy_service in smtpd_end_of_data_restrictions is not asked by posternd: the "
                            "server would never be consulted",
                            "ask it at RCPT TO or DATA (smtpd_recipient_restrictions, smtpd_data_restrictions)");
      } else if ((r.kind == RestrictionKind::kRejectUnverifiedRecipient ||
                  r.kind == RestrictionKind::kRejectUnverifiedSender) &&
                 name == "smtpd_end_of_data_restrictions") {
        diagnostics_->Error("PP0505", where,
                            word +
                                " in smtpd_end_of_data_restrictions is not run by posternd: no address would "
                                "ever be verified there",
                            "verify at RCPT TO (smtpd_recipient_restrictions, smtpd_sender_restrictions)");
      } else if (known->asks_dns && name == "smtpd_end_of_data_restrictions") {
        diagnostics_->Warning("PP0505", where,
                              "restriction \"" + word +
                                  "\" in smtpd_end_of_data_restrictions sees only the DNS records earlier stages "
                                  "fetched; a record not fetched counts as not listed, or the domain as found",
                              "ask it at RCPT TO (smtpd_recipient_restrictions), where posternd fetches what it needs");
      }
      if (IsLoginMismatch(r.kind)) WarnIfLoginMismatchIsIdle(word, where);
      if (known->takes_argument) {
        auto is_restriction = [&](const std::string& next) {
          std::string lower = ToLower(next);
          return FindKnown(lower) != nullptr || class_names_.count(next) > 0 ||
                 std::find(std::begin(kUnsupported), std::end(kUnsupported), lower) != std::end(kUnsupported);
        };
        if (i + 1 >= items.size() || is_restriction(items[i + 1])) {
          diagnostics_->Error("PP0502", where, "restriction \"" + word + "\" needs an argument",
                              IsDnsList(r.kind)                   ? "write " + word + " zen.example.org"
                              : r.kind == RestrictionKind::kSleep ? "write sleep 1"
                                                                  : "write " + word + " type:table");
          continue;
        }
        r.argument = items[++i];
        if (r.kind == RestrictionKind::kCheckPolicyService) LowerPolicyServiceValues();
        if (r.kind == RestrictionKind::kSleep &&
            (r.argument.size() > 5 || r.argument.find_first_not_of("0123456789") != std::string::npos)) {
          diagnostics_->Error("PP0512", where,
                              "restriction \"sleep\" needs a number of seconds, not \"" + r.argument + "\"",
                              "write e.g. sleep 1 (Postfix answers 451 4.3.5 Server configuration error instead)");
          continue;
        }
        if (IsDnsList(r.kind) && r.argument.find('=') != std::string::npos) {
          std::string filter = r.argument.substr(r.argument.find('=') + 1);
          if (std::string problem = mail::DnsListFilterError(filter); !problem.empty()) {
            diagnostics_->Error("PP0508", where, "bad DNS list answer filter \"" + filter + "\" in " + word,
                                problem + ": write e.g. " + word + " zen.example.org=127.0.0.[2..11]");
            continue;
          }
        }
        if (IsAccessCheck(r.kind) && std::find(ir_.tables.begin(), ir_.tables.end(), r.argument) == ir_.tables.end()) {
          ir_.tables.push_back(r.argument);
        }
      }
      list.items.push_back(std::move(r));
    }
    return list;
  }

  // Postfix ignores the sender login checks without a login table, and
  // where SASL is off ("restriction ... ignored: no SASL support").
  void WarnIfLoginMismatchIsIdle(const std::string& word, const SourceLocation& where) {
    if (warned_login_mismatch_) return;
    config::MacroExpander expander = parameters_.Expander();
    std::string why;
    if (Trim(parameters_.Expanded("smtpd_sender_login_maps", &expander)).empty()) {
      why = "without smtpd_sender_login_maps";
    } else if (!config::ParseBoolean(Trim(parameters_.Expanded("smtpd_sasl_auth_enable", &expander))).value_or(false)) {
      why = "where smtpd_sasl_auth_enable = no";
    } else {
      return;
    }
    warned_login_mismatch_ = true;
    diagnostics_->Warning("PP0507", where, "restriction \"" + word + "\" does nothing " + why,
                          "Postfix ignores the sender login checks without a table of the logins that own each "
                          "sender (smtpd_sender_login_maps) and without SASL (smtpd_sasl_auth_enable = yes)");
  }

  const check::Model& model_;
  bool warned_login_mismatch_ = false;  // PP0507 once per parameter set
  bool policy_values_lowered_ = false;  // LowerPolicyServiceValues
  const config::ParameterSet& parameters_;
  DiagnosticSink* diagnostics_;
  std::set<std::string> class_names_;
  policy::PolicyIr ir_;
};

}  // namespace

policy::PolicyIr LowerRestrictions(const check::Model& model, const config::ParameterSet& parameters,
                                   DiagnosticSink* diagnostics) {
  return Lowering(model, parameters, diagnostics).Run();
}

}  // namespace postern::lower
