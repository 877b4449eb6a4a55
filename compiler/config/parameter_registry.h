// parameter_registry.h: the main.cf parameters Postern knows, with Postfix's
// names, types and defaults.
//
// Three kinds of name: supported (a ParameterSpec: Postern implements it with
// Postfix's semantics), known to Postfix but not supported by Postern (a
// warning: it would have no effect), and unknown (a warning with a
// did-you-mean, as postconf reports unused parameters). Immutable; safe to use
// from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace postern::config {

enum class ParameterType {
  kString,           // free text
  kInteger,          // non-negative decimal
  kBoolean,          // yes / no
  kTime,             // number with optional unit s, m, h, d, w
  kEnum,             // one of a fixed set of words
  kList,             // words separated by commas and/or white space
  kTableList,        // list of type:name lookup tables
  kMatchList,        // domain match list: names, /file, type:table
  kNetworkList,      // address match list: CIDR, [ipv6]/len, /file, type:table
  kRestrictionList,  // smtpd restriction list
};

const char* ParameterTypeName(ParameterType type);

struct ParameterSpec {
  std::string_view name;
  ParameterType type;
  // The default as `postconf -d` prints it, unexpanded. Empty for computed
  // defaults (see computed_defaults.h) and for empty defaults.
  std::string_view default_value;
  // kTime: the unit a bare number has. kEnum: allowed values, '|'-separated.
  std::string_view extra;
};

// The spec of a supported parameter, or nullptr.
const ParameterSpec* FindParameter(std::string_view name);
// Every supported parameter, sorted by name.
std::span<const ParameterSpec> SupportedParameters();
// Whether Postfix 3.7 knows this name (supported by Postern or not).
bool IsPostfixParameter(std::string_view name);
// Every name Postfix knows, sorted, for did-you-mean hints.
const std::vector<std::string_view>& PostfixParameterNames();

// Parameters whose $names are expanded by the program at delivery or reply
// time ($home, $rbl_code, ...), never by the configuration: postconf -x
// prints them as they are, and Postern does not expand or check them.
bool IsRawParameter(std::string_view name);

// Postfix's per-transport parameters: `<transport>_<suffix>` where the
// transport is a master.cf service (e.g. `relay_destination_rate_delay`).
// Returns the suffix's length if `name` ends in one, 0 otherwise.
size_t PerTransportSuffixLength(std::string_view name);

}  // namespace postern::config
