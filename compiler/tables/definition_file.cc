// definition_file.cc: see definition_file.h.
#include "compiler/tables/definition_file.h"

#include <algorithm>
#include <charconv>

#include "compiler/config/main_cf.h"
#include "util/strings.h"
#include "util/suggest.h"

namespace postern::tables {
namespace {

constexpr std::string_view kSecretMask = "********";

bool Contains(const std::vector<std::string_view>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A copy of `text` in which the value of every secret setting, on its line
// and on the lines continuing it, is masked. A line that names a secret
// without '=' is masked after the name too, so no diagnostic can quote it.
std::string MaskSecrets(const std::string& text, const std::vector<std::string_view>& secrets) {
  std::vector<std::string> lines = SplitFields(text, '\n');
  bool in_secret = false;
  for (std::string& line : lines) {
    std::string_view view = line;
    bool continuation = !view.empty() && IsSpace(view.front()) && !Trim(view).empty() && Trim(view).front() != '#';
    if (continuation) {
      if (in_secret) line = std::string(view.substr(0, view.size() - Trim(view).size())) + std::string(kSecretMask);
      continue;
    }
    in_secret = false;
    std::string_view trimmed = Trim(view);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    size_t name_end = 0;
    while (name_end < view.size() && !IsSpace(view[name_end]) && view[name_end] != '=') ++name_end;
    if (!Contains(secrets, view.substr(0, name_end))) continue;
    in_secret = true;
    size_t value_start = name_end;
    while (value_start < view.size() && (IsSpace(view[value_start]) || view[value_start] == '=')) ++value_start;
    if (value_start < view.size()) line = line.substr(0, value_start) + std::string(kSecretMask);
  }
  return Join(lines, "\n");
}

}  // namespace

std::optional<DefinitionFile> DefinitionFile::Read(const std::string& type, const std::string& path,
                                                   const std::vector<std::string_view>& known,
                                                   const std::vector<std::string_view>& secrets,
                                                   const SourceLocation& reference_location,
                                                   DiagnosticSink* diagnostics) {
  auto read = SourceFile::Read(path);
  if (!read.ok()) {
    diagnostics->Error("PT0322", reference_location, type + " table: " + read.status().message(),
                       "create the definition file, or remove the reference");
    return std::nullopt;
  }
  const std::shared_ptr<const SourceFile>& original = read.value();
  DefinitionFile definition;
  definition.type_ = type;
  definition.diagnostics_ = diagnostics;
  // Secrets from the real text; everything else, and every diagnostic, from
  // the masked one.
  DiagnosticSink scratch;
  std::map<int, std::string> secret_values;  // by first line
  for (const config::ParameterDefinition& def : config::ParseMainCf(original, &scratch).definitions) {
    if (Contains(secrets, def.name)) secret_values[def.name_location.line] = def.value;
  }
  definition.file_ = std::make_shared<const SourceFile>(original->name(), MaskSecrets(original->text(), secrets));
  for (const config::ParameterDefinition& def : config::ParseMainCf(definition.file_, diagnostics).definitions) {
    if (!Contains(known, def.name)) {
      std::string suggestion = Suggest(def.name, known);
      diagnostics->Warning("PT0330", def.name_location,
                           "unknown " + type + " table setting \"" + def.name + "\" (Postfix ignores it)",
                           suggestion.empty() ? "" : "did you mean \"" + suggestion + "\"?");
      continue;
    }
    DefinitionSetting setting{def.value, def.value_location};
    if (Contains(secrets, def.name)) setting.value = secret_values[def.name_location.line];
    definition.settings_[def.name] = std::move(setting);
  }
  return definition;
}

const DefinitionSetting* DefinitionFile::Find(const std::string& name) const {
  auto it = settings_.find(name);
  return it == settings_.end() ? nullptr : &it->second;
}

std::string DefinitionFile::Value(const std::string& name, std::string fallback) const {
  const DefinitionSetting* setting = Find(name);
  return setting ? setting->value : fallback;
}

void DefinitionFile::Invalid(const DefinitionSetting& setting, std::string message, std::string hint) {
  diagnostics_->Error("PT0331", setting.location, std::move(message), std::move(hint));
  ok_ = false;
}

void DefinitionFile::Unimplemented(const DefinitionSetting& setting, std::string message, std::string hint) {
  diagnostics_->Error("PT0336", setting.location, std::move(message), std::move(hint));
  ok_ = false;
}

void DefinitionFile::FileError(const std::string& code, std::string message, std::string hint) {
  diagnostics_->Error(code, SourceLocation{file_, 0, 0}, type_ + " table " + file_->name() + ": " + message,
                      std::move(hint));
  ok_ = false;
}

bool DefinitionFile::Boolean(const std::string& name, bool fallback) {
  const DefinitionSetting* setting = Find(name);
  if (!setting) return fallback;
  std::string value = ToLower(setting->value);
  if (value == "yes" || value == "true" || value == "1") return true;
  if (value == "no" || value == "false" || value == "0") return false;
  Invalid(*setting, name + " must be yes or no, not \"" + setting->value + "\"");
  return fallback;
}

int DefinitionFile::Number(const std::string& name, int fallback) {
  const DefinitionSetting* setting = Find(name);
  if (!setting) return fallback;
  int value = 0;
  const std::string& text = setting->value;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || value < 0) {
    Invalid(*setting, name + " must be a number of 0 or more, not \"" + text + "\"");
    return fallback;
  }
  return value;
}

LookupRulesLocations ReadLookupRules(DefinitionFile* file, const std::vector<DefinitionSetting>& queries,
                                     const std::vector<std::string>& result_format_names,
                                     mail::DatabaseLookupRules* rules) {
  LookupRulesLocations locations;
  for (const DefinitionSetting& query : queries) {
    Status status = mail::AddTemplateNeeds(query.value, true, rules);
    if (!status.ok()) file->Invalid(query, status.message());
  }
  for (const std::string& name : result_format_names) {
    const DefinitionSetting* format = file->Find(name);
    if (!format) continue;
    rules->result_format = format->value;
    locations.result_format = format->location;
    Status status = mail::AddTemplateNeeds(format->value, false, rules);
    if (!status.ok()) file->Invalid(*format, name + ": " + status.message());
    break;
  }
  if (const DefinitionSetting* domain = file->Find("domain")) {
    for (const std::string& item : SplitAny(domain->value, " \t,")) {
      std::string_view name = item.front() == '!' ? std::string_view(item).substr(1) : std::string_view(item);
      if (name.empty() || name.front() == '/' || name.find(':') != std::string_view::npos) {
        file->Unimplemented(*domain, "domain: \"" + item + "\": Postern reads domain names here, not files or tables",
                            "list the domain names");
        continue;
      }
      rules->domain_filter.push_back(ToLower(item));
    }
  }
  rules->expansion_limit = file->Number("expansion_limit", 0);
  if (const DefinitionSetting* limit = file->Find("expansion_limit")) locations.expansion_limit = limit->location;
  return locations;
}

}  // namespace postern::tables
