// network_answers.h: the network oracle of one SMTP session, for a VM that
// never waits. A stage runs with the DNS records, policy server answers
// and address verifications fetched so far; a question without one is
// noted as pending and answered as if all were well (the domain exists,
// the client is not listed, the policy server says DUNNO, the address is
// deliverable), so the stage runs to its end. The session
// then asks every pending question at once (asynchronously:
// dns/async_resolver.h, policy/policy_client.h) and runs the stage again,
// until nothing is pending; only that run's decision counts. Postfix's
// smtpd asks the same questions, one after another. A policy server is
// asked each request once per stage evaluation, and each `sleep` is taken
// once, and an address verified once: StartEvaluation() before the next.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "runtime/vm/network_oracle.h"

namespace postern::vm {

struct DnsQuestion {
  DnsRecordType type = DnsRecordType::kA;
  std::string name;
  bool operator<(const DnsQuestion& o) const { return std::tie(type, name) < std::tie(o.type, o.name); }
  bool operator==(const DnsQuestion& o) const { return type == o.type && name == o.name; }
};

struct PolicyQuestion {
  std::string service;  // "inet:host:port" or "unix:path"
  std::string request;  // the attribute lines and the empty line
  bool operator==(const PolicyQuestion& o) const { return service == o.service && request == o.request; }
};

// The name a DNS list is asked about `address`: its octets (IPv4) or
// nibbles (IPv6) reversed, then the zone; a domain (RHSBL) as it is, then
// the zone.
std::string DnsListQuery(std::string_view zone, std::string_view address);

class NetworkAnswers : public NetworkOracle {
 public:
  // reject_unknown_*_domain as Postfix asks: MX, then A and AAAA; found
  // when any has records, a temporary failure when one failed before.
  DnsAnswer DomainExists(std::string_view domain) const override;
  // The list's A records and TXT reason (asked together).
  std::optional<DnsListing> ListedIn(std::string_view zone, std::string_view address) const override;

  PolicyReply AskPolicy(std::string_view service, std::string_view request) const override;
  std::optional<mail::AddressVerification> VerifyAddress(std::string_view address) const override;
  std::optional<DnsRecords> Lookup(DnsRecordType type, std::string_view name) const override;
  // A pause not yet taken is pending: the session waits, then runs the
  // stage again, which goes past it.
  bool Paused(int seconds, int index) const override;

  // What the last runs asked that has no answer yet, each once.
  const std::vector<DnsQuestion>& pending() const { return pending_; }
  const std::vector<PolicyQuestion>& pending_policy() const { return pending_policy_; }
  const std::vector<std::string>& pending_verifications() const { return pending_verify_; }
  // The seconds of the pause the last run stopped at, if any.
  std::optional<int> pending_pause() const { return pending_pause_; }
  bool has_pending() const {
    return !pending_.empty() || !pending_policy_.empty() || !pending_verify_.empty() || pending_pause_.has_value();
  }
  void Answer(const DnsQuestion& question, DnsRecords records);
  void Answer(const PolicyQuestion& question, PolicyReply reply);
  void Answer(const std::string& address, mail::AddressVerification verification);
  void PauseTaken() { ++pauses_taken_; }
  void ClearPending() {
    pending_.clear();
    pending_policy_.clear();
    pending_verify_.clear();
    pending_pause_.reset();
  }
  // A new evaluation of a stage: its policy servers and the verification
  // service are asked anew and its pauses taken again.
  void StartEvaluation() {
    policy_answers_.clear();
    verifications_.clear();
    pauses_taken_ = 0;
  }

 private:
  // The records, or null (and the question noted pending).
  const DnsRecords* Records(DnsRecordType type, std::string_view name) const;

  std::map<DnsQuestion, DnsRecords> answers_;
  mutable std::vector<DnsQuestion> pending_;
  std::vector<std::pair<PolicyQuestion, PolicyReply>> policy_answers_;
  mutable std::vector<PolicyQuestion> pending_policy_;
  std::vector<std::pair<std::string, mail::AddressVerification>> verifications_;
  mutable std::vector<std::string> pending_verify_;
  int pauses_taken_ = 0;
  mutable std::optional<int> pending_pause_;
};

}  // namespace postern::vm
