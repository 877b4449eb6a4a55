// queue_file.cc: see queue_file.h.
#include "runtime/queue/queue_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/bytes.h"
#include "util/sha256.h"

namespace postern::queue {
namespace {

constexpr std::string_view kMagic = "PSTRNQUE";
constexpr uint32_t kVersion = 1;
constexpr size_t kTrailer = 64;  // hex sha256

// Every write failure is temporary: the client keeps the message and tries
// again (the session answers 452 for ENOSPC/EDQUOT, 451 otherwise).
Status Errno(const std::string& what) { return Status::Temporary(what + ": " + std::strerror(errno)); }

}  // namespace

std::string EncodeQueueFile(const QueuedMessage& m) {
  ByteWriter w;
  w.PutRaw(kMagic);
  w.PutU32(kVersion);
  w.PutString(m.id);
  w.PutU64(static_cast<uint64_t>(m.arrival_time));
  w.PutString(m.sender);
  w.PutString(m.client_address);
  w.PutString(m.client_name);
  w.PutString(m.helo);
  w.PutString(m.sasl_username);
  w.PutString(m.ret);
  w.PutString(m.envid);
  w.PutU8(m.smtputf8 ? 1 : 0);
  w.PutString(m.body_type);
  w.PutString(m.image_id);
  w.PutU32(static_cast<uint32_t>(m.recipients.size()));
  for (const QueuedRecipient& r : m.recipients) {
    w.PutString(r.address);
    w.PutString(r.original);
    w.PutString(r.notify);
    w.PutU8(static_cast<uint8_t>(r.state));
    w.PutU32(r.attempts);
    w.PutString(r.last_reply);
  }
  w.PutString(m.content);
  std::string bytes = w.Release();
  bytes += Sha256Hex(bytes);
  return bytes;
}

Result<QueuedMessage> DecodeQueueFile(std::string_view bytes) {
  auto corrupt = [](const std::string& why) { return Status::Permanent("corrupt queue file: " + why); };
  if (bytes.size() < kMagic.size() + kTrailer || bytes.substr(0, kMagic.size()) != kMagic) {
    return corrupt("bad magic");
  }
  std::string_view body = bytes.substr(0, bytes.size() - kTrailer);
  if (Sha256Hex(body) != bytes.substr(body.size())) return corrupt("checksum mismatch");
  ByteReader r(body.substr(kMagic.size()));
  QueuedMessage m;
  uint32_t version = 0, count = 0;
  uint64_t arrival = 0;
  uint8_t utf8 = 0;
  if (!r.GetU32(&version)) return corrupt("truncated");
  if (version != kVersion)
    return Status::Permanent("queue file format version " + std::to_string(version) + " is not supported");
  if (!r.GetString(&m.id) || !r.GetU64(&arrival) || !r.GetString(&m.sender) || !r.GetString(&m.client_address) ||
      !r.GetString(&m.client_name) || !r.GetString(&m.helo) || !r.GetString(&m.sasl_username) || !r.GetString(&m.ret) ||
      !r.GetString(&m.envid) || !r.GetU8(&utf8) || !r.GetString(&m.body_type) || !r.GetString(&m.image_id) ||
      !r.GetU32(&count) || count > r.remaining()) {
    return corrupt("truncated envelope");
  }
  m.arrival_time = static_cast<int64_t>(arrival);
  m.smtputf8 = utf8 != 0;
  m.recipients.resize(count);
  for (QueuedRecipient& rcpt : m.recipients) {
    uint8_t state = 0;
    if (!r.GetString(&rcpt.address) || !r.GetString(&rcpt.original) || !r.GetString(&rcpt.notify) || !r.GetU8(&state) ||
        state > 3 || !r.GetU32(&rcpt.attempts) || !r.GetString(&rcpt.last_reply)) {
      return corrupt("truncated recipient");
    }
    rcpt.state = static_cast<QueuedRecipient::State>(state);
  }
  if (!r.GetString(&m.content) || r.remaining() != 0) return corrupt("truncated content");
  return m;
}

Status WriteQueueFile(const std::string& directory, const QueuedMessage& message) {
  std::string bytes = EncodeQueueFile(message);
  std::string final_path = directory + "/" + message.id;
  std::string temp_path = directory + "/.tmp-" + message.id;
  int fd = open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create " + temp_path);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = Errno("write " + temp_path);
      close(fd);
      unlink(temp_path.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    Status s = Errno("fsync " + temp_path);
    close(fd);
    unlink(temp_path.c_str());
    return s;
  }
  if (close(fd) != 0) {
    Status s = Errno("close " + temp_path);
    unlink(temp_path.c_str());
    return s;
  }
  if (rename(temp_path.c_str(), final_path.c_str()) != 0) {
    Status s = Errno("rename " + temp_path);
    unlink(temp_path.c_str());
    return s;
  }
  int dir = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return Errno("open " + directory);
  int rc = fsync(dir);
  Status s = rc == 0 ? Status::Ok() : Errno("fsync " + directory);
  close(dir);
  return s;
}

}  // namespace postern::queue
