// smtp_client.h: one SMTP or LMTP delivery conversation as a state
// machine, the client-side twin of session/session.h: server bytes in,
// commands out, a result per recipient. No sockets: the delivery agent's
// connection moves the bytes (and does the TLS handshake when asked).
//
// It sends EHLO (HELO when EHLO is refused; LHLO for LMTP), STARTTLS when
// offered and wanted (required: no STARTTLS is a failure), AUTH when the
// server offers it and there are credentials for it (as smtp(8) with
// smtp_sasl_auth_enable: a failed authentication is the host's failure,
// 4.7.x with smtp_sasl_auth_soft_bounce), then MAIL FROM
// with SIZE, BODY, SMTPUTF8, RET and ENVID as the server announced them,
// RCPT TO with NOTIFY and ORCPT under DSN, DATA with dot-stuffing, and
// QUIT. With PIPELINING the envelope goes in one write (RFC 2920) and the
// replies are matched in order. LMTP (RFC 2033) gets one reply per
// accepted recipient after the final dot. An address verification probe
// (OutboundMessage::probe) stops after the RCPT replies.
//
// Results follow Postfix's smtp(8): a 4xx or 5xx to a recipient is that
// recipient's; a refusal of the greeting, HELO, MAIL or DATA, or of the
// whole message after the dot, is every pending recipient's; a lost
// connection before the final reply is a 4xx for everyone not yet answered
// ("lost connection with HOST while ..."). SMTPUTF8 mail to a server
// that does not offer SMTPUTF8 is refused before MAIL (5.6.7, as RFC 6531
// allows when there is no downgrade); 8-bit content goes as it is to a
// server without 8BITMIME (no MIME conversion yet).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/delivery_status.h"
#include "runtime/delivery/sasl_client.h"

namespace postern::delivery {

struct OutboundRecipient {
  std::string address;
  std::string notify;  // DSN NOTIFY= ("" when not requested)
  std::string orcpt;   // "rfc822;addr" ("" when none)
};

struct OutboundMessage {
  std::string sender;  // "" is the null sender
  std::vector<OutboundRecipient> recipients;
  std::string ret, envid;  // DSN
  bool smtputf8 = false;
  bool eight_bit = false;    // the content has 8-bit bytes (BODY=8BITMIME)
  std::string_view content;  // lines ending in CRLF, not dot-stuffed
  // An address verification probe: the envelope only. The RCPT replies are
  // the results (a 250 says deliverable); no DATA is sent, and the
  // transaction ends with RSET (connection reuse) or QUIT.
  bool probe = false;
};

// smtp_tls_security_level: none, may (opportunistic), encrypt (TLS
// required, peer not authenticated), verify (TLS required, the server's
// certificate must chain to the system's trust store and name the host).
enum class TlsPolicy { kNone, kMay, kEncrypt, kVerify };

// SMTP AUTH to a server there are credentials for.
struct ClientAuth {
  // The SASL client for the session; `tls` says whether TLS is on (the
  // security options differ then: smtp_sasl_tls_security_options).
  std::function<Result<std::unique_ptr<SaslClient>>(bool tls)> start;
  // smtp_sasl_mechanism_filter: which of the server's mechanisms may be
  // used (words, "!word" excludes; empty: all of them).
  std::vector<std::string> mechanism_filter;
  bool soft_bounce = true;  // smtp_sasl_auth_soft_bounce: a 5xx to AUTH defers
};

// Whether smtp_sasl_mechanism_filter `filter` lets `mechanism` be used.
bool MechanismAllowed(const std::vector<std::string>& filter, std::string_view mechanism);

struct ClientOptions {
  std::string helo_name;  // smtp_helo_name ($myhostname)
  std::string server;     // "mx.example.com[192.0.2.1]", for reply texts
  std::string relay;      // "mx.example.com[192.0.2.1]:25": the connection's name in logs
  std::string tls_name;   // the host name TLS sends (SNI) and, at kVerify, checks
  bool lmtp = false;
  TlsPolicy tls = TlsPolicy::kMay;
  size_t line_length_limit = 2048;  // server reply lines beyond this are cut
  // After a completed transaction, wait (Next::kIdle) for another message
  // or Quit() instead of sending QUIT (connection reuse).
  bool reuse = false;
  std::optional<ClientAuth> auth;  // none: no AUTH (no credentials for this server)
};

class SmtpClient {
 public:
  // kIdle: with ClientOptions::reuse, a transaction is complete (its
  // results are final) and the session waits for SendAnother() or Quit().
  enum class Next { kRead, kStartTls, kIdle, kDone };

  SmtpClient(ClientOptions options, const OutboundMessage& message);

  // Bytes from the server.
  void Receive(std::string_view bytes);
  // The connection ended (or failed) before the conversation did.
  void ConnectionLost(const std::string& why);
  void TlsStarted();
  void TlsFailed(const std::string& why);
  // From kIdle: the next message on the same session (results start over),
  // or the end of the session.
  void SendAnother(const OutboundMessage& message);
  void Quit();

  std::string TakeOutput();
  Next next() const { return next_; }
  // One per message recipient, in order; all are set once next() is kDone.
  const std::vector<mail::DeliveryStatus>& results() const { return results_; }
  bool tls_active() const { return tls_active_; }

 private:
  enum class Stage { kGreeting, kHelo, kStartTls, kAuth, kEnvelope, kContent, kReset, kIdle, kQuit, kDone };
  struct Reply {
    int code = 0;
    std::vector<std::string> lines;  // without the code and separator
    std::string Text() const;
  };

  void HandleReply(const Reply& reply);
  void SendHelo();
  void HeloDone();
  void Authenticate();
  void HandleAuthReply(const Reply& reply);
  void AddAuthMechanisms(std::string_view words);
  void SendEnvelope();
  void SendNextEnvelopeCommand();
  void SendContent();
  // Every recipient not answered yet gets this result (`status` empty:
  // 4.4.1 for a failure of the host, else the code's default).
  void FailAll(int code, std::string_view status, const std::string& reason);
  void FailAll(mail::DeliveryStatus result);
  // Names this server as the result's relay and remote MTA.
  void Attribute(mail::DeliveryStatus* status) const;
  // Whether a failure now, with `code`, is the host's (before the envelope, not a 5xx).
  bool HostFailing(int code) const;
  void TransactionDone();
  void Abandon();
  void Finish();
  mail::DeliveryStatus Said(const Reply& reply, const std::string& command) const;
  std::string MailCommand() const;
  std::string RcptCommand(const OutboundRecipient& r) const;

  ClientOptions options_;
  const OutboundMessage* message_;
  std::vector<mail::DeliveryStatus> results_;
  std::string input_;
  std::string output_;
  Reply partial_;  // a multi-line reply being read
  Next next_ = Next::kRead;
  Stage stage_ = Stage::kGreeting;
  bool tried_helo_ = false;
  bool tls_active_ = false;
  // What the server announced.
  bool pipelining_ = false, starttls_ = false, eight_bit_mime_ = false, smtputf8_ = false, dsn_ = false;
  bool size_ = false;
  bool auth_offered_ = false;
  std::string auth_mechanisms_;  // the offered ones the filter keeps
  std::unique_ptr<SaslClient> sasl_;
  int auth_steps_ = 0;
  // The envelope in flight: which command each expected reply answers.
  std::vector<std::string> pending_;  // "MAIL", "RCPT", "DATA"
  size_t next_recipient_ = 0;         // without PIPELINING: the next RCPT to send
  size_t rcpt_answered_ = 0;          // RCPT replies received
  std::vector<size_t> accepted_;      // recipients whose RCPT got 2xx (LMTP: in order)
  size_t lmtp_replies_ = 0;
};

}  // namespace postern::delivery
