// settings_format.h: settings.bin, the image's typed parameter values. The
// compiler checks every parameter against its type and writes the value in
// that type (a boolean, an integer, a time in seconds with the parameter's
// own unit applied, or text); the runtime reads fields and never parses a
// parameter string or repeats a default again (it reads no value the
// compiler did not write: tests/compiler/config/parameter_support_test.cc).
//
// Layout: magic "PSTSET01", u32 version, u32 count, then per setting sorted
// by name: string name, u8 kind, u64 number, string text. The image's
// section table covers it with a SHA-256 like every other file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "util/status.h"

namespace postern::mail {

inline constexpr uint32_t kSettingsVersion = 1;

enum class SettingKind : uint8_t {
  kText = 1,     // strings, enumerations, lists (as written, expanded)
  kBoolean = 2,  // number: 0 or 1
  kInteger = 3,  // number
  kSeconds = 4,  // number: a time in seconds
};

struct SettingValue {
  SettingKind kind = SettingKind::kText;
  int64_t number = 0;
  std::string text;  // kText; the expanded value for the others too
};

using SettingsMap = std::map<std::string, SettingValue, std::less<>>;

std::string EncodeSettings(const SettingsMap& settings);
Result<SettingsMap> DecodeSettings(std::string_view bytes);

// Typed reads of a decoded settings.bin. A name the compiler did not write,
// or of another kind, reads as false, 0 or "" (a bug: the support test
// keeps the runtime's names in the registry).
class Settings {
 public:
  Settings() = default;
  explicit Settings(SettingsMap values) : values_(std::move(values)) {}

  bool Boolean(std::string_view name) const;
  int64_t Integer(std::string_view name) const;
  int64_t Seconds(std::string_view name) const;
  // The value as text (every kind has it); "" for an unknown name.
  std::string_view Text(std::string_view name) const;
  // The settings as master.cf service `service` sees them: each
  // "<service>/<name>" value in place of <name>'s.
  Settings ForService(std::string_view service) const;
  bool Has(std::string_view name) const { return values_.find(name) != values_.end(); }
  size_t size() const { return values_.size(); }
  // Every value, by name (main.cf's names, then "<service>/<name>" ones in order).
  const SettingsMap& values() const { return values_; }

 private:
  int64_t Number(std::string_view name, SettingKind kind) const;
  SettingsMap values_;
};

}  // namespace postern::mail
