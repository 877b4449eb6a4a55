// smtp_client.cc: see smtp_client.h. Texts follow Postfix's smtp(8).
#include "runtime/delivery/smtp_client.h"

#include "mail/address.h"
#include "mail/enhanced_status.h"
#include "runtime/smtp/xtext.h"
#include "util/strings.h"

namespace postern::delivery {
namespace {

// An address as an SMTP path: a local part that is not a dot-string is
// quoted, as Postfix's smtp(8) does (quote_821_local); "" stays the null
// sender.
std::string Path(const std::string& address) { return address.empty() ? "" : mail::QuoteLocalPart(address); }

}  // namespace

bool MechanismAllowed(const std::vector<std::string>& filter, std::string_view mechanism) {
  if (filter.empty()) return true;
  for (const std::string& item : filter) {
    bool negated = StartsWith(item, "!");
    if (EqualsIgnoreCase(std::string_view(item).substr(negated ? 1 : 0), mechanism)) return !negated;
  }
  return false;
}

std::string SmtpClient::Reply::Text() const {
  std::string text = std::to_string(code);
  for (const std::string& line : lines) text += " " + line;
  return text;
}

SmtpClient::SmtpClient(ClientOptions options, const OutboundMessage& message)
    : options_(std::move(options)), message_(&message), results_(message.recipients.size()) {}

void SmtpClient::SendAnother(const OutboundMessage& message) {
  if (next_ != Next::kIdle) return;
  message_ = &message;
  results_.assign(message.recipients.size(), mail::DeliveryStatus{});
  pending_.clear();
  next_recipient_ = rcpt_answered_ = lmtp_replies_ = 0;
  accepted_.clear();
  next_ = Next::kRead;
  SendEnvelope();
}

void SmtpClient::Quit() {
  if (next_ != Next::kIdle) return;
  next_ = Next::kRead;
  stage_ = Stage::kIdle;
  Finish();
}

// The end-of-data reply (every reply of it, for LMTP) has come: the
// transaction is over and the session is in a clean state.
void SmtpClient::TransactionDone() {
  if (!options_.reuse) return Finish();
  stage_ = Stage::kIdle;
  next_ = Next::kIdle;
}

// A transaction that ended without end of data (no recipient accepted, DATA
// refused): the server may still hold its envelope; RSET clears it before
// the session is reused.
void SmtpClient::Abandon() {
  if (!options_.reuse) return Finish();
  output_ += "RSET\r\n";
  stage_ = Stage::kReset;
}

std::string SmtpClient::TakeOutput() {
  std::string out;
  out.swap(output_);
  return out;
}

mail::DeliveryStatus SmtpClient::Said(const Reply& reply, const std::string& command) const {
  mail::DeliveryStatus s;
  s.code = reply.code;
  s.remote_reply = reply.Text();
  s.status = mail::EnhancedStatusOfReply(reply.code, s.remote_reply);
  s.reason = "host " + options_.server + " said: " + s.remote_reply + " (in reply to " + command + " command)";
  Attribute(&s);
  return s;
}

void SmtpClient::Attribute(mail::DeliveryStatus* s) const {
  s->relay = options_.relay;
  s->remote_mta = options_.server.substr(0, options_.server.find('['));
}

void SmtpClient::FailAll(int code, std::string_view status, const std::string& reason) {
  mail::DeliveryStatus s = mail::DeliveryStatus::Local(code, status, reason);
  if (status.empty() && HostFailing(code)) s.status = "4.4.1";
  FailAll(std::move(s));
}

bool SmtpClient::HostFailing(int code) const {
  bool before_envelope =
      stage_ == Stage::kGreeting || stage_ == Stage::kHelo || stage_ == Stage::kStartTls || stage_ == Stage::kAuth;
  return before_envelope && code < 500;
}

void SmtpClient::FailAll(mail::DeliveryStatus result) {
  // Whatever went wrong, it was with this server.
  result.host_failure = HostFailing(result.code);
  Attribute(&result);
  for (mail::DeliveryStatus& r : results_) {
    if (r.code == 0) r = result;
  }
}

void SmtpClient::Finish() {
  if (stage_ != Stage::kQuit && stage_ != Stage::kDone) {
    output_ += "QUIT\r\n";
    stage_ = Stage::kQuit;
    return;
  }
  stage_ = Stage::kDone;
  next_ = Next::kDone;
}

void SmtpClient::Receive(std::string_view bytes) {
  if (next_ == Next::kDone) return;
  input_.append(bytes);
  size_t at = 0;
  while (next_ == Next::kRead) {
    size_t lf = input_.find('\n', at);
    if (lf == std::string::npos) break;
    std::string line = input_.substr(at, lf - at);
    at = lf + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() > options_.line_length_limit) line.resize(options_.line_length_limit);
    bool valid = line.size() >= 3 && IsDigit(line[0]) && IsDigit(line[1]) && IsDigit(line[2]) &&
                 (line.size() == 3 || line[3] == ' ' || line[3] == '-');
    if (!valid) {
      // Nothing more can be trusted from it: close without QUIT.
      FailAll(451, "", "host " + options_.server + " sent a malformed reply: " + line.substr(0, 100));
      stage_ = Stage::kQuit;
      Finish();
      break;
    }
    int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (partial_.code != 0 && partial_.code != code) {
      FailAll(451, "", "host " + options_.server + " sent a malformed multi-line reply");
      stage_ = Stage::kQuit;
      Finish();
      break;
    }
    partial_.code = code;
    partial_.lines.push_back(line.size() > 4 ? line.substr(4) : "");
    if (line.size() > 3 && line[3] == '-') continue;
    Reply reply = std::move(partial_);
    partial_ = Reply{};
    HandleReply(reply);
  }
  input_.erase(0, at);
}

void SmtpClient::SendHelo() {
  const char* verb = options_.lmtp ? "LHLO " : (tried_helo_ ? "HELO " : "EHLO ");
  output_ += verb + options_.helo_name + "\r\n";
  stage_ = Stage::kHelo;
}

std::string SmtpClient::MailCommand() const {
  std::string c = "MAIL FROM:<" + Path(message_->sender) + ">";
  if (size_) c += " SIZE=" + std::to_string(message_->content.size());
  if (message_->eight_bit && eight_bit_mime_) c += " BODY=8BITMIME";
  if (message_->smtputf8) c += " SMTPUTF8";
  if (dsn_ && !message_->ret.empty()) c += " RET=" + message_->ret;
  if (dsn_ && !message_->envid.empty()) c += " ENVID=" + smtp::EncodeXtext(message_->envid);
  return c + "\r\n";
}

std::string SmtpClient::RcptCommand(const OutboundRecipient& r) const {
  std::string c = "RCPT TO:<" + Path(r.address) + ">";
  if (dsn_ && !r.notify.empty()) c += " NOTIFY=" + r.notify;
  if (dsn_ && !r.orcpt.empty()) {
    size_t semicolon = r.orcpt.find(';');
    if (semicolon != std::string::npos) {
      c += " ORCPT=" + r.orcpt.substr(0, semicolon) + ";" + smtp::EncodeXtext(r.orcpt.substr(semicolon + 1));
    }
  }
  return c + "\r\n";
}

void SmtpClient::SendEnvelope() {
  if (message_->smtputf8 && !smtputf8_) {
    FailAll(550, "5.6.7", "host " + options_.server + " does not support SMTPUTF8 (5.6.7), which this message needs");
    return TransactionDone();  // nothing was sent for it
  }
  stage_ = Stage::kEnvelope;
  pending_.clear();
  accepted_.clear();
  rcpt_answered_ = 0;
  output_ += MailCommand();
  pending_.push_back("MAIL");
  if (pipelining_) {
    for (size_t i = 0; i < message_->recipients.size(); ++i) {
      output_ += RcptCommand(message_->recipients[i]);
      pending_.push_back("RCPT");
    }
    next_recipient_ = message_->recipients.size();
    if (!message_->probe) {
      output_ += "DATA\r\n";
      pending_.push_back("DATA");
    }
  } else {
    next_recipient_ = 0;
  }
}

// Without PIPELINING: the next RCPT, or DATA once every recipient is asked.
void SmtpClient::SendNextEnvelopeCommand() {
  if (next_recipient_ < message_->recipients.size()) {
    output_ += RcptCommand(message_->recipients[next_recipient_++]);
    pending_.push_back("RCPT");
  } else if (!accepted_.empty()) {
    output_ += "DATA\r\n";
    pending_.push_back("DATA");
  } else {
    Finish();
  }
}

void SmtpClient::SendContent() {
  std::string_view c = message_->content;
  output_.reserve(output_.size() + c.size() + c.size() / 64 + 8);
  bool line_start = true;
  for (size_t i = 0; i < c.size();) {
    if (line_start && c[i] == '.') output_ += '.';  // dot-stuffing
    size_t lf = c.find('\n', i);
    size_t end = lf == std::string_view::npos ? c.size() : lf + 1;
    output_.append(c.substr(i, end - i));
    i = end;
    line_start = lf != std::string_view::npos;
  }
  if (!c.empty() && !c.ends_with("\r\n")) output_ += "\r\n";
  output_ += ".\r\n";
  stage_ = Stage::kContent;
  lmtp_replies_ = 0;
}

// The mechanisms of one AUTH line that the filter keeps; a second line
// with a different list adds to it (the library sorts out duplicates).
void SmtpClient::AddAuthMechanisms(std::string_view words) {
  std::vector<std::string> kept;
  for (const std::string& m : SplitAny(words, " \t")) {
    if (MechanismAllowed(options_.auth->mechanism_filter, m)) kept.push_back(m);
  }
  std::string list = Join(kept, " ");
  auth_offered_ = true;
  if (list.empty() || EqualsIgnoreCase(list, auth_mechanisms_)) return;
  auth_mechanisms_ = auth_mechanisms_.empty() ? list : auth_mechanisms_ + " " + list;
}

// EHLO is done (and STARTTLS, when it was to be): authenticate when the
// server offers AUTH and there are credentials, then the envelope.
void SmtpClient::HeloDone() {
  if (options_.auth && auth_offered_ && options_.auth->start) return Authenticate();
  SendEnvelope();
}

void SmtpClient::Authenticate() {
  stage_ = Stage::kAuth;
  if (auth_mechanisms_.empty()) {
    FailAll(450, "4.7.0",
            "SASL authentication failed: server " + options_.server +
                " offered no compatible authentication mechanisms for this type of connection security");
    return Finish();
  }
  auto cannot = [&](const std::string& why) {
    FailAll(450, "4.7.0", "SASL authentication failed; cannot authenticate to server " + options_.server + ": " + why);
    Finish();
  };
  Result<std::unique_ptr<SaslClient>> client = options_.auth->start(tls_active_);
  if (!client.ok()) return cannot(client.status().message());
  sasl_ = std::move(client).value();
  Result<SaslClient::Start> start = sasl_->Begin(auth_mechanisms_);
  if (!start.ok()) return cannot(start.status().message());
  output_ +=
      "AUTH " + start->mechanism + (start->initial_response.empty() ? "" : " " + start->initial_response) + "\r\n";
  auth_steps_ = 0;
}

void SmtpClient::HandleAuthReply(const Reply& reply) {
  if (reply.code / 100 == 3) {
    if (++auth_steps_ > 100) {
      FailAll(450, "4.3.0", "SASL authentication failed; authentication protocol loop with server " + options_.server);
      return Finish();
    }
    std::string_view challenge = reply.lines.empty() ? std::string_view() : Trim(reply.lines.front());
    Result<std::string> response = sasl_->Step(challenge);
    if (!response.ok()) {
      FailAll(450, "4.7.0",
              "SASL authentication failed; cannot authenticate to server " + options_.server + ": " +
                  response.status().message());
      return Finish();
    }
    output_ += *response + "\r\n";
    return;
  }
  sasl_.reset();  // the secret goes with it
  if (reply.code / 100 == 2) return SendEnvelope();
  // The session is not reused after a failed authentication.
  mail::DeliveryStatus failed = Said(reply, "AUTH");
  if (options_.auth->soft_bounce && failed.code / 100 == 5) {
    failed.status[0] = '4';
    failed.code = 450;
  }
  failed.reason = "SASL authentication failed; server " + options_.server + " said: " + failed.remote_reply;
  FailAll(std::move(failed));
  Finish();
}

void SmtpClient::HandleReply(const Reply& reply) {
  bool ok = reply.code >= 200 && reply.code < 300;
  switch (stage_) {
    case Stage::kGreeting:
      if (ok) return SendHelo();
      // Postfix (smtp_skip_5xx_greeting): a refusal to talk is tried again later.
      FailAll(reply.code >= 500 ? 450 : reply.code, "",
              "host " + options_.server + " refused to talk to me: " + reply.Text());
      return Finish();
    case Stage::kHelo: {
      if (!ok) {
        if (!options_.lmtp && !tried_helo_ && reply.code >= 500) {
          tried_helo_ = true;
          return SendHelo();
        }
        FailAll(Said(reply, options_.lmtp ? "LHLO" : tried_helo_ ? "HELO" : "EHLO"));
        return Finish();
      }
      pipelining_ = starttls_ = eight_bit_mime_ = smtputf8_ = dsn_ = size_ = auth_offered_ = false;
      auth_mechanisms_.clear();
      for (size_t i = 1; i < reply.lines.size(); ++i) {
        const std::string& line = reply.lines[i];
        std::string keyword = ToUpper(line.substr(0, line.find(' ')));
        // AUTH mechanisms, also in the AUTH= form of old servers.
        if (options_.auth && (keyword == "AUTH" || StartsWith(keyword, "AUTH="))) {
          AddAuthMechanisms(std::string_view(line).substr(keyword == "AUTH" ? 4 : 5));
        }
        pipelining_ = pipelining_ || keyword == "PIPELINING";
        starttls_ = starttls_ || keyword == "STARTTLS";
        eight_bit_mime_ = eight_bit_mime_ || keyword == "8BITMIME";
        smtputf8_ = smtputf8_ || keyword == "SMTPUTF8";
        dsn_ = dsn_ || keyword == "DSN";
        size_ = size_ || keyword == "SIZE";
      }
      if (!tls_active_ && options_.tls != TlsPolicy::kNone && starttls_) {
        output_ += "STARTTLS\r\n";
        stage_ = Stage::kStartTls;
        return;
      }
      if (!tls_active_ && options_.tls >= TlsPolicy::kEncrypt) {
        FailAll(450, "", "TLS is required, but was not offered by host " + options_.server);
        return Finish();
      }
      return HeloDone();
    }
    case Stage::kStartTls:
      if (ok) {
        next_ = Next::kStartTls;
        return;
      }
      if (options_.tls >= TlsPolicy::kEncrypt) {
        mail::DeliveryStatus refused = Said(reply, "STARTTLS");
        refused.code = 450;  // a refused STARTTLS that TLS needs is tried again later
        FailAll(std::move(refused));
        return Finish();
      }
      return HeloDone();  // may: go on in the clear
    case Stage::kAuth:
      return HandleAuthReply(reply);
    case Stage::kEnvelope: {
      if (pending_.empty()) return;
      std::string command = pending_.front();
      pending_.erase(pending_.begin());
      if (command == "MAIL") {
        if (!ok) {
          FailAll(Said(reply, "MAIL FROM"));
          if (pending_.empty()) return TransactionDone();  // without pipelining nothing else was sent
          return;                                          // pipelined: the RCPT and DATA replies still come
        }
        if (!pipelining_) SendNextEnvelopeCommand();
        return;
      }
      if (command == "RCPT") {
        // RCPT replies come in the order of the RCPT commands.
        size_t index = rcpt_answered_++;
        if (ok) {
          accepted_.push_back(index);
        }
        if ((!ok || message_->probe) && results_[index].code == 0) {  // (a failed MAIL already answered it)
          results_[index] = Said(reply, "RCPT TO");
        }
        // A probe's transaction ends with its last RCPT reply.
        if (message_->probe && rcpt_answered_ == message_->recipients.size()) return Abandon();
        if (!pipelining_) SendNextEnvelopeCommand();
        return;
      }
      // DATA
      if (reply.code == 354) {
        if (accepted_.empty()) {
          output_ += ".\r\n";  // a server that should have said 503: send nothing
          stage_ = Stage::kContent;
          return;
        }
        return SendContent();
      }
      if (accepted_.empty() && !ok) return Abandon();  // every RCPT was refused: the expected 503
      for (size_t i : accepted_) results_[i] = Said(reply, "DATA");
      return Abandon();
    }
    case Stage::kContent: {
      if (accepted_.empty()) return Abandon();
      if (!options_.lmtp) {
        for (size_t i : accepted_) results_[i] = Said(reply, "end of DATA");
        return TransactionDone();
      }
      if (lmtp_replies_ < accepted_.size()) {
        results_[accepted_[lmtp_replies_]] = Said(reply, "end of DATA");
      }
      if (++lmtp_replies_ >= accepted_.size()) return TransactionDone();
      return;
    }
    case Stage::kReset:
      if (!ok) return Finish();
      return TransactionDone();
    case Stage::kIdle:
      return;  // nothing was asked
    case Stage::kQuit:
      return Finish();
    case Stage::kDone:
      return;
  }
}

void SmtpClient::TlsStarted() {
  tls_active_ = true;
  next_ = Next::kRead;
  input_.clear();  // nothing read in the clear counts after the handshake
  SendHelo();
}

void SmtpClient::TlsFailed(const std::string& why) {
  FailAll(450, "", "TLS handshake with " + options_.server + " failed: " + why);
  stage_ = Stage::kDone;
  next_ = Next::kDone;
}

void SmtpClient::ConnectionLost(const std::string& why) {
  if (next_ == Next::kDone) return;
  std::string doing;
  switch (stage_) {
    case Stage::kGreeting:
      doing = "receiving the initial server greeting";
      break;
    case Stage::kHelo:
      doing = "performing the EHLO handshake";
      break;
    case Stage::kStartTls:
      doing = "performing STARTTLS";
      break;
    case Stage::kAuth:
      doing = "performing the AUTH handshake";
      break;
    case Stage::kEnvelope:
      doing = pending_.empty()             ? "sending RCPT TO"
              : pending_.front() == "MAIL" ? "sending MAIL FROM"
              : pending_.front() == "RCPT" ? "sending RCPT TO"
                                           : "sending DATA";
      break;
    case Stage::kContent:
      doing = "sending end of data -- message may be sent more than once";
      break;
    case Stage::kReset:
    case Stage::kIdle:
    case Stage::kQuit:
    case Stage::kDone:
      break;
  }
  if (!doing.empty()) {
    FailAll(450, "4.4.2",
            "lost connection with " + options_.server + " while " + doing + (why.empty() ? "" : ": " + why));
  }
  stage_ = Stage::kDone;
  next_ = Next::kDone;
}

}  // namespace postern::delivery
