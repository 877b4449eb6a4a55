// session.h: one SMTP server session as a state machine (STYLE.md
// principle 8): bytes and events in, replies, log lines and messages to
// commit out. No sockets, no clocks of its own, no threads: the Asio
// connection (daemon/connection) moves bytes and performs what next() asks
// for; tests and the fuzzer drive it directly.
//
// It implements RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8,
// ENHANCEDSTATUSCODES, DSN, CHUNKING (BDAT), STARTTLS and XCLIENT, with
// Postfix's reply texts, runs the image's policy at every stage, rejects
// unlisted recipients at RCPT, and builds the queue file content (Received:
// header, policy header edits). End of data is only <CR><LF>.<CR><LF>
// (smtp/data_decoder.h).
//
// Flow for the caller:
//   Start(); loop { write TakeOutput() (after reply_delay_ms());
//     switch (next()) { kRead: Receive(bytes) | TimedOut() | ConnectionLost();
//                       kCommit: write message_to_commit(), then Committed();
//                       kStartTls: handshake, then TlsStarted() or close;
//                       kAuthenticate: send sasl_step() to the
//                         authentication server, then SaslAnswered();
//                       kMilter: ask the milters about milter_event(),
//                         then MilterAnswered();
//                       kClose: close. } }
// Thread-compatible: one thread (strand) at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/milter/milter_header_checks.h"
#include "runtime/milter/milter_types.h"
#include "runtime/queue/queue_file.h"
#include "runtime/queue/queue_writer.h"
#include "runtime/sasl/dovecot_auth_protocol.h"
#include "runtime/session/message_content.h"
#include "runtime/session/session_config.h"
#include "runtime/smtp/command_parser.h"
#include "runtime/smtp/data_decoder.h"
#include "runtime/tls/peer_certificate.h"
#include "runtime/vm/network_answers.h"
#include "runtime/vm/policy_vm.h"

namespace postern::session {

struct Peer {
  std::string address;  // numeric, without brackets
  std::string name = "unknown";
  std::string reverse_name = "unknown";
  int port = 0;
  std::string server_address;  // where the client connected to
  int server_port = 0;
};

// What the network answered to a session's pending questions.
struct NetworkReplies {
  std::vector<std::pair<vm::DnsQuestion, vm::DnsRecords>> dns;
  std::vector<std::pair<vm::PolicyQuestion, vm::PolicyReply>> policy;
  std::vector<std::pair<std::string, mail::AddressVerification>> verifications;  // by address
  bool paused = false;                                                           // the pending `sleep` was taken
};

struct TlsInfo {
  std::string protocol;  // "TLSv1.3"
  std::string cipher;    // "TLS_AES_256_GCM_SHA384"
  int bits = 0;
  std::optional<tls::PeerCertificate> client_certificate;  // smtpd_tls_ask_ccert
};

// Events a client's rate limits count (smtpd_client_message_rate_limit,
// smtpd_client_recipient_rate_limit, smtpd_client_auth_rate_limit).
enum class RateEvent { kMessage, kRecipient, kAuth };

// What the session asks of its surroundings.
struct SessionEnvironment {
  std::function<std::string()> new_queue_id;
  std::function<int64_t()> now;  // seconds since the epoch
  // One maillog line without the "postern/smtpd[pid]: " prefix.
  std::function<void(const std::string&)> log;
  // Counts one event for this client; false when it is over its rate
  // limit (the daemon counts across connections). Empty: no limits.
  // `rate` gets the client's count of such events in the window, this
  // one included, when it is refused.
  std::function<bool(RateEvent, int64_t* rate)> allow;
  // Where the body of a message being received goes (body_spool.h):
  // the daemon streams it into its queue file. Empty: into memory.
  std::function<std::unique_ptr<queue::BodySpool>(const std::string& queue_id)> new_body;
};

struct MessageToCommit {
  // The envelope; `content` is the head of the content (our Received:,
  // the headers the policy added, the header section as edited); `body`
  // holds the rest (the queue file's body, queue_file.h).
  queue::QueuedMessage message;
  std::unique_ptr<queue::BodySpool> body;
  bool hold = false;  // into the hold queue (HOLD action), not the incoming queue
  uint64_t size = 0;  // of the content, head and body
};

class Session {
 public:
  enum class Next { kRead, kCommit, kStartTls, kAuthenticate, kAskNetwork, kDecide, kMilter, kClose };

  Session(std::shared_ptr<const SessionContext> context, Peer peer, SessionEnvironment environment);

  // The greeting (after the connect stage of the policy). `wrapped`: the
  // TLS the connection began with (smtpd_tls_wrappermode).
  void Start(const std::optional<TlsInfo>& wrapped = std::nullopt);
  // SMTP AUTH (SessionConfig::sasl_enabled): the mechanisms the
  // authentication server offers, before Start(); none (the server is
  // down) means AUTH is not offered.
  void SetSaslMechanisms(std::vector<sasl::DovecotMechanism> mechanisms);
  // One step of an AUTH exchange for the authentication server: the AUTH
  // command (first), or the client's answer to a challenge.
  struct SaslStep {
    bool first = true;
    std::string mechanism;
    std::optional<std::string> response;  // base64 as the client sent it
  };
  // REQUIRES: next() == kAuthenticate.
  const SaslStep& sasl_step() const { return sasl_step_; }
  // The server's answer to sasl_step(), or why there is none (temporary).
  void SaslAnswered(const Result<sasl::DovecotAuthReply>& answer);
  // SessionContext::asks_network: the DNS records, policy server answers
  // and address verifications the policy asks for (REQUIRES: next() ==
  // kAskNetwork), and the answers, all of them, after which the stage that
  // asked runs again.
  const std::vector<vm::DnsQuestion>& dns_questions() const { return network_.pending(); }
  const std::vector<vm::PolicyQuestion>& policy_questions() const { return network_.pending_policy(); }
  const std::vector<std::string>& verify_questions() const { return network_.pending_verifications(); }
  std::optional<int> pause_question() const { return network_.pending_pause(); }  // seconds to sleep
  void NetworkAnswered(const NetworkReplies& replies);
  // A policy stage that may wait for a table's server
  // (SessionContext::decides_off_loop; REQUIRES: next() == kDecide): the
  // connection runs Decide() off its event loop, with nothing else touching
  // the session meanwhile, then Decided() with the answer on its own thread.
  vm::Decision DecideOffLoop() const;
  void Decided(const vm::Decision& decision);
  // smtpd_milters (SessionConfig::milters): the event the milters are to
  // be asked about (REQUIRES: next() == kMilter), and their answer. At the
  // end of a message the milters edit message_to_commit() in place.
  const milter::MilterEvent& milter_event() const { return milter_event_; }
  // The milters of this session: smtpd_milters, or what smtpd_milter_maps
  // gives the client's address (set when the session starts).
  const std::vector<milter::MilterSettings>& milters() const { return milters_; }
  void MilterAnswered(const milter::Outcome& outcome);
  // Before MilterAnswered at the end of a message: what milter_header_checks
  // made of the headers the milters added or changed.
  void MilterHeadersChecked(milter::HeaderCheckVerdict verdict) { milter_header_verdict_ = std::move(verdict); }
  // After the session closed: how many SMFIC_ABORTs the milters get before
  // SMFIC_QUIT (Postfix's mail_reset and helo_reset at the end).
  int milter_aborts_at_close() const {
    return milters_connected_ ? (milter_abort_pending_ ? 1 : 0) + (helo_given_ ? 1 : 0) : 0;
  }
  // smtpd_tls_wrappermode: the handshake before the greeting failed; the
  // session ends without a word to the client.
  void WrappedTlsFailed(const std::string& reason);
  // Bytes from the client; processes every complete command (pipelining)
  // until it has to wait for more input, a commit or a TLS handshake.
  void Receive(std::string_view bytes);
  // The message of message_to_commit() is on stable storage (or not).
  void Committed(queue::StoreOutcome outcome);
  void TlsStarted(const TlsInfo& info);
  void TlsFailed(const std::string& reason);
  // No command (or DATA bytes) within smtpd_timeout.
  void TimedOut();
  void ConnectionLost();
  // Stop: a session between transactions gets 421 now; one in a transaction
  // finishes it and gets 421 at its next command.
  void ShutDown();

  std::string TakeOutput();
  // Tarpitting: how long to wait before writing TakeOutput() (errors past
  // smtpd_soft_error_limit each cost smtpd_error_sleep_time).
  int64_t reply_delay_ms() const { return reply_delay_ms_; }
  Next next() const;
  // REQUIRES: next() == kCommit, or kMilter at the end of a message.
  MessageToCommit& message_to_commit() { return *commit_; }

  bool in_transaction() const { return mail_given_; }
  // Seconds the connection may wait for the next bytes (smtpd_timeout).
  int64_t timeout_seconds() const { return context_->config.timeout_seconds; }

 private:
  // kSaslServer: waiting for the authentication server; kSaslClient: for
  // the client's answer to a 334 challenge.
  // kNetwork: waiting for the DNS records of a policy stage; kMilter: for
  // the milters' answer.
  enum class Phase {
    kCommand,
    kData,
    kBdat,
    kCommit,
    kTls,
    kSaslServer,
    kSaslClient,
    kNetwork,
    kDecide,
    kMilter,
    kClosed
  };
  struct Recipient {
    std::string address;
    std::string original;
    std::string notify;
    std::string route;
  };
  struct HeaderField {
    std::string name;
    std::string logical;  // "Name: value", continuation lines joined with "\n"
    std::string raw;      // as received, with CRLFs
  };

  void Process();
  void HandleLine(const smtp::LineReader::Line& line);
  void Helo(const smtp::Command& c, bool extended);
  void Mail(const smtp::Command& c);
  void Rcpt(const smtp::Command& c);
  void Data(const smtp::Command& c, bool crlf);
  void Bdat(const smtp::Command& c);
  void Vrfy(const smtp::Command& c);
  void Etrn(const smtp::Command& c);
  bool IllegallyPipelined(smtp::Command::Verb verb) const;
  void StartTls(const smtp::Command& c);
  void Auth(const smtp::Command& c);  // session_auth.cc
  void SaslResponse(const std::string& line);
  // Whether AUTH is enabled now (smtpd_tls_auth_only waits for TLS).
  bool SaslActive() const;
  // The mechanisms offered now (the security options for TLS or not).
  std::vector<std::string> OfferedSaslMechanisms() const;
  void NoteTls(const TlsInfo& info);
  bool RefusedWithoutCertificate();  // smtpd_tls_req_ccert  // TLS is on: facts and the log line
  void Xclient(const smtp::Command& c);
  void ConsumeData();
  void ConsumeBdat();
  void EndOfMessage();
  void EndOfMessageDecided(const vm::Decision& d);
  void ResetTransaction();
  void ResetSession();
  void Close();

  // Replies: one line, or a multi-line reply ("250-a", "250 b"). Errors
  // count towards the soft and hard limits.
  void Reply(const std::string& text);
  void ReplyLines(int code, const std::vector<std::string>& lines);
  void Log(const std::string& line) const;
  std::string ClientText() const;   // "name[address]"
  std::string ServiceName() const;  // the master.cf service, for the log
  // The reply to the end of a message that was accepted.
  std::string QueuedReply(const std::string& id) const;
  bool AddsMissingHeaders() const;
  std::string QueueIdOrNoqueue() const { return queue_id_.empty() ? "NOQUEUE" : queue_id_; }
  void LogReject(const std::string& stage, const std::string& reply, const std::string& recipient);
  void Absorb(const vm::Decision& d);
  // Runs a policy stage (`run`) for `command` (the SMTP command being
  // decided: a policy server's protocol_state) and hands its decision to
  // `then`; when the stage asked for DNS records or policy server answers
  // the session does not have, the session waits for them (kNetwork) and
  // runs it again first.
  void Decide(const char* command, std::function<vm::Decision()> run, std::function<void(const vm::Decision&)> then);
  // What follows a decision: the network questions it raised, or `then`.
  void Conclude(const vm::Decision& d, std::function<vm::Decision()> run,
                std::function<void(const vm::Decision&)> then);
  // After a decision made apart (network answers, off the loop): the command
  // it belonged to counted, reading goes on.
  void Resume(const std::string& counted, size_t output_before);
  void RunDecision(std::function<vm::Decision()> run, std::function<void(const vm::Decision&)> then);
  void PrepareFacts(const char* command);
  std::string NextInstance();
  // The commands after their policy stage decided.
  // `milter_rejected`: a milter refused the connection (5xx).
  void HeloDecided(const vm::Decision& d, bool extended, bool milter_rejected);
  void MailDecided(const vm::Decision& d, const std::string& ret, const std::string& envid,
                   const std::string& body_type, bool smtputf8);
  void RcptDecided(const vm::Decision& d, const std::string& notify, const std::string& original);
  void DataDecided(const vm::Decision& d, bool crlf);
  // Milters (session_milter.cc): asks them about `event` and hands their
  // answer to `then` (at once when there are none, or the transaction is
  // discarded).
  void AskMilters(milter::MilterEvent event, std::function<void(const milter::Outcome&)> then);
  // The macro values known now (MILTER_README's table).
  milter::MacroValues MilterMacros() const;
  // Postfix's check_milter_reply: logs a milter's hold, discard or reject
  // at `stage` and gives the reply to send, if any (hold and discard go on).
  std::optional<std::string> MilterReply(const char* stage, const milter::Outcome& outcome, const std::string& sender,
                                         const std::string& recipient);
  // Gives that reply to the command (closing after a 421): false when the
  // milters let the command go on.
  // The "from=<...> to=<...> proto=... helo=<...>" part of a milter log line.
  std::string MilterLogEnvelope(const std::string& sender, const std::string& recipient) const;
  bool MiltersRefused(const char* stage, const milter::Outcome& outcome, const std::string& sender,
                      const std::string& recipient);
  void ConnectMiltered(const milter::Outcome& outcome);
  // The end of a message after the milters: stored, held, discarded or refused.
  void MessageMiltered(const milter::Outcome& outcome, const char* command);
  bool BareNewlineRefused() const;
  std::string Protocol() const;
  std::string ReceivedHeader() const;
  // The headers of a header section (MessageContent::header_section()).
  static std::vector<HeaderField> ParseHeaders(std::string_view section);
  // The content of a new message (DATA or the first BDAT).
  void StartContent();
  // A BDAT chunk: bare <LF> line ends as for DATA (bdat_bare_newline_, or
  // a <CR> added), then into content_.
  void AppendBdat(std::string_view chunk);

  std::shared_ptr<const SessionContext> context_;
  const SessionConfig& config_;
  Peer peer_;
  SessionEnvironment environment_;
  vm::SmtpFacts facts_;

  Phase phase_ = Phase::kCommand;
  std::vector<sasl::DovecotMechanism> sasl_mechanisms_;
  SaslStep sasl_step_;
  vm::NetworkAnswers network_;  // the DNS records and policy answers fetched for this session
  std::string instance_;        // of the transaction (NextInstance)
  struct PendingDecision {
    std::function<vm::Decision()> run;
    std::function<void(const vm::Decision&)> then;
    std::string counted;  // the command to count once decided ("" for the connect stage)
  };
  // Between the end of data and its decision: the headers as received,
  // the envelope sender rewritten, or why a table did not answer for it.
  std::vector<HeaderField> message_headers_;
  std::string rewritten_sender_;
  std::string sender_lookup_failure_;
  std::optional<PendingDecision> pending_decision_;
  // smtpd_milter_maps' answer for the client's address, else smtpd_milters.
  std::vector<milter::MilterSettings> MiltersForClient();
  std::vector<milter::MilterSettings> milters_;
  milter::MilterEvent milter_event_;
  struct PendingMilter {
    std::function<void(const milter::Outcome&)> then;
    std::string counted;  // the command to count once answered
  };
  std::optional<PendingMilter> pending_milter_;
  bool milters_connected_ = false;                    // the connect event was sent
  bool milter_abort_pending_ = false;                 // a transaction ended since the last event (SMFIC_ABORT)
  bool milter_discard_ = false;                       // a milter discarded the transaction: no more milter events
  milter::HeaderCheckVerdict milter_header_verdict_;  // of the message at hand
  std::string sasl_method_;                           // the mechanism that authenticated the client
  smtp::LineReader lines_;
  std::string output_;
  int64_t reply_delay_ms_ = 0;
  int errors_ = 0;
  int64_t junk_commands_ = 0;        // smtpd_junk_command_limit
  int64_t recipient_overshoot_ = 0;  // smtpd_recipient_overshoot_limit
  std::string access_denied_;        // a connect-stage reject: every command gets 503
  bool helo_given_ = false;
  bool esmtp_ = false;
  bool shutting_down_ = false;
  std::optional<TlsInfo> tls_;
  std::string last_command_ = "CONNECT";  // for "lost connection after X"
  struct CommandCount {
    std::string name;
    int ok = 0;
    int total = 0;
  };
  std::vector<CommandCount> counts_;
  void Count(const std::string& name, bool ok);
  void CountCommand(const std::string& name, size_t output_before);

  // The transaction.
  bool mail_given_ = false;
  std::string sender_;
  std::string ret_, envid_, body_type_;
  bool smtputf8_ = false;
  std::vector<Recipient> recipients_;
  std::string queue_id_;
  vm::Decision actions_;  // actions gathered from the stages (hold, redirect, bcc, ...)
  std::optional<smtp::DataDecoder> data_;
  std::optional<MessageContent> content_;
  std::string decoded_;      // DATA: what the decoder made of the last bytes
  uint64_t bdat_bytes_ = 0;  // BDAT chunk bytes received in this transaction
  char bdat_previous_ = 0;   // the last byte of the BDAT content so far
  char bdat_before_previous_ = 0;
  bool bdat_bare_newline_ = false;  // a bare <LF> where they are refused
  bool too_big_ = false;
  bool used_bdat_ = false;
  uint64_t bdat_remaining_ = 0;
  bool bdat_last_ = false;
  std::string bdat_error_;  // the reply for a chunk that is read but refused
  std::optional<MessageToCommit> commit_;
};

}  // namespace postern::session
