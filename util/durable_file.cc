// durable_file.cc: see durable_file.h.
#include "util/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern {
namespace {

Status Errno(const std::string& what, int error) { return Status::Temporary(what + ": " + std::strerror(error)); }

}  // namespace

Status WriteFileSynced(const std::string& path, std::string_view bytes, int mode) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Errno("create " + path, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int error = n < 0 ? errno : EIO;
      close(fd);
      return Errno("write " + path, error);
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int error = errno;
    close(fd);
    return Errno("fsync " + path, error);
  }
  return close(fd) == 0 ? Status::Ok() : Errno("close " + path, errno);
}

Status WriteFileFromDescriptor(const std::string& path, int fd, uint64_t size, int mode) {
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  struct stat st {};
  if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == size &&
      linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
    if (fchmod(fd, static_cast<mode_t>(mode)) != 0) return Errno("chmod " + path, errno);
    if (fsync(fd) != 0) return Errno("fsync " + path, errno);
    return Status::Ok();
  }
  int out = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (out < 0) return Errno("create " + path, errno);
  loff_t from = 0;
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = copy_file_range(fd, &from, out, nullptr, size - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int error = n < 0 ? errno : EIO;
      close(out);
      return Errno("copy to " + path, error);
    }
    done += static_cast<uint64_t>(n);
  }
  if (fsync(out) != 0) {
    int error = errno;
    close(out);
    return Errno("fsync " + path, error);
  }
  return close(out) == 0 ? Status::Ok() : Errno("close " + path, errno);
}

Status SyncDirectory(const std::string& directory) {
  int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open " + directory, errno);
  int rc = fsync(fd);
  int error = errno;
  close(fd);
  return rc == 0 ? Status::Ok() : Errno("fsync " + directory, error);
}

Status WriteFileDurably(const std::string& directory, const std::string& name, std::string_view bytes, int mode) {
  std::string temp = directory + "/.tmp-" + name;
  std::string target = directory + "/" + name;
  Status s = WriteFileSynced(temp, bytes, mode);
  if (s.ok() && rename(temp.c_str(), target.c_str()) != 0) s = Errno("rename " + temp, errno);
  if (!s.ok()) {
    unlink(temp.c_str());
    return s;
  }
  return SyncDirectory(directory);
}

}  // namespace postern
