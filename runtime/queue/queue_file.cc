// queue_file.cc: see queue_file.h; the layout is in docs/queue.md.
#include "runtime/queue/queue_file.h"

#include "util/bytes.h"
#include "util/durable_file.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace postern::queue {
namespace {

constexpr std::string_view kMagic = "PSTRNQUE";
// The envelope's flags byte (version 2 on).
constexpr uint8_t kDelayWarnedFlag = 1;
constexpr uint8_t kVerifyProbeFlag = 2;
constexpr uint32_t kVersion = kQueueFileVersion;  // 4: body first; 3: typed recipients, records; 2: flags byte
constexpr size_t kTrailer = 64;                   // hex sha256 of the first part
constexpr size_t kRecordCheck = 16;               // hex, the first 8 bytes of the record's sha256

enum RecordType : uint8_t {
  kRecipientRecord = 'R',
  kExpansionRecord = 'E',
  kDelayWarnedRecord = 'W',
};

constexpr uint8_t kLastState = static_cast<uint8_t>(QueuedRecipient::State::kExpanded);
constexpr uint8_t kLastRouteKind = static_cast<uint8_t>(FrozenRoute::Kind::kBounce);

Status Corrupt(const std::string& why) { return Status::Permanent("corrupt queue file: " + why); }

void PutStatus(ByteWriter& w, const mail::DeliveryStatus& s) {
  w.PutU32(static_cast<uint32_t>(s.code));
  w.PutString(s.status);
  w.PutString(s.reason);
  w.PutString(s.remote_reply);
  w.PutString(s.remote_mta);
  w.PutString(s.relay);
  w.PutU8(s.host_failure ? 1 : 0);
}

bool GetStatus(ByteReader& r, mail::DeliveryStatus* s) {
  uint32_t code = 0;
  uint8_t host_failure = 0;
  if (!r.GetU32(&code) || code > 599 || !r.GetString(&s->status) || !r.GetString(&s->reason) ||
      !r.GetString(&s->remote_reply) || !r.GetString(&s->remote_mta) || !r.GetString(&s->relay) ||
      !r.GetU8(&host_failure) || host_failure > 1) {
    return false;
  }
  s->code = static_cast<int>(code);
  s->host_failure = host_failure != 0;
  return true;
}

void PutRecipient(ByteWriter& w, const QueuedRecipient& r) {
  w.PutString(r.address);
  w.PutString(r.original);
  w.PutString(r.notify);
  w.PutU8(static_cast<uint8_t>(r.route.kind));
  w.PutString(r.route.transport);
  w.PutString(r.route.nexthop);
  w.PutString(r.route.detail);
  PutStatus(w, r.route.bounce);
  w.PutU8(static_cast<uint8_t>(r.state));
  w.PutU32(r.attempts);
  PutStatus(w, r.last);
}

bool GetRecipient(ByteReader& r, QueuedRecipient* rcpt) {
  uint8_t kind = 0, state = 0;
  if (!r.GetString(&rcpt->address) || !r.GetString(&rcpt->original) || !r.GetString(&rcpt->notify) || !r.GetU8(&kind) ||
      kind > kLastRouteKind || !r.GetString(&rcpt->route.transport) || !r.GetString(&rcpt->route.nexthop) ||
      !r.GetString(&rcpt->route.detail) || !GetStatus(r, &rcpt->route.bounce) || !r.GetU8(&state) ||
      state > kLastState || !r.GetU32(&rcpt->attempts) || !GetStatus(r, &rcpt->last)) {
    return false;
  }
  rcpt->route.kind = static_cast<FrozenRoute::Kind>(kind);
  rcpt->state = static_cast<QueuedRecipient::State>(state);
  return true;
}

// The route field of versions 1 and 2: "" (none), the policy's
// "transport:nexthop", or what the queue manager froze at expansion:
// "=transport<TAB>nexthop<TAB>detail" or "!code<TAB>text".
FrozenRoute OldRoute(std::string_view field) {
  FrozenRoute route;
  if (field.empty()) return route;
  if (field.front() == '=') {
    std::vector<std::string> f = SplitFields(field.substr(1), '\t');
    f.resize(3);
    route.kind = FrozenRoute::Kind::kDeliver;
    route.transport = f[0];
    route.nexthop = f[1];
    route.detail = f[2];
    return route;
  }
  if (field.front() == '!') {
    std::string_view rest = field.substr(1);
    size_t tab = rest.find('\t');
    long long code = 550;
    if (!ParseDecimal(rest.substr(0, tab), &code) || code < 400 || code > 599) code = 550;
    route.kind = FrozenRoute::Kind::kBounce;
    route.bounce = mail::DeliveryStatus::FromText(static_cast<int>(code),
                                                  tab == std::string_view::npos ? "" : rest.substr(tab + 1));
    return route;
  }
  return FrozenRoute::Policy(field);
}

// The last reply of versions 1 and 2: "status text", its class by state.
mail::DeliveryStatus OldLastReply(QueuedRecipient::State state, std::string_view text) {
  if (text.empty()) return {};
  int code = state == QueuedRecipient::State::kDelivered ? 250 : state == QueuedRecipient::State::kBounced ? 550 : 450;
  return mail::DeliveryStatus::FromText(code, text);
}

Result<QueuedMessage> DecodeOldRecipients(ByteReader& r, uint32_t count, QueuedMessage m) {
  m.recipients.resize(count);
  for (QueuedRecipient& rcpt : m.recipients) {
    uint8_t state = 0;
    std::string route, last_reply;
    if (!r.GetString(&rcpt.address) || !r.GetString(&rcpt.original) || !r.GetString(&rcpt.notify) ||
        !r.GetString(&route) || !r.GetU8(&state) || state > 3 || !r.GetU32(&rcpt.attempts) ||
        !r.GetString(&last_reply)) {
      return Corrupt("truncated recipient");
    }
    rcpt.state = static_cast<QueuedRecipient::State>(state);
    rcpt.route = OldRoute(route);
    rcpt.last = OldLastReply(rcpt.state, last_reply);
  }
  return m;
}

std::string Record(RecordType type, std::string_view payload) {
  ByteWriter w;
  w.PutU8(type);
  w.PutString(payload);
  std::string bytes = w.Release();
  bytes += Sha256Hex(bytes).substr(0, kRecordCheck);
  return bytes;
}

// Applies one record; false when it does not fit the message (a bug or a
// forged file: the whole file is then corrupt).
bool Apply(RecordType type, std::string_view payload, QueuedMessage& m) {
  ByteReader r(payload);
  switch (type) {
    case kRecipientRecord: {
      uint32_t index = 0, attempts = 0;
      uint8_t state = 0;
      mail::DeliveryStatus last;
      if (!r.GetU32(&index) || index >= m.recipients.size() || !r.GetU8(&state) ||
          state >= static_cast<uint8_t>(QueuedRecipient::State::kExpanded) || !r.GetU32(&attempts) ||
          !GetStatus(r, &last) || r.remaining() != 0) {
        return false;
      }
      QueuedRecipient& rcpt = m.recipients[index];
      if (rcpt.state == QueuedRecipient::State::kExpanded) return false;
      rcpt.state = static_cast<QueuedRecipient::State>(state);
      rcpt.attempts = attempts;
      rcpt.last = std::move(last);
      return true;
    }
    case kExpansionRecord: {
      uint32_t index = 0, count = 0;
      if (!r.GetU32(&index) || index >= m.recipients.size() || !m.recipients[index].Open() || !r.GetU32(&count) ||
          count > r.remaining()) {
        return false;
      }
      std::vector<QueuedRecipient> added(count);
      for (QueuedRecipient& rcpt : added) {
        if (!GetRecipient(r, &rcpt) || rcpt.state == QueuedRecipient::State::kExpanded) return false;
      }
      if (r.remaining() != 0) return false;
      m.recipients[index].state = QueuedRecipient::State::kExpanded;
      for (QueuedRecipient& rcpt : added) m.recipients.push_back(std::move(rcpt));
      return true;
    }
    case kDelayWarnedRecord:
      m.delay_warned = true;
      return payload.empty();
  }
  return false;
}

// Version 4's check: the hex sha256 of the front, the envelope and the
// body's own sha256 (computed while the body was received).
std::string Trailer(std::string_view front, std::string_view envelope, const Sha256::Digest& body_digest) {
  Sha256 hash;
  hash.Update(front);
  hash.Update(envelope);
  hash.Update(std::string_view(reinterpret_cast<const char*>(body_digest.data()), body_digest.size()));
  return Sha256::Hex(hash.Final());
}

}  // namespace

std::string QueuedRecipient::OriginalAddress() const {
  return original.size() >= 7 && EqualsIgnoreCase(std::string_view(original).substr(0, 7), "rfc822;")
             ? original.substr(7)
             : original;
}

FrozenRoute FrozenRoute::Policy(std::string_view value) {
  FrozenRoute route;
  route.kind = Kind::kPolicy;
  size_t colon = value.find(':');
  route.transport = std::string(value.substr(0, colon));
  if (colon != std::string_view::npos) route.nexthop = std::string(value.substr(colon + 1));
  return route;
}

std::string FrozenRoute::Describe() const {
  if (kind != Kind::kPolicy && kind != Kind::kDeliver) return "";
  return transport + ":" + nexthop;
}

FirstPartFrame EncodeFirstPart(const QueuedMessage& m, std::string_view head, uint64_t body_size,
                               const Sha256::Digest& body_digest) {
  ByteWriter w;
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
  w.PutU8((m.delay_warned ? kDelayWarnedFlag : 0) | (m.verify_probe ? kVerifyProbeFlag : 0));
  w.PutU32(static_cast<uint32_t>(m.recipients.size()));
  for (const QueuedRecipient& r : m.recipients) PutRecipient(w, r);
  w.PutString(head);
  ByteWriter front;
  front.PutRaw(kMagic);
  front.PutU32(kVersion);
  front.PutU64(kQueueFileBodyOffset + body_size + w.bytes().size());
  front.PutU64(body_size);
  FirstPartFrame frame{front.Release(), w.Release()};
  frame.back += Trailer(frame.front, frame.back, body_digest);
  return frame;
}

std::string EncodeQueueFile(const QueuedMessage& m) {
  Sha256 body_hash;
  body_hash.Update(m.content);
  FirstPartFrame frame = EncodeFirstPart(m, "", m.content.size(), body_hash.Final());
  return frame.front + m.content + frame.back;
}

Result<DecodedQueueFile> DecodeQueueFile(std::string_view bytes) {
  if (bytes.size() < kMagic.size() + 4 + kTrailer || bytes.substr(0, kMagic.size()) != kMagic) {
    return Corrupt("bad magic");
  }
  uint32_t version = 0;
  ByteReader head(bytes.substr(kMagic.size()));
  head.GetU32(&version);
  if (version < 1 || version > kVersion) {
    return Status::Permanent("queue file format version " + std::to_string(version) + " is not supported");
  }
  // The envelope, and where the first part ends (before version 3: the
  // whole file).
  std::string_view envelope, body;
  size_t first_part = bytes.size() - kTrailer;
  if (version >= 3) {
    uint64_t size = 0;
    if (!head.GetU64(&size) || size < kMagic.size() + 12 || size > bytes.size() - kTrailer) {
      return Corrupt("truncated");
    }
    first_part = size;
  }
  if (version >= 4) {
    uint64_t body_size = 0;
    if (!head.GetU64(&body_size) || first_part < kQueueFileBodyOffset ||
        body_size > first_part - kQueueFileBodyOffset) {
      return Corrupt("truncated");
    }
    body = bytes.substr(kQueueFileBodyOffset, body_size);
    envelope = bytes.substr(kQueueFileBodyOffset + body_size, first_part - kQueueFileBodyOffset - body_size);
    Sha256 body_hash;
    body_hash.Update(body);
    if (Trailer(bytes.substr(0, kQueueFileBodyOffset), envelope, body_hash.Final()) !=
        bytes.substr(first_part, kTrailer)) {
      return Corrupt("checksum mismatch");
    }
  } else {
    std::optional<std::string_view> checked = CheckSha256Trailer(bytes.substr(0, first_part + kTrailer));
    if (!checked) return Corrupt("checksum mismatch");
    envelope = checked->substr(kMagic.size() + (version >= 3 ? 12 : 4));
  }
  ByteReader r(envelope);
  DecodedQueueFile decoded;
  decoded.version = version;
  QueuedMessage& m = decoded.message;
  uint32_t count = 0;
  uint64_t arrival = 0;
  uint8_t utf8 = 0, flags = 0;
  if (!r.GetString(&m.id) || !r.GetU64(&arrival) || !r.GetString(&m.sender) || !r.GetString(&m.client_address) ||
      !r.GetString(&m.client_name) || !r.GetString(&m.helo) || !r.GetString(&m.sasl_username) || !r.GetString(&m.ret) ||
      !r.GetString(&m.envid) || !r.GetU8(&utf8) || !r.GetString(&m.body_type) || !r.GetString(&m.image_id) ||
      (version >= 2 && (!r.GetU8(&flags) || (flags & ~(kDelayWarnedFlag | kVerifyProbeFlag)) != 0)) ||
      !r.GetU32(&count) || count > r.remaining()) {
    return Corrupt("truncated envelope");
  }
  m.delay_warned = (flags & kDelayWarnedFlag) != 0;
  m.verify_probe = (flags & kVerifyProbeFlag) != 0;
  m.arrival_time = static_cast<int64_t>(arrival);
  m.smtputf8 = utf8 != 0;
  if (version < 3) {
    Result<QueuedMessage> old = DecodeOldRecipients(r, count, std::move(m));
    if (!old.ok()) return old.status();
    m = std::move(old).value();
  } else {
    m.recipients.resize(count);
    for (QueuedRecipient& rcpt : m.recipients) {
      if (!GetRecipient(r, &rcpt)) return Corrupt("truncated recipient");
    }
  }
  // The content (version 4: the head, then the body before the envelope).
  if (!r.GetString(&m.content) || r.remaining() != 0) return Corrupt("truncated content");
  m.content.append(body);
  decoded.intact_size = first_part + kTrailer;
  if (version < 3) return decoded;

  // The records, up to the first that is cut short or does not check.
  std::string_view rest = bytes.substr(decoded.intact_size);
  while (!rest.empty()) {
    ByteReader record(rest);
    uint8_t type = 0;
    uint32_t length = 0;
    std::string_view payload, check;
    if (!record.GetU8(&type) || !record.GetU32(&length) || !record.GetRaw(length, &payload) ||
        !record.GetRaw(kRecordCheck, &check)) {
      break;
    }
    size_t size = 5 + length + kRecordCheck;
    if (Sha256Hex(rest.substr(0, size - kRecordCheck)).substr(0, kRecordCheck) != check) break;
    if (!Apply(static_cast<RecordType>(type), payload, m)) return Corrupt("a record does not fit the message");
    rest.remove_prefix(size);
    decoded.intact_size += size;
  }
  return decoded;
}

std::string EncodeRecipientRecord(uint32_t index, const QueuedRecipient& recipient) {
  ByteWriter w;
  w.PutU32(index);
  w.PutU8(static_cast<uint8_t>(recipient.state));
  w.PutU32(recipient.attempts);
  PutStatus(w, recipient.last);
  return Record(kRecipientRecord, w.bytes());
}

std::string EncodeExpansionRecord(uint32_t index, std::span<const QueuedRecipient> recipients) {
  ByteWriter w;
  w.PutU32(index);
  w.PutU32(static_cast<uint32_t>(recipients.size()));
  for (const QueuedRecipient& r : recipients) PutRecipient(w, r);
  return Record(kExpansionRecord, w.bytes());
}

std::string EncodeDelayWarnedRecord() { return Record(kDelayWarnedRecord, ""); }

Status WriteQueueFile(const std::string& directory, const QueuedMessage& message) {
  return WriteFileDurably(directory, message.id, EncodeQueueFile(message), 0600);
}

}  // namespace postern::queue
