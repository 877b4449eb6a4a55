// hermetic_check.cc: see hermetic_check.h.
#include "compiler/check/hermetic_check.h"

#include <filesystem>

#include "compiler/tables/table_reference.h"
#include "util/strings.h"

namespace postern::check {
namespace {

// Whether `path` is read from outside the configuration: absolute, and
// neither under /etc/postfix (which stands for the configuration
// directory) nor under the directory itself.
bool OutsideConfiguration(const std::string& path, const std::string& config_directory) {
  if (path.empty() || path.front() != '/') return false;
  std::error_code ec;
  std::string directory = std::filesystem::absolute(config_directory, ec).lexically_normal().string();
  if (!directory.empty() && directory.back() != '/') directory += '/';
  return !StartsWith(path, "/etc/postfix/") && !StartsWith(path, directory);
}

}  // namespace

void CheckHermetic(const Model& model, DiagnosticSink* diagnostics) {
  if (!model.main_cf.file || !model.parameters) return;
  const std::string main_cf = model.config_directory + "/main.cf";
  config::MacroExpander expander = model.parameters->Expander();
  auto computed = [&](const char* name, const char* from) {
    if (model.parameters->IsExplicit(name)) return;
    diagnostics->FileWarning("PC0170", main_cf,
                             std::string(name) + " is computed from this machine's " + from + " (\"" +
                                 std::string(Trim(model.parameters->Expanded(name, &expander))) +
                                 "\"): an image compiled here carries it",
                             std::string("set it in main.cf, or for this build with --define ") + name + "=...");
  };
  computed("myhostname", "host name");
  computed("mynetworks", "network interfaces");

  for (const tables::LoadedTable& t : model.tables) {
    if (!OutsideConfiguration(t.source_path, model.config_directory)) continue;
    diagnostics->FileWarning("PC0170", main_cf,
                             "table " + t.reference.ToString() + " is read from " + t.source_path +
                                 " on this machine, outside the configuration directory",
                             "keep it in the configuration directory (as /etc/postfix/...), which the build reads");
  }
  // alias_maps's default names the machine's /etc/aliases; the image builder
  // reads it when main.cf does not set alias_maps.
  if (!model.parameters->IsExplicit("alias_maps")) {
    for (const std::string& item : SplitAny(model.parameters->Expanded("alias_maps", &expander), ", \t")) {
      std::optional<tables::TableReference> ref = tables::ParseTableReference(item, /*aliases=*/true);
      if (!ref || !OutsideConfiguration(ref->name, model.config_directory)) continue;
      std::error_code ec;
      if (!std::filesystem::exists(ref->name, ec)) continue;
      diagnostics->FileWarning("PC0170", main_cf,
                               "alias_maps is not set: its default " + item + " is read from this machine",
                               "set alias_maps in main.cf (alias_maps = hash:/etc/postfix/aliases, or empty)");
    }
  }
}

}  // namespace postern::check
