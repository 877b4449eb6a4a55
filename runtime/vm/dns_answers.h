// dns_answers.h: the DNS oracle of one SMTP session, for a VM that never
// waits. A stage runs with the records fetched so far; a question without
// them is noted as pending and answered as if all were well (the domain
// exists, the client is not listed), so the stage runs to its end. The
// session then fetches every pending question at once (asynchronously:
// dns/async_resolver.h) and runs the stage again, until nothing is
// pending; only that run's decision counts. Postfix's smtpd asks the same
// questions, one after another.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "runtime/vm/dns_oracle.h"

namespace postern::vm {

enum class DnsRecordType { kA, kAaaa, kMx, kTxt };

struct DnsQuestion {
  DnsRecordType type = DnsRecordType::kA;
  std::string name;
  bool operator<(const DnsQuestion& o) const { return std::tie(type, name) < std::tie(o.type, o.name); }
  bool operator==(const DnsQuestion& o) const { return type == o.type && name == o.name; }
};

struct DnsRecords {
  enum class Status { kFound, kNotFound, kTemporary };
  Status status = Status::kTemporary;
  std::vector<std::string> values;  // A/AAAA addresses, MX hosts by preference ("." null MX), TXT texts
};

// The name a DNS list is asked about `address`: its octets (IPv4) or
// nibbles (IPv6) reversed, then the zone; a domain (RHSBL) as it is, then
// the zone.
std::string DnsListQuery(std::string_view zone, std::string_view address);

class DnsAnswers : public DnsOracle {
 public:
  // reject_unknown_*_domain as Postfix asks: MX, then A and AAAA; found
  // when any has records, a temporary failure when one failed before.
  DnsAnswer DomainExists(std::string_view domain) const override;
  // The list's A records and TXT reason (asked together).
  std::optional<DnsListing> ListedIn(std::string_view zone, std::string_view address) const override;

  // What the last runs asked that has no records yet, each once.
  const std::vector<DnsQuestion>& pending() const { return pending_; }
  void Answer(const DnsQuestion& question, DnsRecords records);
  void ClearPending() { pending_.clear(); }

 private:
  // The records, or null (and the question noted pending).
  const DnsRecords* Records(DnsRecordType type, std::string_view name) const;

  std::map<DnsQuestion, DnsRecords> answers_;
  mutable std::vector<DnsQuestion> pending_;
};

}  // namespace postern::vm
