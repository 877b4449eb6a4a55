// active_queue_file.cc: see active_queue_file.h.
#include "runtime/queue/active_queue_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "runtime/queue/queue_directory.h"
#include "util/durable_file.h"
#include "util/read_file.h"

namespace postern::queue {
namespace {

Status Failed(const std::string& what, const std::string& path) {
  return Status::Temporary(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<ActiveQueueFile> ActiveQueueFile::Open(const std::string& root, std::string_view queue, const std::string& id,
                                              QueuedMessage* message) {
  std::string path = root + "/" + std::string(queue) + "/" + id;
  int fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  // Not ours to write (planted by another user): read, to be delivered or
  // found corrupt; what would be appended fails and is logged.
  if (fd < 0 && errno == EACCES) fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path);
    return Failed("open", path);
  }
  ActiveQueueFile file(fd, root, std::string(queue), id);
  Result<std::string> bytes = ReadOpenRegularFile(fd, path);
  if (!bytes.ok()) return bytes.status();
  Result<DecodedQueueFile> decoded = DecodeQueueFile(*bytes);
  if (!decoded.ok()) return decoded.status();
  if (decoded->message.id != id) {
    return Status::Permanent("corrupt queue file: its queue id is " + decoded->message.id);
  }
  if (decoded->version < kQueueFileVersion) {
    // Written by an older posternd: records can only follow the current
    // format, so the file is written again in it, once (unless an admin
    // deleted it meanwhile).
    struct stat st;
    if (fstat(fd, &st) != 0) return Failed("fstat", path);
    if (st.st_nlink == 0) return Status::NotFound(path);
    std::string directory = root + "/" + std::string(queue);
    if (Status s = WriteFileDurably(directory, id, EncodeQueueFile(decoded->message), 0600); !s.ok()) return s;
    return Open(root, queue, id, message);
  }
  if (decoded->intact_size < bytes->size() && ftruncate(fd, static_cast<off_t>(decoded->intact_size)) != 0) {
    return Failed("truncate", path);
  }
  *message = std::move(decoded->message);
  return file;
}

ActiveQueueFile::ActiveQueueFile(ActiveQueueFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      root_(std::move(other.root_)),
      queue_(std::move(other.queue_)),
      id_(std::move(other.id_)) {}

ActiveQueueFile& ActiveQueueFile::operator=(ActiveQueueFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    root_ = std::move(other.root_);
    queue_ = std::move(other.queue_);
    id_ = std::move(other.id_);
  }
  return *this;
}

ActiveQueueFile::~ActiveQueueFile() {
  if (fd_ >= 0) close(fd_);
}

Status ActiveQueueFile::Append(std::string_view records) {
  std::string path = root_ + "/" + queue_ + "/" + id_;
  off_t end = lseek(fd_, 0, SEEK_END);
  if (end < 0) return Failed("seek", path);
  size_t done = 0;
  while (done < records.size()) {
    ssize_t n = pwrite(fd_, records.data() + done, records.size() - done, end + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Status failed = Failed("append to", path);
      // Half a record is cut off, so that the next append starts clean
      // (failing that, readers stop at it and the next load cuts it off).
      static_cast<void>(ftruncate(fd_, end) == 0);
      return failed;
    }
    done += static_cast<size_t>(n);
  }
  if (fdatasync(fd_) != 0) return Failed("fdatasync", path);
  return Status::Ok();
}

Status ActiveQueueFile::Defer(int64_t next_attempt) {
  std::string path = root_ + "/" + queue_ + "/" + id_;
  struct timespec times[2] = {{next_attempt, 0}, {next_attempt, 0}};
  if (futimens(fd_, times) != 0) return Failed("set the next attempt time of", path);
  if (queue_ == "deferred") {
    // Still there? (Requeued or held by an admin: it is not ours to move.)
    struct stat named, open;
    if (stat(path.c_str(), &named) != 0 || fstat(fd_, &open) != 0 || named.st_ino != open.st_ino) {
      return Status::NotFound(path);
    }
    return Status::Ok();
  }
  Status moved = MoveMessage(root_, id_, queue_, "deferred");
  if (moved.ok()) queue_ = "deferred";
  return moved;
}

Status ActiveQueueFile::Remove() {
  std::string path = root_ + "/" + queue_ + "/" + id_;
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Failed("remove", path);
  return Status::Ok();
}

}  // namespace postern::queue
