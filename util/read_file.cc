// read_file.cc: see read_file.h.
#include "util/read_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern {

namespace {

Result<std::string> Read(const std::string& path, bool follow_links) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow_links ? 0 : O_NOFOLLOW));
  if (fd < 0) {
    int error = errno;
    if (error == ENOENT) return Status::NotFound(path + ": " + std::strerror(error));
    if (error == ELOOP) return Status::Temporary(path + ": is a symbolic link");
    return Status::Temporary(path + ": " + std::strerror(error));
  }
  Result<std::string> bytes = ReadOpenRegularFile(fd, path);
  close(fd);
  return bytes;
}

}  // namespace

Result<std::string> ReadOpenRegularFile(int fd, const std::string& path) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status::Temporary(path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return Status::Temporary(path + ": not a regular file");
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t have = 0;
  while (true) {
    if (have == bytes.size()) bytes.resize(have + 1);  // one byte more: a file that grew is an error too
    ssize_t n = pread(fd, bytes.data() + have, bytes.size() - have, static_cast<off_t>(have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Temporary(path + ": " + std::strerror(errno));
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  if (have != static_cast<size_t>(st.st_size)) return Status::Temporary(path + ": changed while it was being read");
  bytes.resize(have);
  return bytes;
}

Result<std::string> ReadRegularFile(const std::string& path) { return Read(path, false); }

Result<std::string> ReadRegularFileFollowingLinks(const std::string& path) { return Read(path, true); }

}  // namespace postern
