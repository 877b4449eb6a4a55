// config_diff.cc: see config_diff.h. Parameters and services here; tables
// in table_diff.cc, routes and policy in behaviour_diff.cc.
#include "tools/postern/config_diff.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "util/strings.h"

namespace postern::cli {
namespace {

namespace fs = std::filesystem;

// "service/name" as settings.bin keys a service's value; {"", name} for main.cf's.
std::pair<std::string, std::string> SplitSettingName(const std::string& key) {
  size_t slash = key.rfind('/');
  if (slash == std::string::npos) return {"", key};
  return {key.substr(0, slash), key.substr(slash + 1)};
}

const config::MasterService* FindService(const DiffSide& side, const std::string& name, const std::string& type) {
  if (!side.model) return nullptr;
  for (const config::MasterService& s : side.model->master_cf.services) {
    if (s.name == name && (type.empty() || s.type == type)) return &s;
  }
  return nullptr;
}

SourceLine ParameterLine(const DiffSide& side, const std::string& service, const std::string& name) {
  if (!side.model) return {};
  if (service.empty()) {
    const config::ParameterDefinition* def = side.model->parameters->Definition(name);
    return def != nullptr ? LineOf(side, def->value_location) : SourceLine{};
  }
  const config::MasterService* s = FindService(side, service, "");
  if (s == nullptr) return {};
  for (const config::ServiceOverride& o : s->overrides) {
    if (o.name == name) return LineOf(side, o.location);
  }
  return {};
}

std::string ProcessLimit(uint32_t limit) { return limit == mail::kDefaultProcessLimit ? "-" : std::to_string(limit); }

std::vector<std::string> ServiceDifferences(const mail::ServiceEntry& a, const mail::ServiceEntry& b) {
  std::vector<std::string> out;
  if (a.command != b.command) out.push_back("command " + a.command + " -> " + b.command);
  if (a.process_limit != b.process_limit) {
    out.push_back("maxproc " + ProcessLimit(a.process_limit) + " -> " + ProcessLimit(b.process_limit));
  }
  if (a.arguments != b.arguments) {
    out.push_back("arguments \"" + Join(a.arguments, " ") + "\" -> \"" + Join(b.arguments, " ") + "\"");
  }
  std::map<std::string, std::string> old_overrides(a.overrides.begin(), a.overrides.end());
  std::map<std::string, std::string> new_overrides(b.overrides.begin(), b.overrides.end());
  for (const auto& [name, value] : old_overrides) {
    auto it = new_overrides.find(name);
    if (it == new_overrides.end()) {
      out.push_back("-o " + name + "=" + value + " removed");
    } else if (it->second != value) {
      out.push_back("-o " + name + "=" + value + " -> " + name + "=" + it->second);
    }
  }
  for (const auto& [name, value] : new_overrides) {
    if (old_overrides.count(name) == 0) out.push_back("-o " + name + "=" + value + " added");
  }
  return out;
}

}  // namespace

SourceLine LineOf(const DiffSide& side, const SourceLocation& location) {
  if (!location.file) return {};
  std::string path = location.file->name();
  std::error_code ec;
  if (!side.config_directory.empty() && fs::path(path).is_absolute() == fs::path(side.config_directory).is_absolute()) {
    fs::path relative = fs::path(path).lexically_relative(side.config_directory);
    if (!relative.empty() && *relative.begin() != "..") path = relative.string();
  }
  return {path, location.line};
}

std::vector<ParameterChange> DiffParameters(const DiffSide& old_side, const DiffSide& new_side) {
  const mail::SettingsMap& a = old_side.image->settings().values();
  const mail::SettingsMap& b = new_side.image->settings().values();
  // A service's value falls back to main.cf's where it has none of its own.
  auto effective = [](const mail::SettingsMap& map, const std::string& service,
                      const std::string& name) -> std::optional<std::string> {
    auto it = map.find(service.empty() ? name : service + "/" + name);
    if (it == map.end() && !service.empty()) it = map.find(name);
    if (it == map.end()) return std::nullopt;
    return it->second.text;
  };
  // A service only one side has is a service change (DiffServices), its
  // -o overrides with it.
  std::set<std::string> common;
  for (const mail::ServiceEntry& s : old_side.image->services()) {
    for (const mail::ServiceEntry& t : new_side.image->services()) {
      if (s.name == t.name) common.insert(s.name);
    }
  }
  std::vector<ParameterChange> changes;
  auto consider = [&](const std::string& key) {
    auto [service, name] = SplitSettingName(key);
    if (!service.empty() && common.count(service) == 0) return;
    std::optional<std::string> old_value = effective(a, service, name), new_value = effective(b, service, name);
    if (old_value == new_value) return;
    changes.push_back({service, name, old_value, new_value, ParameterLine(old_side, service, name),
                       ParameterLine(new_side, service, name)});
  };
  // Both maps are sorted: walk them together so each name comes once, in order.
  auto i = a.begin();
  auto j = b.begin();
  while (i != a.end() || j != b.end()) {
    if (j == b.end() || (i != a.end() && i->first < j->first)) {
      consider((i++)->first);
    } else if (i == a.end() || j->first < i->first) {
      consider((j++)->first);
    } else {
      consider(i->first);
      ++i;
      ++j;
    }
  }
  // main.cf's names first, then each service's.
  std::stable_partition(changes.begin(), changes.end(), [](const ParameterChange& c) { return c.service.empty(); });
  return changes;
}

std::vector<ServiceChange> DiffServices(const DiffSide& old_side, const DiffSide& new_side) {
  auto key = [](const mail::ServiceEntry& s) { return s.name + "/" + s.type; };
  std::map<std::string, const mail::ServiceEntry*> old_services, new_services;
  for (const mail::ServiceEntry& s : old_side.image->services()) old_services[key(s)] = &s;
  for (const mail::ServiceEntry& s : new_side.image->services()) new_services[key(s)] = &s;
  auto where = [&](const mail::ServiceEntry& s) {
    const config::MasterService* found = FindService(new_side, s.name, s.type);
    if (found != nullptr) return LineOf(new_side, found->location);
    found = FindService(old_side, s.name, s.type);
    return found != nullptr ? LineOf(old_side, found->location) : SourceLine{};
  };
  std::vector<ServiceChange> changes;
  // NEW's order (master.cf's), then what OLD had alone.
  for (const mail::ServiceEntry& s : new_side.image->services()) {
    auto it = old_services.find(key(s));
    if (it == old_services.end()) {
      changes.push_back({s.name, s.type, std::nullopt, s, {}, where(s)});
      continue;
    }
    std::vector<std::string> differences = ServiceDifferences(*it->second, s);
    if (!differences.empty()) changes.push_back({s.name, s.type, *it->second, s, differences, where(s)});
  }
  for (const mail::ServiceEntry& s : old_side.image->services()) {
    if (new_services.count(key(s)) == 0) changes.push_back({s.name, s.type, s, std::nullopt, {}, where(s)});
  }
  return changes;
}

std::vector<std::string> ChangeKinds(const ConfigDiff& diff) {
  std::vector<std::string> kinds;
  if (!diff.parameters.empty()) kinds.push_back("parameter");
  if (!diff.tables.empty()) kinds.push_back("table");
  if (!diff.services.empty()) kinds.push_back("service");
  if (!diff.routes.empty()) kinds.push_back("route");
  for (const RouteChange& r : diff.routes) {
    if (r.bounces) {
      kinds.push_back("bounce");
      break;
    }
  }
  if (!diff.policy.empty() || !diff.open_relay.empty()) kinds.push_back("policy");
  bool relay = !diff.open_relay.empty();
  for (const PolicyChange& p : diff.policy) relay = relay || p.opens_relay;
  if (relay) kinds.push_back("relay");
  return kinds;
}

ConfigDiff DiffConfigurations(const DiffSide& old_side, const DiffSide& new_side) {
  ConfigDiff diff;
  diff.old_label = old_side.label;
  diff.new_label = new_side.label;
  diff.parameters = DiffParameters(old_side, new_side);
  diff.tables = DiffTables(old_side, new_side);
  diff.services = DiffServices(old_side, new_side);
  DiffBehaviour(old_side, new_side, &diff);
  return diff;
}

}  // namespace postern::cli
