// image_format.cc: see image_format.h.
#include "mail/image_format.h"

#include "util/bytes.h"
#include "util/sha256.h"

namespace postern::mail {
namespace {

constexpr size_t kTrailerSize = 64;  // hex sha256

Status Corrupt(const std::string& what) { return Status::Permanent("corrupt image header: " + what); }

uint32_t EncodeFlags(const RegexpFlags& f) {
  return (f.caseless ? 1u : 0u) | (f.extended ? 2u : 0u) | (f.multiline ? 4u : 0u) | (f.dotall ? 8u : 0u) |
         (f.anchored ? 16u : 0u) | (f.dollar_endonly ? 32u : 0u) | (f.ungreedy ? 64u : 0u);
}

RegexpFlags DecodeFlags(uint32_t bits) {
  RegexpFlags f;
  f.caseless = bits & 1u;
  f.extended = bits & 2u;
  f.multiline = bits & 4u;
  f.dotall = bits & 8u;
  f.anchored = bits & 16u;
  f.dollar_endonly = bits & 32u;
  f.ungreedy = bits & 64u;
  return f;
}

void PutRegexp(ByteWriter* w, const std::shared_ptr<const Regexp>& re) {
  w->PutU8(re ? 1 : 0);
  if (!re) return;
  w->PutString(re->pattern());
  w->PutU32(EncodeFlags(re->flags()));
}

Result<std::shared_ptr<const Regexp>> GetRegexp(ByteReader* r, bool* present) {
  uint8_t has = 0;
  std::string pattern;
  uint32_t flags = 0;
  if (!r->GetU8(&has)) return Status::Permanent("truncated pattern table");
  *present = has != 0;
  if (!*present) return std::shared_ptr<const Regexp>();
  if (!r->GetString(&pattern) || !r->GetU32(&flags)) return Status::Permanent("truncated pattern table");
  return Regexp::Compile(pattern, DecodeFlags(flags));
}

}  // namespace

bool IsKnownSectionKind(uint32_t kind) { return kind >= 1 && kind <= 14; }

std::string EncodeImageHeader(const ImageHeader& header) {
  ByteWriter w;
  w.PutRaw(kImageMagic);
  w.PutU32(header.format_version);
  w.PutString(header.compiler_version);
  w.PutU32(static_cast<uint32_t>(header.sections.size()));
  for (const ImageSection& s : header.sections) {
    w.PutU32(static_cast<uint32_t>(s.kind));
    w.PutString(s.path);
    w.PutString(s.reference);
    w.PutU64(s.size);
    w.PutU64(s.entries);
    w.PutString(s.sha256);
  }
  std::string bytes = w.Release();
  AppendSha256Trailer(&bytes);
  return bytes;
}

Result<ImageHeader> DecodeImageHeader(std::string_view bytes) {
  if (bytes.size() < kImageMagic.size() + kTrailerSize || bytes.substr(0, kImageMagic.size()) != kImageMagic) {
    return Corrupt("bad magic (not a Postern image)");
  }
  std::optional<std::string_view> body = CheckSha256Trailer(bytes);
  if (!body) return Corrupt("checksum mismatch");
  ByteReader r(body->substr(kImageMagic.size()));
  ImageHeader header;
  uint32_t count = 0;
  if (!r.GetU32(&header.format_version)) return Corrupt("truncated");
  if (header.format_version != kImageFormatVersion) {
    return Status::Permanent("image format version " + std::to_string(header.format_version) +
                             " is not supported (this build reads version " + std::to_string(kImageFormatVersion) +
                             "): recompile the configuration with this postern");
  }
  if (!r.GetString(&header.compiler_version) || !r.GetU32(&count)) return Corrupt("truncated");
  for (uint32_t i = 0; i < count; ++i) {
    ImageSection s;
    uint32_t kind = 0;
    if (!r.GetU32(&kind) || !r.GetString(&s.path) || !r.GetString(&s.reference) || !r.GetU64(&s.size) ||
        !r.GetU64(&s.entries) || !r.GetString(&s.sha256)) {
      return Corrupt("truncated section table");
    }
    if (!IsKnownSectionKind(kind)) return Corrupt("unknown section kind " + std::to_string(kind));
    s.kind = static_cast<SectionKind>(kind);
    if (s.path.find("..") != std::string::npos || (!s.path.empty() && s.path[0] == '/')) {
      return Corrupt("section path \"" + s.path + "\" leaves the image");
    }
    header.sections.push_back(std::move(s));
  }
  if (r.remaining() != 0) return Corrupt("trailing bytes");
  return header;
}

std::string EncodeServices(const std::vector<ServiceEntry>& services) {
  ByteWriter w;
  w.PutU32(static_cast<uint32_t>(services.size()));
  for (const ServiceEntry& s : services) {
    w.PutString(s.name);
    w.PutString(s.type);
    w.PutString(s.command);
    w.PutU32(s.process_limit);
    w.PutU32(static_cast<uint32_t>(s.arguments.size()));
    for (const std::string& a : s.arguments) w.PutString(a);
    w.PutU32(static_cast<uint32_t>(s.overrides.size()));
    for (const auto& [name, value] : s.overrides) {
      w.PutString(name);
      w.PutString(value);
    }
  }
  return w.Release();
}

Result<std::vector<ServiceEntry>> DecodeServices(std::string_view bytes) {
  ByteReader r(bytes);
  uint32_t count = 0;
  Status corrupt = Status::Permanent("corrupt service table");
  if (!r.GetU32(&count) || count > bytes.size()) return corrupt;
  std::vector<ServiceEntry> services(count);
  for (ServiceEntry& s : services) {
    uint32_t n = 0;
    if (!r.GetString(&s.name) || !r.GetString(&s.type) || !r.GetString(&s.command) || !r.GetU32(&s.process_limit) ||
        !r.GetU32(&n) || n > r.remaining()) {
      return corrupt;
    }
    s.arguments.resize(n);
    for (std::string& a : s.arguments) {
      if (!r.GetString(&a)) return corrupt;
    }
    if (!r.GetU32(&n) || n > r.remaining()) return corrupt;
    s.overrides.resize(n);
    for (auto& [name, value] : s.overrides) {
      if (!r.GetString(&name) || !r.GetString(&value)) return corrupt;
    }
  }
  if (r.remaining() != 0) return corrupt;
  return services;
}

std::string EncodePatternRules(const std::vector<PatternRule>& rules) {
  ByteWriter w;
  w.PutU32(static_cast<uint32_t>(rules.size()));
  for (const PatternRule& rule : rules) {
    w.PutU8(static_cast<uint8_t>(rule.kind));
    w.PutU8(rule.negate ? 1 : 0);
    w.PutU8(rule.cidr ? 1 : 0);
    if (rule.cidr) {
      w.PutU8(rule.cidr->network.ipv6 ? 1 : 0);
      w.PutRaw(std::string_view(reinterpret_cast<const char*>(rule.cidr->network.bytes.data()), 16));
      w.PutU32(static_cast<uint32_t>(rule.cidr->prefix_length));
    }
    PutRegexp(&w, rule.regexp);
    PutRegexp(&w, rule.regexp_unless);
    w.PutString(rule.replacement);
    w.PutU32(static_cast<uint32_t>(rule.endif));
    w.PutU32(static_cast<uint32_t>(rule.line));
  }
  return w.Release();
}

Result<std::vector<PatternRule>> DecodePatternRules(std::string_view bytes) {
  ByteReader r(bytes);
  uint32_t count = 0;
  if (!r.GetU32(&count) || count > bytes.size()) return Status::Permanent("corrupt pattern table");
  std::vector<PatternRule> rules(count);
  for (PatternRule& rule : rules) {
    uint8_t kind = 0, negate = 0, has_cidr = 0;
    if (!r.GetU8(&kind) || !r.GetU8(&negate) || !r.GetU8(&has_cidr) || kind > 2) {
      return Status::Permanent("corrupt pattern table");
    }
    rule.kind = static_cast<PatternRule::Kind>(kind);
    rule.negate = negate != 0;
    if (has_cidr) {
      uint8_t v6 = 0;
      std::string_view raw;
      uint32_t prefix = 0;
      if (!r.GetU8(&v6) || !r.GetRaw(16, &raw) || !r.GetU32(&prefix)) return Status::Permanent("corrupt pattern table");
      CidrBlock block;
      block.network.ipv6 = v6 != 0;
      std::copy(raw.begin(), raw.end(), block.network.bytes.begin());
      if (prefix > static_cast<uint32_t>(block.network.bits())) return Status::Permanent("corrupt pattern table");
      block.prefix_length = static_cast<int>(prefix);
      rule.cidr = block;
    }
    bool present = false;
    auto re = GetRegexp(&r, &present);
    if (!re.ok()) return re.status();
    rule.regexp = *re;
    auto unless = GetRegexp(&r, &present);
    if (!unless.ok()) return unless.status();
    rule.regexp_unless = *unless;
    uint32_t endif = 0, line = 0;
    if (!r.GetString(&rule.replacement) || !r.GetU32(&endif) || !r.GetU32(&line)) {
      return Status::Permanent("corrupt pattern table");
    }
    rule.endif = endif;
    rule.line = static_cast<int>(line);
  }
  if (r.remaining() != 0) return Status::Permanent("corrupt pattern table: trailing bytes");
  // The interpreter relies on every IF's ENDIF index.
  for (size_t i = 0; i < rules.size(); ++i) {
    if (rules[i].kind != PatternRule::Kind::kIf) continue;
    if (rules[i].endif <= i || rules[i].endif >= rules.size() ||
        rules[rules[i].endif].kind != PatternRule::Kind::kEndif) {
      return Status::Permanent("corrupt pattern table: bad IF/ENDIF structure");
    }
  }
  return rules;
}

}  // namespace postern::mail
