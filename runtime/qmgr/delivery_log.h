// delivery_log.h: the maillog line of one recipient's delivery attempt, in
// the form Postfix's delivery agents write it and log tools parse:
// "ID: to=<rcpt>, orig_to=<orig>, relay=..., delay=..., delays=a/b/c/d,
// dsn=X.Y.Z, status=sent (...)".
#pragma once

#include <string>

#include "mail/delivery_status.h"
#include "runtime/queue/queue_file.h"

namespace postern::qmgr {

struct AttemptTimes {
  double arrival = 0;   // when the message was accepted (seconds since the epoch)
  double loaded = 0;    // when the queue manager loaded it
  double finished = 0;  // now
};

// `status`: the word after status= (null: sent, bounced or deferred, by
// the outcome; a probe's is deliverable or undeliverable).
std::string DeliveryLogLine(const std::string& queue_id, const queue::QueuedRecipient& recipient,
                            const mail::DeliveryStatus& outcome, const AttemptTimes& times,
                            const char* status = nullptr);

// A delay as Postfix logs it: "0", "0.02", "1.3", "12".
std::string FormatDelay(double seconds);

}  // namespace postern::qmgr
