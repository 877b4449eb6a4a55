// check_command.cc: `postern check`, every diagnostic for a configuration,
// as text (gcc style) or JSON, with CI-friendly exit codes: 0 clean, 1
// errors (or warnings under --werror), 2 could not run.
//
// After the configuration checks, a configuration without errors is
// compiled into a temporary image and the resolver's own checks run on it
// (runtime/resolve/routing_checks.h), so loops, dead transports and the
// like are found with the code the daemon runs. With errors, the restriction
// lists and policy files are still compiled, so one bad value does not hide
// the rest.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "compiler/check/configuration.h"
#include "compiler/check/hermetic_check.h"
#include "compiler/tables/table_reference.h"
#include "runtime/resolve/routing_checks.h"
#include "tools/postern/commands.h"
#include "tools/postern/image_compiler.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

// Where a table entry is written: the line whose key is `key`.
SourceLocation EntryLocation(const check::Model& model, const std::string& reference, const std::string& key) {
  auto parsed = tables::ParseTableReference(reference);
  for (const tables::LoadedTable& loaded : model.tables) {
    if (!parsed || loaded.reference.ToString() != parsed->ToString() || loaded.source_path.empty()) continue;
    auto file = SourceFile::Read(loaded.source_path);
    if (!file.ok()) break;
    for (int line = 1; line <= file.value()->line_count(); ++line) {
      std::string_view text = file.value()->Line(line);
      if (text.empty() || IsSpace(text.front()) || text.front() == '#') continue;
      size_t end = 0;
      while (end < text.size() && !IsSpace(text[end]) && text[end] != ':') ++end;
      std::string_view first = text.substr(0, end);
      if (first.size() >= 2 && first.front() == '"' && first.back() == '"') first = first.substr(1, first.size() - 2);
      if (EqualsIgnoreCase(first, key)) return SourceLocation{file.value(), line, 1, static_cast<int>(end)};
    }
  }
  return SourceLocation{};
}

void RunRoutingChecks(const check::Model& model, DiagnosticSink* diagnostics) {
  TemporaryImages temporary;
  if (!temporary.ok()) return;
  CompileOutcome outcome = BuildAndPublish(model, temporary.path(), 0, diagnostics);
  if (!outcome.published) return;
  auto image = image::Image::Load(outcome.published->path, ToolLoadOptions(model.config_directory));
  if (!image.ok()) {
    diagnostics->FileError("PE0405", model.config_directory,
                           "the compiled image does not load: " + image.status().message());
    return;
  }
  // Live tables answer from their servers; one that cannot be reached is
  // reported once (PT0338) instead of at each lookup.
  mail::LookupFailureScope lookups;
  resolve::Resolver resolver(*image);
  for (const resolve::RoutingProblem& p : resolve::CheckRouting(resolver)) {
    SourceLocation where;
    if (!p.table.empty()) where = EntryLocation(model, p.table, p.key);
    if (!where.file) {
      if (const config::ParameterDefinition* def = model.parameters->Definition(p.parameter)) {
        where = def->value_location;
      } else {
        where = SourceLocation{model.main_cf.file, 0, 0};
      }
    }
    std::string message = p.table.empty() ? p.message : p.table + ": " + p.message;
    if (p.error) {
      diagnostics->Error(p.code, where, message, p.hint);
    } else {
      diagnostics->Warning(p.code, where, message, p.hint);
    }
  }
  ReportOpenRelay(model, *image, diagnostics);
  ReportUnansweredLookups(lookups, model, diagnostics);
}

// SARIF 2.1.0, so CI systems can annotate the lines of a pull request.
nlohmann::json SarifReport(const std::vector<Diagnostic>& diagnostics) {
  nlohmann::json rules = nlohmann::json::array();
  std::set<std::string> seen;
  nlohmann::json results = nlohmann::json::array();
  for (const Diagnostic& d : diagnostics) {
    if (seen.insert(d.code).second) rules.push_back({{"id", d.code}});
    nlohmann::json result = {{"ruleId", d.code},
                             {"level", d.severity == Severity::kError     ? "error"
                                       : d.severity == Severity::kWarning ? "warning"
                                                                          : "note"},
                             {"message", {{"text", d.hint.empty() ? d.message : d.message + " (" + d.hint + ")"}}}};
    nlohmann::json physical = {{"artifactLocation", {{"uri", d.file}}}};
    if (d.location.line > 0) {
      physical["region"] = {{"startLine", d.location.line}};
      if (d.location.column > 0) {
        physical["region"]["startColumn"] = d.location.column;
        physical["region"]["endColumn"] = d.location.column + std::max(d.location.length, 1);
      }
    }
    result["locations"] = nlohmann::json::array({{{"physicalLocation", physical}}});
    results.push_back(result);
  }
  return {{"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
          {"version", "2.1.0"},
          {"runs", nlohmann::json::array(
                       {{{"tool", {{"driver", {{"name", "postern"}, {"version", POSTERN_VERSION}, {"rules", rules}}}}},
                         {"results", results}}})}};
}

}  // namespace

int RunCheck(const CheckOptions& options) {
  DiagnosticSink diagnostics;
  check::LoadOptions load;
  load.config_directory = options.config_directory;
  load.machine = config::MachineFacts::Probe();
  load.defines = options.defines;
  check::Model model = check::LoadConfiguration(load, &diagnostics);
  bool could_not_run = !model.main_cf.file;
  if (options.hermetic) check::CheckHermetic(model, &diagnostics);
  if (!could_not_run && !diagnostics.has_errors()) {
    RunRoutingChecks(model, &diagnostics);
  } else if (!could_not_run) {
    // Errors so far stop the image, not the report: the restriction lists
    // and policy files are still compiled for what they would say. (The
    // routing checks and the relay proof need a complete image.)
    emit::ImageBuildOptions build;
    build.compiler_version = POSTERN_VERSION;
    build.policy_only = true;
    emit::BuildImage(model, build, &diagnostics);
  }

  if (options.format == "sarif") {
    std::cout << SarifReport(diagnostics.diagnostics()).dump(2) << "\n";
  } else if (options.format == "json") {
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
