// queue_writer.h: the writing half of the queue, with group commit.
//
// A session writes its message's file itself, on its own thread, when it
// hands it over (Submit): the encoded file, or the envelope around a body
// already streamed into it (body_spool.h), as `.tmp-<id>`, renamed to
// `<id>`. One syncer thread makes files durable in groups: each syncfs(2)
// of the queue's filesystem covers every file named before it began (one
// journal commit and one device flush, where a file and a directory fsync
// per message would cost two each), and only then is each session told its
// message is stored, and only then may it answer 250. Files are written
// while the previous group is being synced, so a message waits for at most
// the sync in progress and its own. Put the queue on a filesystem of its
// own: syncfs also writes whatever else is dirty there.
//
// Layout: ROOT/incoming/<id> (new mail), ROOT/hold/<id> (HOLD action).
// A failure to write or name a file fails that file at once. A failed
// syncfs fails its group and every file named meanwhile (the error may be
// theirs); failed files are removed, so that nothing the client was told
// to retry is delivered as well. A crash before the syncfs can leave a
// named file that was never acknowledged: intact (the client may send it
// again: a duplicate, never a loss) or cut short (its checksum fails:
// never delivered). ENOSPC/EDQUOT say "no space" (452), the rest "failed"
// (451).
//
// Thread-safe. Completions run on the syncer thread, or on the submitting
// thread for a file that could not be written; they must be short (post
// back to the session's executor).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "runtime/queue/body_spool.h"
#include "util/status.h"

namespace postern::queue {

enum class StoreOutcome { kStored, kNoSpace, kFailed };

// A queue file to put in place: `front` at offset 0, then the body (none:
// `front` is the whole file), then `back`.
struct StagedFile {
  std::string front;
  std::unique_ptr<BodySpool> body;  // finished (BodySpool::Finish() was OK)
  std::string back;
};

class QueueWriter {
 public:
  using Done = std::function<void(StoreOutcome outcome, const std::string& error)>;

  // Creates ROOT/incoming and ROOT/hold when missing and starts the thread.
  static Result<std::unique_ptr<QueueWriter>> Open(const std::string& root);
  ~QueueWriter();  // Stop()s
  QueueWriter(const QueueWriter&) = delete;
  QueueWriter& operator=(const QueueWriter&) = delete;

  void Submit(std::string id, bool hold, StagedFile file, Done done);
  void Submit(std::string id, bool hold, std::string bytes, Done done) {
    Submit(std::move(id), hold, StagedFile{std::move(bytes), nullptr, ""}, std::move(done));
  }
  // A spool for the body of message `id` while it is received: in memory
  // up to kBodyMemoryLimit bytes, then in its file in ROOT/incoming.
  std::unique_ptr<BodySpool> NewBody(const std::string& id) const;
  static constexpr size_t kBodyMemoryLimit = 128 * 1024;

  // Called on the syncer thread after each group with the ids it stored
  // durably in incoming/ (the queue manager's cue). Set before the first
  // Submit.
  void OnStored(std::function<void(std::vector<std::string> ids)> hook) { on_stored_ = std::move(hook); }
  // Whether `id` is being written: its file may have its name already but
  // is not durable, and is removed if its sync fails. Thread-safe.
  bool Settling(const std::string& id) const;
  // Finishes what was submitted, then ends the thread. Submit after Stop
  // fails at once.
  void Stop();

  struct Stats {
    uint64_t batches = 0;
    uint64_t files = 0;
    uint64_t failures = 0;
  };
  Stats stats() const;

 private:
  // A file named and waiting for its sync.
  struct Named {
    std::string id;
    bool hold = false;
    std::string path;
    std::unique_ptr<BodySpool> body;  // a streamed body: its descriptor, for its own error report
    Done done;
  };
  explicit QueueWriter(std::string root);
  // Writes and names the file; an error (errno, and the step) or 0.
  int Write(const std::string& id, bool hold, const StagedFile& file, std::string* path, const char** step) const;
  void Run();
  void Sync(std::vector<Named>& group);

  std::string root_;
  int sync_fd_ = -1;  // ROOT, for syncfs
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<Named> pending_;                // named, not yet in a sync
  std::unordered_set<std::string> settling_;  // ids submitted and not yet answered
  bool stopping_ = false;
  Stats stats_;
  std::function<void(std::vector<std::string>)> on_stored_;
  std::thread thread_;
};

}  // namespace postern::queue
