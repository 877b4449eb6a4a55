// queue_lock.cc: see queue_lock.h.
#include "runtime/queue/queue_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace postern::queue {

namespace {

// The pid the lock file names, 0 when there is none.
pid_t Holder(int fd) {
  char text[32] = {};
  ssize_t n = pread(fd, text, sizeof text - 1, 0);
  return n > 0 ? static_cast<pid_t>(std::atol(text)) : 0;
}

}  // namespace

Result<std::unique_ptr<QueueLock>> QueueLock::Acquire(const std::string& queue_directory,
                                                      std::chrono::milliseconds wait_for_dead_holder) {
  std::string path = queue_directory + "/posternd.pid";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::Permanent(path + ": " + std::strerror(errno));
  auto deadline = std::chrono::steady_clock::now() + wait_for_dead_holder;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    pid_t holder = Holder(fd);
    // A posternd that died leaves its delivery process to follow it
    // (PR_SET_PDEATHSIG), which holds the lock until it has exited: a
    // restart right after a crash waits for that, not for a live daemon.
    bool holder_dead = holder > 0 && kill(holder, 0) != 0 && errno == ESRCH;
    if (error == EWOULDBLOCK && holder_dead && std::chrono::steady_clock::now() < deadline) {
      usleep(20000);
      continue;
    }
    close(fd);
    if (error == EWOULDBLOCK) {
      return Status::Permanent("queue " + queue_directory + " is in use by another posternd" +
                               (holder > 0 ? " (pid " + std::to_string(holder) + ")" : ""));
    }
    return Status::Permanent(path + ": lock: " + std::strerror(error));
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    int error = errno;
    close(fd);
    return Status::Permanent(path + ": " + std::strerror(error));
  }
  return std::unique_ptr<QueueLock>(new QueueLock(fd, std::move(path)));
}

QueueLock::~QueueLock() { close(fd_); }

}  // namespace postern::queue
