// main_cf.h: parsing main.cf (postconf(5)) into plain definitions.
//
// Syntax only: `name = value` logical lines. Values stay unexpanded; the
// meaning of each parameter is ParameterSet's business.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern::config {

struct ParameterDefinition {
  std::string name;
  std::string value;  // trimmed; continuation lines joined as Postfix does
  SourceLocation name_location;
  SourceLocation value_location;
};

struct MainCf {
  std::shared_ptr<const SourceFile> file;
  std::vector<ParameterDefinition> definitions;  // file order, repeats kept
};

// Diagnostics: PC0101 (no '='), PC0102 (missing or malformed name).
MainCf ParseMainCf(std::shared_ptr<const SourceFile> file, DiagnosticSink* diagnostics);

// Splits `name = value` (as Postfix's split_nameval). Returns false when the
// text has no '=' or no name; offsets are into `text`.
struct NameValue {
  std::string_view name;
  std::string_view value;
  size_t name_offset = 0;
  size_t value_offset = 0;
};
bool SplitNameValue(std::string_view text, NameValue* out);

// Whether `name` is made of the characters a $name reference can use.
bool IsValidParameterName(std::string_view name);

}  // namespace postern::config
