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
#include "runtime/image/image_file.h"

namespace postern::image {

class CdbTable : public mail::LookupTable {
 public:
  // REQUIRES: bytes outlive the table (the mapping is held by `owner`).
  // `fold`: how the keys were folded when written, and queries are now.
  CdbTable(std::shared_ptr<const ImageFile> owner, std::string_view bytes, mail::CaseFold fold)
      : owner_(std::move(owner)), bytes_(bytes), fold_(fold) {}

  // Whether `bytes` is structurally a CDB (header and slot tables in range).
  static bool LooksValid(std::string_view bytes);

  std::optional<std::string> Lookup(std::string_view key) const override;
  // The value for `key` exactly as given (no folding), pointing into the file.
  std::optional<std::string_view> Find(std::string_view key) const;
  // Calls `visit(key, value)` for every record, in file order (the order
  // they were written in: sorted, for image tables).
  void ForEach(const std::function<void(std::string_view, std::string_view)>& visit) const;

 private:
  std::shared_ptr<const ImageFile> owner_;
  std::string_view bytes_;
  mail::CaseFold fold_;
};

}  // namespace postern::image
