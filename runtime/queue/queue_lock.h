// queue_lock.h: one posternd per queue directory. The daemon holds an
// exclusive flock(2) on QUEUE/posternd.pid for as long as it runs (the lock
// goes with the process, however it ends); a second daemon on the same queue
// is refused before it binds a port or touches the control socket, with the
// pid of the one that holds it.
//
// Thread-compatible; meant to be held by the daemon's main object.
#pragma once

#include <memory>
#include <string>

#include "util/status.h"

namespace postern::queue {

class QueueLock {
 public:
  // REQUIRES: `queue_directory` exists (PrepareQueueDirectories).
  // Fails (permanently) when another
  // process holds the lock.
  static Result<std::unique_ptr<QueueLock>> Acquire(const std::string& queue_directory);
  ~QueueLock();
  QueueLock(const QueueLock&) = delete;
  QueueLock& operator=(const QueueLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  QueueLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace postern::queue
