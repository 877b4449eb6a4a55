// database_rows.h: the rows of a database table as the compiler reads them:
// (key, value) pairs packed in one block of memory, then grouped by key with
// each key's values in the order the database returned them. A million rows
// cost about their bytes plus 8 per row, not a map node and two strings each.
//
// As a lookup table it answers a key with its values joined by
// mail::DatabaseTable::kValueSeparator: the rows table a DatabaseTable reads.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/lookup_table.h"

namespace postern::tables {

class DatabaseRows : public mail::LookupTable {
 public:
  // REQUIRES: not sealed; `key` folded and not empty; neither holds '\0'.
  void Add(std::string_view key, std::string_view value);
  // Groups the rows by key. REQUIRES: called once, before any lookup.
  void Seal();

  std::optional<std::string> Lookup(std::string_view key) const override;
  // Each key, in sorted order, with its values joined as Lookup joins them.
  void ForEach(const std::function<void(std::string_view key, const std::string& values)>& visit) const;
  size_t key_count() const { return keys_; }
  size_t row_count() const { return starts_.size(); }

 private:
  std::string_view KeyAt(size_t index) const;
  std::string_view ValueAt(size_t index) const;
  std::string ValuesFrom(size_t first, size_t* end) const;

  std::string arena_;             // key '\0' value '\0', row after row
  std::vector<uint64_t> starts_;  // where each row starts in arena_; sorted by key once sealed
  size_t keys_ = 0;
};

}  // namespace postern::tables
