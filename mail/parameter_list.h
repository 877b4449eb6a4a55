// parameter_list.h: the list syntax of main.cf values, as both the
// compiler (checking) and the runtime (reading image parameters) split them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::mail {

// Splits a list-valued parameter on commas and white space, keeping
// `{ ... }` groups together (Postfix's mail_parm_split). Braces of a group
// are removed and its inside trimmed. Returns nullopt on unbalanced braces.
std::optional<std::vector<std::string>> SplitParameterList(std::string_view value);

}  // namespace postern::mail
