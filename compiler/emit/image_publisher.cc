// image_publisher.cc: see image_publisher.h.
#include "compiler/emit/image_publisher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "util/durable_file.h"

namespace postern::emit {
namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what) { return Status::Temporary(what + ": " + std::strerror(errno)); }

bool IsImageId(const std::string& name) {
  return name.size() == 64 &&
         std::all_of(name.begin(), name.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string CurrentId(const std::string& images) {
  std::error_code ec;
  fs::path target = fs::read_symlink(fs::path(images) / "current", ec);
  return ec ? "" : target.filename().string();
}

// Removes all but the `keep` most recently published images other than
// `current`. Publication time is the directory's mtime (set on publish).
int Prune(const std::string& images, const std::string& current, int keep) {
  std::vector<std::pair<fs::file_time_type, fs::path>> old;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(images, ec)) {
    std::string name = entry.path().filename().string();
    if (!IsImageId(name) || name == current || !entry.is_directory()) continue;
    old.emplace_back(entry.last_write_time(ec), entry.path());
  }
  std::sort(old.begin(), old.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  int removed = 0;
  for (size_t i = static_cast<size_t>(std::max(keep, 0)); i < old.size(); ++i) {
    if (fs::remove_all(old[i].second, ec) > 0 && !ec) ++removed;
  }
  return removed;
}

}  // namespace

Result<PublishResult> PublishImage(const BuiltImage& image, const PublishOptions& options) {
  const std::string& images = options.images_directory;
  std::error_code ec;
  fs::create_directories(images, ec);
  if (ec) return Status::Temporary("cannot create " + images + ": " + ec.message());

  PublishResult result;
  result.previous = CurrentId(images);
  result.path = images + "/" + image.id;
  if (fs::is_directory(result.path, ec)) {
    // Same id, same bytes: mark it as the newest for pruning.
    result.already_present = true;
    if (utimensat(AT_FDCWD, result.path.c_str(), nullptr, 0) != 0) return Errno("touch " + result.path);
  } else {
    std::string temp = images + "/.tmp-" + image.id.substr(0, 16) + "-" + std::to_string(getpid());
    fs::remove_all(temp, ec);
    if (mkdir(temp.c_str(), 0755) != 0) return Errno("mkdir " + temp);
    std::vector<std::string> directories = {temp};
    for (const ImageFile& file : image.files) {
      fs::path target = fs::path(temp) / file.path;
      if (target.parent_path() != fs::path(temp) && !fs::is_directory(target.parent_path())) {
        if (mkdir(target.parent_path().c_str(), 0755) != 0) return Errno("mkdir " + target.parent_path().string());
        directories.push_back(target.parent_path().string());
      }
      Status s = WriteFileSynced(target.string(), file.bytes);
      if (!s.ok()) {
        fs::remove_all(temp, ec);
        return s;
      }
    }
    for (const std::string& dir : directories) {
      Status s = SyncDirectory(dir);
      if (!s.ok()) return s;
    }
    if (rename(temp.c_str(), result.path.c_str()) != 0) {
      Status s = Errno("rename " + temp + " to " + result.path);
      fs::remove_all(temp, ec);
      return s;
    }
  }
  Status s = SyncDirectory(images);
  if (!s.ok()) return s;

  // Swap `current` with rename(2): atomic for every reader.
  std::string link_temp = images + "/.current-" + std::to_string(getpid());
  unlink(link_temp.c_str());
  if (symlink(image.id.c_str(), link_temp.c_str()) != 0) return Errno("symlink " + link_temp);
  if (rename(link_temp.c_str(), (images + "/current").c_str()) != 0) {
    Status err = Errno("rename " + link_temp);
    unlink(link_temp.c_str());
    return err;
  }
  s = SyncDirectory(images);
  if (!s.ok()) return s;
  result.removed = Prune(images, image.id, options.keep_previous);
  return result;
}

}  // namespace postern::emit
