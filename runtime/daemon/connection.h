// connection.h: one client connection of posternd. It only moves bytes
// (STYLE.md principle 8): it reads into the session, writes the session's
// replies, and performs what the session asks for next: store a message
// (through the group-committing queue writer), a TLS handshake, a close.
// Timeouts (smtpd_timeout) and tarpit delays are its timers.
//
// Each connection runs as one coroutine on one worker thread's io_context,
// so nothing in it needs a lock; other threads talk to it only by posting
// (RequestShutdown). It pins the Serving it started with for its lifetime:
// a reload never changes a session in progress.
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "runtime/daemon/serving.h"
#include "runtime/milter/milter_chain.h"
#include "runtime/policy/policy_client.h"
#include "runtime/sasl/dovecot_auth_client.h"
#include "runtime/session/session.h"
#include "util/asio.h"

namespace postern::daemon {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // `log`: smtpd's log as the listening service names it (syslog_name).
  Connection(boost::asio::ip::tcp::socket socket, std::shared_ptr<const Serving> serving, DaemonShared* shared,
             MailLog log);
  ~Connection();

  void Start();
  // Thread-safe: 421 now if the client is between transactions, else after
  // the transaction in progress.
  void RequestShutdown();
  // Thread-safe: close now (the grace period is over).
  void Abort();

 private:
  boost::asio::awaitable<void> Run();
  // The client limits (421 when over them).
  boost::asio::awaitable<bool> Admit();
  // The SMTP session, until it closes.
  boost::asio::awaitable<void> Converse(const session::Peer& peer);
  boost::asio::awaitable<void> LookUpNames(session::Peer* peer);
  boost::asio::awaitable<bool> Flush();
  boost::asio::awaitable<size_t> Read();
  boost::asio::awaitable<queue::StoreOutcome> Store();
  // The TLS handshake, for STARTTLS or smtpd_tls_wrappermode.
  boost::asio::awaitable<Result<session::TlsInfo>> Handshake();
  // SMTP AUTH: the authentication server's mechanisms for the session, and
  // one step of an exchange with it.
  boost::asio::awaitable<void> PrepareSasl();
  boost::asio::awaitable<void> Authenticate();
  // What a policy stage asks the network: the DNS records, all at once,
  // and the policy servers.
  boost::asio::awaitable<void> AskNetwork();
  boost::asio::awaitable<vm::PolicyReply> AskPolicyServer(const vm::PolicyQuestion& question);
  boost::asio::awaitable<mail::AddressVerification> VerifyAddress(const std::string& address);
  // smtpd_milters: the event the session asks its milters about; at the
  // end of a message they edit the message to be stored.
  boost::asio::awaitable<void> AskMilters();
  std::string LimiterKey() const;
  // smtpd_timeout and the like: the read, write or handshake that begins
  // must end within `seconds`. One watchdog timer per connection, armed
  // once and moved on only when it fires, instead of a timer system call
  // for every read and write.
  void BeginIo(int64_t seconds);
  void EndIo() { io_active_ = false; }
  void Watch();
  void Watched(const boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer watchdog_;
  boost::asio::steady_timer delay_;  // tarpit (smtpd_error_sleep_time)
  std::chrono::steady_clock::time_point deadline_;
  bool io_active_ = false;
  bool watching_ = false;
  std::shared_ptr<const Serving> serving_;
  DaemonShared* shared_;
  MailLog log_;
  std::optional<session::Session> session_;
  std::unique_ptr<sasl::DovecotAuthClient> sasl_;  // smtpd_sasl_auth_enable
  // check_policy_service: a client per server, kept for the session.
  std::map<std::string, std::unique_ptr<policy::PolicyClient>> policy_clients_;
  std::unique_ptr<milter::MilterChain> milters_;  // made at the first milter event
  uint32_t sasl_id_ = 0;                          // the exchange in progress
  std::string address_;
  bool admitted_ = false;
  uint64_t registration_ = 0;  // in DaemonShared::registry, from Start() on
  bool exempt_ = false;        // in smtpd_client_event_limit_exceptions
  bool timed_out_ = false;
  bool shutdown_requested_ = false;
  bool reading_ = false;
  // The session is deciding on a lookup thread (Session::Next::kDecide):
  // nothing else may touch it, so a shutdown waits (shutdown_deferred_).
  bool deciding_ = false;
  bool shutdown_deferred_ = false;
  boost::system::error_code read_error_;
  std::array<char, 4096> buffer_;
};

}  // namespace postern::daemon
