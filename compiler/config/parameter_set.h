// parameter_set.h: the effective main.cf parameters: explicit definitions
// (last one wins) over Postfix's defaults, with computed defaults and $name
// expansion, as postconf shows them.
//
// Two views: kEffective (what the daemon would use) and kDefaults (what
// `postconf -d` shows: built-in defaults only, main.cf ignored).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/config/machine_facts.h"
#include "compiler/config/macro_expander.h"
#include "compiler/config/main_cf.h"
#include "compiler/config/master_cf.h"

namespace postern::config {

enum class View { kEffective, kDefaults };

class ParameterSet {
 public:
  struct Options {
    std::string config_directory = "/etc/postfix";
    // postconf -c DIR counts config_directory as set explicitly.
    bool config_directory_explicit = false;
    MachineFacts machine;
  };

  ParameterSet(const MainCf& main_cf, Options options);
  // The parameters as master.cf service `service` sees them, as master(8)
  // hands its -o overrides to the program: each override replaces main.cf's
  // definition ($service_name set to the service's name), and $names in
  // every value expand to the service's values. The overrides' definitions
  // point into master.cf. REQUIRES: `main` and `service` outlive this set.
  ParameterSet(const ParameterSet& main, const MasterService& service);
  ParameterSet(const ParameterSet&) = delete;
  ParameterSet& operator=(const ParameterSet&) = delete;

  // The last definition of `name` in main.cf, or nullptr.
  const ParameterDefinition* Definition(std::string_view name) const;
  bool IsExplicit(std::string_view name) const;
  // Names set explicitly, sorted.
  std::vector<std::string> ExplicitNames() const;

  // The unexpanded value as postconf prints it; nullopt when `name` is
  // neither set nor a supported parameter.
  std::optional<std::string> Raw(std::string_view name, View view = View::kEffective) const;
  // The unexpanded default.
  std::optional<std::string> DefaultRaw(std::string_view name, View view = View::kEffective) const;

  // A new expander that resolves $name in `view`.
  MacroExpander Expander(View view = View::kEffective) const;
  // The expanded value of `name` (empty when unset); problems go to
  // `expander`.
  std::string Expanded(std::string_view name, MacroExpander* expander, View view = View::kEffective) const;

  const Options& options() const { return options_; }

 private:
  std::string ComputedDefault(std::string_view name, View view) const;

  std::map<std::string, const ParameterDefinition*, std::less<>> explicit_;
  std::vector<std::unique_ptr<ParameterDefinition>> overrides_;  // a service's -o
  // Computed defaults being evaluated: breaks cycles such as
  // `mydomain = $myhostname` on a host name without a dot. Not thread-safe.
  mutable std::vector<std::string> computing_;
  Options options_;
};

}  // namespace postern::config
