// queue_file.h: the on-disk form of an accepted message (docs/queue.md),
// shared by the writer (the SMTP session, before it answers 250) and the
// readers (queue manager, delivery agents, `postern queue`).
//
// One file per message: magic "PSTRNQUE", a format version, the envelope,
// the per-recipient delivery state, the content, and a sha256 of all of
// it. A file that is truncated or altered fails Decode: it goes to the
// corrupt queue, it is never delivered half.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::queue {

struct QueuedRecipient {
  enum class State : uint8_t { kPending, kDelivered, kBounced, kDeferred };
  std::string address;   // after policy (the RCPT TO address, internal form)
  std::string original;  // ORCPT, or the address as received
  std::string notify;    // DSN NOTIFY= ("" when not given)
  std::string route;     // "transport:nexthop" set by the policy's route action ("" when none)
  State state = State::kPending;
  uint32_t attempts = 0;
  std::string last_reply;  // the last delivery attempt's reply, for bounces and `postern queue show`
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
  std::vector<QueuedRecipient> recipients;
  std::string content;  // the message as received, lines ending in CRLF, dot-unstuffed
};

std::string EncodeQueueFile(const QueuedMessage& message);
// A permanent error for anything but an intact file of a known version.
Result<QueuedMessage> DecodeQueueFile(std::string_view bytes);

// Writes `message` into `directory` as a file named by its id, durably:
// a temporary file, fsync, rename, fsync of the directory. Only after this
// returns OK may the session answer 250. A full or failing disk is a
// temporary error (the session answers 451 or 452).
Status WriteQueueFile(const std::string& directory, const QueuedMessage& message);

}  // namespace postern::queue
