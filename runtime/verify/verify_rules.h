// verify_rules.h: the rules of Postfix's verify(8) cache, as pure
// functions of a stored entry and the time: when an entry is still good,
// when a probe is due, and what a probe's result changes. The SMTP
// process (address_verifier.h) and the queue manager's probe results
// (delivery_process.cc) apply them to the shared cache (verify_cache.h).
//
// An entry holds the address's status, when its last probe was sent
// (`probed`, 0 once answered) and when its status was last learned
// (`updated`, 0 for none yet). A probe without an answer for 1000 seconds
// is taken as lost. Positive results are kept address_verify_positive_
// expire_time and probed again after address_verify_positive_refresh_time;
// negative ones likewise with the negative times, and are not kept at all
// with address_verify_negative_cache = no. A failed probe does not replace
// a deliverable status: as long as some probes succeed, it stays.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "mail/address_verification.h"

namespace postern::image {
class Image;
}

namespace postern::verify {

struct VerifyEntry {
  mail::AddressStatus status = mail::AddressStatus::kInProgress;
  int64_t probed = 0;   // seconds since the epoch; 0: no probe outstanding
  int64_t updated = 0;  // seconds since the epoch; 0: never learned
  std::string text;
  bool operator==(const VerifyEntry&) const = default;
};

// address_verify_* settings (seconds).
struct VerifyRules {
  int64_t positive_expire = 31 * 86400;
  int64_t positive_refresh = 7 * 86400;
  int64_t negative_expire = 3 * 86400;
  int64_t negative_refresh = 3 * 3600;
  bool negative_cache = true;
};

// main.cf's address_verify_* settings.
VerifyRules VerifyRulesOf(const image::Image& image);

inline constexpr int64_t kProbeTtl = 1000;  // a probe unanswered this long is lost

// What to do to the stored entry: leave it, replace it, or remove it.
struct CacheChange {
  enum class Kind { kNone, kPut, kDelete };
  Kind kind = Kind::kNone;
  VerifyEntry entry;  // kPut
};

struct QueryResult {
  mail::AddressStatus status = mail::AddressStatus::kInProgress;
  std::string text;
  bool probe = false;  // send a probe now
  CacheChange change;
};

// A query of the address whose entry is `stored` at time `now`.
QueryResult Query(const std::optional<VerifyEntry>& stored, const VerifyRules& rules, int64_t now);

// A probe's result for an address whose entry is `stored`.
CacheChange RecordResult(const std::optional<VerifyEntry>& stored, mail::AddressStatus status, const std::string& text,
                         const VerifyRules& rules, int64_t now);

// Whether the cache cleanup (address_verify_cache_cleanup_interval) keeps
// `entry`: a probe is outstanding, or it has not expired.
bool KeepInCache(const VerifyEntry& entry, const VerifyRules& rules, int64_t now);

}  // namespace postern::verify
