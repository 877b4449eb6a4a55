// cdb_writer.cc: see cdb_writer.h.
#include "compiler/emit/cdb_writer.h"

#include <cdb.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace postern::emit {

// tinycdb writes through a file descriptor; an anonymous memory file keeps
// the build off the disk until the image is published.
CdbBuilder::CdbBuilder() : maker_(new cdb_make) {
  fd_ = memfd_create("postern-cdb", MFD_CLOEXEC);
  ok_ = fd_ >= 0 && cdb_make_start(maker_, fd_) == 0;
  if (!ok_) error_ = errno;
}

CdbBuilder::~CdbBuilder() {
  if (fd_ >= 0) close(fd_);
  delete maker_;
}

void CdbBuilder::Add(std::string_view key, std::string_view value) {
  if (!ok_) return;
  ok_ = cdb_make_add(maker_, key.data(), static_cast<unsigned>(key.size()), value.data(),
                     static_cast<unsigned>(value.size())) == 0;
  if (!ok_) error_ = errno;
}

Result<std::string> CdbBuilder::Finish() {
  std::string bytes;
  struct stat st {};
  if (ok_ && cdb_make_finish(maker_) == 0 && fstat(fd_, &st) == 0) {
    bytes.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    while (ok_ && done < bytes.size()) {
      ssize_t n = pread(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
      if (n <= 0) {
        ok_ = false;
        error_ = errno;
      } else {
        done += static_cast<size_t>(n);
      }
    }
  } else if (ok_) {
    ok_ = false;
    error_ = errno;
  }
  if (!ok_) return Status::Temporary(std::string("cannot build CDB table: ") + std::strerror(error_));
  ok_ = false;
  return bytes;
}

}  // namespace postern::emit
