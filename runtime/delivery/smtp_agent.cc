// smtp_agent.cc: see smtp_agent.h.
#include "runtime/delivery/smtp_agent.h"

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

std::string HostLabel(const std::string& name, const std::string& address, uint16_t port) {
  return name + "[" + address + "]:" + std::to_string(port);
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

asio::awaitable<AgentOutcome> DeliverViaSmtp(const Nexthop& nexthop, const SmtpAgentOptions& options,
                                             const OutboundMessage& message, asio::ssl::context* tls,
                                             const HostLookup& lookup) {
  AgentOutcome outcome;
  outcome.relay = "none";
  auto fail_all = [&](int code, const std::string& text, bool host_failure) {
    outcome.results.assign(message.recipients.size(), RecipientResult{code, text, host_failure});
  };
  if (nexthop.kind == Nexthop::Kind::kUnix) {
    ClientOptions client = options.client;
    client.server = nexthop.name;
    outcome.relay = nexthop.name;
    outcome.results = co_await DeliverOverSmtp(asio::local::stream_protocol::endpoint(nexthop.name), client, message,
                                               tls, options.timeouts);
    co_return outcome;
  }
  Result<std::vector<TargetHost>> hosts = co_await lookup(nexthop);
  if (!hosts.ok()) {
    std::string type = nexthop.kind == Nexthop::Kind::kDomain ? "MX" : "A";
    std::string text = "Host or domain name not found. Name service error for name=" + nexthop.name +
                       " type=" + type + ": " + hosts.status().message();
    if (hosts.status().temporary()) {
      fail_all(450, "4.4.3 " + text, true);
    } else {
      fail_all(550, "5.4.4 " + text, false);
    }
    co_return outcome;
  }
  size_t tried = 0;
  for (const TargetHost& host : *hosts) {
    for (const std::string& address : host.addresses) {
      if (options.address_limit != 0 && tried == options.address_limit) co_return outcome;
      ++tried;
      boost::system::error_code ec;
      asio::ip::address ip = asio::ip::make_address(address, ec);
      if (ec) continue;
      ClientOptions client = options.client;
      client.server = HostLabel(host.name, address, nexthop.port);
      outcome.relay = client.server;
      outcome.results = co_await DeliverOverSmtp(asio::ip::tcp::endpoint(ip, nexthop.port), client, message, tls,
                                                 options.timeouts);
      bool next_host = !outcome.results.empty() && std::all_of(outcome.results.begin(), outcome.results.end(),
                                                               [](const RecipientResult& r) { return r.host_failure; });
      if (!next_host) co_return outcome;
    }
  }
  if (tried == 0) fail_all(450, "4.4.3 no address found for " + nexthop.name, true);
  co_return outcome;
}

}  // namespace postern::delivery
