// cdb_format.h: the CDB file format (D. J. Bernstein's constant database,
// as tinycdb and Postfix's cdb: tables write it), defined once for the
// writer (cdb_writer.h) and the reader (cdb_table.h).
//
//   header   256 (position, slot count) pairs of u32: hash table i holds
//            the keys whose hash & 0xff == i
//   records  key length (u32), value length (u32), key, value; from
//            offset 2048, in the order they were added
//   tables   per hash table, 2 * its key count slots of (hash, record
//            position) u32 pairs, a key's slot probed linearly from
//            (hash >> 8) % slot count; position 0 marks an empty slot
//
// Integers are little-endian; a file is at most 4 GiB.
#pragma once

#include <cstdint>
#include <string_view>

namespace postern::mail {

inline constexpr uint64_t kCdbHeaderSize = 2048;
inline constexpr uint64_t kCdbMaxSize = 0xffffffffu;

// djb's hash: h = 5381; h = ((h << 5) + h) ^ c.
inline uint32_t CdbHash(std::string_view key) {
  uint32_t h = 5381;
  for (char c : key) h = ((h << 5) + h) ^ static_cast<unsigned char>(c);
  return h;
}

inline uint32_t CdbU32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint32_t>(u[0]) | static_cast<uint32_t>(u[1]) << 8 | static_cast<uint32_t>(u[2]) << 16 |
         static_cast<uint32_t>(u[3]) << 24;
}

inline void CdbPutU32(char* p, uint32_t v) {
  p[0] = static_cast<char>(v & 0xff);
  p[1] = static_cast<char>((v >> 8) & 0xff);
  p[2] = static_cast<char>((v >> 16) & 0xff);
  p[3] = static_cast<char>((v >> 24) & 0xff);
}

}  // namespace postern::mail
