// mail_exchangers.cc: see mail_exchangers.h.
#include "runtime/dns/mail_exchangers.h"

#include <algorithm>

namespace postern::dns {
namespace asio = boost::asio;

namespace {

std::string NotFoundText(const std::string& name, const char* type) {
  return "Host or domain name not found. Name service error for name=" + name + " type=" + type + ": Host not found";
}

Status Failure(const DnsReply& reply, const std::string& name, const char* type) {
  if (reply.status == DnsReply::Status::kNotFound) return Status::NotFound(NotFoundText(name, type));
  return Status::Temporary("Host or domain name not found. Name service error for name=" + name + " type=" + type +
                           ": Host not found, try again (" + reply.error + ")");
}

}  // namespace

asio::awaitable<Result<std::vector<std::string>>> LookupHostAddresses(AsyncResolver& resolver, std::string host) {
  std::vector<std::pair<std::string, RecordType>> questions;
  questions.emplace_back(host, RecordType::kA);
  questions.emplace_back(host, RecordType::kAaaa);
  std::vector<DnsReply> replies = co_await AsyncQueryAll(resolver, std::move(questions));
  const DnsReply& a = replies[0];
  const DnsReply& aaaa = replies[1];
  std::vector<std::string> addresses;
  for (const DnsReply* reply : {&a, &aaaa}) {
    if (reply->status == DnsReply::Status::kFound) {
      addresses.insert(addresses.end(), reply->values.begin(), reply->values.end());
    }
  }
  if (!addresses.empty()) co_return addresses;
  // Temporary when either failed so: the other family may exist.
  const DnsReply& worst = a.status == DnsReply::Status::kTemporary ? a : aaaa;
  co_return Failure(worst, host, "A");
}

asio::awaitable<Result<std::vector<MailExchanger>>> LookupMailExchangers(AsyncResolver& resolver, std::string domain,
                                                                         std::mt19937& random) {
  DnsReply mx = co_await AsyncQuery(resolver, domain, RecordType::kMx);
  std::vector<MailExchanger> exchangers;
  if (mx.status == DnsReply::Status::kTemporary) co_return Failure(mx, domain, "MX");
  if (mx.status == DnsReply::Status::kNotFound || mx.values.empty()) {
    // No MX: the domain itself is the exchanger (RFC 5321 5.1); no such
    // domain shows as its addresses not being found either.
    Result<std::vector<std::string>> addresses = co_await LookupHostAddresses(resolver, domain);
    if (!addresses.ok()) {
      if (addresses.status().not_found()) co_return Status::NotFound(NotFoundText(domain, "MX"));
      co_return addresses.status();
    }
    exchangers.push_back(MailExchanger{domain, 0, std::move(addresses).value()});
    co_return exchangers;
  }
  std::vector<std::pair<int, std::string>> records;
  for (size_t i = 0; i < mx.values.size(); ++i) {
    records.emplace_back(i < mx.preferences.size() ? mx.preferences[i] : 0, mx.values[i]);
  }
  // By preference; equal preferences in random order, to spread the load.
  std::shuffle(records.begin(), records.end(), random);
  std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  Status last = Status::Ok();
  for (auto& [preference, host] : records) {
    if (host.empty() || host == ".") {
      co_return Status::Permanent("domain " + domain + " does not accept mail (null MX, RFC 7505)");
    }
    Result<std::vector<std::string>> addresses = co_await LookupHostAddresses(resolver, host);
    if (!addresses.ok()) {
      last = addresses.status();
      continue;
    }
    exchangers.push_back(MailExchanger{std::move(host), preference, std::move(addresses).value()});
  }
  if (exchangers.empty()) {
    co_return last.temporary() ? last : Status::Temporary("no address for any MX host of " + domain);
  }
  co_return exchangers;
}

}  // namespace postern::dns
