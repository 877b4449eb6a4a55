// queue_lock.h: one posternd per queue directory. The daemon holds an
// exclusive flock(2) on QUEUE/posternd.pid for as long as it runs (the lock
// goes with the process, however it ends); a second daemon on the same queue
// is refused before it binds a port or touches the control socket, with the
// pid of the one that holds it. A restart right after a crash waits for the
// dead daemon's delivery process to go.
//
// Thread-compatible; meant to be held by the daemon's main object.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "util/status.h"

namespace postern::queue {

class QueueLock {
 public:
  // REQUIRES: `queue_directory` exists (PrepareQueueDirectories).
  // Fails (permanently) when another process holds the lock. When the
  // posternd the lock file names is dead (a crash), its delivery process
  // still holds the lock until it has followed it: that is waited for, up
  // to `wait_for_dead_holder`.
  static Result<std::unique_ptr<QueueLock>> Acquire(
      const std::string& queue_directory, std::chrono::milliseconds wait_for_dead_holder = std::chrono::seconds(10));
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
