// verify_rules.cc: see verify_rules.h.
#include "runtime/verify/verify_rules.h"

#include "runtime/image/image.h"
#include "runtime/image/image_parameters.h"

namespace postern::verify {
namespace {

using mail::AddressStatus;

bool Expired(const VerifyEntry& e, const VerifyRules& rules, int64_t now) {
  bool positive = e.status == AddressStatus::kDeliverable;
  return e.updated + (positive ? rules.positive_expire : rules.negative_expire) < now;
}

bool RefreshDue(AddressStatus status, int64_t updated, const VerifyRules& rules, int64_t now) {
  bool positive = status == AddressStatus::kDeliverable;
  return updated + (positive ? rules.positive_refresh : rules.negative_refresh) < now;
}

}  // namespace

VerifyRules VerifyRulesOf(const image::Image& image) {
  VerifyRules rules;
  rules.positive_expire = image::TimeParameter(image, "address_verify_positive_expire_time");
  rules.positive_refresh = image::TimeParameter(image, "address_verify_positive_refresh_time");
  rules.negative_expire = image::TimeParameter(image, "address_verify_negative_expire_time");
  rules.negative_refresh = image::TimeParameter(image, "address_verify_negative_refresh_time");
  rules.negative_cache = image::BoolParameter(image, "address_verify_negative_cache");
  return rules;
}

QueryResult Query(const std::optional<VerifyEntry>& stored, const VerifyRules& rules, int64_t now) {
  QueryResult result;
  VerifyEntry current;
  bool usable = stored && !(now - stored->probed > kProbeTtl && Expired(*stored, rules, now));
  if (usable) {
    current = *stored;
  } else {
    current.text = "Address verification in progress";
    if (stored && !rules.negative_cache) result.change.kind = CacheChange::Kind::kDelete;
  }
  result.status = current.status;
  result.text = current.text;
  if (now - current.probed > kProbeTtl && RefreshDue(current.status, current.updated, rules, now)) {
    result.probe = true;
    if (current.updated != 0 || rules.negative_cache) {
      current.probed = now;
      result.change = CacheChange{CacheChange::Kind::kPut, current};
    }
  }
  return result;
}

CacheChange RecordResult(const std::optional<VerifyEntry>& stored, AddressStatus status, const std::string& text,
                         const VerifyRules& rules, int64_t now) {
  bool deliverable = status == AddressStatus::kDeliverable;
  if (!deliverable && !rules.negative_cache) return {};
  if (!deliverable && stored && stored->status == AddressStatus::kDeliverable) return {};
  return CacheChange{CacheChange::Kind::kPut, VerifyEntry{status, 0, now, text}};
}

bool KeepInCache(const VerifyEntry& entry, const VerifyRules& rules, int64_t now) {
  return now - entry.probed < kProbeTtl || !Expired(entry, rules, now);
}

}  // namespace postern::verify
