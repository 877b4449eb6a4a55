// diff_command.cc: `postern diff OLD NEW`, what behaves differently between
// two configurations (config_diff.h), as text, markdown or JSON. Exit
// codes: 0 no difference (or none of the kinds --fail-on names), 1
// differences, 2 errors (a side that does not compile, a bad revision).
#include <algorithm>
#include <iostream>

#include "tools/postern/commands.h"
#include "tools/postern/config_diff.h"
#include "tools/postern/diff_report.h"
#include "tools/postern/diff_side.h"
#include "util/strings.h"

namespace postern::cli {

int RunDiff(const DiffOptions& options) {
  for (const std::string& kind : options.fail_on) {
    if (std::find(std::begin(kChangeKindNames), std::end(kChangeKindNames), kind) == std::end(kChangeKindNames)) {
      std::cerr << "postern diff: --fail-on " << kind << ": not a kind of change ("
                << Join({std::begin(kChangeKindNames), std::end(kChangeKindNames)}, ", ") << ")\n";
      return 2;
    }
  }
  DiffSideOptions side_options;
  side_options.git_directory = options.git_directory;
  side_options.defines = options.defines;
  side_options.users_file = options.users_file;
  side_options.offline = options.offline;
  // With -c and one revision, NEW is the directory as it is now.
  DiffSideOptions new_options = side_options;
  std::string new_what = options.new_side;
  if (new_what.empty()) {
    new_options.git_directory.clear();
    new_what = options.git_directory;
  }
  TemporaryImages scratch;
  DiagnosticSink diagnostics;
  Result<DiffSide> old_side = OpenDiffSide(options.old_side, side_options, &scratch, "old", &diagnostics);
  Result<DiffSide> new_side =
      old_side.ok() ? OpenDiffSide(new_what, new_options, &scratch, "new", &diagnostics) : old_side.status();
  if (diagnostics.has_errors()) {
    std::vector<Diagnostic> errors;
    for (const Diagnostic& d : diagnostics.diagnostics()) {
      if (d.severity == Severity::kError) errors.push_back(d);
    }
    std::cerr << RenderDiagnostics(errors);
  }
  if (!old_side.ok() || !new_side.ok()) {
    std::cerr << "postern diff: " << (old_side.ok() ? new_side : old_side).status().message() << "\n";
    return 2;
  }
  DiffSide now = std::move(new_side).value();
  if (options.new_side.empty()) now.label = options.git_directory + " (working tree)";

  ConfigDiff diff = DiffConfigurations(*old_side, now);
  if (options.format == "json") {
    std::cout << DiffJson(diff).dump(2) << "\n";
  } else if (options.format == "markdown") {
    std::cout << RenderDiffMarkdown(diff, options.limit);
  } else {
    std::cout << RenderDiffText(diff, options.limit);
  }
  std::vector<std::string> kinds = ChangeKinds(diff);
  if (options.fail_on.empty()) return kinds.empty() ? 0 : 1;
  for (const std::string& kind : kinds) {
    if (std::find(options.fail_on.begin(), options.fail_on.end(), kind) != options.fail_on.end()) return 1;
  }
  return 0;
}

}  // namespace postern::cli
