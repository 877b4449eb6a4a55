// mapped_file.cc: see mapped_file.h.
#include "runtime/image/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::image {

MappedFile::~MappedFile() {
  if (size_ > 0) munmap(data_, size_);
}

Result<std::shared_ptr<const MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Permanent(path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int saved = errno;
    close(fd);
    return Status::Permanent(path + ": " + std::strerror(saved));
  }
  size_t size = static_cast<size_t>(st.st_size);
  void* data = nullptr;
  if (size > 0) {
    data = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data == MAP_FAILED) {
      int saved = errno;
      close(fd);
      return Status::Permanent(path + ": mmap: " + std::strerror(saved));
    }
  }
  close(fd);
  return std::shared_ptr<const MappedFile>(new MappedFile(data, size));
}

}  // namespace postern::image
