// policy_files.cc: see policy_files.h.
#include "compiler/policy/policy_files.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "compiler/policy/policy_parser.h"

namespace postern::policy {
namespace {

namespace fs = std::filesystem;

void Load(const std::string& path, const SourceLocation& included_from, std::set<std::string>* seen,
          std::vector<AstFile>* out, DiagnosticSink* diagnostics) {
  std::error_code ec;
  std::string key = fs::weakly_canonical(path, ec).string();
  if (!seen->insert(key).second) {
    if (included_from.file) diagnostics->Warning("PL0711", included_from, "\"" + path + "\" is already included");
    return;
  }
  auto file = SourceFile::Read(path);
  if (!file.ok()) {
    if (included_from.file) {
      diagnostics->Error("PL0711", included_from, "cannot read \"" + path + "\": " + file.status().message());
    } else {
      diagnostics->FileError("PL0711", path, file.status().message());
    }
    return;
  }
  AstFile ast = ParsePolicy(file.value(), diagnostics);
  std::vector<AstInclude> includes = ast.includes;
  out->push_back(std::move(ast));
  for (const AstInclude& inc : includes) {
    fs::path target = fs::path(inc.path).is_absolute() ? fs::path(inc.path) : fs::path(path).parent_path() / inc.path;
    Load(target.string(), inc.location, seen, out, diagnostics);
  }
}

}  // namespace

std::vector<AstFile> LoadPolicyFiles(const std::string& config_directory, DiagnosticSink* diagnostics) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(config_directory) / "policy", ec)) {
    if (entry.path().extension() == ".pol") paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  std::set<std::string> seen;
  std::vector<AstFile> files;
  for (const std::string& path : paths) Load(path, SourceLocation{}, &seen, &files, diagnostics);
  return files;
}

}  // namespace postern::policy
