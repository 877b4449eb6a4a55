// mail_exchangers.h: the DNS questions of mail delivery, asked through the
// daemon's asynchronous resolver (async_resolver.h: no lock, queries in
// parallel, answers cached for their TTL): the mail exchangers of a domain
// (RFC 5321 5.1: MX records by preference, equal preferences in random
// order, the domain's own addresses when it has no MX, RFC 7505's null MX
// refused) and the addresses of a host (A and AAAA, asked together).
//
// Answers are Results as Postfix's smtp(8) treats them: no such domain or
// host is NotFound (the mail bounces), a null MX is Permanent, a server
// failure or timeout is Temporary (tried again later).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "runtime/dns/async_resolver.h"
#include "util/asio.h"
#include "util/status.h"

namespace postern::dns {

struct MailExchanger {
  std::string host;
  int preference = 0;
  std::vector<std::string> addresses;  // numeric, IPv4 then IPv6
};

// The exchangers to try, in order, each with its addresses (one without
// addresses is left out). `random` orders equal preferences.
boost::asio::awaitable<Result<std::vector<MailExchanger>>> LookupMailExchangers(AsyncResolver& resolver,
                                                                                std::string domain,
                                                                                std::mt19937& random);

// The A and AAAA records of `host`.
boost::asio::awaitable<Result<std::vector<std::string>>> LookupHostAddresses(AsyncResolver& resolver, std::string host);

}  // namespace postern::dns
