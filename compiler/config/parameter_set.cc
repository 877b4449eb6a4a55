// parameter_set.cc: see parameter_set.h.
#include "compiler/config/parameter_set.h"

#include <algorithm>

#include "compiler/config/parameter_registry.h"
#include "util/strings.h"

namespace postern::config {
namespace {

// Postfix's default domain for a host name without one (mail_params.h).
constexpr std::string_view kDefaultDomain = "localdomain";

bool IsComputed(std::string_view name) { return name == "myhostname" || name == "mydomain" || name == "mynetworks"; }

// The classful (A/B/C) prefix of an IPv4 address, as mynetworks_style=class.
int ClassfulPrefix(const std::string& address) {
  long long first = 0;
  std::string_view octet(address);
  octet = octet.substr(0, octet.find('.'));
  if (!ParseDecimal(octet, &first)) return 32;
  if (first < 128) return 8;
  if (first < 192) return 16;
  if (first < 224) return 24;
  return 32;
}

}  // namespace

ParameterSet::ParameterSet(const MainCf& main_cf, Options options) : options_(std::move(options)) {
  for (const ParameterDefinition& def : main_cf.definitions) explicit_[def.name] = &def;
}

ParameterSet::ParameterSet(const ParameterSet& main, const MasterService& service)
    : explicit_(main.explicit_), options_(main.options_) {
  for (const ServiceOverride& o : service.overrides) {
    overrides_.push_back(std::make_unique<ParameterDefinition>(
        ParameterDefinition{o.name, ServiceOverrideValue(service, o), o.location, o.location}));
    explicit_[o.name] = overrides_.back().get();
  }
}

const ParameterDefinition* ParameterSet::Definition(std::string_view name) const {
  auto it = explicit_.find(name);
  return it == explicit_.end() ? nullptr : it->second;
}

bool ParameterSet::IsExplicit(std::string_view name) const {
  return Definition(name) != nullptr || (name == "config_directory" && options_.config_directory_explicit);
}

std::vector<std::string> ParameterSet::ExplicitNames() const {
  std::vector<std::string> names;
  for (const auto& [name, def] : explicit_) names.push_back(name);
  if (options_.config_directory_explicit && !explicit_.count("config_directory")) {
    names.insert(std::lower_bound(names.begin(), names.end(), "config_directory"), "config_directory");
  }
  return names;
}

std::optional<std::string> ParameterSet::Raw(std::string_view name, View view) const {
  if (view == View::kEffective) {
    if (const ParameterDefinition* def = Definition(name)) return def->value;
  }
  return DefaultRaw(name, view);
}

std::optional<std::string> ParameterSet::DefaultRaw(std::string_view name, View view) const {
  if (name == "config_directory" && view == View::kEffective) return options_.config_directory;
  const ParameterSpec* spec = FindParameter(name);
  if (spec == nullptr) return std::nullopt;
  if (IsComputed(name)) {
    if (std::find(computing_.begin(), computing_.end(), name) != computing_.end()) return "";
    computing_.emplace_back(name);
    std::string value = ComputedDefault(name, view);
    computing_.pop_back();
    return value;
  }
  return std::string(spec->default_value);
}

MacroExpander ParameterSet::Expander(View view) const {
  return MacroExpander([this, view](std::string_view n) { return Raw(n, view); });
}

std::string ParameterSet::Expanded(std::string_view name, MacroExpander* expander, View view) const {
  std::optional<std::string> raw = Raw(name, view);
  if (!raw) return "";
  return expander->Expand(*raw, name);
}

std::string ParameterSet::ComputedDefault(std::string_view name, View view) const {
  MacroExpander expander = Expander(view);
  if (name == "myhostname") {
    std::string host = options_.machine.hostname.empty() ? "localhost" : options_.machine.hostname;
    if (host.find('.') != std::string::npos) return host;
    // Postfix appends mydomain when it is set, else "localdomain".
    std::string domain;
    if (view == View::kEffective && Definition("mydomain") != nullptr) {
      domain = expander.Expand(Definition("mydomain")->value, "myhostname");
    }
    return host + "." + (domain.empty() ? std::string(kDefaultDomain) : domain);
  }
  if (name == "mydomain") {
    std::string host = Expanded("myhostname", &expander, view);
    size_t dot = host.find('.');
    if (dot == std::string::npos || dot + 1 == host.size()) return std::string(kDefaultDomain);
    return host.substr(dot + 1);
  }
  // mynetworks, from mynetworks_style and the interface addresses.
  std::string style = ToLower(Expanded("mynetworks_style", &expander, view));
  std::vector<std::string> networks;
  for (const InterfaceAddress& address : options_.machine.addresses) {
    int prefix = address.ipv6 ? 128 : 32;
    if (style == "subnet") {
      prefix = address.prefix_length;
    } else if (style == "class") {
      prefix = address.ipv6 ? address.prefix_length : ClassfulPrefix(address.address);
    }
    std::string network = NetworkText(address, prefix);
    if (std::find(networks.begin(), networks.end(), network) == networks.end()) {
      networks.push_back(network);
    }
  }
  return Join(networks, " ");
}

}  // namespace postern::config
