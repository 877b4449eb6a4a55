// cdb_writer.h: writes a CDB file (cdb_format.h) record by record, into
// memory or through a buffer to a file, so a table of any size is written
// without being held: the writer keeps 8 bytes per record (its hash and
// position), and with `unique_keys` an index of 4 bytes per slot (two
// slots per record at most) that finds a key added before: the stored key
// is compared, read back from the buffer or the file, only when the
// hashes agree.
//
// Records stay in the order they were added; the same records in the same
// order give the same bytes. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::mail {

class CdbWriter {
 public:
  // Into memory: Finish() leaves the file's bytes in bytes().
  explicit CdbWriter(bool unique_keys = false);
  // Into `fd`, an empty file opened for writing (not owned).
  CdbWriter(int fd, bool unique_keys);
  CdbWriter(const CdbWriter&) = delete;
  CdbWriter& operator=(const CdbWriter&) = delete;

  // Adds a record. With `unique_keys`, a key added before is not added
  // again: false, and the first record stands (as postmap keeps the first
  // of duplicate keys). An error when the file cannot be written or would
  // pass 4 GiB.
  Result<bool> Add(std::string_view key, std::string_view value);
  // Writes the hash tables and the header; the file's size.
  Result<uint64_t> Finish();

  uint64_t count() const { return count_; }  // records added
  // REQUIRES: an in-memory writer after Finish().
  std::string& bytes() { return buffer_; }

 private:
  struct Record {
    uint32_t hash;
    uint32_t position;
  };
  Status Write(std::string_view data);
  Status Flush();
  // The key of record `index`, from the buffer or read back from the file.
  Result<std::string_view> KeyOf(size_t index, std::string* scratch) const;
  Result<bool> Seen(std::string_view key, uint32_t hash);
  void Grow();

  int fd_ = -1;
  bool unique_keys_;
  std::string buffer_;
  uint64_t buffer_offset_ = 0;  // where buffer_[0] is in the file
  uint64_t size_ = 0;           // bytes added so far
  uint64_t count_ = 0;
  std::vector<Record> records_;
  std::vector<uint32_t> index_;  // unique_keys: record number + 1 per slot, 0 empty
};

// The CDB of a container of (key, value) pairs, in its order, in memory.
template <typename Entries>
Result<std::string> WriteCdb(const Entries& entries) {
  CdbWriter writer;
  for (const auto& [key, value] : entries) {
    if (auto added = writer.Add(key, value); !added.ok()) return added.status();
  }
  if (auto size = writer.Finish(); !size.ok()) return size.status();
  return std::move(writer.bytes());
}

}  // namespace postern::mail
