// active_queue_file.h: a queued message's file while the queue manager
// delivers it. The file stays open from the load to the end: what the
// deliveries change is appended to that open file (queue_file.h records),
// and its name changes only by renames and an unlink that fail when the
// file is no longer where the queue manager left it. So `postern queue
// hold`, `release`, `requeue` or `delete` at any moment of a delivery never
// brings back a deleted message, never leaves one in two queues, and never
// loses what was recorded: a held message keeps its delivered recipients
// delivered, wherever its file is now.
//
// Thread-compatible: one queue manager thread uses it at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/queue/queue_file.h"
#include "util/status.h"

namespace postern::queue {

class ActiveQueueFile {
 public:
  // Opens ROOT/QUEUE/ID (never through a symbolic link), decodes it into
  // `message`, and cuts off a record a crash left half-written. NotFound
  // when it is gone; Permanent when it does not decode or names another
  // queue id (the caller moves it to the corrupt queue); Temporary for an
  // I/O error.
  static Result<ActiveQueueFile> Open(const std::string& root, std::string_view queue, const std::string& id,
                                      QueuedMessage* message);
  ActiveQueueFile(ActiveQueueFile&& other) noexcept;
  ActiveQueueFile& operator=(ActiveQueueFile&& other) noexcept;
  ~ActiveQueueFile();

  // Appends `records` and makes them durable.
  Status Append(std::string_view records);
  // Sets the next attempt time (the file's mtime) and moves the file to
  // deferred/ when it is elsewhere. NotFound when an admin moved or deleted
  // it meanwhile: it is then left where it is.
  Status Defer(int64_t next_attempt);
  // Removes the file: the message is finished. Gone already is no error.
  // The directory is not synced (as Postfix does not): a crash right after
  // may bring the file back, and what it still says is open is delivered
  // again; a duplicate, never a loss, and no journal commit per message.
  Status Remove();

  const std::string& queue() const { return queue_; }

 private:
  ActiveQueueFile(int fd, std::string root, std::string queue, std::string id)
      : fd_(fd), root_(std::move(root)), queue_(std::move(queue)), id_(std::move(id)) {}

  int fd_ = -1;
  std::string root_, queue_, id_;
};

}  // namespace postern::queue
