// cdb_writer.cc: see cdb_writer.h.
#include "compiler/emit/cdb_writer.h"

#include <cdb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::emit {

Result<std::string> WriteCdb(const std::vector<std::pair<std::string, std::string>>& entries) {
  // tinycdb writes through a file descriptor; an anonymous memory file keeps
  // the build off the disk until the image is published.
  int fd = memfd_create("postern-cdb", MFD_CLOEXEC);
  if (fd < 0) return Status::Temporary(std::string("memfd_create: ") + std::strerror(errno));
  struct cdb_make maker;
  bool ok = cdb_make_start(&maker, fd) == 0;
  for (const auto& [key, value] : entries) {
    if (!ok) break;
    ok = cdb_make_add(&maker, key.data(), static_cast<unsigned>(key.size()), value.data(),
                      static_cast<unsigned>(value.size())) == 0;
  }
  ok = ok && cdb_make_finish(&maker) == 0;
  std::string bytes;
  struct stat st {};
  if (ok && fstat(fd, &st) == 0) {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n <= 0) {
        ok = false;
        break;
      }
      done += static_cast<size_t>(n);
    }
  } else {
    ok = false;
  }
  int saved = errno;
  close(fd);
  if (!ok) return Status::Temporary(std::string("cannot build CDB table: ") + std::strerror(saved));
  return bytes;
}

}  // namespace postern::emit
