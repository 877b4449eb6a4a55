// cdb_table.h: lookups in a CDB file (the format tinycdb writes) held in
// memory, without copying. Keys in an image are stored case-folded, so
// Lookup() folds the query as Postfix's indexed tables do.
//
// Thread-safe: a lookup only reads the mapping.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "mail/case_fold.h"
#include "mail/lookup_table.h"

namespace postern::mail {

class CdbTable : public LookupTable {
 public:
  // REQUIRES: `owner` keeps `bytes` (a file's contents in memory, or a
  // shared read-only mapping of a file, then `mapped`) alive. `fold`: how
  // the keys were folded when written, and queries are now.
  CdbTable(std::shared_ptr<const void> owner, std::string_view bytes, CaseFold fold, bool mapped = false)
      : owner_(std::move(owner)), bytes_(bytes), fold_(fold), mapped_(mapped) {}

  // Whether `bytes` is structurally a CDB (header and slot tables in range).
  static bool LooksValid(std::string_view bytes);

  std::optional<std::string> Lookup(std::string_view key) const override;
  // The value for `key` exactly as given (no folding), pointing into the file.
  std::optional<std::string_view> Find(std::string_view key) const;
  // Calls `visit(key, value)` for every record, in file order (the order
  // they were written in). A mapped table gives back the pages it has
  // read as it goes, so a walk over a large table does not keep the whole
  // file resident.
  void ForEach(const std::function<void(std::string_view, std::string_view)>& visit) const;
  bool ForEachEntry(const EntryVisitor& visit) const override {
    ForEach(visit);
    return true;
  }
  uint64_t size_bytes() const { return bytes_.size(); }

 private:
  std::shared_ptr<const void> owner_;
  std::string_view bytes_;
  CaseFold fold_;
  bool mapped_;
};

}  // namespace postern::mail
