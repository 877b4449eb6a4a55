// connection.cc: see connection.h.
#include "runtime/daemon/connection.h"

#include <openssl/ssl.h>

#include <chrono>

#include "mail/ip_address.h"
#include "mail/lookup_failure.h"
#include "runtime/daemon/peer_names.h"
#include "runtime/milter/milter_header_checks.h"
#include "runtime/milter/queued_message_editor.h"
#include "runtime/tls/peer_certificate.h"
#include "util/run_on.h"
#include "util/strings.h"

namespace postern::daemon {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

uint64_t ConnectionRegistry::Add(std::weak_ptr<Connection> connection, const std::string& service) {
  std::lock_guard lock(mutex_);
  uint64_t id = ++next_;
  connections_.emplace(id, Entry{std::move(connection), service});
  ++per_service_[service];
  return id;
}

void ConnectionRegistry::Remove(uint64_t id) {
  std::function<void()> drained;
  {
    std::lock_guard lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end()) return;
    auto count = per_service_.find(it->second.service);
    if (--count->second == 0) per_service_.erase(count);
    connections_.erase(it);
    if (connections_.empty()) drained.swap(on_empty_);
  }
  if (drained) drained();
}

void ConnectionRegistry::OnEmpty(std::function<void()> drained) {
  {
    std::lock_guard lock(mutex_);
    if (!connections_.empty()) {
      on_empty_ = std::move(drained);
      return;
    }
  }
  drained();
}

size_t ConnectionRegistry::Count(std::string_view service) const {
  std::lock_guard lock(mutex_);
  auto it = per_service_.find(service);
  return it == per_service_.end() ? 0 : it->second;
}

size_t ConnectionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return connections_.size();
}

Connection::Connection(tcp::socket socket, std::shared_ptr<const Serving> serving, DaemonShared* shared, MailLog log)
    : socket_(std::move(socket)),
      watchdog_(socket_.get_executor()),
      delay_(socket_.get_executor()),
      serving_(std::move(serving)),
      shared_(shared),
      log_(std::move(log)) {}

Connection::~Connection() {
  if (admitted_) shared_->limiter.Release(LimiterKey());
}

// anvil(8) counts each client per service.
std::string Connection::LimiterKey() const { return serving_->service + ":" + address_; }

void Connection::Start() {
  auto self = shared_from_this();
  // Registered here, on the accepting thread, before the next accept: the
  // process cap (default_process_limit) counts this session at once, so a
  // burst cannot overshoot it.
  registration_ = shared_->registry.Add(weak_from_this(), serving_->service);
  asio::co_spawn(
      socket_.get_executor(), [self]() { return self->Run(); }, asio::detached);
}

void Connection::RequestShutdown() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->shutdown_requested_ = true;
    if (!self->session_) return;
    if (self->deciding_) {
      self->shutdown_deferred_ = true;
      return;
    }
    self->session_->ShutDown();
    if (self->reading_) self->socket_.cancel();  // to write the 421 now
  });
}

void Connection::Abort() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->socket_.close(ignored);
  });
}

void Connection::BeginIo(int64_t seconds) {
  deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  io_active_ = true;
  if (!watching_ || watchdog_.expiry() > deadline_) Watch();
}

void Connection::Watch() {
  watching_ = true;
  watchdog_.expires_at(deadline_);
  watchdog_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) { self->Watched(ec); });
}

void Connection::Watched(const boost::system::error_code& ec) {
  if (ec) return;  // moved (a new wait is pending), or the connection is over
  watching_ = false;
  if (!io_active_) return;  // the next operation arms it again
  if (std::chrono::steady_clock::now() < deadline_) return Watch();
  timed_out_ = true;
  boost::system::error_code ignored;
  socket_.cancel(ignored);
}

asio::awaitable<void> Connection::LookUpNames(session::Peer* peer) {
  // Blocking resolver calls, on the lookup threads (a slow DNS server holds
  // up only the sessions waiting for it), then back on this connection's
  // thread.
  const std::string& address = peer->address;
  PeerNames names = co_await RunOn(*shared_->lookups, [&address] { return LookUpPeerNames(address); });
  peer->name = names.name;
  peer->reverse_name = names.reverse_name;
}

asio::awaitable<bool> Connection::Flush() {
  int64_t delay = session_->reply_delay_ms();
  std::string out = session_->TakeOutput();
  if (out.empty()) co_return true;
  boost::system::error_code ec;
  if (delay > 0) {
    delay_.expires_after(std::chrono::milliseconds(delay));
    co_await delay_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  BeginIo(session_->timeout_seconds());
  if (tls_) {
    co_await asio::async_write(*tls_, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    co_await asio::async_write(socket_, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
  }
  EndIo();
  co_return !ec;
}

asio::awaitable<size_t> Connection::Read() {
  boost::system::error_code ec;
  size_t n = 0;
  BeginIo(session_->timeout_seconds());
  reading_ = true;
  if (tls_) {
    n = co_await tls_->async_read_some(asio::buffer(buffer_), asio::redirect_error(asio::use_awaitable, ec));
  } else {
    n = co_await socket_.async_read_some(asio::buffer(buffer_), asio::redirect_error(asio::use_awaitable, ec));
  }
  reading_ = false;
  EndIo();
  read_error_ = ec;
  co_return ec ? 0 : n;
}

asio::awaitable<queue::StoreOutcome> Connection::Store() {
  session::MessageToCommit& m = session_->message_to_commit();
  // The body is in memory or already in its file; the writer puts the
  // envelope around it.
  if (Status finished = m.body->Finish(); !finished.ok()) {
    log_.Write("warning: " + m.message.id + ": queue file write error: " + finished.message());
    co_return m.body->no_space() ? queue::StoreOutcome::kNoSpace : queue::StoreOutcome::kFailed;
  }
  queue::FirstPartFrame frame = queue::EncodeFirstPart(m.message, m.message.content, m.body->size(), m.body->digest());
  CrossThreadSignal stored(socket_.get_executor());
  queue::StoreOutcome outcome = queue::StoreOutcome::kFailed;
  std::string error;
  shared_->writer->Submit(m.message.id, m.hold,
                          queue::StagedFile{std::move(frame.front), std::move(m.body), std::move(frame.back)},
                          [&outcome, &error, &stored](queue::StoreOutcome o, const std::string& why) {
                            outcome = o;
                            error = why;
                            stored.Notify();
                          });
  co_await stored.Wait();
  if (outcome == queue::StoreOutcome::kStored) {
    shared_->stored.fetch_add(1, std::memory_order_relaxed);
  } else {
    log_.Write("warning: " + m.message.id + ": queue file write error: " + error);
  }
  co_return outcome;
}

asio::awaitable<Result<session::TlsInfo>> Connection::Handshake() {
  tls_.emplace(socket_, *serving_->tls);
  boost::system::error_code ec;
  timed_out_ = false;
  BeginIo(serving_->session->config.timeout_seconds);
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  EndIo();
  if (ec) {
    tls_.reset();
    co_return Status::Temporary(timed_out_ ? "timeout" : ec.message());
  }
  SSL* ssl = tls_->native_handle();
  session::TlsInfo info;
  info.protocol = SSL_get_version(ssl);
  const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl);
  info.cipher = cipher ? SSL_CIPHER_get_name(cipher) : "";
  info.bits = cipher ? SSL_CIPHER_get_bits(cipher, nullptr) : 0;
  if (serving_->session->config.tls_ask_ccert) {
    info.client_certificate = tls::ReadPeerCertificate(ssl, serving_->session->config.tls_fingerprint_digest);
  }
  co_return info;
}

asio::awaitable<void> Connection::PrepareSasl() {
  const session::SessionConfig& config = serving_->session->config;
  // The server answers within seconds; a session does not wait longer
  // than a command may take.
  auto timeout = std::chrono::seconds(std::min<int64_t>(config.timeout_seconds, 30));
  sasl_ = std::make_unique<sasl::DovecotAuthClient>(socket_.get_executor(), config.sasl_path, timeout);
  Status connected = co_await sasl_->Connect();
  if (!connected.ok()) {
    // No AUTH is offered; the log says why.
    log_.Write("warning: SASL: " + connected.message());
    co_return;
  }
  session_->SetSaslMechanisms(sasl_->mechanisms());
}

asio::awaitable<void> Connection::Authenticate() {
  const session::Session::SaslStep& step = session_->sasl_step();
  Result<std::string> line = Status::Temporary("no exchange");
  if (step.first) {
    boost::system::error_code ec;
    tcp::endpoint local = socket_.local_endpoint(ec);
    sasl::DovecotAuthRequest request;
    request.id = sasl_id_ = sasl_->NextId();
    request.mechanism = step.mechanism;
    request.local_ip = ec ? "" : local.address().to_string();
    request.local_port = ec ? 0 : local.port();
    request.remote_ip = address_;
    request.secured = tls_.has_value();
    request.initial_response = step.response;
    line = sasl::EncodeDovecotAuth(request);
  } else {
    line = sasl::EncodeDovecotContinue(sasl_id_, step.response.value_or(""));
  }
  if (!line.ok()) {
    session_->SaslAnswered(Status::Temporary("invalid characters in the client's response"));
    co_return;
  }
  session_->SaslAnswered(co_await sasl_->Exchange(*line, sasl_id_));
}

asio::awaitable<void> Connection::Run() {
  boost::system::error_code ec;
  tcp::endpoint remote = socket_.remote_endpoint(ec);
  if (!ec) {
    asio::ip::address a = remote.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    address_ = a.to_string();
    session::Peer peer;
    peer.address = address_;
    peer.port = remote.port();
    if (tcp::endpoint local = socket_.local_endpoint(ec); !ec) {
      asio::ip::address l = local.address();
      if (l.is_v6() && l.to_v6().is_v4_mapped()) l = asio::ip::make_address_v4(asio::ip::v4_mapped, l.to_v6());
      peer.server_address = l.to_string();
      peer.server_port = local.port();
    }
    if (co_await Admit()) {
      if (serving_->peername_lookup) co_await LookUpNames(&peer);
      co_await Converse(peer);
      if (milters_) co_await milters_->Quit(session_ ? session_->milter_aborts_at_close() : 0);
    }
  }
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
  watchdog_.cancel();  // its handler holds this connection
  shared_->registry.Remove(registration_);
}

asio::awaitable<bool> Connection::Admit() {
  auto ip = mail::IpAddress::Parse(address_);
  exempt_ = ip && serving_->limit_exceptions.Match(*ip);
  ClientLimiter::Verdict verdict = shared_->limiter.Admit(LimiterKey(), serving_->limits, Now(), exempt_);
  if (verdict == ClientLimiter::Verdict::kAdmit) {
    admitted_ = true;
    co_return true;
  }
  log_.Write(std::string("warning: Connection ") +
             (verdict == ClientLimiter::Verdict::kRateExceeded ? "rate" : "concurrency") + " limit exceeded from " +
             address_ + " for service " + serving_->service);
  std::string reply =
      "421 4.7.0 " + serving_->session->config.hostname + " Error: too many connections from " + address_ + "\r\n";
  boost::system::error_code ec;
  BeginIo(10);
  co_await asio::async_write(socket_, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
  EndIo();
  co_return false;
}

namespace {

dns::RecordType RecordTypeOf(vm::DnsRecordType type) {
  switch (type) {
    case vm::DnsRecordType::kA:
      return dns::RecordType::kA;
    case vm::DnsRecordType::kAaaa:
      return dns::RecordType::kAaaa;
    case vm::DnsRecordType::kMx:
      return dns::RecordType::kMx;
    case vm::DnsRecordType::kTxt:
      return dns::RecordType::kTxt;
    case vm::DnsRecordType::kNs:
      return dns::RecordType::kNs;
  }
  return dns::RecordType::kA;
}

vm::DnsRecords RecordsOf(const dns::DnsReply& reply) {
  vm::DnsRecords records;
  records.values = reply.values;
  records.status = reply.status == dns::DnsReply::Status::kFound      ? vm::DnsRecords::Status::kFound
                   : reply.status == dns::DnsReply::Status::kNotFound ? vm::DnsRecords::Status::kNotFound
                                                                      : vm::DnsRecords::Status::kTemporary;
  return records;
}

}  // namespace

asio::awaitable<void> Connection::AskNetwork() {
  session::NetworkReplies replies;
  if (std::optional<int> pause = session_->pause_question()) {
    // The restriction `sleep`: this session waits, the others go on.
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(*pause));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    replies.paused = true;
  }
  for (const vm::DnsQuestion& q : session_->dns_questions()) replies.dns.emplace_back(q, vm::DnsRecords{});
  if (shared_->dns != nullptr && !replies.dns.empty()) {
    // Every DNS question at once; the resolver's own timeouts bound it.
    std::vector<std::pair<std::string, dns::RecordType>> questions;
    for (const auto& [q, records] : replies.dns) questions.emplace_back(q.name, RecordTypeOf(q.type));
    std::vector<dns::DnsReply> answers = co_await dns::AsyncQueryAll(*shared_->dns, std::move(questions));
    for (size_t i = 0; i < answers.size(); ++i) replies.dns[i].second = RecordsOf(answers[i]);
  }
  for (const vm::PolicyQuestion& q : session_->policy_questions()) {
    replies.policy.emplace_back(q, co_await AskPolicyServer(q));
  }
  for (const std::string& address : session_->verify_questions()) {
    replies.verifications.emplace_back(address, co_await VerifyAddress(address));
  }
  session_->NetworkAnswered(replies);  // without a resolver: DNS failures
}

asio::awaitable<vm::PolicyReply> Connection::AskPolicyServer(const vm::PolicyQuestion& question) {
  auto& client = policy_clients_[question.service];
  if (!client) {
    policy::PolicyClientOptions options = serving_->policy_client;
    options.service = question.service;
    // unix:private/policy is under the queue directory, as in Postfix.
    if (StartsWith(options.service, "unix:") && options.service.size() > 5 && options.service[5] != '/') {
      options.service = "unix:" + serving_->queue_directory + "/" + options.service.substr(5);
    }
    client = std::make_unique<policy::PolicyClient>(co_await asio::this_coro::executor, std::move(options));
  }
  Result<std::string> action = co_await client->Ask(question.request);
  if (!action.ok()) {
    log_.Write("warning: problem talking to server " + question.service + ": " + action.status().message());
    co_return vm::PolicyReply{vm::PolicyReply::Status::kFailed, ""};
  }
  co_return vm::PolicyReply{vm::PolicyReply::Status::kAction, *action};
}

// As Postfix's smtpd asks verify(8): again while a probe is in progress,
// up to address_verify_poll_count times, address_verify_poll_delay apart
// (this session waits; the others go on).
asio::awaitable<mail::AddressVerification> Connection::VerifyAddress(const std::string& address) {
  verify::AddressVerifier* verifier = shared_->verifier;
  mail::AddressVerification answer{true, mail::AddressStatus::kInProgress, "no address verification cache"};
  if (verifier == nullptr) {
    log_.Write("warning: address verification service failure: " + answer.text);
    co_return answer;
  }
  verify::VerifierSettings settings = verifier->settings();
  for (int64_t asked = 1;; ++asked) {
    // A short transaction on the cache, which the delivery process also writes: off this thread.
    answer = co_await RunOn(*shared_->table_lookups, [verifier, &address] { return verifier->Query(address); });
    if (answer.failed) log_.Write("warning: address verification service failure: " + answer.text);
    if (answer.failed || answer.status != mail::AddressStatus::kInProgress || asked >= settings.poll_count) break;
    asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::seconds(settings.poll_delay));
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return answer;
}

asio::awaitable<void> Connection::AskMilters() {
  auto warn = [this](const std::string& line) { log_.Write("warning: " + line); };
  if (!milters_) {
    milters_ = std::make_unique<milter::MilterChain>(co_await asio::this_coro::executor, session_->milters(), warn);
  }
  const milter::MilterEvent& event = session_->milter_event();
  if (event.kind != milter::MilterEvent::Kind::kMessage) {
    session_->MilterAnswered(co_await milters_->Handle(event, nullptr));
    co_return;
  }
  session::MessageToCommit& m = session_->message_to_commit();
  milter::QueuedMessageEditor editor(
      m.message, m.body, [this, id = m.message.id] { return shared_->writer->NewBody(id); }, warn);
  // milter_header_checks, when set, sees each header the milters add or
  // change first.
  const session::SessionConfig& config = serving_->session->config;
  const resolve::TableList& tables = config.milter_header_checks;
  auto lookup = [&tables](std::string_view line) -> Result<std::optional<std::string>> {
    for (const resolve::TableList::Entry& t : tables.tables) {
      if (t.table == nullptr) return Status::Temporary(t.reference + " is not in the image");
      mail::LookupFailureScope lookups;
      std::optional<std::string> value = t.table->Lookup(line);
      if (lookups.failed()) return Status::Temporary(lookups.reason());
      if (value) return value;
    }
    return std::optional<std::string>();
  };
  std::optional<milter::HeaderCheckingEditor> checked;
  if (!tables.empty()) checked.emplace(editor, lookup, config.milter_header_check_actions);
  milter::MessageEditor* target = checked ? static_cast<milter::MessageEditor*>(&*checked) : &editor;
  milter::Outcome outcome = co_await milters_->Handle(event, target);
  editor.Finish();
  if (checked) session_->MilterHeadersChecked(checked->verdict());
  session_->MilterAnswered(outcome);
}

asio::awaitable<void> Connection::Converse(const session::Peer& peer) {
  session::SessionEnvironment env;
  env.new_queue_id = [this] { return shared_->ids.Next(); };
  env.now = Now;
  env.log = [this](const std::string& line) { log_.Write(line); };
  env.new_body = [this](const std::string& id) { return shared_->writer->NewBody(id); };
  if (!exempt_) {
    env.allow = [this](session::RateEvent e, int64_t* rate) {
      return shared_->limiter.CountEvent(LimiterKey(),
                                         e == session::RateEvent::kMessage     ? ClientLimiter::Event::kMessage
                                         : e == session::RateEvent::kRecipient ? ClientLimiter::Event::kRecipient
                                                                               : ClientLimiter::Event::kAuth,
                                         serving_->limits, Now(), rate);
    };
  }
  session_.emplace(serving_->session, peer, std::move(env));
  if (serving_->session->config.sasl_enabled) co_await PrepareSasl();
  if (serving_->wrapper_mode) {
    // smtpd_tls_wrappermode (port 465, RFC 8314): TLS before the greeting.
    Result<session::TlsInfo> tls = co_await Handshake();
    if (!tls.ok()) {
      session_->WrappedTlsFailed(tls.status().message());
      co_return;
    }
    session_->Start(*tls);
  } else {
    session_->Start();
  }
  if (shutdown_requested_) session_->ShutDown();
  while (true) {
    if (!co_await Flush()) {
      session_->ConnectionLost();
      co_return;
    }
    switch (session_->next()) {
      case session::Session::Next::kClose:
        co_return;
      case session::Session::Next::kCommit:
        session_->Committed(co_await Store());
        break;
      case session::Session::Next::kAuthenticate:
        co_await Authenticate();
        break;
      case session::Session::Next::kAskNetwork:
        co_await AskNetwork();
        break;
      case session::Session::Next::kDecide: {
        // Live tables may wait for their servers: not on this thread, which
        // serves other connections too.
        deciding_ = true;
        const session::Session& deciding = *session_;
        vm::Decision decision =
            co_await RunOn(*shared_->table_lookups, [&deciding] { return deciding.DecideOffLoop(); });
        deciding_ = false;
        session_->Decided(decision);
        if (shutdown_deferred_) {
          shutdown_deferred_ = false;
          session_->ShutDown();
        }
        break;
      }
      case session::Session::Next::kMilter:
        co_await AskMilters();
        break;
      case session::Session::Next::kStartTls: {
        Result<session::TlsInfo> tls = co_await Handshake();
        if (tls.ok()) {
          session_->TlsStarted(*tls);
        } else {
          session_->TlsFailed(tls.status().message());
        }
        break;
      }
      case session::Session::Next::kRead: {
        timed_out_ = false;
        size_t n = co_await Read();
        if (n > 0) {
          session_->Receive(std::string_view(buffer_.data(), n));
        } else if (timed_out_) {
          session_->TimedOut();
        } else if (read_error_ != asio::error::operation_aborted || !shutdown_requested_ || !socket_.is_open()) {
          session_->ConnectionLost();
        }
        // else: woken by a shutdown, to write its 421, or to go on with
        // the transaction in progress.
        break;
      }
    }
  }
}

}  // namespace postern::daemon
