// queue_file.h: the on-disk form of an accepted message (docs/queue.md),
// shared by the writer (the SMTP session, before it answers 250) and the
// readers (queue manager, delivery agents, `postern queue`).
//
// One file per message. Its first part is written once, before the 250:
// magic "PSTRNQUE", a format version, the body (streamed into place while
// it was received), the envelope with its recipients and the head of the
// content, and a sha256 of all of it. A first part that is truncated or
// altered fails Decode: the file goes to the corrupt queue, it is never
// delivered half.
//
// What happens later is appended as records, never rewritten: a
// recipient's delivery state and last outcome, an expansion (a recipient
// replaced by its aliases' final recipients, with their routes frozen),
// the delay warning having been sent. Each record carries its own
// checksum; a record cut short by a crash ends the list (what it would have
// said is done again: a duplicate delivery, never a loss) and is cut off
// before the next append (`intact_size`). Versions 1 to 3 are still read.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_status.h"
#include "util/sha256.h"
#include "util/status.h"

namespace postern::queue {

// Where a recipient goes, when that is decided before the queue manager
// resolves it with the newest image.
struct FrozenRoute {
  enum class Kind : uint8_t {
    kNone,     // resolved when the message is loaded
    kPolicy,   // the policy's route action: transport and nexthop
    kDeliver,  // frozen at expansion: transport, nexthop, local detail
    kBounce,   // frozen at expansion as undeliverable: `bounce`
  };
  Kind kind = Kind::kNone;
  std::string transport, nexthop, detail;
  mail::DeliveryStatus bounce;

  // The policy's "transport:nexthop" (a transport(5) value).
  static FrozenRoute Policy(std::string_view transport_and_nexthop);
  // "transport:nexthop" for people (empty for kNone and kBounce).
  std::string Describe() const;
};

struct QueuedRecipient {
  enum class State : uint8_t {
    kPending,
    kDelivered,
    kBounced,
    kDeferred,
    kExpanded,  // replaced by the recipients an expansion record added
  };
  std::string address;   // after policy (the RCPT TO address, internal form)
  std::string original;  // ORCPT, or the address as received
  std::string notify;    // DSN NOTIFY= ("" when not given)
  FrozenRoute route;
  State state = State::kPending;
  uint32_t attempts = 0;
  mail::DeliveryStatus last;  // the last attempt's outcome (code 0: none yet)

  // Whether a delivery is still to be made (pending or deferred).
  bool Open() const { return state == State::kPending || state == State::kDeferred; }
  // `original` without the ORCPT address type ("rfc822;").
  std::string OriginalAddress() const;
};

struct QueuedMessage {
  std::string id;            // the queue id, also the file name
  int64_t arrival_time = 0;  // seconds since the epoch
  std::string sender;        // "" is the null sender
  std::string client_address, client_name, helo;
  std::string sasl_username;
  std::string ret;    // DSN RET= (FULL, HDRS, or "")
  std::string envid;  // DSN ENVID=
  bool smtputf8 = false;
  std::string body_type;      // 7BIT, 8BITMIME, BINARYMIME
  std::string image_id;       // the image whose policy accepted it
  bool delay_warned = false;  // the sender was sent a delay warning (delay_warning_time)
  // An address verification probe (runtime/verify/address_verifier.h):
  // routed and tried up to the point of delivery, never delivered.
  bool verify_probe = false;
  std::vector<QueuedRecipient> recipients;
  std::string content;  // the message as received, lines ending in CRLF, dot-unstuffed
};

// The first part of a queue file (the current version), records none.
std::string EncodeQueueFile(const QueuedMessage& message);

// Where the body starts in a file of the current version: after the
// magic, the version and two sizes.
inline constexpr uint64_t kQueueFileBodyOffset = 28;

// The first part around a body that is written elsewhere (body_spool.h):
// `front` goes at offset 0 (kQueueFileBodyOffset bytes), then the body,
// then `back`: the envelope and the check. The content is `head` followed
// by the body (`message.content` is not used): the session keeps our
// Received: header and the header section, which the policy may edit at
// the end of data, and streams the rest.
struct FirstPartFrame {
  std::string front, back;
};
FirstPartFrame EncodeFirstPart(const QueuedMessage& message, std::string_view head, uint64_t body_size,
                               const Sha256::Digest& body_digest);

// A decoded file: the message with every intact record applied, and the
// size of the file up to the end of the last intact record.
struct DecodedQueueFile {
  QueuedMessage message;
  uint64_t intact_size = 0;
  uint32_t version = 0;  // of the file as it was written
};

// The format version EncodeQueueFile writes; only files of this version
// take records.
inline constexpr uint32_t kQueueFileVersion = 4;
// A permanent error for anything but an intact first part of a known
// version, or a record that does not fit the message.
Result<DecodedQueueFile> DecodeQueueFile(std::string_view bytes);

// Records, to be appended to a file of the current version.
// Recipient `index`'s state, attempts and last outcome as they are now.
std::string EncodeRecipientRecord(uint32_t index, const QueuedRecipient& recipient);
// Recipient `index` expanded into `recipients` (appended to the list; it
// becomes kExpanded).
std::string EncodeExpansionRecord(uint32_t index, std::span<const QueuedRecipient> recipients);
// The delay warning was sent.
std::string EncodeDelayWarnedRecord();

// Writes `message` into `directory` as a file named by its id, durably:
// a temporary file, fsync, rename, fsync of the directory. Only after this
// returns OK may the session answer 250. A full or failing disk is a
// temporary error (the session answers 451 or 452).
Status WriteQueueFile(const std::string& directory, const QueuedMessage& message);

}  // namespace postern::queue
