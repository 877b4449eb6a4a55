// agent_runner.cc: see agent_runner.h.
#include "runtime/qmgr/agent_runner.h"

#include <chrono>

#include "mail/address.h"
#include "mail/master_service_support.h"
#include "runtime/delivery/local_delivery.h"
#include "runtime/delivery/pipe_delivery.h"
#include "runtime/delivery/smtp_agent.h"
#include "runtime/dns/mail_exchangers.h"
#include "util/run_on.h"
#include "util/strings.h"

namespace postern::qmgr {
namespace asio = boost::asio;
using mail::DeliveryStatus;

namespace {

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// What local(8) says of a probe, from the route's local detail ("mailbox
// /var/mail/u", "command /usr/bin/x", "file /path", "maildir /path/").
std::string LocalProbeText(const std::string& detail) {
  size_t space = detail.find(' ');
  std::string kind = detail.substr(0, space);
  std::string what = space == std::string::npos ? "" : detail.substr(space + 1);
  if (kind == "command" || kind == "file") return "delivers to " + kind + ": " + what;
  return "delivers to " + kind;
}

}  // namespace

bool AgentRunner::Reuses(const DeliveryConfig& config, const std::string& transport) {
  auto t = config.transports.find(transport);
  return t != config.transports.end() && (t->second.agent == "smtp" || t->second.agent == "lmtp");
}

asio::awaitable<void> AgentRunner::Run(std::span<const AgentJob> jobs, const JobDone& done) {
  if (Reuses(jobs.front().context->config, jobs.front().transport)) {
    co_await RunSmtp(jobs, done);
    co_return;
  }
  done(0, co_await RunOne(jobs.front()));
}

asio::awaitable<DeliveryStatus> AgentRunner::DeliverLocally(const AgentJob& job, size_t i) {
  const queue::QueuedMessage& q = *job.message;
  const queue::QueuedRecipient& r = q.recipients[job.recipients[i]];
  local::LocalHelper* helper = services_.local_helper;
  if (helper != nullptr) {
    // The helper decides from the image itself (local_authority.h).
    local::LocalHelperRequest request;
    request.image_id = job.context->resolver->image().id();
    request.transport = job.transport;
    request.queue_id = q.id;
    request.sender = q.sender;
    request.recipient = r.address;
    request.original_recipient = r.OriginalAddress();
    request.delivery = job.details[i];
    request.content = q.content;
    request.now = Now();
    co_return co_await RunOn(*services_.local_pool, [&] { return helper->Deliver(request); });
  }
  // Not root: every delivery runs with posternd's own privileges.
  const DeliveryConfig& config = job.context->config;
  delivery::LocalRequest request;
  request.queue_id = q.id;
  request.sender = q.sender;
  request.recipient = r.address;
  request.original_recipient = r.OriginalAddress();
  std::string local = ToLower(mail::SplitAddress(r.address).local);
  auto extension = mail::SplitExtension(local, config.recipient_delimiter);
  request.user = extension ? extension->base : local;
  request.detail = job.details[i];
  request.content = q.content;
  request.hostname = config.hostname;
  request.now = Now();
  request.command_time_limit = config.command_time_limit;
  request.mailbox_size_limit = config.mailbox_size_limit;
  request.environment = local::ExportedEnvironment(*job.context->image);
  co_return co_await RunOn(*services_.local_pool, [&] { return delivery::DeliverLocally(request); });
}

asio::awaitable<DeliveryStatus> AgentRunner::DeliverToPipe(const AgentJob& job) {
  const queue::QueuedMessage& q = *job.message;
  local::PipeHelperRequest request;
  request.image_id = job.context->image->id();
  request.transport = job.transport;
  request.queue_id = q.id;
  request.sender = q.sender;
  request.nexthop = job.nexthop;
  request.client_address = q.client_address;
  request.client_hostname = q.client_name;
  request.client_helo = q.helo;
  request.sasl_username = q.sasl_username;
  for (size_t index : job.recipients) {
    const queue::QueuedRecipient& r = q.recipients[index];
    request.recipients.push_back({r.address, r.OriginalAddress()});
  }
  request.content = q.content;
  request.now = Now();
  if (local::LocalHelper* helper = services_.local_helper) {
    // The helper takes the command and its user from the image itself.
    co_return co_await RunOn(*services_.local_pool, [&] { return helper->Pipe(request); });
  }
  // Not root: the command runs with posternd's own privileges.
  Result<delivery::PipeRequest> pipe = local::PipeDeliveryOf(request, *job.context->image);
  if (!pipe.ok()) {
    co_return DeliveryStatus::Local(450, "4.3.5", "mail system configuration error: " + pipe.status().message());
  }
  if (!pipe->settings.chroot.empty()) {
    co_return DeliveryStatus::Local(450, "4.3.5",
                                    "mail system configuration error: chroot= needs posternd started as root");
  }
  co_return co_await RunOn(*services_.local_pool, [&] { return delivery::DeliverToPipe(*pipe); });
}

// Every agent but smtp and lmtp: one delivery.
asio::awaitable<std::vector<DeliveryStatus>> AgentRunner::RunOne(const AgentJob& job) {
  const DeliveryConfig& config = job.context->config;
  size_t n = job.recipients.size();
  auto all = [n](DeliveryStatus s) { return std::vector<DeliveryStatus>(n, s); };
  auto transport = config.transports.find(job.transport);
  if (transport == config.transports.end()) {
    co_return all(DeliveryStatus::Local(450, "4.3.0",
                                        "mail transport unavailable: no master.cf service \"" + job.transport + "\""));
  }
  const TransportConfig& t = transport->second;
  if (!mail::IsImplementedAgent(t.agent) || t.agent == "smtp" || t.agent == "lmtp") {
    // virtual: postern check says so (PC0136); smtp and lmtp run in RunSmtp.
    co_return all(
        DeliveryStatus::Local(450, "4.3.0", "mail transport unavailable: the " + t.agent + " agent is not supported"));
  }
  if (t.agent == "discard") {
    co_return all(DeliveryStatus::Local(250, "2.0.0", job.nexthop.empty() ? "discarded" : job.nexthop));
  }
  // error(8) defers instead of bouncing when it serves a service named "retry".
  if (t.agent == "retry" || (t.agent == "error" && job.transport == "retry")) {
    co_return all(DeliveryStatus::FromText(450, job.nexthop.empty() ? "delivery temporarily suspended" : job.nexthop));
  }
  if (t.agent == "error") {
    co_return all(DeliveryStatus::FromText(550, job.nexthop.empty() ? "delivery refused" : job.nexthop));
  }
  if (job.message->verify_probe) {
    // A probe goes up to the point of delivery: no file is written, no
    // command runs (an SMTP or LMTP server is asked, in RunSmtp).
    std::vector<DeliveryStatus> out;
    for (size_t i = 0; i < n; ++i) {
      out.push_back(DeliveryStatus::Local(
          250, "2.0.0", t.agent == "pipe" ? "delivers to command: " + job.transport : LocalProbeText(job.details[i])));
      out.back().relay = t.agent == "pipe" ? job.transport : "local";
    }
    co_return out;
  }
  if (t.agent == "pipe") {
    DeliveryStatus outcome = co_await DeliverToPipe(job);
    outcome.relay = job.transport;  // as pipe(8) logs it: relay=<service>
    co_return all(std::move(outcome));
  }
  std::vector<DeliveryStatus> out;  // local
  for (size_t i = 0; i < n; ++i) {
    out.push_back(co_await DeliverLocally(job, i));
    out.back().relay = "local";
  }
  co_return out;
}

asio::awaitable<void> AgentRunner::RunSmtp(std::span<const AgentJob> jobs, const JobDone& done) {
  const AgentJob& first = jobs.front();
  const DeliveryContext& context = *first.context;
  const TransportConfig& t = context.config.transports.find(first.transport)->second;
  bool lmtp = t.agent == "lmtp";
  Result<delivery::Nexthop> nexthop = delivery::ParseNexthop(first.nexthop, lmtp);
  if (!nexthop.ok()) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      done(i, std::vector<DeliveryStatus>(jobs[i].recipients.size(),
                                          DeliveryStatus::Local(450, "4.3.5", nexthop.status().message())));
    }
    co_return;
  }
  // With sender-dependent authentication a connection carries one
  // sender's mail (the rest waits for the next connection).
  size_t count = jobs.size();
  if (t.sasl && t.sender_dependent_authentication) {
    count = 1;
    while (count < jobs.size() && jobs[count].message->sender == first.message->sender) ++count;
  }
  std::vector<delivery::OutboundMessage> outbound(count);
  std::vector<const delivery::OutboundMessage*> pointers;
  for (size_t j = 0; j < count; ++j) {
    const queue::QueuedMessage& q = *jobs[j].message;
    delivery::OutboundMessage& m = outbound[j];
    m.sender = q.sender;
    m.ret = q.ret;
    m.envid = q.envid;
    m.smtputf8 = q.smtputf8;
    m.eight_bit = q.body_type == "8BITMIME" || q.body_type == "BINARYMIME";
    m.content = q.content;
    m.probe = q.verify_probe;
    for (size_t index : jobs[j].recipients) {
      const queue::QueuedRecipient& r = q.recipients[index];
      m.recipients.push_back({r.address, r.notify, r.original});
    }
    pointers.push_back(&m);
  }
  delivery::SmtpAgentOptions options;
  options.client.helo_name = context.config.helo_name;
  options.client.lmtp = lmtp;
  options.client.tls = t.tls;
  options.timeouts.connect = std::chrono::seconds(t.connect_timeout);
  options.timeouts.command = std::chrono::seconds(t.command_timeout);
  options.address_limit = static_cast<size_t>(t.address_limit);
  if (t.sasl) {
    options.sasl = *t.sasl;
    options.sasl->credentials = [&context, &first, &t](const std::string& host) {
      return context.SaslCredentialsFor(first.message->sender, t.sender_dependent_authentication, host, first.nexthop);
    };
  }
  dns::AsyncResolver* dns = services_.dns;
  delivery::HostLookup lookup =
      [this, dns](const delivery::Nexthop& next) -> asio::awaitable<Result<std::vector<delivery::TargetHost>>> {
    boost::system::error_code ec;
    asio::ip::make_address(next.name, ec);
    if (!ec) co_return std::vector<delivery::TargetHost>{{next.name, {next.name}}};
    if (dns == nullptr) co_return Status::Temporary("no DNS resolver");
    if (next.kind == delivery::Nexthop::Kind::kDomain) {
      Result<std::vector<dns::MailExchanger>> mx = co_await dns::LookupMailExchangers(*dns, next.name, random_);
      if (!mx.ok()) co_return mx.status();
      std::vector<delivery::TargetHost> hosts;
      for (dns::MailExchanger& m : mx.value()) hosts.push_back({std::move(m.host), std::move(m.addresses)});
      co_return hosts;
    }
    Result<std::vector<std::string>> addresses = co_await dns::LookupHostAddresses(*dns, next.name);
    if (!addresses.ok()) co_return addresses.status();
    co_return std::vector<delivery::TargetHost>{{next.name, std::move(addresses).value()}};
  };
  co_await delivery::DeliverViaSmtp(*nexthop, options, std::span<const delivery::OutboundMessage* const>(pointers),
                                    context.TlsFor(t.tls), lookup, done);
}

}  // namespace postern::qmgr
