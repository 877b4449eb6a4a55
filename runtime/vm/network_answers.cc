// network_answers.cc: see network_answers.h.
#include "runtime/vm/network_answers.h"

#include <algorithm>

#include "mail/ip_address.h"
#include "util/strings.h"

namespace postern::vm {

std::string DnsListQuery(std::string_view zone, std::string_view address) {
  std::optional<mail::IpAddress> ip = mail::IpAddress::Parse(address);
  if (!ip) {
    // A domain (reject_rhsbl_*): itself under the zone.
    std::string_view domain = address;
    while (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    return domain.empty() ? "" : ToLower(domain) + "." + std::string(zone);
  }
  std::string name;
  static constexpr char kHex[] = "0123456789abcdef";
  if (!ip->ipv6) {
    for (int i = 3; i >= 0; --i) name += std::to_string(ip->bytes[static_cast<size_t>(i)]) + ".";
  } else {
    for (int i = 15; i >= 0; --i) {
      uint8_t b = ip->bytes[static_cast<size_t>(i)];
      name += kHex[b & 0xf];
      name += '.';
      name += kHex[b >> 4];
      name += '.';
    }
  }
  return name + std::string(zone);
}

const DnsRecords* NetworkAnswers::Records(DnsRecordType type, std::string_view name) const {
  DnsQuestion question{type, ToLower(name)};
  auto found = answers_.find(question);
  if (found != answers_.end()) return &found->second;
  if (std::find(pending_.begin(), pending_.end(), question) == pending_.end()) pending_.push_back(question);
  return nullptr;
}

std::optional<DnsRecords> NetworkAnswers::Lookup(DnsRecordType type, std::string_view name) const {
  const DnsRecords* records = Records(type, name);
  if (records == nullptr) return std::nullopt;
  return *records;
}

void NetworkAnswers::Answer(const DnsQuestion& question, DnsRecords records) {
  answers_[DnsQuestion{question.type, ToLower(question.name)}] = std::move(records);
}

DnsAnswer NetworkAnswers::DomainExists(std::string_view domain) const {
  using Status = DnsRecords::Status;
  const DnsRecords* mx = Records(DnsRecordType::kMx, domain);
  if (mx == nullptr) return DnsAnswer::kPending;
  if (mx->status == Status::kFound) return DnsAnswer::kYes;
  if (mx->status == Status::kTemporary) return DnsAnswer::kTemporaryFailure;
  // No MX: the domain's own addresses, both asked at once.
  const DnsRecords* a = Records(DnsRecordType::kA, domain);
  const DnsRecords* aaaa = Records(DnsRecordType::kAaaa, domain);
  if (a == nullptr || aaaa == nullptr) return DnsAnswer::kPending;
  if (a->status == Status::kFound || aaaa->status == Status::kFound) return DnsAnswer::kYes;
  if (a->status == Status::kTemporary || aaaa->status == Status::kTemporary) return DnsAnswer::kTemporaryFailure;
  return DnsAnswer::kNo;
}

PolicyReply NetworkAnswers::AskPolicy(std::string_view service, std::string_view request) const {
  PolicyQuestion question{std::string(service), std::string(request)};
  for (const auto& [asked, reply] : policy_answers_) {
    if (asked == question) return reply;
  }
  if (std::find(pending_policy_.begin(), pending_policy_.end(), question) == pending_policy_.end()) {
    pending_policy_.push_back(std::move(question));
  }
  return PolicyReply{PolicyReply::Status::kPending, ""};
}

std::optional<mail::AddressVerification> NetworkAnswers::VerifyAddress(std::string_view address) const {
  for (const auto& [asked, verification] : verifications_) {
    if (asked == address) return verification;
  }
  if (std::find(pending_verify_.begin(), pending_verify_.end(), address) == pending_verify_.end()) {
    pending_verify_.emplace_back(address);
  }
  return std::nullopt;
}

void NetworkAnswers::Answer(const std::string& address, mail::AddressVerification verification) {
  verifications_.emplace_back(address, std::move(verification));
}

bool NetworkAnswers::Paused(int seconds, int index) const {
  if (index < pauses_taken_) return true;
  pending_pause_ = seconds;
  return false;
}

void NetworkAnswers::Answer(const PolicyQuestion& question, PolicyReply reply) {
  policy_answers_.emplace_back(question, std::move(reply));
}

std::optional<DnsListing> NetworkAnswers::ListedIn(std::string_view zone, std::string_view address) const {
  std::string name = DnsListQuery(zone, address);
  if (name.empty()) return std::nullopt;
  const DnsRecords* a = Records(DnsRecordType::kA, name);
  const DnsRecords* txt = Records(DnsRecordType::kTxt, name);
  if (a == nullptr || txt == nullptr || a->status == DnsRecords::Status::kNotFound) return std::nullopt;
  if (a->status == DnsRecords::Status::kTemporary) return DnsListing{{}, "", true};
  DnsListing listing{a->values, ""};
  if (txt->status == DnsRecords::Status::kFound && !txt->values.empty()) listing.reason = txt->values.front();
  return listing;
}

}  // namespace postern::vm
