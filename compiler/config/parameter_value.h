// parameter_value.h: typed views of expanded parameter values, with the
// checks Postfix applies when a program reads them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/config/parameter_registry.h"
#include "mail/parameter_list.h"
#include "util/strings.h"

namespace postern::config {

using mail::SplitParameterList;

std::optional<bool> ParseBoolean(std::string_view value);

// "" when `expanded` is a valid value for `spec`, else what is wrong with it
// (e.g. "expected yes or no").
std::string CheckParameterValue(const ParameterSpec& spec, std::string_view expanded);

}  // namespace postern::config
