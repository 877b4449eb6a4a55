// parameter_registry.cc: the tables behind parameter_registry.h.
#include "compiler/config/parameter_registry.h"

#include <algorithm>
#include <array>

namespace postern::config {
namespace {

constexpr ParameterSpec kSupported[] = {
#include "compiler/config/parameter_table.inc"
};

constexpr std::string_view kPostfixNames[] = {
#include "compiler/config/postfix_parameter_names.inc"
};

// Suffixes of per-transport parameters (postconf(5), "transport_*").
constexpr std::array<std::string_view, 17> kTransportSuffixes = {
    "_delivery_slot_cost",
    "_delivery_slot_discount",
    "_delivery_slot_loan",
    "_destination_concurrency_failed_cohort_limit",
    "_destination_concurrency_limit",
    "_destination_concurrency_negative_feedback",
    "_destination_concurrency_positive_feedback",
    "_destination_rate_delay",
    "_destination_recipient_limit",
    "_extra_recipient_limit",
    "_initial_destination_concurrency",
    "_minimum_delivery_slots",
    "_recipient_limit",
    "_recipient_refill_delay",
    "_recipient_refill_limit",
    "_time_limit",
    "_transport_rate_delay",
};

// Families of Postfix parameters that only act through one feature, and
// the setting that names that feature when it is used.
struct Family {
  std::string_view prefix;
  std::string_view reported_by;
};
constexpr Family kFamilies[] = {
    {"lmtp_sasl_", "lmtp_sasl_auth_enable"},   {"milter_", "smtpd_milters"}, {"postscreen_", "postscreen"},
    {"smtpd_sasl_", "smtpd_sasl_auth_enable"}, {"tlsproxy_", "postscreen"},  {"dnsblog_", "postscreen"},
};

}  // namespace

const char* SupportName(Support support) {
  switch (support) {
    case Support::kRuntime:
      return "runtime";
    case Support::kCompiled:
      return "compiled";
    case Support::kInert:
      return "inert";
    case Support::kMissing:
      return "not implemented";
  }
  return "not implemented";
}

const char* ParameterTypeName(ParameterType type) {
  switch (type) {
    case ParameterType::kString:
      return "string";
    case ParameterType::kInteger:
      return "integer";
    case ParameterType::kBoolean:
      return "boolean";
    case ParameterType::kTime:
      return "time";
    case ParameterType::kEnum:
      return "enumeration";
    case ParameterType::kList:
      return "list";
    case ParameterType::kTableList:
      return "table list";
    case ParameterType::kMatchList:
      return "domain list";
    case ParameterType::kNetworkList:
      return "network list";
    case ParameterType::kRestrictionList:
      return "restriction list";
  }
  return "string";
}

const ParameterSpec* FindParameter(std::string_view name) {
  auto it = std::lower_bound(std::begin(kSupported), std::end(kSupported), name,
                             [](const ParameterSpec& spec, std::string_view n) { return spec.name < n; });
  if (it == std::end(kSupported) || it->name != name) return nullptr;
  return &*it;
}

std::span<const ParameterSpec> SupportedParameters() { return kSupported; }

bool IsPostfixParameter(std::string_view name) {
  return std::binary_search(std::begin(kPostfixNames), std::end(kPostfixNames), name);
}

const std::vector<std::string_view>& PostfixParameterNames() {
  static const std::vector<std::string_view> names(std::begin(kPostfixNames), std::end(kPostfixNames));
  return names;
}

bool IsRawParameter(std::string_view name) {
  static constexpr std::string_view kRaw[] = {
      "command_execution_directory", "default_rbl_reply",   "forward_path", "luser_relay", "mailbox_command",
      "smtpd_expansion_filter",      "smtpd_reject_footer",
  };
  return std::find(std::begin(kRaw), std::end(kRaw), name) != std::end(kRaw);
}

size_t PerTransportSuffixLength(std::string_view name) {
  for (std::string_view suffix : kTransportSuffixes) {
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      return suffix.size();
    }
  }
  return 0;
}

bool IsImplementedTransportSuffix(std::string_view suffix) {
  // runtime/qmgr/delivery_config.cc reads the limits per transport, and
  // runtime/local/local_authority.cc a pipe service's time limit.
  return suffix == "_destination_concurrency_limit" || suffix == "_destination_recipient_limit" ||
         suffix == "_time_limit";
}

std::optional<ParameterSpec> TransportParameterSpec(std::string_view name) {
  size_t suffix = PerTransportSuffixLength(name);
  if (suffix == 0 || !IsImplementedTransportSuffix(name.substr(name.size() - suffix))) return std::nullopt;
  bool time = name.ends_with("_time_limit");
  return ParameterSpec{name,
                       time ? ParameterType::kTime : ParameterType::kInteger,
                       "",
                       time ? "s" : "",
                       Support::kRuntime,
                       Impact::kMinor,
                       kPerTransport,
                       ""};
}

std::string_view FamilyReportedBy(std::string_view name) {
  for (const Family& f : kFamilies) {
    if (name.substr(0, f.prefix.size()) == f.prefix) return f.reported_by;
  }
  return {};
}

}  // namespace postern::config
