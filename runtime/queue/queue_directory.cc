// queue_directory.cc: see queue_directory.h.
#include "runtime/queue/queue_directory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "util/durable_file.h"
#include "util/read_file.h"

namespace postern::queue {
namespace {

bool IsMessageName(const std::string& name) { return !name.empty() && name.front() != '.'; }

Status Errno(const std::string& what) { return Status::Temporary(what + ": " + std::strerror(errno)); }

// `name` in `parent` (AT_FDCWD: a path) as a directory we own, created when
// missing; never through a symbolic link. Returns the open directory.
Result<int> OwnDirectory(int parent, const std::string& name, const std::string& shown,
                         std::optional<QueueOwner> owner) {
  if (mkdirat(parent, name.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir " + shown);
  int fd = openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR) return Status::Permanent(shown + " is not a directory (a symbolic link?)");
    return Errno(shown);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 ||
      (owner && (st.st_uid != owner->uid || st.st_gid != owner->gid) && fchown(fd, owner->uid, owner->gid) != 0)) {
    Status s = Errno("chown " + shown);
    close(fd);
    return s;
  }
  if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) != 0) {
    Status s = Errno("chmod " + shown);
    close(fd);
    return s;
  }
  return fd;
}

}  // namespace

Status PrepareQueueDirectories(const std::string& root, std::optional<QueueOwner> owner) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(root).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);  // /var/spool and such: the system's
  Result<int> top = OwnDirectory(AT_FDCWD, root, root, owner);
  if (!top.ok()) return top.status();
  Status status = Status::Ok();
  for (std::string_view queue : kQueueNames) {
    std::string name(queue);
    Result<int> sub = OwnDirectory(*top, name, root + "/" + name, owner);
    if (!sub.ok()) {
      status = sub.status();
      break;
    }
    close(*sub);
  }
  // The lock file of an earlier run as another user: taken over through
  // its descriptor, and only when it is a plain file of one link.
  int pid_file = owner ? openat(*top, "posternd.pid", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) : -1;
  if (pid_file >= 0) {
    struct stat st {};
    if (status.ok() && fstat(pid_file, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
        st.st_uid != owner->uid && fchown(pid_file, owner->uid, owner->gid) != 0) {
      status = Errno("chown " + root + "/posternd.pid");
    }
    close(pid_file);
  }
  close(*top);
  return status;
}

void RemoveTemporaryFiles(const std::string& root) {
  for (std::string_view queue : kQueueNames) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root + "/" + std::string(queue), ec)) {
      if (entry.path().filename().string().starts_with(".tmp-")) unlink(entry.path().c_str());
    }
  }
}

Result<std::vector<QueueEntry>> ListQueue(const std::string& root) {
  std::vector<QueueEntry> entries;
  for (std::string_view queue : kQueueNames) {
    size_t first = entries.size();
    std::string directory = root + "/" + std::string(queue);
    std::error_code ec;
    std::filesystem::directory_iterator it(directory, ec);
    if (ec) {
      if (ec == std::errc::no_such_file_or_directory) continue;
      return Status::Temporary(directory + ": " + ec.message());
    }
    for (const auto& file : it) {
      std::string name = file.path().filename().string();
      if (!IsMessageName(name) || !file.is_regular_file(ec)) continue;
      QueueEntry e;
      e.queue = std::string(queue);
      e.id = name;
      Result<std::string> data = ReadRegularFile(file.path().string());
      if (!data.ok()) {
        if (data.status().not_found()) continue;  // delivered meanwhile
        return data.status();
      }
      e.file_size = data->size();
      auto decoded = DecodeQueueFile(*data);
      if (decoded.ok()) {
        e.message = std::move(decoded->message);
      } else {
        e.error = decoded.status().message();
      }
      entries.push_back(std::move(e));
    }
    std::sort(entries.begin() + static_cast<ptrdiff_t>(first), entries.end(),
              [](const QueueEntry& a, const QueueEntry& b) { return a.id < b.id; });
  }
  return entries;
}

Status MoveMessage(const std::string& root, const std::string& id, std::string_view from, std::string_view to) {
  std::string from_dir = root + "/" + std::string(from), to_dir = root + "/" + std::string(to);
  std::error_code ec;
  std::filesystem::create_directories(to_dir, ec);
  std::string source = from_dir + "/" + id, target = to_dir + "/" + id;
  if (renameat2(AT_FDCWD, source.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    std::string why = "move " + source + " to " + target + ": " + std::strerror(errno);
    return errno == ENOENT ? Status::NotFound(why) : Status::Temporary(why);
  }
  // The new name first: after a crash the message is in one queue or the other.
  Status s = SyncDirectory(to_dir);
  if (s.ok()) s = SyncDirectory(from_dir);
  return s;
}

Status DeleteMessage(const std::string& root, const std::string& queue, const std::string& id) {
  std::string directory = root + "/" + queue;
  std::string path = directory + "/" + id;
  if (unlink(path.c_str()) != 0) {
    std::string why = "delete " + path + ": " + std::strerror(errno);
    return errno == ENOENT ? Status::NotFound(why) : Status::Temporary(why);
  }
  return SyncDirectory(directory);
}

}  // namespace postern::queue
