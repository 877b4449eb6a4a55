// address_verification.h: what address verification (reject_unverified_
// recipient, reject_unverified_sender) knows of an address, in the terms
// Postfix's verify(8) keeps: shared by the policy VM that asks, the SMTP
// process that answers from the cache (runtime/verify/), and the queue
// manager that records what probes found.
#pragma once

#include <cstdint>
#include <string>

namespace postern::mail {

// Postfix's DEL_RCPT_STAT_OK, _DEFER, _BOUNCE and _TODO, with its numbers
// (the cache stores them).
enum class AddressStatus : uint8_t {
  kDeliverable = 0,    // a probe was accepted
  kDeferred = 1,       // a probe failed temporarily
  kUndeliverable = 2,  // a probe was refused
  kInProgress = 3,     // no result yet: a probe is on its way
};

// One answer to "is this address deliverable?". `failed`: the
// verification service could not answer at all (its cache or the queue
// failed): "address verification problem".
struct AddressVerification {
  bool failed = false;
  AddressStatus status = AddressStatus::kDeliverable;
  std::string text;  // why: "host mx[192.0.2.1] said: 550 5.1.1 ...", "Address verification in progress"
};

// How logs name a probe's result: "deliverable" or "undeliverable".
inline const char* ProbeStatusWord(AddressStatus status) {
  return status == AddressStatus::kDeliverable ? "deliverable" : "undeliverable";
}

}  // namespace postern::mail
