// notices.h: what the sender hears when a message's pass is over (bounce(8)
// and the notify rules of qmgr(8)): which recipients go into a failure
// notice, a success notice (NOTIFY=SUCCESS) or a delay warning
// (delay_warning_time, once per message); deferred recipients past
// maximal_queue_lifetime (bounce_queue_lifetime for bounces) bounced as
// expired; and the notice itself, a message from the null sender (or,
// for a bounce that bounced, from double-bounce to
// 2bounce_notice_recipient) ready to be queued. Pure: the queue manager
// does the queueing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/delivery/dsn.h"
#include "runtime/qmgr/delivery_config.h"
#include "runtime/queue/queue_file.h"

namespace postern::qmgr {

struct NoticePlan {
  bool expired = false;           // open recipients were bounced for their age
  std::vector<size_t> failed;     // into a failure notice
  bool discard_failed = false;    // ...except that nobody is to get it (a bounce of a bounce)
  std::vector<size_t> succeeded;  // into a success notice
  std::vector<size_t> delayed;    // into a delay warning
  std::vector<size_t> deferred;   // still to be delivered
};

// Decides `message`'s notices at `now` (seconds since the epoch). `fresh`
// says, per recipient, whether this pass decided it (earlier passes
// already notified). Expired recipients become kBounced in `message`.
NoticePlan PlanNotices(queue::QueuedMessage& message, const std::vector<bool>& fresh, const DeliveryConfig& config,
                       double now);

// The notice of `kind` about `recipients` of `message`, with queue id `id`.
queue::QueuedMessage MakeNotice(const queue::QueuedMessage& message, delivery::DsnKind kind,
                                const std::vector<size_t>& recipients, const DeliveryConfig& config,
                                const std::string& id, int64_t now, const std::string& image_id);

}  // namespace postern::qmgr
