// address_verifier.h: the SMTP process's address verification service
// (Postfix's verify(8) query): what the cache knows of an address, and a
// probe sent when it knows nothing or its knowledge is due for a refresh.
// A probe is a message to the address from address_verify_sender, queued
// like any other; the queue manager runs it through routing and the
// delivery agent up to the point of delivery (an SMTP or LMTP server's
// RCPT reply), records the result in the cache and discards the probe.
//
// Thread-safe. Each call does a short transaction on the cache: call it
// where blocking briefly is allowed.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "mail/address_verification.h"
#include "runtime/verify/verify_cache.h"
#include "runtime/verify/verify_rules.h"
#include "util/status.h"

namespace postern::verify {

struct VerifierSettings {
  VerifyRules rules;
  std::string sender;  // address_verify_sender, qualified; "" is the null sender
  // How long a session waits for a probe's result: asked up to poll_count
  // times, poll_delay seconds apart (address_verify_poll_count, _delay).
  int64_t poll_count = 3;
  int64_t poll_delay = 3;
};

// main.cf's settings: address_verify_sender ("<>": the null sender; a
// bare name gets @$myorigin, as Postfix's local rewriting gives it).
VerifierSettings VerifierSettingsOf(const image::Image& image);

class AddressVerifier {
 public:
  // Queues a probe from `sender` to `address`; an error when it could not.
  using SendProbe = std::function<Status(const std::string& sender, const std::string& address)>;

  AddressVerifier(std::unique_ptr<VerifyCache> cache, SendProbe send_probe, std::function<int64_t()> now);

  // On start and reload.
  void Configure(VerifierSettings settings);
  VerifierSettings settings();
  // The address's status (in progress when nothing is known yet); failed
  // when the cache or the queue could not be used.
  mail::AddressVerification Query(const std::string& address);
  // address_verify_cache_cleanup_interval's sweep: removes expired entries.
  Result<int64_t> Clean();

 private:
  std::unique_ptr<VerifyCache> cache_;
  SendProbe send_probe_;
  std::function<int64_t()> now_;
  std::mutex mutex_;
  VerifierSettings settings_;
};

}  // namespace postern::verify
