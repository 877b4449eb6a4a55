// database_rows.cc: see database_rows.h.
#include "compiler/tables/database_rows.h"

#include <algorithm>

#include "mail/database_table.h"

namespace postern::tables {

void DatabaseRows::Add(std::string_view key, std::string_view value) {
  starts_.push_back(arena_.size());
  arena_.append(key);
  arena_.push_back('\0');
  arena_.append(value);
  arena_.push_back('\0');
}

std::string_view DatabaseRows::KeyAt(size_t index) const {
  const char* start = arena_.data() + starts_[index];
  return std::string_view(start);
}

std::string_view DatabaseRows::ValueAt(size_t index) const {
  std::string_view key = KeyAt(index);
  return std::string_view(key.data() + key.size() + 1);
}

void DatabaseRows::Seal() {
  arena_.shrink_to_fit();
  starts_.shrink_to_fit();
  std::stable_sort(starts_.begin(), starts_.end(), [this](uint64_t a, uint64_t b) {
    return std::string_view(arena_.data() + a) < std::string_view(arena_.data() + b);
  });
  keys_ = 0;
  for (size_t i = 0; i < starts_.size(); ++i) {
    if (i == 0 || KeyAt(i) != KeyAt(i - 1)) ++keys_;
  }
}

std::string DatabaseRows::ValuesFrom(size_t first, size_t* end) const {
  std::string values;
  std::string_view key = KeyAt(first);
  size_t i = first;
  for (; i < starts_.size() && KeyAt(i) == key; ++i) {
    if (i > first) values += mail::DatabaseTable::kValueSeparator;
    values += ValueAt(i);
  }
  *end = i;
  return values;
}

std::optional<std::string> DatabaseRows::Lookup(std::string_view key) const {
  auto it = std::lower_bound(starts_.begin(), starts_.end(), key, [this](uint64_t start, std::string_view k) {
    return std::string_view(arena_.data() + start) < k;
  });
  if (it == starts_.end()) return std::nullopt;
  size_t first = static_cast<size_t>(it - starts_.begin());
  if (KeyAt(first) != key) return std::nullopt;
  size_t end = 0;
  return ValuesFrom(first, &end);
}

void DatabaseRows::ForEach(const std::function<void(std::string_view, const std::string&)>& visit) const {
  for (size_t i = 0; i < starts_.size();) {
    size_t end = 0;
    std::string values = ValuesFrom(i, &end);
    visit(KeyAt(i), values);
    i = end;
  }
}

}  // namespace postern::tables
