// queue_directory.h: the queue as a directory tree (docs/queue.md), for
// the tools that look into it and move messages between its queues:
// `postern queue` now, the queue manager later. Moves are renames within
// one filesystem followed by fsyncs of both directories, so a message is
// always in exactly one queue, also across a crash.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/queue/queue_file.h"
#include "util/status.h"

namespace postern::queue {

// The queues a message can be in, in the order `postern queue list` shows
// them: new mail, mail waiting for its next attempt (the file's mtime is
// that time), mail on hold, and files that do not decode (never delivered).
inline constexpr std::string_view kQueueNames[] = {"incoming", "deferred", "hold", "corrupt"};

// The queue posternd uses for main.cf's queue_directory: that directory,
// except Postfix's own /var/spool/postfix (and an empty value), whose layout
// posternd's would collide with: /var/spool/postern then. The daemon and
// the tools both ask this, so they agree without -q.
inline std::string QueueDirectoryFor(std::string_view queue_directory) {
  if (queue_directory.empty() || queue_directory == "/var/spool/postfix") return "/var/spool/postern";
  return std::string(queue_directory);
}

// Creates the queue directory and its queues when missing, mode 0700 (the
// queue ids and files are nobody else's business), and, when `owner` is
// given, gives them to that uid:gid: root does this before posternd drops
// its privileges. No symbolic link is followed (a queue that is one is an
// error) and no file in a queue is touched: a link or a hard link planted by
// the unprivileged user cannot make root hand it another file.
struct QueueOwner {
  uid_t uid;
  gid_t gid;
};
Status PrepareQueueDirectories(const std::string& root, std::optional<QueueOwner> owner);

// Removes the temporary files (`.tmp-*`) a crash left in the queues: files
// being written when the process stopped, never acknowledged. Only the
// holder of the queue lock may call this, before anything writes the queue:
// a writer's file in progress looks the same.
void RemoveTemporaryFiles(const std::string& root);

struct QueueEntry {
  std::string queue;  // one of kQueueNames
  std::string id;
  uint64_t file_size = 0;
  std::optional<QueuedMessage> message;  // absent when the file does not decode
  std::string error;                     // why it does not
};

// Every message file of every queue (temporary files are not messages),
// sorted by queue, then id (arrival order). A queue or a file that cannot
// be read (permission denied) is an error, not a corrupt message.
Result<std::vector<QueueEntry>> ListQueue(const std::string& root);

// Moves `id` from queue `from` to queue `to`, durably. NotFound when it is
// not in `from` (moved or deleted by someone else first); a message already
// in `to` is never replaced.
Status MoveMessage(const std::string& root, const std::string& id, std::string_view from, std::string_view to);

// Removes `id` from its queue, durably (NotFound: it is not there).
Status DeleteMessage(const std::string& root, const std::string& queue, const std::string& id);

}  // namespace postern::queue
