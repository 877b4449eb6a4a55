// image_file.cc: see image_file.h.
#include "runtime/image/image_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/read_file.h"
#include "util/sha256.h"

namespace postern::image {

Result<std::shared_ptr<const ImageFile>> ImageFile::Read(const std::string& path) {
  Result<std::string> bytes = ReadRegularFile(path);
  if (!bytes.ok()) return bytes.status();
  return std::shared_ptr<const ImageFile>(new ImageFile(std::move(bytes).value()));
}

ImageFile::~ImageFile() {
  if (mapped_ != nullptr) munmap(const_cast<char*>(mapped_), size_);
}

Result<std::shared_ptr<const ImageFile>> ImageFile::Map(const std::string& path, bool hash) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    std::string message = "cannot open " + path + ": " + std::strerror(errno);
    return errno == ENOENT ? Status::NotFound(message) : Status::Permanent(message);
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status::Permanent(path + ": not a regular file");
  }
  auto size = static_cast<size_t>(st.st_size);
  Result<std::string> sha = hash ? Sha256HexOfDescriptor(fd, size) : Result<std::string>(std::string());
  if (!sha.ok()) {
    close(fd);
    return Status::Permanent(path + ": " + sha.status().message());
  }
  if (size == 0) {
    close(fd);
    return std::shared_ptr<const ImageFile>(new ImageFile(std::string()));
  }
  void* data = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  int error = errno;
  close(fd);
  if (data == MAP_FAILED) return Status::Permanent("cannot map " + path + ": " + std::strerror(error));
  return std::shared_ptr<const ImageFile>(new ImageFile(static_cast<const char*>(data), size, std::move(sha).value()));
}

}  // namespace postern::image
