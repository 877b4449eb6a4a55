// verify_cache.h: the address verification cache (Postfix's
// address_verify_map), one SQLite database shared by posternd's two
// processes: the SMTP process asks it and records the probes it sends;
// the delivery process records what the probes found. Each change is a
// read and a write in one transaction (BEGIN IMMEDIATE), so the two never
// undo each other's. Losing the file loses only what was learned: the
// addresses are probed again.
//
// Thread-safe (one connection, behind a mutex).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "runtime/verify/verify_rules.h"
#include "util/status.h"

struct sqlite3;

namespace postern::verify {

class VerifyCache {
 public:
  // Opens (creating) the database at `path`.
  static Result<std::unique_ptr<VerifyCache>> Open(const std::string& path);
  ~VerifyCache();
  VerifyCache(const VerifyCache&) = delete;
  VerifyCache& operator=(const VerifyCache&) = delete;

  // Reads the address's entry and applies the change `decide` makes of it,
  // atomically.
  Status Change(std::string_view address,
                const std::function<CacheChange(const std::optional<VerifyEntry>& stored)>& decide);
  Result<std::optional<VerifyEntry>> Get(std::string_view address);
  // Removes every entry `keep` refuses; the number removed.
  Result<int64_t> Clean(const std::function<bool(const VerifyEntry&)>& keep);

 private:
  explicit VerifyCache(sqlite3* db) : db_(db) {}
  Result<std::optional<VerifyEntry>> Read(std::string_view address);
  Status Apply(std::string_view address, const CacheChange& change);
  Status Exec(const char* sql);
  std::string Error(const std::string& what) const;

  std::mutex mutex_;
  sqlite3* db_;
};

// Where posternd keeps the cache: in the queue directory.
std::string VerifyCachePath(const std::string& queue_directory);

}  // namespace postern::verify
