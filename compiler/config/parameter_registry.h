// parameter_registry.h: the main.cf parameters Postern knows, with Postfix's
// names, types and defaults.
//
// Three kinds of name: described (a ParameterSpec: Postfix's type and default,
// and what Postern does with it), known to Postfix but not described (it has
// no effect in Postern: a warning), and unknown (a warning with a
// did-you-mean, as postconf reports unused parameters).
//
// This is the one place that says whether Postern implements a parameter:
// `postern check` names every setting that would change what Postfix does
// and that posternd does not do (ParameterSupport), and a test fails when a
// parameter is marked implemented without code that reads it
// (tests/compiler/parameter_support_test.cc). Immutable; safe to use from
// any thread.
#pragma once

#include <cstdint>
#include <optional>
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

// What Postern does with a parameter.
enum class Support : uint8_t {
  kRuntime,   // posternd reads it from the image and acts on it
  kCompiled,  // the compiler acts on it (restriction lists, reply codes,
              // tables, other parameters' defaults); the image holds the result
  kInert,     // changes nothing a Postern installation does: locations of
              // Postfix's own programs and documents, its process model
  kMissing,   // changes what Postfix does, and Postern does not do it: a
              // value other than the default is a diagnostic
};

// How much it matters when a setting is not applied (a kMissing parameter,
// or a master.cf -o override that posternd does not apply per service).
enum class Impact : uint8_t {
  kMinor,   // a warning: logging, tuning, cosmetics
  kSafety,  // an error: ignoring it weakens security or loses mail
            // (AUTH, TLS requirements, milters, content filters, policy)
};

// ParameterSpec::per_service bits.
inline constexpr uint8_t kPerSmtpd = 1;      // an smtpd service's settings and policy
inline constexpr uint8_t kPerTransport = 2;  // a delivery transport's agent (qmgr/delivery_config.h)

struct ParameterSpec {
  std::string_view name;
  ParameterType type;
  // The default as `postconf -d` prints it, unexpanded. Empty for computed
  // defaults (see computed_defaults.h) and for empty defaults.
  std::string_view default_value;
  // kTime: the unit a bare number has. kEnum: allowed values, '|'-separated.
  std::string_view extra;
  Support support;
  Impact impact;
  // The master.cf services whose `-o` overrides of it posternd applies
  // (kPerSmtpd, kPerTransport; otherwise an override that differs from
  // main.cf is a diagnostic).
  uint8_t per_service;
  // A kMissing parameter that only has an effect through another setting
  // (a parameter or a restriction) which is itself reported when used:
  // that diagnostic covers this one, which gets none of its own.
  std::string_view reported_by;
};

const char* SupportName(Support support);

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
// Whether posternd's queue manager applies the per-transport parameter
// with this suffix (as returned by PerTransportSuffixLength).
bool IsImplementedTransportSuffix(std::string_view suffix);
// The spec of a per-transport parameter posternd applies:
// <transport>_destination_concurrency_limit and _recipient_limit
// (integers), <transport>_time_limit (a time, seconds by default); nullopt
// for any other name. The spec's name views `name`.
std::optional<ParameterSpec> TransportParameterSpec(std::string_view name);

// For a Postfix parameter that has no ParameterSpec: the setting whose
// diagnostic covers it when its name belongs to a feature's family
// (milter_* -> smtpd_milters, postscreen_* -> postscreen), else empty.
std::string_view FamilyReportedBy(std::string_view name);

}  // namespace postern::config
