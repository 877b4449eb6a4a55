// queue_file_fuzzer.cc: queue files are read back by the queue manager and
// `postern queue`; a file that passes its checksum must still never crash
// the decoder, and what decodes must encode and decode to the same
// message. The checksums would stop a fuzzer at the door, so the harness
// makes them right: the input is a body length (a byte), an envelope
// length (two, little-endian), the body, the envelope and records, wrapped as a version 4 file (and the envelope as a
// version 3 one) with valid checks, each record's check fixed up as well.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtime/queue/queue_file.h"
#include "util/bytes.h"
#include "util/sha256.h"

namespace {

using namespace postern;
using namespace postern::queue;

std::string Digest(std::string_view data) {
  Sha256 hash;
  hash.Update(data);
  Sha256::Digest d = hash.Final();
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

// Records as the file has them (type, length, payload, check), with the
// checks recomputed; a record cut short stays cut short.
std::string FixRecords(std::string_view rest) {
  std::string out;
  while (rest.size() >= 5) {
    uint32_t length = static_cast<uint8_t>(rest[1]) | static_cast<uint32_t>(static_cast<uint8_t>(rest[2])) << 8;
    std::string record(rest.substr(0, 1));
    ByteWriter w;
    w.PutU32(length);
    record += w.bytes();
    rest.remove_prefix(5);
    if (rest.size() < length) {
      out += record;
      out += rest;
      return out;
    }
    record += rest.substr(0, length);
    rest.remove_prefix(length);
    out += record + Sha256Hex(record).substr(0, 16);
  }
  return out + std::string(rest);
}

void Check(std::string_view file) {
  Result<DecodedQueueFile> decoded = DecodeQueueFile(file);
  if (!decoded.ok()) return;
  const QueuedMessage& m = decoded->message;
  Result<DecodedQueueFile> again = DecodeQueueFile(EncodeQueueFile(m));
  if (!again.ok()) std::abort();
  const QueuedMessage& n = again->message;
  if (n.id != m.id || n.sender != m.sender || n.content != m.content || n.recipients.size() != m.recipients.size() ||
      n.delay_warned != m.delay_warned) {
    std::abort();
  }
  for (size_t i = 0; i < m.recipients.size(); ++i) {
    const QueuedRecipient& a = m.recipients[i];
    const QueuedRecipient& b = n.recipients[i];
    if (a.address != b.address || a.state != b.state || a.attempts != b.attempts || a.route.kind != b.route.kind ||
        a.last.code != b.last.code || a.last.reason != b.last.reason) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kLengths = 3;
  if (size < kLengths) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t body_size = std::min<size_t>(data[0], size - kLengths);
  size_t envelope_size = std::min<size_t>(data[1] | static_cast<size_t>(data[2]) << 8, size - kLengths - body_size);
  std::string_view body = input.substr(kLengths, body_size);
  std::string_view envelope = input.substr(kLengths + body_size, envelope_size);
  std::string records = FixRecords(input.substr(kLengths + body_size + envelope_size));

  // Version 4: the body first, its sha256 in the check.
  ByteWriter front;
  front.PutRaw("PSTRNQUE");
  front.PutU32(4);
  front.PutU64(kQueueFileBodyOffset + body.size() + envelope.size());
  front.PutU64(body.size());
  std::string v4 = front.Release();
  std::string trailer = Sha256Hex(v4 + std::string(envelope) + Digest(body));
  v4 += std::string(body) + std::string(envelope) + trailer + records;
  Check(v4);

  // Version 3: the envelope, content included, under a sha256 of it all.
  ByteWriter old;
  old.PutRaw("PSTRNQUE");
  old.PutU32(3);
  old.PutU64(20 + envelope.size());
  std::string v3 = old.Release() + std::string(envelope);
  AppendSha256Trailer(&v3);
  Check(v3 + records);
  return 0;
}
