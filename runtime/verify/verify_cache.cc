// verify_cache.cc: see verify_cache.h.
#include "runtime/verify/verify_cache.h"

#include <sqlite3.h>

#include <vector>

namespace postern::verify {
namespace {

// A prepared statement, finalized when it goes.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return stmt_; }
  bool ok() const { return stmt_ != nullptr; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

void BindText(sqlite3_stmt* s, int index, std::string_view text) {
  sqlite3_bind_text(s, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

VerifyEntry EntryOf(sqlite3_stmt* s, int first) {
  VerifyEntry e;
  int status = sqlite3_column_int(s, first);
  e.status = status >= 0 && status <= 3 ? static_cast<mail::AddressStatus>(status) : mail::AddressStatus::kInProgress;
  e.probed = sqlite3_column_int64(s, first + 1);
  e.updated = sqlite3_column_int64(s, first + 2);
  const unsigned char* text = sqlite3_column_text(s, first + 3);
  if (text != nullptr) e.text = reinterpret_cast<const char*>(text);
  return e;
}

}  // namespace

std::string VerifyCachePath(const std::string& queue_directory) { return queue_directory + "/verify_cache.db"; }

Result<std::unique_ptr<VerifyCache>> VerifyCache::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Status::Temporary("address verification cache " + path + ": " + why);
  }
  std::unique_ptr<VerifyCache> cache(new VerifyCache(db));
  sqlite3_busy_timeout(db, 5000);  // the other process's transactions are one read and one write
  // WAL: readers do not wait for the writer; NORMAL: no fsync per change
  // (a crash may forget the last results: the addresses are probed again).
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                          "CREATE TABLE IF NOT EXISTS verify (address TEXT PRIMARY KEY, status INTEGER NOT NULL, "
                          "probed INTEGER NOT NULL, updated INTEGER NOT NULL, text TEXT NOT NULL)"}) {
    if (Status s = cache->Exec(sql); !s.ok()) {
      return Status::Temporary("address verification cache " + path + ": " + s.message());
    }
  }
  return cache;
}

VerifyCache::~VerifyCache() { sqlite3_close(db_); }

std::string VerifyCache::Error(const std::string& what) const { return what + ": " + sqlite3_errmsg(db_); }

Status VerifyCache::Exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return Status::Temporary(Error(sql));
  return Status::Ok();
}

Result<std::optional<VerifyEntry>> VerifyCache::Read(std::string_view address) {
  Statement s(db_, "SELECT status, probed, updated, text FROM verify WHERE address = ?");
  if (!s.ok()) return Status::Temporary(Error("address verification cache"));
  BindText(s.get(), 1, address);
  int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return std::optional<VerifyEntry>(EntryOf(s.get(), 0));
  if (rc == SQLITE_DONE) return std::optional<VerifyEntry>();
  return Status::Temporary(Error("address verification cache"));
}

Status VerifyCache::Apply(std::string_view address, const CacheChange& change) {
  if (change.kind == CacheChange::Kind::kNone) return Status::Ok();
  Statement s(db_,
              change.kind == CacheChange::Kind::kDelete
                  ? "DELETE FROM verify WHERE address = ?"
                  : "INSERT OR REPLACE INTO verify (address, status, probed, updated, text) VALUES (?, ?, ?, ?, ?)");
  if (!s.ok()) return Status::Temporary(Error("address verification cache"));
  BindText(s.get(), 1, address);
  if (change.kind == CacheChange::Kind::kPut) {
    const VerifyEntry& e = change.entry;
    sqlite3_bind_int(s.get(), 2, static_cast<int>(e.status));
    sqlite3_bind_int64(s.get(), 3, e.probed);
    sqlite3_bind_int64(s.get(), 4, e.updated);
    BindText(s.get(), 5, e.text);
  }
  if (sqlite3_step(s.get()) != SQLITE_DONE) return Status::Temporary(Error("address verification cache"));
  return Status::Ok();
}

Status VerifyCache::Change(std::string_view address,
                           const std::function<CacheChange(const std::optional<VerifyEntry>&)>& decide) {
  std::lock_guard lock(mutex_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  Result<std::optional<VerifyEntry>> stored = Read(address);
  Status applied = stored.ok() ? Apply(address, decide(*stored)) : stored.status();
  if (!applied.ok()) {
    Exec("ROLLBACK");
    return applied;
  }
  return Exec("COMMIT");
}

Result<std::optional<VerifyEntry>> VerifyCache::Get(std::string_view address) {
  std::lock_guard lock(mutex_);
  return Read(address);
}

Result<int64_t> VerifyCache::Clean(const std::function<bool(const VerifyEntry&)>& keep) {
  std::lock_guard lock(mutex_);
  if (Status s = Exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  int64_t removed = 0;
  {
    Statement select(db_, "SELECT address, status, probed, updated, text FROM verify");
    Statement remove(db_, "DELETE FROM verify WHERE address = ?");
    if (!select.ok() || !remove.ok()) {
      Exec("ROLLBACK");
      return Status::Temporary(Error("address verification cache"));
    }
    std::vector<std::string> stale;
    while (sqlite3_step(select.get()) == SQLITE_ROW) {
      if (!keep(EntryOf(select.get(), 1))) {
        stale.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(select.get(), 0)));
      }
    }
    for (const std::string& address : stale) {
      sqlite3_reset(remove.get());
      BindText(remove.get(), 1, address);
      if (sqlite3_step(remove.get()) == SQLITE_DONE) ++removed;
    }
  }
  if (Status s = Exec("COMMIT"); !s.ok()) return s;
  return removed;
}

}  // namespace postern::verify
