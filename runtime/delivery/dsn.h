// dsn.h: delivery status notifications (RFC 3464) as Postfix's bounce(8)
// writes them: a multipart/report with a human-readable part, a
// message/delivery-status part (per-message and per-recipient fields), and
// the original message (message/rfc822) or only its headers
// (text/rfc822-headers) as DSN RET= asks. For failures, delay warnings and,
// when NOTIFY=SUCCESS asked, success. Pure: a queued message and the
// recipients' outcomes in, the notification's content out; the queue
// manager queues it from the null sender to DsnOptions::to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_status.h"
#include "runtime/queue/queue_file.h"

namespace postern::delivery {

enum class DsnKind { kFailure, kDelay, kSuccess };

struct DsnRecipient {
  std::string address;           // Final-Recipient
  std::string original;          // ORCPT ("rfc822;addr"), or ""
  mail::DeliveryStatus outcome;  // the last attempt's (Status, Remote-MTA, Diagnostic-Code, the reason)
};

struct DsnOptions {
  std::string hostname;       // myhostname: Reporting-MTA, MAILER-DAEMON@...
  std::string queue_id;       // of the notification (boundary, Message-Id)
  int64_t now = 0;            // seconds since the epoch
  size_t size_limit = 50000;  // bounce_size_limit: a longer original is cut to its headers
  std::string to;             // who gets it: the original sender, or 2bounce_notice_recipient
};

// The whole notification message (headers and body, CRLF lines).
std::string MakeDsn(const queue::QueuedMessage& original, DsnKind kind, const std::vector<DsnRecipient>& recipients,
                    const DsnOptions& options);

}  // namespace postern::delivery
