// route_planner.h: where each open recipient of a loaded message goes,
// before anything is delivered. A recipient with a route (the policy's, or
// one frozen earlier) keeps it; the others are resolved with the newest
// image (resolve/resolver.h). A recipient that expands (aliases, virtual
// aliases) is replaced by its final recipients with their routes frozen,
// appended to the message and recorded before any delivery, so that what
// is recorded later is per final address and a later pass does not expand
// it again under another image.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "mail/delivery_status.h"
#include "runtime/queue/queue_file.h"
#include "runtime/resolve/resolver.h"

namespace postern::qmgr {

struct PlannedDelivery {
  size_t recipient;  // index into the message's recipients
  std::string transport, nexthop, detail;
};

struct RoutePlan {
  std::vector<PlannedDelivery> deliveries;
  // Bounced or deferred without a delivery (unknown user, a table that
  // could not be read), by recipient index.
  std::vector<std::pair<size_t, mail::DeliveryStatus>> decided;
  // Expansion records (queue_file.h) to append before any delivery.
  std::string records;
  // The same expansions, typed: recipient `recipient` became the `count`
  // recipients appended at index `first`.
  struct Expansion {
    size_t recipient = 0;
    size_t first = 0;
    size_t count = 0;
  };
  std::vector<Expansion> expansions;
};

// Plans `message`'s open recipients, applying expansions to it (the
// expanded recipient becomes kExpanded, its final recipients are appended).
RoutePlan PlanRoutes(queue::QueuedMessage& message, const resolve::Resolver& resolver);

}  // namespace postern::qmgr
