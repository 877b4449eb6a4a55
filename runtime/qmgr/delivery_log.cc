// delivery_log.cc: see delivery_log.h.
#include "runtime/qmgr/delivery_log.h"

#include <cstdio>

#include "mail/address.h"
#include "util/strings.h"

namespace postern::qmgr {

std::string FormatDelay(double s) {
  if (s < 0.005) return "0";
  char buffer[32];
  snprintf(buffer, sizeof buffer, s < 10 ? "%.2f" : "%.0f", s);
  std::string out = buffer;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

std::string DeliveryLogLine(const std::string& queue_id, const queue::QueuedRecipient& r,
                            const mail::DeliveryStatus& outcome, const AttemptTimes& times, const char* status) {
  if (status == nullptr) status = outcome.delivered() ? "sent" : outcome.bounced() ? "bounced" : "deferred";
  std::string original = r.OriginalAddress();
  // Addresses as Postfix logs them: local parts that need it quoted.
  std::string line = queue_id + ": to=<" + mail::QuoteLocalPart(r.address) + ">";
  if (!original.empty() && !EqualsIgnoreCase(original, r.address)) {
    line += ", orig_to=<" + mail::QuoteLocalPart(original) + ">";
  }
  line += ", relay=" + (outcome.relay.empty() ? std::string("none") : outcome.relay);
  line += ", delay=" + FormatDelay(times.finished - times.arrival);
  line += ", delays=" + FormatDelay(times.loaded - times.arrival) + "/" + FormatDelay(times.finished - times.loaded) +
          "/0/0";
  line += ", dsn=" + outcome.status + ", status=" + status + " (" + outcome.LogText() + ")";
  return line;
}

}  // namespace postern::qmgr
