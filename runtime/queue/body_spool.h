// body_spool.h: the body of a message while it is being received, on its
// way into its queue file (docs/queue.md, version 4).
//
// A small body stays in memory and the queue writer writes it with the
// rest of the file. Once the body passes `memory_limit`, the queue file is
// created under the writer's temporary name (DIR/.tmp-<id>) and the body
// goes into it, at the offset the format gives the body, as it arrives,
// through a buffer of at most `memory_limit` bytes: however large the
// message, a session holds about that much of it. The writer then adds the
// envelope around the body already in place and renames the file; nothing
// is written twice. Its sha256 is computed as it passes.
//
// A failure to create or write the file (a full disk) is remembered and
// reported by Finish(); what comes after it is counted and dropped, so the
// session reads the rest of the message and answers 452 or 451 at its end.
// A spool destroyed before the writer took its file removes the file
// (a rejected, discarded or abandoned message). Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/sha256.h"
#include "util/status.h"

namespace postern::queue {

class BodySpool {
 public:
  // `directory` empty: memory only, whatever the size (tests, tools).
  // `offset`: where the body starts in the queue file.
  BodySpool(std::string directory, std::string id, size_t memory_limit, uint64_t offset);
  ~BodySpool();
  BodySpool(const BodySpool&) = delete;
  BodySpool& operator=(const BodySpool&) = delete;

  void Append(std::string_view bytes);
  // No more body: writes what is buffered. Then digest() is the body's.
  // An error when the file could not be created or written; no_space()
  // says whether it was for want of space (ENOSPC, EDQUOT).
  Status Finish();
  bool no_space() const;

  // Up to `n` bytes of the body from `position`, read back from the file
  // or memory (milters read the message before it is stored). An error
  // after a write failure, whose bytes are gone.
  Result<std::string> Read(uint64_t position, size_t n) const;

  uint64_t size() const { return size_; }
  // Whether the body is in its file (else all of it is in memory()).
  bool spilled() const { return fd_ >= 0; }
  std::string_view memory() const { return memory_; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  const Sha256::Digest& digest() const { return digest_; }
  // The writer has taken the file (named it, or removed it): it is no
  // longer removed here. Closes the descriptor.
  void Release();

 private:
  void Spill();
  void Flush();
  void Fail(const char* step);

  std::string directory_, id_, path_;
  size_t memory_limit_;
  uint64_t offset_;
  std::string memory_;  // the body so far, or (spilled) what is not yet written
  uint64_t size_ = 0;
  uint64_t written_ = 0;  // bytes of the body in the file
  int fd_ = -1;
  int error_ = 0;  // errno of the first failure
  std::string failed_step_;
  Sha256 hash_;
  Sha256::Digest digest_{};
};

}  // namespace postern::queue
