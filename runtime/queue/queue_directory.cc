// queue_directory.cc: see queue_directory.h.
#include "runtime/queue/queue_directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "util/durable_file.h"

namespace postern::queue {
namespace {

bool IsMessageName(const std::string& name) { return !name.empty() && name.front() != '.'; }

}  // namespace

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
      std::ifstream in(file.path(), std::ios::binary);
      std::stringstream bytes;
      bytes << in.rdbuf();
      std::string data = bytes.str();
      e.file_size = data.size();
      auto decoded = DecodeQueueFile(data);
      if (decoded.ok()) {
        e.message = std::move(decoded).value();
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
    return Status::Temporary("move " + source + " to " + target + ": " + std::strerror(errno));
  }
  // The new name first: after a crash the message is in one queue or the other.
  Status s = SyncDirectory(to_dir);
  if (s.ok()) s = SyncDirectory(from_dir);
  return s;
}

Status DeleteMessage(const std::string& root, const std::string& queue, const std::string& id) {
  std::string directory = root + "/" + queue;
  std::string path = directory + "/" + id;
  if (unlink(path.c_str()) != 0) return Status::Temporary("delete " + path + ": " + std::strerror(errno));
  return SyncDirectory(directory);
}

}  // namespace postern::queue
