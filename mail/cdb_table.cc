// cdb_table.cc: see cdb_table.h; the format is cdb_format.h's.
#include "mail/cdb_table.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "mail/cdb_format.h"
#include "util/strings.h"

namespace postern::mail {
namespace {

constexpr uint64_t kHeaderSize = kCdbHeaderSize;
inline uint32_t U32(const char* p) { return CdbU32(p); }
inline uint32_t Hash(std::string_view key) { return CdbHash(key); }

}  // namespace

bool CdbTable::LooksValid(std::string_view bytes) {
  if (bytes.size() < kHeaderSize) return false;
  for (size_t i = 0; i < 256; ++i) {
    uint64_t pos = U32(bytes.data() + 8 * i);
    uint64_t len = U32(bytes.data() + 8 * i + 4);
    if (len != 0 && (pos < kHeaderSize || pos + 8 * len > bytes.size())) return false;
  }
  return true;
}

std::optional<std::string_view> CdbTable::Find(std::string_view key) const {
  const size_t size = bytes_.size();
  const char* base = bytes_.data();
  uint32_t h = Hash(key);
  const char* header = base + 8 * (h & 0xff);
  uint64_t table = U32(header);
  uint64_t slots = U32(header + 4);
  if (slots == 0 || table + 8 * slots > size) return std::nullopt;
  uint64_t slot = (h >> 8) % slots;
  for (uint64_t probe = 0; probe < slots; ++probe) {
    const char* s = base + table + 8 * slot;
    uint32_t slot_hash = U32(s);
    uint64_t record = U32(s + 4);
    if (record == 0) return std::nullopt;  // empty slot: not present
    if (slot_hash == h && record + 8 <= size) {
      uint64_t klen = U32(base + record);
      uint64_t vlen = U32(base + record + 4);
      if (record + 8 + klen + vlen <= size && klen == key.size() && std::string_view(base + record + 8, klen) == key) {
        return std::string_view(base + record + 8 + klen, vlen);
      }
    }
    if (++slot == slots) slot = 0;
  }
  return std::nullopt;
}

void CdbTable::ForEach(const std::function<void(std::string_view, std::string_view)>& visit) const {
  // Records run from the end of the header to the first hash table.
  uint64_t end = bytes_.size();
  for (size_t i = 0; i < 256; ++i) {
    if (U32(bytes_.data() + 8 * i + 4) != 0) end = std::min<uint64_t>(end, U32(bytes_.data() + 8 * i));
  }
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  constexpr uint64_t kReleaseEvery = 8 << 20;
  uint64_t released = 0;  // pages before this offset were given back
  uint64_t pos = kHeaderSize;
  while (pos + 8 <= end) {
    uint64_t klen = U32(bytes_.data() + pos);
    uint64_t vlen = U32(bytes_.data() + pos + 4);
    if (pos + 8 + klen + vlen > end) return;
    visit(std::string_view(bytes_.data() + pos + 8, klen), std::string_view(bytes_.data() + pos + 8 + klen, vlen));
    pos += 8 + klen + vlen;
    if (mapped_ && pos - released >= kReleaseEvery) {
      // A shared file mapping: the pages come back from the page cache
      // when they are used again.
      uint64_t upto = pos / page * page;
      madvise(const_cast<char*>(bytes_.data()) + released, upto - released, MADV_DONTNEED);
      released = upto;
    }
  }
}

std::optional<std::string> CdbTable::Lookup(std::string_view key) const {
  std::optional<std::string_view> value = MayFold(key, fold_) ? Find(FoldCase(key, fold_)) : Find(key);
  if (!value) return std::nullopt;
  return std::string(*value);
}

}  // namespace postern::mail
