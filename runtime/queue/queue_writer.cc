// queue_writer.cc: see queue_writer.h.
#include "runtime/queue/queue_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "runtime/queue/queue_file.h"

namespace postern::queue {
namespace {

struct Item {
  std::string directory;
  std::string temporary;
  std::string final_path;
  int fd = -1;
  int error = 0;  // errno of the first failure
  const char* step = "";
  bool renamed = false;
};

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

void Fail(Item* item, const char* step) {
  if (item->error == 0) {
    item->error = errno != 0 ? errno : EIO;
    item->step = step;
  }
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

void QueueWriter::Submit(std::string id, bool hold, StagedFile file, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      pending_.push_back(Request{std::move(id), hold, std::move(file), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(StoreOutcome::kFailed, "queue writer stopped");
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
  std::vector<Request> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is written
      batch.swap(pending_);
      for (const Request& r : batch) settling_.insert(r.id);
    }
    WriteBatch(batch);
    {
      std::lock_guard lock(mutex_);
      settling_.clear();
    }
    batch.clear();
  }
}

void QueueWriter::WriteBatch(std::vector<Request>& batch) {
  std::vector<Item> items(batch.size());
  // 1. Write every file under its temporary name (a streamed body is in
  //    its file already: only the envelope around it is written).
  for (size_t i = 0; i < batch.size(); ++i) {
    Item& it = items[i];
    const StagedFile& file = batch[i].file;
    it.directory = root_ + (batch[i].hold ? "/hold" : "/incoming");
    it.final_path = it.directory + "/" + batch[i].id;
    errno = 0;
    if (file.body && file.body->spilled()) {
      it.temporary = file.body->path();
      uint64_t back_offset = file.front.size() + file.body->size();
      if (!WriteAt(file.body->fd(), file.back, back_offset) || !WriteAt(file.body->fd(), file.front, 0)) {
        Fail(&it, "write");
      }
      continue;
    }
    it.temporary = it.directory + "/.tmp-" + batch[i].id;
    it.fd = open(it.temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (it.fd < 0) {
      Fail(&it, "open");
      continue;
    }
    std::string_view body = file.body ? file.body->memory() : std::string_view();
    if (!WriteAt(it.fd, file.front, 0) || !WriteAt(it.fd, body, file.front.size()) ||
        !WriteAt(it.fd, file.back, file.front.size() + body.size())) {
      Fail(&it, "write");
    }
  }
  // 2. Give them their names (never over an existing message: a repeated id
  //    must fail, not replace), then make contents and names durable.
  //    Nothing is acknowledged before all of it.
  for (Item& it : items) {
    if (it.error != 0) continue;
    if (renameat2(AT_FDCWD, it.temporary.c_str(), AT_FDCWD, it.final_path.c_str(), RENAME_NOREPLACE) == 0) {
      it.renamed = true;
    } else {
      Fail(&it, "rename");
    }
  }
  bool any_renamed = false;
  for (const Item& it : items) any_renamed = any_renamed || it.renamed;
  // One syncfs for the batch: every file's data and name at once (one
  // journal commit, or one writeback pass without a journal, and one device
  // flush), instead of a file and a directory fsync per message. Its error
  // covers every writeback since the previous syncfs through `sync_fd_`
  // (opened once, with the writer), so all of this batch's. The queue should live on a filesystem of its own,
  // so that this writes nothing else.
  int sync_error = 0;
  if (any_renamed && syncfs(sync_fd_) != 0) sync_error = errno;
  for (size_t i = 0; i < batch.size(); ++i) {
    Item& it = items[i];
    if (it.fd >= 0 && close(it.fd) != 0) Fail(&it, "close");
    it.fd = -1;
    // A streamed body was written before the batch: a writeback error then
    // may have been reported to an earlier syncfs, but is reported to the
    // file's own descriptor too (its data is on disk after the syncfs, so
    // this costs nothing more).
    const std::unique_ptr<BodySpool>& body = batch[i].file.body;
    if (it.renamed && it.error == 0 && body && body->spilled() && fdatasync(body->fd()) != 0) Fail(&it, "fdatasync");
    if (it.renamed && it.error == 0 && sync_error != 0) {
      it.error = sync_error;
      it.step = "syncfs";
    }
  }
  // A file that failed on the way is removed under whichever name it has,
  // so that what the client will send again is not delivered as well.
  for (size_t i = 0; i < batch.size(); ++i) {
    const Item& it = items[i];
    if (it.error != 0) unlink((it.renamed ? it.final_path : it.temporary).c_str());
    if (batch[i].file.body) batch[i].file.body->Release();  // named, or removed
  }
  uint64_t failures = 0;
  std::vector<std::string> stored;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Item& it = items[i];
    if (it.error == 0) {
      batch[i].done(StoreOutcome::kStored, "");
      if (!batch[i].hold) stored.push_back(batch[i].id);
      continue;
    }
    ++failures;
    StoreOutcome outcome = it.error == ENOSPC || it.error == EDQUOT ? StoreOutcome::kNoSpace : StoreOutcome::kFailed;
    batch[i].done(outcome, std::string(it.step) + " " + it.temporary + ": " + std::strerror(it.error));
  }
  if (on_stored_ && !stored.empty()) on_stored_(std::move(stored));
  std::lock_guard lock(mutex_);
  stats_.batches++;
  stats_.files += batch.size();
  stats_.failures += failures;
}

}  // namespace postern::queue
