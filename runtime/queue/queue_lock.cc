// queue_lock.cc: see queue_lock.h.
#include "runtime/queue/queue_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::queue {

Result<std::unique_ptr<QueueLock>> QueueLock::Acquire(const std::string& queue_directory) {
  std::string path = queue_directory + "/posternd.pid";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return Status::Permanent(path + ": " + std::strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    char pid[32] = {};
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    close(fd);
    std::string holder = n > 0 ? std::string(pid, static_cast<size_t>(n)) : "";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    if (error == EWOULDBLOCK) {
      return Status::Permanent("queue " + queue_directory + " is in use by another posternd" +
                               (holder.empty() ? "" : " (pid " + holder + ")"));
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
