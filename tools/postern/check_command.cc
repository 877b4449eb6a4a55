// check_command.cc: `postern check`, every diagnostic for a configuration,
// as text (gcc style) or JSON, with CI-friendly exit codes: 0 clean, 1
// errors (or warnings under --werror), 2 could not run.
#include <iostream>
#include <nlohmann/json.hpp>

#include "compiler/check/configuration.h"
#include "tools/postern/commands.h"

namespace postern::cli {

int RunCheck(const CheckOptions& options) {
  DiagnosticSink diagnostics;
  check::LoadOptions load;
  load.config_directory = options.config_directory;
  load.machine = config::MachineFacts::Probe();
  check::Model model = check::LoadConfiguration(load, &diagnostics);
  bool could_not_run = !model.main_cf.file;

  if (options.format == "json") {
    nlohmann::json out = nlohmann::json::array();
    for (const Diagnostic& d : diagnostics.diagnostics()) {
      nlohmann::json j = {
          {"severity", SeverityName(d.severity)}, {"code", d.code},      {"file", d.file}, {"line", d.location.line},
          {"column", d.location.column},          {"message", d.message}};
      if (!d.hint.empty()) j["hint"] = d.hint;
      out.push_back(j);
    }
    std::cout << nlohmann::json{{"diagnostics", out},
                                {"errors", diagnostics.error_count()},
                                {"warnings", diagnostics.warning_count()}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << RenderDiagnostics(diagnostics.diagnostics());
    std::cerr << "postern check: " << options.config_directory << ": " << diagnostics.error_count() << " error(s), "
              << diagnostics.warning_count() << " warning(s), " << model.tables.size() << " table(s)\n";
  }
  if (could_not_run) return 2;
  if (diagnostics.has_errors()) return 1;
  if (options.werror && diagnostics.warning_count() > 0) return 1;
  return 0;
}

}  // namespace postern::cli
