// queue_file.cc: see queue_file.h.
#include "runtime/queue/queue_file.h"

#include "util/bytes.h"
#include "util/durable_file.h"
#include "util/sha256.h"

namespace postern::queue {
namespace {

constexpr std::string_view kMagic = "PSTRNQUE";
constexpr uint32_t kVersion = 2;  // 2 added the flags byte; version 1 files are still read
constexpr size_t kTrailer = 64;   // hex sha256

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
  w.PutU8(m.delay_warned ? 1 : 0);
  w.PutU32(static_cast<uint32_t>(m.recipients.size()));
  for (const QueuedRecipient& r : m.recipients) {
    w.PutString(r.address);
    w.PutString(r.original);
    w.PutString(r.notify);
    w.PutString(r.route);
    w.PutU8(static_cast<uint8_t>(r.state));
    w.PutU32(r.attempts);
    w.PutString(r.last_reply);
  }
  w.PutString(m.content);
  std::string bytes = w.Release();
  AppendSha256Trailer(&bytes);
  return bytes;
}

Result<QueuedMessage> DecodeQueueFile(std::string_view bytes) {
  auto corrupt = [](const std::string& why) { return Status::Permanent("corrupt queue file: " + why); };
  if (bytes.size() < kMagic.size() + kTrailer || bytes.substr(0, kMagic.size()) != kMagic) {
    return corrupt("bad magic");
  }
  std::optional<std::string_view> body = CheckSha256Trailer(bytes);
  if (!body) return corrupt("checksum mismatch");
  ByteReader r(body->substr(kMagic.size()));
  QueuedMessage m;
  uint32_t version = 0, count = 0;
  uint64_t arrival = 0;
  uint8_t utf8 = 0, flags = 0;
  if (!r.GetU32(&version)) return corrupt("truncated");
  if (version != 1 && version != kVersion)
    return Status::Permanent("queue file format version " + std::to_string(version) + " is not supported");
  if (!r.GetString(&m.id) || !r.GetU64(&arrival) || !r.GetString(&m.sender) || !r.GetString(&m.client_address) ||
      !r.GetString(&m.client_name) || !r.GetString(&m.helo) || !r.GetString(&m.sasl_username) || !r.GetString(&m.ret) ||
      !r.GetString(&m.envid) || !r.GetU8(&utf8) || !r.GetString(&m.body_type) || !r.GetString(&m.image_id) ||
      (version >= 2 && (!r.GetU8(&flags) || flags > 1)) || !r.GetU32(&count) || count > r.remaining()) {
    return corrupt("truncated envelope");
  }
  m.delay_warned = (flags & 1) != 0;
  m.arrival_time = static_cast<int64_t>(arrival);
  m.smtputf8 = utf8 != 0;
  m.recipients.resize(count);
  for (QueuedRecipient& rcpt : m.recipients) {
    uint8_t state = 0;
    if (!r.GetString(&rcpt.address) || !r.GetString(&rcpt.original) || !r.GetString(&rcpt.notify) ||
        !r.GetString(&rcpt.route) || !r.GetU8(&state) || state > 3 || !r.GetU32(&rcpt.attempts) ||
        !r.GetString(&rcpt.last_reply)) {
      return corrupt("truncated recipient");
    }
    rcpt.state = static_cast<QueuedRecipient::State>(state);
  }
  if (!r.GetString(&m.content) || r.remaining() != 0) return corrupt("truncated content");
  return m;
}

Status WriteQueueFile(const std::string& directory, const QueuedMessage& message) {
  return WriteFileDurably(directory, message.id, EncodeQueueFile(message), 0600);
}

}  // namespace postern::queue
