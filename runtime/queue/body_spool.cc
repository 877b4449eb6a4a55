// body_spool.cc: see body_spool.h.
#include "runtime/queue/body_spool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace postern::queue {

BodySpool::BodySpool(std::string directory, std::string id, size_t memory_limit, uint64_t offset)
    : directory_(std::move(directory)), id_(std::move(id)), memory_limit_(memory_limit), offset_(offset) {}

BodySpool::~BodySpool() {
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());
  }
}

bool BodySpool::no_space() const { return error_ == ENOSPC || error_ == EDQUOT; }

void BodySpool::Append(std::string_view bytes) {
  size_ += bytes.size();
  if (error_ != 0) return;
  hash_.Update(bytes);
  memory_.append(bytes);
  if (memory_.size() < memory_limit_ || directory_.empty()) return;
  if (fd_ < 0) Spill();
  Flush();
}

void BodySpool::Fail(const char* step) {
  if (error_ != 0) return;
  error_ = errno != 0 ? errno : EIO;
  failed_step_ = step;
  memory_.clear();
  memory_.shrink_to_fit();
}

void BodySpool::Spill() {
  path_ = directory_ + "/.tmp-" + id_;
  errno = 0;
  fd_ = open(path_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) Fail("create");
}

void BodySpool::Flush() {
  if (fd_ < 0 || error_ != 0) return;
  size_t done = 0;
  while (done < memory_.size()) {
    ssize_t n = pwrite(fd_, memory_.data() + done, memory_.size() - done, static_cast<off_t>(offset_ + written_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Fail("write");
      return;
    }
    done += static_cast<size_t>(n);
    written_ += static_cast<uint64_t>(n);
  }
  memory_.clear();  // the capacity stays: it is the buffer of the next write
}

Result<std::string> BodySpool::Read(uint64_t position, size_t n) const {
  if (error_ != 0) return Status::Temporary(failed_step_ + " " + path_ + ": " + std::strerror(error_));
  std::string out;
  if (position >= size_) return out;
  n = static_cast<size_t>(std::min<uint64_t>(n, size_ - position));
  out.resize(n);
  size_t done = 0;
  while (done < n && position + done < written_) {  // the part in the file
    size_t want = static_cast<size_t>(std::min<uint64_t>(n - done, written_ - (position + done)));
    ssize_t got = pread(fd_, out.data() + done, want, static_cast<off_t>(offset_ + position + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return Status::Temporary("read " + path_ + ": " + std::strerror(got < 0 ? errno : EIO));
    done += static_cast<size_t>(got);
  }
  if (done < n) memory_.copy(out.data() + done, n - done, position + done - written_);
  return out;
}

Status BodySpool::Finish() {
  Flush();
  digest_ = hash_.Final();
  if (error_ == 0) return Status::Ok();
  std::string path = path_.empty() ? directory_ + "/.tmp-" + id_ : path_;
  return Status::Temporary(failed_step_ + " " + path + ": " + std::strerror(error_));
}

void BodySpool::Release() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

}  // namespace postern::queue
