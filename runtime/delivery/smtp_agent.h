// smtp_agent.h: the smtp and lmtp delivery agents: from a resolver's
// nexthop to delivered (or deferred, or bounced) recipients.
//
// Nexthop syntax as smtp(8) and lmtp(8) read it: "domain" (MX lookup),
// "domain:port", "[host]" and "[host]:port" (no MX lookup), and for LMTP
// also "inet:host:port" and "unix:/path". Mail exchangers are tried in
// order, each address in turn, while the failure is the host's (no
// connection, greeting or EHLO refused, TLS failed), up to
// smtp_mx_address_limit addresses; a reply about the mail itself ends the
// attempt. A domain that does not exist bounces (5.4.4); a DNS failure
// defers (4.4.3). Several messages for the same nexthop go over one
// connection, one after another (connection reuse). With
// ClientSaslSettings, each host where smtp_sasl_password_maps has
// credentials is authenticated to (sasl_client.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "runtime/delivery/smtp_delivery.h"
#include "util/status.h"

namespace postern::delivery {

struct Nexthop {
  enum class Kind { kDomain, kHost, kUnix };
  Kind kind = Kind::kDomain;
  std::string name;  // domain, host (a name or a numeric address), or socket path
  uint16_t port = 25;
};

// Parses `nexthop` for the smtp (`lmtp` false) or lmtp agent.
Result<Nexthop> ParseNexthop(std::string_view nexthop, bool lmtp);

// A host to connect to, as the DNS named it.
struct TargetHost {
  std::string name;
  std::vector<std::string> addresses;  // numeric
};

// Where the destination's mail goes: the MX hosts of a domain (with the
// domain's own addresses when it has no MX) or a host's addresses. A
// failure's message is what the recipients are told; NotFound and
// Permanent bounce them (5.4.4), the rest defers them (4.4.3).
using HostLookup = std::function<boost::asio::awaitable<Result<std::vector<TargetHost>>>(const Nexthop& nexthop)>;

// smtp_sasl_auth_enable: SMTP AUTH wherever there are credentials.
struct ClientSaslSettings {
  // The credentials for a host (smtp_sasl_password_maps by host name, then
  // by destination; first by sender with smtp_sender_dependent_authentication);
  // none: no AUTH there. An error: the table could not be read (defer).
  std::function<Result<std::optional<SaslCredentials>>(const std::string& host)> credentials;
  // Cyrus security flags (SaslSecurityFlags) without TLS
  // (smtp_sasl_security_options), with TLS (smtp_sasl_tls_security_options)
  // and with a verified server certificate (..._tls_verified_...).
  unsigned flags = 0, tls_flags = 0, verified_flags = 0;
  std::vector<std::string> mechanism_filter;  // smtp_sasl_mechanism_filter
  bool soft_bounce = true;                    // smtp_sasl_auth_soft_bounce
};

struct SmtpAgentOptions {
  // helo_name, lmtp, tls, line_length_limit (server, relay and auth are set per host)
  ClientOptions client;
  DeliveryTimeouts timeouts;
  size_t address_limit = 5;  // smtp_mx_address_limit (0: no limit)
  std::optional<ClientSaslSettings> sasl;
};

// `done(i, results)` (one per recipient of message i) for each message
// attempted, as it finishes; returns how many were (the rest were not
// touched: a connection failed before their turn).
using AgentDone = MessageDone;

boost::asio::awaitable<size_t> DeliverViaSmtp(const Nexthop& nexthop, const SmtpAgentOptions& options,
                                              std::span<const OutboundMessage* const> messages,
                                              boost::asio::ssl::context* tls, const HostLookup& lookup,
                                              const AgentDone& done);

}  // namespace postern::delivery
