// durable_file.h: writing files so that they survive a crash: contents
// fsynced before they get their name, names fsynced with their directory.
// Shared by image publication and the queue. Every failure is a temporary
// error that says which system call failed and why.
#pragma once

#include <string>
#include <string_view>

#include "util/status.h"

namespace postern {

// Creates `path` (it must not exist) with `bytes`, and fsyncs it.
Status WriteFileSynced(const std::string& path, std::string_view bytes, int mode = 0644);

// Creates `path` (it must not exist) with the first `size` bytes of the
// file open as `fd`, and fsyncs it: a hard link to that file where it is
// on the same file system and may be linked (an O_TMPFILE file: no copy at
// all), else a copy the kernel makes (copy_file_range). `mode` is applied
// either way, so the source must not be written afterwards.
Status WriteFileFromDescriptor(const std::string& path, int fd, uint64_t size, int mode);

// fsyncs a directory, making the names in it durable.
Status SyncDirectory(const std::string& directory);

// `directory`/`name` gets `bytes` atomically and durably: written as
// `.tmp-<name>`, fsynced, renamed, and the directory fsynced. A reader sees
// the whole file or none; no temporary file is left behind on failure.
Status WriteFileDurably(const std::string& directory, const std::string& name, std::string_view bytes, int mode = 0644);

}  // namespace postern
