// route_planner.cc: see route_planner.h.
#include "runtime/qmgr/route_planner.h"

#include <algorithm>

namespace postern::qmgr {
namespace {

using queue::FrozenRoute;
using queue::QueuedRecipient;
using resolve::Delivery;

mail::DeliveryStatus Decided(const Delivery& d) { return mail::DeliveryStatus::FromText(d.code, d.text); }

}  // namespace

RoutePlan PlanRoutes(queue::QueuedMessage& message, const resolve::Resolver& resolver) {
  RoutePlan plan;
  resolve::ResolveOptions options;
  options.smtpd_checks = false;
  options.record_steps = false;
  size_t count = message.recipients.size();  // expansions append; they are planned as they are made
  for (size_t index = 0; index < count; ++index) {
    QueuedRecipient& r = message.recipients[index];
    if (!r.Open()) continue;
    switch (r.route.kind) {
      case FrozenRoute::Kind::kDeliver:
      case FrozenRoute::Kind::kPolicy:
        plan.deliveries.push_back({index, r.route.transport, r.route.nexthop, r.route.detail});
        continue;
      case FrozenRoute::Kind::kBounce:
        plan.decided.push_back({index, r.route.bounce});
        continue;
      case FrozenRoute::Kind::kNone:
        break;
    }
    resolve::Resolution resolution = resolver.Resolve(r.address, options);
    const std::vector<Delivery>& results = resolution.results;
    auto defer = std::find_if(results.begin(), results.end(),
                              [](const Delivery& d) { return d.status == Delivery::Status::kDefer; });
    if (defer != results.end()) {  // nothing of it now: the whole recipient is tried again later
      plan.decided.push_back({index, Decided(*defer)});
      continue;
    }
    if (results.empty()) {
      plan.decided.push_back(
          {index, mail::DeliveryStatus::Local(550, "5.1.0", "the address resolves to no recipient")});
      continue;
    }
    if (results.size() == 1 && results[0].address == r.address) {
      const Delivery& d = results[0];
      if (d.status == Delivery::Status::kDeliver) {
        plan.deliveries.push_back({index, d.transport, d.nexthop, d.detail});
      } else {
        plan.decided.push_back({index, Decided(d)});
      }
      continue;
    }
    std::vector<QueuedRecipient> expanded;
    for (const Delivery& d : results) {
      QueuedRecipient e;
      e.address = d.address;
      e.original = r.original;
      e.notify = r.notify;
      size_t at = message.recipients.size() + expanded.size();
      if (d.status == Delivery::Status::kDeliver) {
        e.route.kind = FrozenRoute::Kind::kDeliver;
        e.route.transport = d.transport;
        e.route.nexthop = d.nexthop;
        e.route.detail = d.detail;
        plan.deliveries.push_back({at, d.transport, d.nexthop, d.detail});
      } else {
        e.route.kind = FrozenRoute::Kind::kBounce;
        e.route.bounce = Decided(d);
        plan.decided.push_back({at, e.route.bounce});
      }
      expanded.push_back(std::move(e));
    }
    plan.records += queue::EncodeExpansionRecord(static_cast<uint32_t>(index), expanded);
    plan.expansions.push_back({index, message.recipients.size(), expanded.size()});
    r.state = QueuedRecipient::State::kExpanded;  // (`r` is not used after the append below)
    for (QueuedRecipient& e : expanded) message.recipients.push_back(std::move(e));
  }
  return plan;
}

}  // namespace postern::qmgr
