// read_file.h: reading a whole file that another user may have tampered
// with: the last component is never a symbolic link, only a regular file is
// read (a FIFO or a device is refused without blocking on its open), and
// the bytes are a private copy, so a file that shrinks or changes later
// cannot fault the reader as a memory mapping would (SIGBUS).
#pragma once

#include <string>

#include "util/status.h"

namespace postern {

// The contents of `path`. A missing file is NotFound; a link, a
// non-regular file, a file that changed size while it was read, or a
// read error is Temporary, with the path and the reason in the message.
Result<std::string> ReadRegularFile(const std::string& path);

// The contents of the regular file open as `fd` (not closed), read from
// its start; `path` names it in errors. Errors as ReadRegularFile's.
Result<std::string> ReadOpenRegularFile(int fd, const std::string& path);

// The same, except that a symbolic link is followed: for files an
// administrator names and may keep behind links (certificates under
// /etc/letsencrypt/live are links into archive/).
Result<std::string> ReadRegularFileFollowingLinks(const std::string& path);

}  // namespace postern
