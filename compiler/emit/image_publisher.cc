// image_publisher.cc: see image_publisher.h.
#include "compiler/emit/image_publisher.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "mail/image_format.h"
#include "mail/image_signature.h"
#include "util/durable_file.h"
#include "util/read_file.h"
#include "util/sha256.h"

namespace postern::emit {
namespace {

namespace fs = std::filesystem;

Status Errno(const std::string& what) { return Status::Temporary(what + ": " + std::strerror(errno)); }

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
    if (!mail::IsImageId(name) || name == current || !entry.is_directory()) continue;
    old.emplace_back(entry.last_write_time(ec), entry.path());
  }
  std::sort(old.begin(), old.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  int removed = 0;
  for (size_t i = static_cast<size_t>(std::max(keep, 0)); i < old.size(); ++i) {
    if (fs::remove_all(old[i].second, ec) > 0 && !ec) ++removed;
  }
  return removed;
}

int FileMode(const ImageFile& file) { return file.restricted ? 0440 : 0444; }

bool AnyRestricted(const BuiltImage& image) {
  return std::any_of(image.files.begin(), image.files.end(), [](const ImageFile& f) { return f.restricted; });
}

// Whether `directory` holds `image` exactly: every file, byte for byte,
// a regular file with the mode it was published with.
bool IsIntact(const std::string& directory, const BuiltImage& image) {
  for (const ImageFile& file : image.files) {
    std::string path = directory + "/" + file.path;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<int>(st.st_mode & 07777) != FileMode(file) || static_cast<uint64_t>(st.st_size) != file.size()) {
      return false;
    }
    if (file.compiled) {
      // Compared by hash, read through a buffer: the file may be large.
      Result<std::string> present = Sha256HexOfPath(path);
      Result<std::string> built = Sha256HexOfDescriptor(file.compiled->fd(), file.compiled->size());
      if (!present.ok() || !built.ok() || *present != *built) return false;
      continue;
    }
    Result<std::string> bytes = ReadRegularFile(path);
    if (!bytes.ok() || *bytes != file.bytes) return false;
  }
  return true;
}

// Writes `image` into the new directory `temp`, durably.
Status WriteImage(const std::string& temp, const BuiltImage& image, const PublishOptions& options) {
  bool restricted = AnyRestricted(image);
  std::optional<gid_t> group = restricted ? options.reader_group : std::nullopt;
  mode_t directory_mode = restricted ? 0750 : 0755;
  auto make_directory = [&](const std::string& d) -> Status {
    if (mkdir(d.c_str(), directory_mode) != 0) return Errno("mkdir " + d);
    if (chmod(d.c_str(), directory_mode) != 0) return Errno("chmod " + d);  // whatever the umask
    if (group && chown(d.c_str(), static_cast<uid_t>(-1), *group) != 0) return Errno("chown " + d);
    return Status::Ok();
  };
  if (Status s = make_directory(temp); !s.ok()) return s;
  std::vector<std::string> directories = {temp};
  for (const ImageFile& file : image.files) {
    fs::path target = fs::path(temp) / file.path;
    if (target.parent_path() != fs::path(temp) && !fs::is_directory(target.parent_path())) {
      if (Status s = make_directory(target.parent_path().string()); !s.ok()) return s;
      directories.push_back(target.parent_path().string());
    }
    Status written = file.compiled ? WriteFileFromDescriptor(target.string(), file.compiled->fd(),
                                                             file.compiled->size(), FileMode(file))
                                   : WriteFileSynced(target.string(), file.bytes, FileMode(file));
    if (!written.ok()) return written;
    if (chmod(target.c_str(), static_cast<mode_t>(FileMode(file))) != 0) return Errno("chmod " + target.string());
    if (file.restricted && group && chown(target.c_str(), static_cast<uid_t>(-1), *group) != 0) {
      return Errno("chown " + target.string());
    }
  }
  if (!options.signature.empty()) {
    std::string path = temp + "/" + std::string(mail::kSignatureFile);
    if (Status s = WriteFileSynced(path, options.signature, 0444); !s.ok()) return s;
    if (chmod(path.c_str(), 0444) != 0) return Errno("chmod " + path);
  }
  for (const std::string& dir : directories) {
    if (Status s = SyncDirectory(dir); !s.ok()) return s;
  }
  return Status::Ok();
}

// The signature of an image already in place: written next to it and
// renamed over the old one, unless it is the same.
Status WriteSignature(const std::string& directory, const std::string& signature) {
  std::string path = directory + "/" + std::string(mail::kSignatureFile);
  Result<std::string> present = ReadRegularFile(path);
  if (present.ok() && *present == signature) return Status::Ok();
  std::string temp = directory + "/.signature-" + std::to_string(getpid());
  unlink(temp.c_str());
  if (Status s = WriteFileSynced(temp, signature, 0444); !s.ok()) return s;
  if (chmod(temp.c_str(), 0444) != 0 || rename(temp.c_str(), path.c_str()) != 0) {
    Status s = Errno("rename " + temp);
    unlink(temp.c_str());
    return s;
  }
  return SyncDirectory(directory);
}

// Makes `id` current and prunes.
Result<PublishResult> Finish(const std::string& images, const std::string& id, const PublishOptions& options,
                             PublishResult result) {
  Status s = SyncDirectory(images);
  if (!s.ok()) return s;

  // Swap `current` with rename(2): atomic for every reader.
  std::string link_temp = images + "/.current-" + std::to_string(getpid());
  unlink(link_temp.c_str());
  if (symlink(id.c_str(), link_temp.c_str()) != 0) return Errno("symlink " + link_temp);
  if (rename(link_temp.c_str(), (images + "/current").c_str()) != 0) {
    Status err = Errno("rename " + link_temp);
    unlink(link_temp.c_str());
    return err;
  }
  s = SyncDirectory(images);
  if (!s.ok()) return s;
  result.removed = Prune(images, id, options.keep_previous);
  return result;
}

}  // namespace

Result<PublishResult> StageImage(const BuiltImage& image, const PublishOptions& options) {
  const std::string& images = options.images_directory;
  std::error_code ec;
  fs::create_directories(images, ec);
  if (ec) return Status::Temporary("cannot create " + images + ": " + ec.message());

  PublishResult result;
  result.previous = CurrentId(images);
  result.path = images + "/" + image.id;
  std::string temp = images + "/.tmp-" + image.id.substr(0, 16) + "-" + std::to_string(getpid());
  fs::remove_all(temp, ec);
  if (fs::is_directory(result.path, ec) && IsIntact(result.path, image)) {
    // Same id, same bytes: mark it as the newest for pruning.
    result.already_present = true;
    if (utimensat(AT_FDCWD, result.path.c_str(), nullptr, 0) != 0) return Errno("touch " + result.path);
    if (!options.signature.empty()) {
      if (Status s = WriteSignature(result.path, options.signature); !s.ok()) return s;
    }
  } else {
    if (Status s = WriteImage(temp, image, options); !s.ok()) {
      fs::remove_all(temp, ec);
      return s;
    }
    bool exists = fs::exists(fs::symlink_status(result.path, ec));
    // A damaged copy is exchanged with the new one in one step, so that a
    // reader never finds the name missing, then removed.
    unsigned flags = exists ? RENAME_EXCHANGE : RENAME_NOREPLACE;
    if (renameat2(AT_FDCWD, temp.c_str(), AT_FDCWD, result.path.c_str(), flags) != 0) {
      if (errno == EEXIST) {  // another compile published it meanwhile
        fs::remove_all(temp, ec);
        result.already_present = true;
        if (!options.signature.empty()) {
          if (Status s = WriteSignature(result.path, options.signature); !s.ok()) return s;
        }
        return result;
      }
      Status s = Errno("rename " + temp + " to " + result.path);
      fs::remove_all(temp, ec);
      return s;
    }
    if (exists) {
      fs::remove_all(temp, ec);
      result.repaired = true;
    }
  }
  return result;
}

Result<PublishResult> ActivateImage(const std::string& id, const PublishOptions& options, PublishResult staged) {
  return Finish(options.images_directory, id, options, std::move(staged));
}

Result<PublishResult> PublishImage(const BuiltImage& image, const PublishOptions& options) {
  Result<PublishResult> staged = StageImage(image, options);
  if (!staged.ok()) return staged;
  return ActivateImage(image.id, options, std::move(staged).value());
}

}  // namespace postern::emit
