// cdb_writer.h: builds a CDB file image in memory with tinycdb, from
// key/value pairs in the order given (callers sort them, for determinism).
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

struct cdb_make;

namespace postern::emit {

class CdbBuilder {
 public:
  CdbBuilder();
  ~CdbBuilder();
  CdbBuilder(const CdbBuilder&) = delete;
  CdbBuilder& operator=(const CdbBuilder&) = delete;

  // REQUIRES: keys are unique.
  void Add(std::string_view key, std::string_view value);
  // The file's bytes; the builder is spent.
  Result<std::string> Finish();

 private:
  int fd_ = -1;
  cdb_make* maker_;
  bool ok_ = false;
  int error_ = 0;
};

// The CDB of a container of (key, value) pairs, in its order.
template <typename Entries>
Result<std::string> WriteCdb(const Entries& entries) {
  CdbBuilder builder;
  for (const auto& [key, value] : entries) builder.Add(key, value);
  return builder.Finish();
}

}  // namespace postern::emit
