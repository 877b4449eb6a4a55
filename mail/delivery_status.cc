// delivery_status.cc: see delivery_status.h.
#include "mail/delivery_status.h"

#include "mail/enhanced_status.h"

namespace postern::mail {

DeliveryStatus DeliveryStatus::Local(int code, std::string_view status, std::string reason) {
  DeliveryStatus s;
  s.code = code;
  s.status = status.empty() ? DefaultEnhancedStatus(code) : std::string(status);
  s.reason = std::move(reason);
  return s;
}

DeliveryStatus DeliveryStatus::FromText(int code, std::string_view status_and_reason) {
  StatusAndText split = SplitEnhancedStatus(status_and_reason);
  return Local(code, split.status, std::string(split.text));
}

}  // namespace postern::mail
