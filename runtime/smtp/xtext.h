// xtext.h: RFC 3461 xtext ("+XX" hex escapes), as DSN ENVID=/ORCPT= and
// XCLIENT attribute values carry it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace postern::smtp {

// nullopt when `text` is not valid xtext (a bad escape, a control
// character, '=' or a space).
std::optional<std::string> DecodeXtext(std::string_view text);

// `text` as xtext: '+', '=' and bytes outside 33..126 become "+XX".
std::string EncodeXtext(std::string_view text);

}  // namespace postern::smtp
