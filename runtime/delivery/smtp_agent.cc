// smtp_agent.cc: see smtp_agent.h.
#include "runtime/delivery/smtp_agent.h"

#include <algorithm>

#include "util/strings.h"

namespace postern::delivery {
namespace asio = boost::asio;

namespace {

// "[host]" or "[host]:port" with `rest` after the bracket; "[ipv6:...]" too.
bool SplitPort(std::string_view text, std::string* name, uint16_t* port, std::string* error) {
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      *error = "missing ']'";
      return false;
    }
    *name = std::string(text.substr(1, close - 1));
    if (StartsWith(ToLower(*name), "ipv6:")) *name = name->substr(5);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        *error = "text after ']'";
        return false;
      }
      port_text = rest.substr(1);
    }
  } else {
    size_t colon = text.rfind(':');
    *name = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) port_text = text.substr(colon + 1);
  }
  if (name->empty()) {
    *error = "no host name";
    return false;
  }
  if (!port_text.empty()) {
    long long number = 0;
    if (!ParseDecimal(port_text, &number) || number <= 0 || number > 65535) {
      *error = "bad port \"" + std::string(port_text) + "\"";
      return false;
    }
    *port = static_cast<uint16_t>(number);
  }
  return true;
}

std::string HostLabel(const std::string& name, const std::string& address) { return name + "[" + address + "]"; }

// SMTP AUTH with `credentials` to `host`: the Cyrus client with the
// security options for the session's TLS state.
ClientAuth MakeClientAuth(const ClientSaslSettings& sasl, const std::string& host, SaslCredentials credentials,
                          TlsPolicy tls) {
  ClientAuth auth;
  auth.mechanism_filter = sasl.mechanism_filter;
  auth.soft_bounce = sasl.soft_bounce;
  unsigned plain = sasl.flags, encrypted = sasl.tls_flags, verified = sasl.verified_flags;
  auth.start = [=](bool tls_active) {
    unsigned flags = !tls_active ? plain : tls == TlsPolicy::kVerify ? verified : encrypted;
    return NewCyrusSaslClient(host, credentials, flags);
  };
  return auth;
}

}  // namespace

Result<Nexthop> ParseNexthop(std::string_view text, bool lmtp) {
  Nexthop n;
  n.port = lmtp ? 24 : 25;
  std::string_view rest = text;
  if (lmtp && StartsWith(rest, "unix:")) {
    n.kind = Nexthop::Kind::kUnix;
    n.name = std::string(rest.substr(5));
    if (n.name.empty()) return Status::Permanent("empty socket path in nexthop \"" + std::string(text) + "\"");
    return n;
  }
  if (StartsWith(rest, "inet:")) rest.remove_prefix(5);
  std::string error;
  n.kind = (!rest.empty() && rest.front() == '[') || lmtp ? Nexthop::Kind::kHost : Nexthop::Kind::kDomain;
  if (!SplitPort(rest, &n.name, &n.port, &error)) {
    return Status::Permanent("bad nexthop \"" + std::string(text) + "\": " + error);
  }
  return n;
}

asio::awaitable<size_t> DeliverViaSmtp(const Nexthop& nexthop, const SmtpAgentOptions& options,
                                       std::span<const OutboundMessage* const> messages, asio::ssl::context* tls,
                                       const HostLookup& lookup, const AgentDone& done) {
  if (messages.empty()) co_return 0;
  auto fail_all = [&](int code, std::string_view status, const std::string& reason, bool host_failure) {
    mail::DeliveryStatus failed = mail::DeliveryStatus::Local(code, status, reason);
    failed.host_failure = host_failure;
    for (size_t i = 0; i < messages.size(); ++i) {
      done(i, std::vector<mail::DeliveryStatus>(messages[i]->recipients.size(), failed));
    }
    return messages.size();
  };
  if (nexthop.kind == Nexthop::Kind::kUnix) {
    ClientOptions client = options.client;
    client.server = client.relay = nexthop.name;
    client.auth.reset();  // LMTP to a local socket does not authenticate
    co_return co_await DeliverOverSmtp(asio::local::stream_protocol::endpoint(nexthop.name), client, messages, tls,
                                       options.timeouts, done);
  }
  Result<std::vector<TargetHost>> hosts = co_await lookup(nexthop);
  if (!hosts.ok()) {
    const std::string& text = hosts.status().message();  // "Host or domain name not found. ..."
    co_return hosts.status().temporary() ? fail_all(450, "4.4.3", text, true) : fail_all(550, "5.4.4", text, false);
  }
  size_t tried = 0;
  std::vector<mail::DeliveryStatus> last;
  for (const TargetHost& host : *hosts) {
    for (const std::string& address : host.addresses) {
      if (options.address_limit != 0 && tried == options.address_limit) break;
      boost::system::error_code ec;
      asio::ip::address ip = asio::ip::make_address(address, ec);
      if (ec) continue;
      ++tried;
      ClientOptions client = options.client;
      client.server = HostLabel(host.name, address);
      client.relay = client.server + ":" + std::to_string(nexthop.port);
      client.tls_name = host.name;
      client.auth.reset();
      if (options.sasl) {
        // Credentials for this host (or the destination): AUTH; none: talk
        // as strangers.
        Result<std::optional<SaslCredentials>> found = options.sasl->credentials(host.name);
        if (!found.ok()) co_return fail_all(450, "4.3.0", found.status().message(), false);
        if (found->has_value()) client.auth = MakeClientAuth(*options.sasl, host.name, std::move(**found), client.tls);
      }
      // A failure of the host itself (reported as the first message's,
      // before anything was sent) moves on to the next address; anything
      // else is the messages' outcome.
      bool next_host = false;
      size_t attempted =
          co_await DeliverOverSmtp(asio::ip::tcp::endpoint(ip, nexthop.port), client, messages, tls, options.timeouts,
                                   [&](size_t i, std::vector<mail::DeliveryStatus> results) {
                                     if (i == 0 && !results.empty() &&
                                         std::all_of(results.begin(), results.end(),
                                                     [](const mail::DeliveryStatus& r) { return r.host_failure; })) {
                                       next_host = true;
                                       last = std::move(results);
                                       return;
                                     }
                                     done(i, std::move(results));
                                   });
      if (!next_host) co_return attempted;
    }
  }
  if (tried == 0) co_return fail_all(450, "4.4.3", "no address found for " + nexthop.name, true);
  // Every host failed: the first message gets the last host's reason;
  // the others were not attempted.
  done(0, std::move(last));
  co_return 1;
}

}  // namespace postern::delivery
