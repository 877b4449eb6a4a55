// main_cf.cc: see main_cf.h.
#include "compiler/config/main_cf.h"

#include "util/logical_lines.h"
#include "util/strings.h"

namespace postern::config {

bool SplitNameValue(std::string_view text, NameValue* out) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos) return false;
  std::string_view left = text.substr(0, eq);
  size_t name_start = 0;
  while (name_start < left.size() && IsSpace(left[name_start])) ++name_start;
  std::string_view name = Trim(left);
  if (name.empty()) return false;
  std::string_view right = text.substr(eq + 1);
  size_t value_start = 0;
  while (value_start < right.size() && IsSpace(right[value_start])) ++value_start;
  out->name = name;
  out->name_offset = name_start;
  out->value = Trim(right);
  out->value_offset = eq + 1 + value_start;
  return true;
}

bool IsValidParameterName(std::string_view name) {
  if (name.empty()) return false;
  // A service name may hold '-', and so may the per-service parameters
  // named after it (policy-spf_time_limit): Postfix accepts them.
  for (char c : name) {
    if (!IsAlnum(c) && c != '_' && c != '-') return false;
  }
  return true;
}

MainCf ParseMainCf(std::shared_ptr<const SourceFile> file, DiagnosticSink* diagnostics) {
  MainCf result;
  result.file = file;
  for (const LogicalLine& line : ReadLogicalLines(file, diagnostics)) {
    NameValue nv;
    if (!SplitNameValue(line.text, &nv)) {
      size_t eq = line.text.find('=');
      if (eq == std::string::npos) {
        diagnostics->Error("PC0101", line.Locate(file, 0, line.text.size()), "missing '=' after parameter name",
                           "main.cf lines have the form `name = value`; indent a line to "
                           "continue the previous one");
      } else {
        diagnostics->Error("PC0102", line.Locate(file, 0, eq + 1), "missing parameter name before '='");
      }
      continue;
    }
    ParameterDefinition def;
    def.name = std::string(nv.name);
    def.value = std::string(nv.value);
    def.name_location = line.Locate(file, nv.name_offset, nv.name.size());
    def.value_location = line.Locate(file, nv.value_offset, nv.value.size());
    if (!IsValidParameterName(def.name)) {
      diagnostics->Error("PC0102", def.name_location, "malformed parameter name \"" + def.name + "\"",
                         "parameter names consist of letters, digits and '_'");
      continue;
    }
    result.definitions.push_back(std::move(def));
  }
  return result;
}

}  // namespace postern::config
