// image_format.h: the on-disk format of a compiled Postern image, shared by
// the writer (compiler/emit) and the reader (runtime/image).
//
// An image is a directory named after its id (the sha256 of its IMAGE
// file). IMAGE lists every other file of the image as a section: its kind,
// its path inside the image, its size, its entry count and its sha256, and
// ends with the sha256 of everything before it. So one hash covers every
// byte of the image, and a flipped or truncated byte anywhere is caught
// before anything is used.
//
//   IMAGE            magic "PSTRNIMG", u32 format version, compiler version,
//                    u32 section count, sections, 64-byte hex sha256 trailer
//   MANIFEST         human-readable: versions, sources with sha256, tables
//   params.cdb       parameter name -> effective value ($names expanded)
//   settings.bin     the same values typed: boolean, integer, seconds, text
//                    (mail/settings_format.h); the runtime reads these
//   tables/N.cdb     exact-match table: folded key -> value (tinycdb)
//   tables/N.pat     cidr/regexp/pcre rules (EncodePatternRules below)
//   tables/N.static  the value of a static: table
//   includes.cdb     :include: file path -> its addresses, one per line
//   services.bin     master.cf services (EncodeServices below)
//   policy.bc        the policy bytecode (mail/policy_program.h)
//   services/N.bc    the policy of an smtpd service whose -o overrides
//                    change it (the section's reference is the service)
//
// settings.bin also holds, as "<service>/<name>", each value that a
// master.cf service sees differently from main.cf: its -o overrides, and
// for an smtpd service every parameter whose value they change.
//
// Strings in IMAGE and .pat files are ByteWriter strings (u32 length +
// bytes); integers are little-endian.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/lookup_table.h"
#include "util/status.h"

namespace postern::mail {

inline constexpr std::string_view kImageMagic = "PSTRNIMG";
// 2: settings.bin, which the runtime requires. 3: smtpd services' own
// settings and policies (an older runtime would serve main.cf's policy on
// every port).
inline constexpr uint32_t kImageFormatVersion = 3;
inline constexpr std::string_view kImageHeaderFile = "IMAGE";

// Whether `name` has the form of an image id (the sha256 of IMAGE, 64
// lower-case hex digits), as an image's directory is named.
inline bool IsImageId(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

enum class SectionKind : uint32_t {
  kManifest = 1,        // MANIFEST
  kParameters = 2,      // params.cdb
  kExactTable = 3,      // a CDB; `reference` is the table's type:name
  kPatternTable = 4,    // cidr/regexp/pcre rules
  kStaticTable = 5,     // the whole file is the value
  kPasswdTable = 6,     // unix:passwd.byname, answered from the system at run time (no file)
  kIncludes = 7,        // includes.cdb
  kServices = 8,        // services.bin: master.cf services (EncodeServices)
  kPolicy = 9,          // policy.bc: the policy program (mail/policy_program.h)
  kSettings = 10,       // settings.bin: typed parameter values (mail/settings_format.h)
  kServicePolicy = 11,  // services/N.bc: an smtpd service's policy program
  kDatabaseTable = 12,  // an SQL table read when compiling: a CDB of database key -> values
                        // (mail/database_table.h), its lookup rules under the empty key
  kFailTable = 13,      // fail:name: every lookup fails with a temporary error (no file)
  kLiveTable = 14,      // an SQL or LDAP table asked at run time: where the server is and how to ask
                        // it, never the secret (mail/servers/live_table.h)
};

// Whether `kind` is one of the kinds above.
bool IsKnownSectionKind(uint32_t kind);

struct ImageSection {
  SectionKind kind = SectionKind::kManifest;
  std::string path;       // inside the image directory; empty for kPasswdTable and kFailTable
  std::string reference;  // tables: "type:name" as written in main.cf
  uint64_t size = 0;
  uint64_t entries = 0;
  std::string sha256;  // hex, of the file's bytes
};

struct ImageHeader {
  uint32_t format_version = kImageFormatVersion;
  std::string compiler_version;
  std::vector<ImageSection> sections;
};

// The bytes of an IMAGE file (deterministic: sections in the given order).
std::string EncodeImageHeader(const ImageHeader& header);
// Checks magic, version, structure and the trailer checksum.
Result<ImageHeader> DecodeImageHeader(std::string_view bytes);

inline constexpr uint32_t kDefaultProcessLimit = 0xffffffff;  // maxproc "-": default_process_limit

// A master.cf service as the runtime needs it: which program serves a
// transport name, with its -o overrides.
struct ServiceEntry {
  std::string name;  // "smtp", "relay", "127.0.0.1:10025"
  std::string type;  // inet, unix, ...
  std::string command;
  // master.cf maxproc: 0 means no limit, kDefaultProcessLimit "-".
  uint32_t process_limit = kDefaultProcessLimit;
  std::vector<std::string> arguments;
  std::vector<std::pair<std::string, std::string>> overrides;
};

std::string EncodeServices(const std::vector<ServiceEntry>& services);
Result<std::vector<ServiceEntry>> DecodeServices(std::string_view bytes);

// Compact form of pattern-table rules. Regular expressions are stored as
// pattern + flags and recompiled (with JIT) by DecodePatternRules.
std::string EncodePatternRules(const std::vector<PatternRule>& rules);
Result<std::vector<PatternRule>> DecodePatternRules(std::string_view bytes);

}  // namespace postern::mail
