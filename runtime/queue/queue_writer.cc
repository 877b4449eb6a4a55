// queue_writer.cc: see queue_writer.h.
#include "runtime/queue/queue_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <algorithm>
#include <cstring>

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

void Fail(Item* item, const char* step) {
  if (item->error == 0) {
    item->error = errno != 0 ? errno : EIO;
    item->step = step;
  }
}

int SyncPath(const std::string& directory) {
  int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  int rc = fsync(fd) == 0 ? 0 : errno;
  close(fd);
  return rc;
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
  writer->thread_ = std::thread([w = writer.get()] { w->Run(); });
  return writer;
}

QueueWriter::~QueueWriter() { Stop(); }

void QueueWriter::Submit(std::string id, bool hold, std::string bytes, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      pending_.push_back(Request{std::move(id), hold, std::move(bytes), std::move(done)});
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

void QueueWriter::Run() {
  std::vector<Request> batch;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping, and everything is written
      batch.swap(pending_);
    }
    WriteBatch(batch);
    batch.clear();
  }
}

void QueueWriter::WriteBatch(std::vector<Request>& batch) {
  std::vector<Item> items(batch.size());
  // 1. Write every file under its temporary name.
  for (size_t i = 0; i < batch.size(); ++i) {
    Item& it = items[i];
    it.directory = root_ + (batch[i].hold ? "/hold" : "/incoming");
    it.temporary = it.directory + "/.tmp-" + batch[i].id;
    it.final_path = it.directory + "/" + batch[i].id;
    errno = 0;
    it.fd = open(it.temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (it.fd < 0) {
      Fail(&it, "open");
      continue;
    }
    const std::string& bytes = batch[i].bytes;
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(it.fd, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        Fail(&it, "write");
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  // 2. Give them their names (never over an existing message: a repeated id
  //    must fail, not replace), then make contents and names durable. On
  //    journalling filesystems the first fsync commits the creations and
  //    renames of the whole batch, so the rest, and the directory fsyncs,
  //    find little left to do. Nothing is acknowledged before all of it.
  std::vector<std::string> directories;
  for (Item& it : items) {
    if (it.error == 0) {
      if (renameat2(AT_FDCWD, it.temporary.c_str(), AT_FDCWD, it.final_path.c_str(), RENAME_NOREPLACE) == 0) {
        it.renamed = true;
        if (std::find(directories.begin(), directories.end(), it.directory) == directories.end()) {
          directories.push_back(it.directory);
        }
      } else {
        Fail(&it, "rename");
      }
    }
  }
  for (Item& it : items) {
    if (it.fd < 0) continue;
    if (it.error == 0 && fsync(it.fd) != 0) Fail(&it, "fsync");
    if (close(it.fd) != 0) Fail(&it, "close");
    it.fd = -1;
  }
  for (const std::string& directory : directories) {
    int error = SyncPath(directory);
    if (error == 0) continue;
    for (Item& it : items) {
      if (it.renamed && it.directory == directory && it.error == 0) {
        it.error = error;
        it.step = "fsync directory";
      }
    }
  }
  // A file that failed on the way is removed under whichever name it has,
  // so that what the client will send again is not delivered as well.
  for (Item& it : items) {
    if (it.error != 0) unlink((it.renamed ? it.final_path : it.temporary).c_str());
  }
  uint64_t failures = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    const Item& it = items[i];
    if (it.error == 0) {
      batch[i].done(StoreOutcome::kStored, "");
      continue;
    }
    ++failures;
    StoreOutcome outcome =
        it.error == ENOSPC || it.error == EDQUOT ? StoreOutcome::kNoSpace : StoreOutcome::kFailed;
    batch[i].done(outcome, std::string(it.step) + " " + it.temporary + ": " + std::strerror(it.error));
  }
  std::lock_guard lock(mutex_);
  stats_.batches++;
  stats_.files += batch.size();
  stats_.failures += failures;
}

}  // namespace postern::queue
