// settings_format.cc: see settings_format.h.
#include "mail/settings_format.h"

#include "util/bytes.h"

namespace postern::mail {
namespace {

constexpr std::string_view kMagic = "PSTSET01";

}  // namespace

std::string EncodeSettings(const SettingsMap& settings) {
  ByteWriter w;
  w.PutRaw(kMagic);
  w.PutU32(kSettingsVersion);
  w.PutU32(static_cast<uint32_t>(settings.size()));
  for (const auto& [name, value] : settings) {
    w.PutString(name);
    w.PutU8(static_cast<uint8_t>(value.kind));
    w.PutU64(static_cast<uint64_t>(value.number));
    w.PutString(value.text);
  }
  return w.Release();
}

Result<SettingsMap> DecodeSettings(std::string_view bytes) {
  ByteReader r(bytes);
  std::string_view magic;
  uint32_t version = 0, count = 0;
  if (!r.GetRaw(kMagic.size(), &magic) || magic != kMagic) return Status::Permanent("settings: bad magic");
  if (!r.GetU32(&version) || version != kSettingsVersion) {
    return Status::Permanent("settings: version " + std::to_string(version) + ", expected " +
                             std::to_string(kSettingsVersion) + " (recompile the configuration)");
  }
  if (!r.GetU32(&count)) return Status::Permanent("settings: truncated");
  SettingsMap out;
  std::string previous;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name;
    uint8_t kind = 0;
    uint64_t number = 0;
    SettingValue value;
    if (!r.GetString(&name) || !r.GetU8(&kind) || !r.GetU64(&number) || !r.GetString(&value.text)) {
      return Status::Permanent("settings: truncated");
    }
    if (kind < 1 || kind > 4) return Status::Permanent("settings: unknown kind " + std::to_string(kind));
    if (i > 0 && name <= previous) return Status::Permanent("settings: names out of order");
    value.kind = static_cast<SettingKind>(kind);
    value.number = static_cast<int64_t>(number);
    previous = name;
    out.emplace(std::move(name), std::move(value));
  }
  if (r.remaining() != 0) return Status::Permanent("settings: trailing bytes");
  return out;
}

int64_t Settings::Number(std::string_view name, SettingKind kind) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.kind != kind) return 0;
  return it->second.number;
}

std::string_view Settings::Text(std::string_view name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string_view() : std::string_view(it->second.text);
}

bool Settings::Boolean(std::string_view name) const { return Number(name, SettingKind::kBoolean) != 0; }
int64_t Settings::Integer(std::string_view name) const { return Number(name, SettingKind::kInteger); }
int64_t Settings::Seconds(std::string_view name) const { return Number(name, SettingKind::kSeconds); }

Settings Settings::ForService(std::string_view service) const {
  SettingsMap values = values_;
  std::string prefix = std::string(service) + "/";
  for (auto it = values_.lower_bound(prefix); it != values_.end() && it->first.starts_with(prefix); ++it) {
    values[it->first.substr(prefix.size())] = it->second;
  }
  return Settings(std::move(values));
}

}  // namespace postern::mail
