// queue_writer.cc: see queue_writer.h.
#include "runtime/queue/queue_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/queue/queue_file.h"

namespace postern::queue {
namespace {

bool WriteAt(int fd, std::string_view bytes, uint64_t offset) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

StoreOutcome OutcomeOf(int error) {
  return error == ENOSPC || error == EDQUOT ? StoreOutcome::kNoSpace : StoreOutcome::kFailed;
}

}  // namespace

QueueWriter::QueueWriter(std::string root) : root_(std::move(root)) {}

Result<std::unique_ptr<QueueWriter>> QueueWriter::Open(const std::string& root) {
  for (const std::string& d : {root, root + "/incoming", root + "/hold"}) {
    if (mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::Temporary("mkdir " + d + ": " + std::strerror(errno));
    }
  }
  std::unique_ptr<QueueWriter> writer(new QueueWriter(root));
  writer->sync_fd_ = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (writer->sync_fd_ < 0) return Status::Temporary("open " + root + ": " + std::strerror(errno));
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

QueueWriter::~QueueWriter() {
  Stop();
  if (sync_fd_ >= 0) close(sync_fd_);
}

std::unique_ptr<BodySpool> QueueWriter::NewBody(const std::string& id) const {
  return std::make_unique<BodySpool>(root_ + "/incoming", id, kBodyMemoryLimit, kQueueFileBodyOffset);
}

int QueueWriter::Write(const std::string& id, bool hold, const StagedFile& file, std::string* path,
                       const char** step) const {
  const std::string directory = root_ + (hold ? "/hold" : "/incoming");
  *path = directory + "/.tmp-" + id;
  errno = 0;
  if (file.body && file.body->spilled()) {
    // The body is in its file already: only the envelope around it.
    *path = file.body->path();
    *step = "write";
    if (!WriteAt(file.body->fd(), file.back, file.front.size() + file.body->size()) ||
        !WriteAt(file.body->fd(), file.front, 0)) {
      return errno != 0 ? errno : EIO;
    }
  } else {
    *step = "open";
    int fd = open(path->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return errno;
    std::string_view body = file.body ? file.body->memory() : std::string_view();
    *step = "write";
    bool written = WriteAt(fd, file.front, 0) && WriteAt(fd, body, file.front.size()) &&
                   WriteAt(fd, file.back, file.front.size() + body.size());
    int error = written ? 0 : (errno != 0 ? errno : EIO);
    if (close(fd) != 0 && error == 0) {
      *step = "close";
      error = errno;
    }
    if (error != 0) {
      unlink(path->c_str());
      return error;
    }
  }
  // Never over an existing message: a repeated id must fail, not replace.
  std::string final_path = directory + "/" + id;
  *step = "rename";
  if (renameat2(AT_FDCWD, path->c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE) != 0) {
    int error = errno;
    unlink(path->c_str());
    return error;
  }
  *path = final_path;
  return 0;
}

void QueueWriter::Submit(std::string id, bool hold, StagedFile file, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      done(StoreOutcome::kFailed, "queue writer stopped");
      return;
    }
    settling_.insert(id);  // before it has its name
  }
  std::string path;
  const char* step = "";
  int error = Write(id, hold, file, &path, &step);
  if (error != 0) {
    if (file.body) file.body->Release();  // removed: nothing left for the spool to remove
    {
      std::lock_guard lock(mutex_);
      settling_.erase(id);
      stats_.failures++;
    }
    done(OutcomeOf(error), std::string(step) + " " + path + ": " + std::strerror(error));
    return;
  }
  std::lock_guard lock(mutex_);
  pending_.push_back(Named{std::move(id), hold, std::move(path), std::move(file.body), std::move(done)});
  if (pending_.size() == 1) wake_.notify_one();
}

void QueueWriter::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

QueueWriter::Stats QueueWriter::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool QueueWriter::Settling(const std::string& id) const {
  std::lock_guard lock(mutex_);
  return settling_.count(id) != 0;
}

void QueueWriter::Run() {
  std::vector<Named> group;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is synced
      group.swap(pending_);
    }
    Sync(group);
    group.clear();
  }
}

void QueueWriter::Sync(std::vector<Named>& group) {
  // One syncfs for the group: every file's data and name at once. Its
  // error covers every writeback since the previous syncfs through
  // `sync_fd_`: this group's, and perhaps that of files named meanwhile,
  // which then fail as well.
  int error = syncfs(sync_fd_) != 0 ? errno : 0;
  const char* step = "syncfs";
  std::vector<Named> also;
  if (error != 0) {
    std::lock_guard lock(mutex_);
    also.swap(pending_);
  }
  for (Named& n : also) group.push_back(std::move(n));
  std::vector<std::string> stored;
  uint64_t failures = 0;
  for (Named& n : group) {
    int failed = error;
    // A streamed body was written before this sync began: a writeback
    // error then may have been reported to an earlier syncfs, but is
    // reported to the file's own descriptor too (its data is on disk now,
    // so this costs nothing more).
    if (failed == 0 && n.body && n.body->fd() >= 0 && fdatasync(n.body->fd()) != 0) failed = errno;
    if (n.body) n.body->Release();  // its file has its name: the spool no longer owns it
    if (failed == 0) {
      n.done(StoreOutcome::kStored, "");
      if (!n.hold) stored.push_back(n.id);
      continue;
    }
    // Removed, so that what the client will send again is not delivered as well.
    unlink(n.path.c_str());
    ++failures;
    n.done(OutcomeOf(failed),
           std::string(error != 0 ? step : "fdatasync") + " " + n.path + ": " + std::strerror(failed));
  }
  {
    std::lock_guard lock(mutex_);
    for (const Named& n : group) settling_.erase(n.id);
    stats_.batches++;
    stats_.files += group.size();
    stats_.failures += failures;
  }
  if (on_stored_ && !stored.empty()) on_stored_(std::move(stored));
}

}  // namespace postern::queue
