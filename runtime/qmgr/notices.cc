// notices.cc: see notices.h.
#include "runtime/qmgr/notices.h"

#include <algorithm>

#include "util/strings.h"

namespace postern::qmgr {
namespace {

using queue::QueuedRecipient;
using State = QueuedRecipient::State;

// Whether DSN NOTIFY= asks for `what` (RFC 3461: FAILURE and DELAY unless
// it says otherwise).
bool NotifyWants(const std::string& notify, std::string_view what) {
  if (notify.empty()) return what == "FAILURE" || what == "DELAY";
  for (const std::string& item : SplitAny(ToUpper(notify), ",")) {
    if (item == what) return true;
  }
  return false;
}

}  // namespace

NoticePlan PlanNotices(queue::QueuedMessage& q, const std::vector<bool>& fresh, const DeliveryConfig& config,
                       double now) {
  NoticePlan plan;
  double age = now - static_cast<double>(q.arrival_time);
  for (size_t i = 0; i < q.recipients.size(); ++i) {
    if (q.recipients[i].state == State::kDeferred) plan.deferred.push_back(i);
  }
  int64_t lifetime = q.sender.empty() ? config.bounce_queue_lifetime : config.maximal_queue_lifetime;
  std::vector<bool> notify = fresh;
  notify.resize(q.recipients.size(), false);
  if (!plan.deferred.empty() && age >= static_cast<double>(lifetime)) {
    for (size_t i : plan.deferred) {
      q.recipients[i].state = State::kBounced;  // with the last deferral's status, as Postfix reports it
      notify[i] = true;
    }
    plan.expired = true;
    plan.deferred.clear();
  }
  for (size_t i = 0; i < q.recipients.size(); ++i) {
    const QueuedRecipient& r = q.recipients[i];
    if (!notify[i]) continue;
    if (r.state == State::kBounced && NotifyWants(r.notify, "FAILURE")) plan.failed.push_back(i);
    if (r.state == State::kDelivered && !r.notify.empty() && NotifyWants(r.notify, "SUCCESS"))
      plan.succeeded.push_back(i);
  }
  // A bounce that bounces goes to 2bounce_notice_recipient only when
  // notify_classes asks for it; mail from double-bounce never bounces.
  bool from_double_bounce = StartsWith(ToLower(q.sender), ToLower(config.double_bounce_sender) + "@");
  plan.discard_failed = !plan.failed.empty() && (from_double_bounce || (q.sender.empty() && !config.notify_2bounce));
  if (q.sender.empty()) plan.succeeded.clear();
  // Still deferred after delay_warning_time: one warning per message.
  if (!plan.deferred.empty() && !q.delay_warned && !q.sender.empty() && config.delay_warning_time > 0 &&
      age >= static_cast<double>(config.delay_warning_time)) {
    for (size_t i : plan.deferred) {
      if (NotifyWants(q.recipients[i].notify, "DELAY")) plan.delayed.push_back(i);
    }
  }
  return plan;
}

queue::QueuedMessage MakeNotice(const queue::QueuedMessage& q, delivery::DsnKind kind, const std::vector<size_t>& which,
                                const DeliveryConfig& config, const std::string& id, int64_t now,
                                const std::string& image_id) {
  std::vector<delivery::DsnRecipient> recipients;
  for (size_t index : which) {
    const QueuedRecipient& r = q.recipients[index];
    recipients.push_back({r.address, r.original, r.last});
  }
  queue::QueuedMessage notice;
  notice.id = id;
  notice.arrival_time = now;
  notice.image_id = image_id;
  std::string to = q.sender;
  if (q.sender.empty()) {
    to = config.double_bounce_recipient.find('@') == std::string::npos
             ? config.double_bounce_recipient + "@" + config.myorigin
             : config.double_bounce_recipient;
    notice.sender = config.double_bounce_sender + "@" + config.myorigin;
  }
  delivery::DsnOptions options;
  options.hostname = config.hostname;
  options.queue_id = id;
  options.now = now;
  options.size_limit = config.bounce_size_limit;
  options.to = to;
  notice.content = delivery::MakeDsn(q, kind, recipients, options);
  notice.body_type = std::any_of(notice.content.begin(), notice.content.end(),
                                 [](char c) { return static_cast<unsigned char>(c) >= 0x80; })
                         ? "8BITMIME"
                         : "7BIT";
  QueuedRecipient rcpt;
  rcpt.address = to;
  rcpt.original = "rfc822;" + to;
  notice.recipients.push_back(std::move(rcpt));
  return notice;
}

}  // namespace postern::qmgr
