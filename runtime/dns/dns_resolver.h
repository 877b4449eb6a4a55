// dns_resolver.h: the DNS questions mail delivery asks, answered with
// c-ares: the mail exchangers of a domain (RFC 5321 5.1: MX records by
// preference, equal preferences in random order, and the domain's own
// address records when it has no MX), and the addresses of a host.
//
// Answers are Results: "no such domain" is permanent (the mail bounces),
// a server failure or timeout is temporary (it is tried again later), as
// Postfix's smtp(8) treats them. Blocking: the queue manager calls it on
// its lookup threads. Thread-safe (one query at a time per resolver).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace postern::dns {

struct MailExchanger {
  std::string host;
  int preference = 0;
  std::vector<std::string> addresses;  // numeric, IPv4 and IPv6
};

struct ResolverOptions {
  // "127.0.0.1:5353,[::1]:53"; empty: the system's (/etc/resolv.conf).
  std::string servers;
  std::chrono::milliseconds timeout{5000};
  int tries = 2;
};

class DnsResolver {
 public:
  static Result<std::unique_ptr<DnsResolver>> Create(const ResolverOptions& options);
  ~DnsResolver();
  DnsResolver(const DnsResolver&) = delete;
  DnsResolver& operator=(const DnsResolver&) = delete;

  // The exchangers to try, in order, each with its addresses (an exchanger
  // without addresses is left out).
  Result<std::vector<MailExchanger>> LookupMx(std::string_view domain);
  // The A and AAAA records of `host`.
  Result<std::vector<std::string>> LookupAddresses(std::string_view host);

 private:
  struct Channel;
  explicit DnsResolver(std::unique_ptr<Channel> channel);
  void Wait();  // runs c-ares until every query of this call is answered

  std::unique_ptr<Channel> channel_;
  std::mutex mutex_;
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace postern::dns
