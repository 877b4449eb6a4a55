// address_verifier.cc: see address_verifier.h.
#include "runtime/verify/address_verifier.h"

#include <algorithm>

#include "runtime/image/image.h"
#include "runtime/image/image_parameters.h"
#include "util/strings.h"

namespace postern::verify {

VerifierSettings VerifierSettingsOf(const image::Image& image) {
  VerifierSettings settings;
  settings.rules = VerifyRulesOf(image);
  std::string sender(Trim(image.Text("address_verify_sender")));
  if (sender == "<>") sender.clear();
  if (!sender.empty() && sender.find('@') == std::string::npos) {
    sender += "@" + std::string(Trim(image.Text("myorigin")));
  }
  settings.sender = sender;
  settings.poll_count = std::max<int64_t>(1, image::IntParameter(image, "address_verify_poll_count"));
  settings.poll_delay = std::max<int64_t>(0, image::TimeParameter(image, "address_verify_poll_delay"));
  return settings;
}

AddressVerifier::AddressVerifier(std::unique_ptr<VerifyCache> cache, SendProbe send_probe, std::function<int64_t()> now)
    : cache_(std::move(cache)), send_probe_(std::move(send_probe)), now_(std::move(now)) {}

void AddressVerifier::Configure(VerifierSettings settings) {
  std::lock_guard lock(mutex_);
  settings_ = std::move(settings);
}

VerifierSettings AddressVerifier::settings() {
  std::lock_guard lock(mutex_);
  return settings_;
}

mail::AddressVerification AddressVerifier::Query(const std::string& address) {
  VerifierSettings current = settings();
  int64_t now = now_();
  QueryResult result;
  Status sent = Status::Ok();
  // The probe goes out before the entry records it: one that could not be
  // queued is not waited for.
  Status changed = cache_->Change(address, [&](const std::optional<VerifyEntry>& stored) {
    result = verify::Query(stored, current.rules, now);
    if (result.probe) sent = send_probe_(current.sender, address);
    return sent.ok() ? result.change : CacheChange{};
  });
  mail::AddressVerification answer;
  if (!changed.ok() || !sent.ok()) {
    answer.failed = true;
    answer.text = !sent.ok() ? "cannot queue a probe: " + sent.message() : changed.message();
    return answer;
  }
  answer.status = result.status;
  answer.text = result.text;
  return answer;
}

Result<int64_t> AddressVerifier::Clean() {
  VerifierSettings current = settings();
  int64_t now = now_();
  return cache_->Clean([&](const VerifyEntry& e) { return KeepInCache(e, current.rules, now); });
}

}  // namespace postern::verify
