// conf_command.cc: `postern conf`, printing parameters, and master.cf with
// -M, -F and -P, as postconf does.
#include <algorithm>
#include <iostream>

#include "compiler/check/configuration.h"
#include "compiler/config/master_cf_views.h"
#include "compiler/config/parameter_registry.h"
#include "tools/postern/commands.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

// `name = value`, or the value alone (postconf -h).
void PrintParameter(const std::string& name, const std::string& value, bool value_only) {
  std::string shown = CollapseSpace(value);
  if (value_only) {
    std::cout << shown << "\n";
  } else {
    std::cout << name << " =" << (shown.empty() ? "" : " ") << shown << "\n";
  }
}

}  // namespace

int RunConf(const ConfOptions& options) {
  DiagnosticSink diagnostics;
  check::LoadOptions load;
  load.config_directory = options.config_directory;
  load.config_directory_explicit = options.explicit_directory;
  load.machine = config::MachineFacts::Probe();
  load.load_tables = false;
  check::Model model = check::LoadConfiguration(load, &diagnostics);
  // Like postconf, only an unreadable or unparsable main.cf is fatal here;
  // `postern check` is the place for everything else.
  bool failed = false;
  for (const Diagnostic& d : diagnostics.diagnostics()) {
    if (d.code == "PC0001" || d.code == "PC0101" || d.code == "PC0102") failed = true;
    std::cerr << RenderDiagnostic(d);
  }
  if (failed) return 1;

  if (options.master_entries || options.master_fields || options.master_parameters) {
    config::MasterView view = options.master_entries  ? config::MasterView::kEntries
                              : options.master_fields ? config::MasterView::kFields
                                                      : config::MasterView::kParameters;
    for (const std::string& selector : options.names) {
      if (view == config::MasterView::kEntries && std::count(selector.begin(), selector.end(), '/') > 1) {
        std::cerr << "postern conf: -M takes service_name[/type], not \"" << selector << "\"\n";
        return 1;
      }
    }
    config::MasterViewResult result = config::RenderMasterView(model.master_cf, view, options.names);
    for (const std::string& u : result.unmatched) std::cerr << "postern: warning: unmatched request: \"" << u << "\"\n";
    std::cout << result.text;
    return 0;
  }

  const config::ParameterSet& params = *model.parameters;
  config::View view = options.defaults ? config::View::kDefaults : config::View::kEffective;
  std::vector<std::string> names = options.names;
  if (names.empty()) {
    if (options.non_default && !options.defaults) {
      names = params.ExplicitNames();
    } else {
      for (const config::ParameterSpec& spec : config::SupportedParameters()) names.emplace_back(spec.name);
      if (view == config::View::kEffective) {
        for (const std::string& n : params.ExplicitNames()) {
          if (config::FindParameter(n) == nullptr) names.push_back(n);
        }
        std::sort(names.begin(), names.end());
      }
    }
  }
  int status = 0;
  for (const std::string& name : names) {
    if (options.non_default && !options.defaults && (!params.IsExplicit(name) || model.unused_parameters.count(name))) {
      continue;
    }
    std::optional<std::string> raw = params.Raw(name, view);
    if (!raw) {
      std::cerr << "postern: warning: " << name
                << (config::IsPostfixParameter(name) ? ": parameter not supported by Postern" : ": unknown parameter")
                << "\n";
      continue;
    }
    if (options.expand && !config::IsRawParameter(name)) {
      config::MacroExpander expander = params.Expander(view);
      std::string value = expander.Expand(*raw, name);
      for (const auto& problem : expander.problems()) {
        std::cerr << "postern: "
                  << (problem.kind == config::MacroExpander::Problem::Kind::kUndefined ? "warning" : "error") << ": "
                  << name << ": " << problem.message << "\n";
        if (problem.kind != config::MacroExpander::Problem::Kind::kUndefined) status = 1;
      }
      PrintParameter(name, value, options.value_only);
    } else {
      PrintParameter(name, *raw, options.value_only);
    }
  }
  return status;
}

}  // namespace postern::cli
