// network_oracle.h: what policy restrictions ask the network: DNS
// questions, policy servers (check_policy_service) and address
// verification (reject_unverified_*). The daemon answers with its
// resolver, its policy clients and its verification cache; `postern test`
// with the facts a test case states; the default answers that every name
// exists, no list lists anyone, no name has other records, every policy
// server says DUNNO and every address is deliverable, so a dry run without
// a network never rejects because of it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/address_verification.h"

namespace postern::vm {

// kPending: not known yet (network_answers.h); the stage is run again once it is.
enum class DnsAnswer { kYes, kNo, kTemporaryFailure, kPending };

enum class DnsRecordType { kA, kAaaa, kMx, kTxt, kNs };

struct DnsRecords {
  enum class Status { kFound, kNotFound, kTemporary };
  Status status = Status::kTemporary;
  // A/AAAA addresses, MX hosts by preference ("." null MX), TXT texts, NS hosts.
  std::vector<std::string> values;
};

// A DNS list's answer for a listed name: its A records ("127.0.0.2") and
// the first TXT record, the list's reason ("" when it has none).
struct DnsListing {
  std::vector<std::string> values;
  std::string reason;
  // The list could not be asked (a temporary DNS failure): not listed for
  // the reject_* restrictions, a reason to defer for permit_dnswl_client.
  bool failed = false;
};

// A policy server's answer: its action (an access(5) result), or why
// there is none (smtpd_policy_service_default_action applies), or not yet.
struct PolicyReply {
  enum class Status { kAction, kFailed, kPending };
  Status status = Status::kFailed;
  std::string action;
};

class NetworkOracle {
 public:
  virtual ~NetworkOracle() = default;
  // check_policy_service `service` ("inet:127.0.0.1:10023"), asked
  // `request` (policy_request.h).
  virtual PolicyReply AskPolicy(std::string_view service, std::string_view request) const = 0;
  // Whether mail can be routed to `domain` (MX, A or AAAA records).
  virtual DnsAnswer DomainExists(std::string_view domain) const = 0;
  // What the DNS list `zone` says of `address` (a client address, or a
  // domain for reject_rhsbl_*), if it lists it or could not be asked
  // (DnsListing::failed).
  virtual std::optional<DnsListing> ListedIn(std::string_view zone, std::string_view address) const = 0;
  // The records of one question (check_*_{a,mx,ns}_access); nullopt while
  // it is pending (network_answers.h).
  virtual std::optional<DnsRecords> Lookup(DnsRecordType type, std::string_view name) const = 0;
  // reject_unverified_*: what address verification knows of `address`;
  // nullopt while it is pending (network_answers.h).
  virtual std::optional<mail::AddressVerification> VerifyAddress(std::string_view address) const = 0;
  // The restriction `sleep`: whether the `index`th pause of this
  // evaluation (`seconds` long) is over. A dry run does not wait.
  virtual bool Paused(int /*seconds*/, int /*index*/) const { return true; }
};

// Rates for the policy language's `rate(field) > N per minute`: how many
// stage evaluations with this value of the field there have been in the
// window, counting the one asking. `event` identifies that evaluation
// (SmtpFacts::event): several rate tests in one evaluation count it once.
// The daemon counts (daemon/rate_counter.h); dry runs say 0.
class RateOracle {
 public:
  virtual ~RateOracle() = default;
  virtual int64_t Count(std::string_view field, std::string_view key, int64_t window_seconds, uint64_t event) const = 0;
};

class NoRates : public RateOracle {
 public:
  int64_t Count(std::string_view, std::string_view, int64_t, uint64_t) const override { return 0; }
};

class OptimisticNetwork : public NetworkOracle {
 public:
  PolicyReply AskPolicy(std::string_view, std::string_view) const override {
    return PolicyReply{PolicyReply::Status::kAction, "DUNNO"};
  }
  DnsAnswer DomainExists(std::string_view) const override { return DnsAnswer::kYes; }
  std::optional<DnsListing> ListedIn(std::string_view, std::string_view) const override { return std::nullopt; }
  std::optional<DnsRecords> Lookup(DnsRecordType, std::string_view) const override {
    return DnsRecords{DnsRecords::Status::kNotFound, {}};
  }
  std::optional<mail::AddressVerification> VerifyAddress(std::string_view) const override {
    return mail::AddressVerification{};  // deliverable
  }
};

}  // namespace postern::vm
