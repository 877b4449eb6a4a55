// session.cc: see session.h. Reply texts follow Postfix's smtpd(8).
#include "runtime/session/session.h"

#include <atomic>

#include "mail/address.h"
#include "mail/ip_address.h"
#include "mail/lookup_failure.h"
#include "mail/mail_domain.h"
#include "runtime/session/missing_headers.h"
#include "runtime/smtp/xtext.h"
#include "util/strings.h"

namespace postern::session {
namespace {

using smtp::Command;
using Verb = Command::Verb;

bool IsError(const std::string& reply) { return !reply.empty() && (reply[0] == '4' || reply[0] == '5'); }

// An envelope address Postfix would refuse: control characters, or 8-bit
// characters without SMTPUTF8.
bool BadAddressBytes(std::string_view address, bool smtputf8, bool* needs_utf8) {
  *needs_utf8 = false;
  for (char ch : address) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 32 || c == 127) return true;
    if (c >= 128 && !smtputf8) *needs_utf8 = true;
  }
  return false;
}

// The domain of an address (InternalForm: no source route), when it has
// one, is a host name or an address literal (mail/mail_domain.h).
bool ValidDomain(std::string_view address, bool smtputf8) {
  mail::AddressParts parts = mail::SplitAddress(address);
  return !parts.has_domain || mail::ValidMailDomain(parts.domain, smtputf8);
}

// For the log, where CR and LF are the point: control characters as C escapes.
std::string Escaped(std::string_view bytes) {
  std::string out;
  for (char ch : bytes) {
    if (ch == '\r') {
      out += "\\r";
    } else if (ch == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(ch) < 32 || ch == 127) {
      out += '?';
    } else {
      out += ch;
    }
  }
  return out;
}

// Rate counting needs each stage evaluation told apart, across sessions.
uint64_t NextEvent() {
  static std::atomic<uint64_t> events{0};
  return events.fetch_add(1, std::memory_order_relaxed) + 1;
}

// Whether a command word is a message header label ("From:"), as Postfix's
// is_header() has it: printable characters up to a colon.
bool LooksLikeHeader(std::string_view word) {
  size_t colon = word.find(':');
  if (colon == 0 || colon == std::string_view::npos) return false;
  for (char c : word.substr(0, colon)) {
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f) return false;
  }
  return true;
}

// A MAIL or RCPT command's arguments as milters get them: the address in
// <>, then the ESMTP parameters as sent.
std::vector<std::string> MilterArguments(const Command& c) {
  std::vector<std::string> args = {"<" + c.path + ">"};
  for (const auto& [name, value] : c.parameters) args.push_back(value.empty() ? name : name + "=" + value);
  return args;
}

}  // namespace

Session::Session(std::shared_ptr<const SessionContext> context, Peer peer, SessionEnvironment environment)
    : context_(std::move(context)),
      config_(context_->config),
      peer_(std::move(peer)),
      environment_(std::move(environment)),
      lines_(smtp::BareNewline::kNormalize, context_->config.line_length_limit) {
  facts_.client_address = peer_.address;
  facts_.client_name = peer_.name;
  facts_.reverse_client_name = peer_.reverse_name;
  facts_.client_port = peer_.port;
  facts_.server_address = peer_.server_address;
  facts_.server_port = peer_.server_port;
  facts_.dns = context_->asks_network ? &network_ : nullptr;
  if (BareNewlineRefused()) lines_ = smtp::LineReader(smtp::BareNewline::kReject, config_.line_length_limit);
}

bool Session::BareNewlineRefused() const {
  if (config_.bare_newline != smtp::BareNewline::kReject) return false;
  auto address = mail::IpAddress::Parse(peer_.address);
  return !(address && config_.bare_newline_exclusions.Match(*address));
}

void Session::Log(const std::string& line) const {
  if (environment_.log) environment_.log(line);
}

std::string Session::ClientText() const { return peer_.name + "[" + peer_.address + "]"; }

void Session::Start(const std::optional<TlsInfo>& wrapped) {
  Log("connect from " + ClientText());
  milters_ = MiltersForClient();
  if (wrapped) {
    NoteTls(*wrapped);
    if (RefusedWithoutCertificate()) return;
  }
  facts_.pipelined_without_permission = false;
  facts_.event = NextEvent();
  Decide(
      "CONNECT", [this] { return context_->policy->Run(vm::VmStage::kConnect, facts_); },
      [this](const vm::Decision& d) {
        if (d.kind != vm::Decision::Kind::kAccept) {
          // Postfix with smtpd_delay_reject = no: the reject instead of the
          // greeting, then 503 to everything but QUIT.
          access_denied_ = d.reply;
          LogReject("CONNECT", d.reply, "");
          output_ += d.reply + "\r\n";
          return;
        }
        milter::MilterEvent event = milter::MilterEvent::Of(milter::MilterEvent::Kind::kConnect);
        event.client = milter::ClientInfo{peer_.name, peer_.address, static_cast<uint16_t>(peer_.port),
                                          peer_.address.find(':') != std::string::npos};
        AskMilters(std::move(event), [this](const milter::Outcome& outcome) { ConnectMiltered(outcome); });
      });
}

void Session::Reply(const std::string& text) {
  if (IsError(text)) {
    ++errors_;
    if (errors_ >= config_.soft_error_limit) reply_delay_ms_ += config_.error_sleep_ms;
  }
  output_ += text;
  output_ += "\r\n";
}

void Session::ReplyLines(int code, const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    output_ += std::to_string(code) + (i + 1 < lines.size() ? "-" : " ") + lines[i] + "\r\n";
  }
}

std::string Session::TakeOutput() {
  std::string out;
  out.swap(output_);
  reply_delay_ms_ = 0;
  return out;
}

Session::Next Session::next() const {
  switch (phase_) {
    case Phase::kCommit:
      return Next::kCommit;
    case Phase::kTls:
      return Next::kStartTls;
    case Phase::kSaslServer:
      return Next::kAuthenticate;
    case Phase::kNetwork:
      return Next::kAskNetwork;
    case Phase::kDecide:
      return Next::kDecide;
    case Phase::kMilter:
      return Next::kMilter;
    case Phase::kClosed:
      return Next::kClose;
    default:
      return Next::kRead;
  }
}

void Session::Close() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  std::string line = "disconnect from " + ClientText();
  int total = 0;
  for (const CommandCount& c : counts_) {
    line += " " + c.name + "=" + std::to_string(c.ok);
    if (c.ok != c.total) line += "/" + std::to_string(c.total);
    total += c.total;
  }
  line += " commands=" + std::to_string(total);
  Log(line);
}

// A command whose replies start at `output_before`: ok unless its reply
// is an error.
void Session::CountCommand(const std::string& name, size_t output_before) {
  Count(name, output_.size() == output_before || !IsError(output_.substr(output_before, 3)));
}

void Session::Count(const std::string& name, bool ok) {
  std::string lower = ToLower(name);
  for (CommandCount& c : counts_) {
    if (c.name == lower) {
      c.total++;
      c.ok += ok ? 1 : 0;
      return;
    }
  }
  counts_.push_back(CommandCount{lower, ok ? 1 : 0, 1});
}

void Session::Receive(std::string_view bytes) {
  if (phase_ == Phase::kClosed) return;
  lines_.Feed(bytes);
  Process();
}

void Session::Process() {
  while (true) {
    switch (phase_) {
      case Phase::kCommand: {
        std::optional<smtp::LineReader::Line> line = lines_.Next();
        if (!line) {
          if (lines_.error()) {
            Reply("521 5.5.2 " + config_.hostname + " Error: bare <LF> received");
            Log("improper command pipelining or bare <LF> from " + ClientText());
            Close();
          }
          return;
        }
        HandleLine(*line);
        break;
      }
      case Phase::kData: {
        std::string pending = lines_.TakePending();
        decoded_.clear();
        size_t used = data_->Feed(pending, &decoded_);
        content_->Append(decoded_);
        lines_.Feed(std::string_view(pending).substr(used));
        ConsumeData();
        if (phase_ == Phase::kData) return;  // needs more bytes
        break;
      }
      case Phase::kBdat: {
        ConsumeBdat();
        if (phase_ == Phase::kBdat) return;
        break;
      }
      case Phase::kSaslClient: {
        std::optional<smtp::LineReader::Line> line = lines_.Next();
        if (!line) return;
        SaslResponse(line->too_long ? std::string("*") : line->text);
        break;
      }
      default:
        return;
    }
  }
}

// Whether input that came after `verb` breaks the pipelining rules: the
// commands that must end a pipeline group (RFC 2920: EHLO, DATA, VRFY,
// EXPN, ETRN, NOOP; HELO too), and every command while PIPELINING has not
// been announced. QUIT ends the session anyway; STARTTLS discards what
// follows it (CVE-2011-0411). Measured against Postfix 3.7.
bool Session::IllegallyPipelined(Verb verb) const {
  switch (verb) {
    case Verb::kQuit:
    case Verb::kStarttls:
      return false;
    case Verb::kEhlo:
    case Verb::kHelo:
    case Verb::kData:
    case Verb::kNoop:
    case Verb::kVrfy:
    case Verb::kExpn:
    case Verb::kEtrn:
      return true;
    default:
      return !esmtp_;
  }
}

void Session::HandleLine(const smtp::LineReader::Line& line) {
  if (line.too_long) {
    Count("unknown", false);
    Reply("500 5.5.2 Error: line too long");
    return;
  }
  Command c = smtp::ParseCommand(line.text);
  last_command_ = c.verb == Verb::kUnknown ? "UNKNOWN" : c.name;
  const std::string counted = c.verb == Verb::kUnknown ? "unknown" : c.name;  // for the disconnect line
  if (errors_ >= config_.hard_error_limit) {
    Reply("421 4.7.0 " + config_.hostname + " Error: too many errors");
    Log("too many errors after " + last_command_ + " from " + ClientText());
    Close();
    return;
  }
  if (shutting_down_ && !mail_given_ && c.verb != Verb::kQuit) {
    Reply("421 4.3.2 " + config_.hostname + " Service shutting down, closing transmission channel");
    Close();
    return;
  }
  // Commands sent ahead of a reply without PIPELINING (reject_unauth_pipelining).
  if (!esmtp_ && !lines_.pending().empty()) facts_.pipelined_without_permission = true;
  if (config_.forbid_unauth_pipelining && !lines_.pending().empty() && IllegallyPipelined(c.verb)) {
    // smtpd_forbid_unauth_pipelining: input after a command that must end
    // a pipeline group (RFC 2920), or any pipelining without PIPELINING.
    Log("improper command pipelining after " + c.name + " from " + ClientText() + ": " +
        Escaped(lines_.pending().substr(0, 100)));
    Reply("554 5.5.0 Error: SMTP protocol synchronization");
    Close();
    return;
  }
  if (!access_denied_.empty() && c.verb != Verb::kQuit) {
    Count(counted, false);
    Reply("503 5.7.0 Error: access denied for " + ClientText());
    return;
  }
  if (config_.tls_level == TlsLevel::kEncrypt && !tls_) {
    switch (c.verb) {
      case Verb::kEhlo:
      case Verb::kHelo:
      case Verb::kStarttls:
      case Verb::kNoop:
      case Verb::kRset:
      case Verb::kQuit:
      case Verb::kXclient:
        break;
      default:
        Count(counted, false);
        Reply("530 5.7.0 Must issue a STARTTLS command first");
        return;
    }
  }
  size_t output_before = output_.size();
  switch (c.verb) {
    case Verb::kEhlo:
      Helo(c, true);
      break;
    case Verb::kHelo:
      Helo(c, false);
      break;
    case Verb::kMail:
      Mail(c);
      break;
    case Verb::kRcpt:
      Rcpt(c);
      break;
    case Verb::kData:
      Data(c, line.crlf);
      break;
    case Verb::kBdat:
      Bdat(c);
      break;
    case Verb::kRset:
      if (!c.argument.empty()) {
        Reply("501 5.5.4 Syntax: RSET");
      } else {
        ResetTransaction();
        Reply("250 2.0.0 Ok");
      }
      break;
    case Verb::kNoop:
      Reply("250 2.0.0 Ok");
      break;
    case Verb::kQuit:
      Count("quit", true);
      Reply("221 2.0.0 Bye");
      Close();
      return;
    case Verb::kVrfy:
      Vrfy(c);
      break;
    case Verb::kEtrn:
      Etrn(c);
      break;
    case Verb::kStarttls:
      StartTls(c);
      break;
    case Verb::kAuth:
      Auth(c);
      break;
    case Verb::kXclient:
      Xclient(c);
      break;
    case Verb::kHelp:  // Postfix's smtpd has neither HELP nor EXPN
    case Verb::kExpn:
    case Verb::kUnknown:
      if (LooksLikeHeader(c.name) || config_.forbidden_commands.Match(ToLower(c.name))) {
        // A web browser or proxy talking to the SMTP port (smtpd_forbidden_commands),
        // or message headers sent as commands (Postfix's is_header test).
        Log("warning: non-SMTP command from " + ClientText() + ": " + line.text.substr(0, 100));
        Reply("221 2.7.0 Error: I can break rules, too. Goodbye.");
        Close();
        return;
      }
      if (!milters_.empty()) {
        milter::MilterEvent event = milter::MilterEvent::Of(milter::MilterEvent::Kind::kUnknown);
        event.args = {c.name};
        AskMilters(std::move(event), [this](const milter::Outcome& outcome) {
          std::optional<std::string> reply = MilterReply("UNKNOWN", outcome, "", "");
          Reply(reply ? *reply : "500 5.5.2 Error: command not recognized");
        });
        break;
      }
      Reply("500 5.5.2 Error: command not recognized");
      break;
  }
  // Commands a client can repeat forever without a tarpit count as errors
  // beyond smtpd_junk_command_limit, as in Postfix.
  bool junk = c.verb == Verb::kHelo || c.verb == Verb::kEhlo || c.verb == Verb::kRset || c.verb == Verb::kNoop ||
              c.verb == Verb::kVrfy || c.verb == Verb::kEtrn || c.verb == Verb::kXclient;
  if (junk && junk_commands_++ > config_.junk_command_limit) ++errors_;
  // Count the command, ok unless its reply was an error (DATA counts at
  // end of data, BDAT at its last chunk).
  bool counted_later = c.verb == Verb::kBdat || (c.verb == Verb::kData && phase_ == Phase::kData) ||
                       (c.verb == Verb::kAuth && phase_ == Phase::kSaslServer);
  if ((phase_ == Phase::kNetwork || phase_ == Phase::kDecide) && pending_decision_) {
    if (!counted_later) pending_decision_->counted = counted;  // once the policy has decided (NetworkAnswered, Decided)
    return;
  }
  if (phase_ == Phase::kMilter && pending_milter_) {
    if (!counted_later) pending_milter_->counted = counted;  // once the milters answered (MilterAnswered)
    return;
  }
  if (!counted_later) CountCommand(counted, output_before);
}

void Session::Helo(const Command& c, bool extended) {
  if (c.argument.empty()) {
    Reply(extended ? "501 Syntax: EHLO hostname" : "501 Syntax: HELO hostname");
    return;
  }
  ResetTransaction();
  if (helo_given_ && milters_connected_) milter_abort_pending_ = true;  // Postfix's helo_reset
  // As Postfix keeps it: the policy, the logs and the Received: header see
  // no control characters (a CR there would start a header of its own).
  facts_.helo = Printable(c.argument);
  facts_.event = NextEvent();
  Decide(
      extended ? "EHLO" : "HELO", [this] { return context_->policy->Run(vm::VmStage::kHelo, facts_); },
      [this, extended, name = c.argument](const vm::Decision& d) {
        if (d.kind != vm::Decision::Kind::kAccept) return HeloDecided(d, extended, false);
        milter::MilterEvent event = milter::MilterEvent::Of(milter::MilterEvent::Kind::kHelo);
        event.args = {name};
        AskMilters(std::move(event), [this, d, extended](const milter::Outcome& outcome) {
          // A milter that refuses the connection or HELO does not refuse
          // HELO: its reply comes at MAIL (Sendmail's way, and Postfix's).
          std::optional<std::string> reply = MilterReply("HELO", outcome, "", "");
          if (reply && reply->starts_with("421")) {
            Reply(*reply);
            Close();
            return;
          }
          HeloDecided(d, extended, reply && reply->front() == '5');
        });
      });
}

void Session::HeloDecided(const vm::Decision& d, bool extended, bool milter_rejected) {
  if (d.kind != vm::Decision::Kind::kAccept) {
    LogReject("HELO", d.reply, "");
    Reply(d.reply);
    return;
  }
  helo_given_ = true;
  esmtp_ = extended;
  if (!extended) {
    Reply("250 " + config_.hostname);
    return;
  }
  if (milter_rejected) {
    // Postfix announces nothing but ENHANCEDSTATUSCODES then.
    ReplyLines(250, {config_.hostname, "ENHANCEDSTATUSCODES"});
    return;
  }
  std::vector<std::string> lines = {config_.hostname, "PIPELINING"};
  lines.push_back(config_.message_size_limit ? "SIZE " + std::to_string(config_.message_size_limit) : "SIZE");
  if (config_.vrfy_enabled) lines.push_back("VRFY");
  if (context_->tls_available && config_.tls_level != TlsLevel::kNone && !tls_) lines.push_back("STARTTLS");
  auto client = mail::IpAddress::Parse(peer_.address);
  bool excepted = client && config_.sasl_exceptions.Match(*client);  // offered no AUTH, as Postfix
  if (std::vector<std::string> mechanisms = OfferedSaslMechanisms(); !mechanisms.empty() && !excepted) {
    lines.push_back("AUTH " + Join(mechanisms, " "));
    if (config_.broken_sasl_auth_clients) lines.push_back("AUTH=" + Join(mechanisms, " "));
  }
  if (client && config_.xclient_hosts.Match(*client)) {
    lines.push_back("XCLIENT NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN");
  }
  lines.push_back("ENHANCEDSTATUSCODES");
  lines.push_back("8BITMIME");
  lines.push_back("DSN");
  if (config_.smtputf8) lines.push_back("SMTPUTF8");
  lines.push_back("CHUNKING");
  ReplyLines(250, lines);
}

void Session::Mail(const Command& c) {
  if (config_.helo_required && !helo_given_) return Reply("503 5.5.1 Error: send HELO/EHLO first");
  if (mail_given_) return Reply("503 5.5.1 Error: nested MAIL command");
  if (!c.error.empty()) return Reply("501 " + c.error);
  if (config_.strict_rfc821_envelopes && !c.path_in_brackets) return Reply("501 5.1.7 Bad sender address syntax");
  std::string ret, envid, body_type = "7BIT";
  bool smtputf8 = false;
  int64_t size = 0;
  for (const auto& [name, value] : c.parameters) {
    if (name == "SIZE") {
      long long n = 0;
      if (!ParseDecimal(value, &n)) return Reply("501 5.5.4 Bad message size syntax");
      size = n;
    } else if (name == "BODY") {
      std::string v = ToUpper(value);
      if (v != "7BIT" && v != "8BITMIME") return Reply("501 5.5.4 Unsupported BODY parameter value");
      body_type = v;
    } else if (name == "SMTPUTF8" && config_.smtputf8 && value.empty()) {
      smtputf8 = true;
    } else if (name == "RET") {
      std::string v = ToUpper(value);
      if (!ret.empty() || (v != "FULL" && v != "HDRS")) return Reply("501 5.5.4 Bad RET parameter syntax");
      ret = v;
    } else if (name == "ENVID") {
      std::optional<std::string> decoded = smtp::DecodeXtext(value);
      if (!envid.empty() || !decoded || decoded->empty() || decoded->size() > 100) {
        return Reply("501 5.5.4 Bad ENVID parameter syntax");
      }
      envid = *decoded;
    } else if (name == "AUTH") {
      // AUTH=<> or AUTH=identity from a relaying MTA: nobody is authenticated here.
    } else {
      return Reply("555 5.5.4 Unsupported option: " + name + (value.empty() ? "" : "=" + value));
    }
  }
  if (config_.message_size_limit != 0 && static_cast<uint64_t>(size) > config_.message_size_limit) {
    return Reply("552 5.3.4 Message size exceeds fixed limit");
  }
  bool needs_utf8 = false;
  std::string sender = mail::InternalForm(c.path);
  if (BadAddressBytes(c.path, smtputf8, &needs_utf8) || !ValidDomain(sender, smtputf8)) {
    return Reply("501 5.1.7 Bad sender address syntax");
  }
  if (needs_utf8 && config_.strict_smtputf8) return Reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
  if (int64_t rate = 0; environment_.allow && !environment_.allow(RateEvent::kMessage, &rate)) {
    Log("warning: Message delivery request rate limit exceeded from " + ClientText() + " for service " + ServiceName());
    return Reply("452 4.3.2 Error: too much mail from " + peer_.address);
  }
  facts_.sender = std::move(sender);
  facts_.has_sender = true;
  facts_.size = size;
  facts_.recipient_count = 0;
  facts_.event = NextEvent();
  instance_ = NextInstance();
  std::vector<std::string> milter_args = MilterArguments(c);
  Decide(
      "MAIL", [this] { return context_->policy->Run(vm::VmStage::kMail, facts_); },
      [this, ret, envid, body_type, smtputf8, milter_args](const vm::Decision& d) {
        if (d.kind != vm::Decision::Kind::kAccept) return MailDecided(d, ret, envid, body_type, smtputf8);
        milter::MilterEvent event = milter::MilterEvent::Of(milter::MilterEvent::Kind::kMail);
        event.args = milter_args;
        AskMilters(std::move(event), [this, d, ret, envid, body_type, smtputf8](const milter::Outcome& outcome) {
          if (MiltersRefused("MAIL", outcome, facts_.sender, "")) {
            facts_.has_sender = false;
            return;
          }
          MailDecided(d, ret, envid, body_type, smtputf8);
        });
      });
}

void Session::MailDecided(const vm::Decision& d, const std::string& ret, const std::string& envid,
                          const std::string& body_type, bool smtputf8) {
  if (d.kind != vm::Decision::Kind::kAccept) {
    LogReject("MAIL", d.reply, "");
    facts_.has_sender = false;
    return Reply(d.reply);
  }
  mail_given_ = true;
  sender_ = facts_.sender;
  ret_ = ret;
  envid_ = envid;
  body_type_ = body_type;
  smtputf8_ = smtputf8;
  Absorb(d);
  Reply("250 2.1.0 Ok");
}

void Session::Rcpt(const Command& c) {
  if (!mail_given_) return Reply("503 5.5.1 Error: need MAIL command");
  if (!c.error.empty()) return Reply("501 " + c.error);
  if (config_.strict_rfc821_envelopes && !c.path_in_brackets) return Reply("501 5.1.3 Bad recipient address syntax");
  if (recipients_.size() >= config_.recipient_limit) {
    // Clients that send many recipients at once get 452 for the rest and
    // retry them later: so many of those are not errors.
    bool forgiven = recipient_overshoot_++ < config_.recipient_overshoot_limit;
    Reply("452 4.5.3 Error: too many recipients");
    if (forgiven) --errors_;
    return;
  }
  std::string notify, original;
  for (const auto& [name, value] : c.parameters) {
    if (name == "NOTIFY") {
      std::string v = ToUpper(value);
      bool ok = !v.empty() && notify.empty();
      std::vector<std::string> words = SplitAny(v, ",");
      for (const std::string& w : words) {
        ok = ok && (w == "SUCCESS" || w == "FAILURE" || w == "DELAY" || (w == "NEVER" && words.size() == 1));
      }
      if (!ok) return Reply("501 5.5.4 Error: Bad NOTIFY parameter syntax");
      notify = v;
    } else if (name == "ORCPT") {
      size_t semicolon = value.find(';');
      std::optional<std::string> decoded;
      if (semicolon != std::string::npos) decoded = smtp::DecodeXtext(value.substr(semicolon + 1));
      if (!original.empty() || !decoded || decoded->empty()) {
        return Reply("501 5.5.4 Error: Bad ORCPT parameter syntax");
      }
      original = ToLower(value.substr(0, semicolon)) + ";" + *decoded;
    } else {
      return Reply("555 5.5.4 Unsupported option: " + name + (value.empty() ? "" : "=" + value));
    }
  }
  bool needs_utf8 = false;
  std::string recipient = mail::InternalForm(c.path);
  if (c.path.empty() || BadAddressBytes(c.path, smtputf8_, &needs_utf8) || !ValidDomain(recipient, smtputf8_)) {
    return Reply("501 5.1.3 Bad recipient address syntax");
  }
  if (needs_utf8 && config_.strict_smtputf8) return Reply("553 5.6.7 Must declare SMTPUTF8 to send unicode address");
  if (int64_t rate = 0; environment_.allow && !environment_.allow(RateEvent::kRecipient, &rate)) {
    Log("warning: Recipient address rate limit exceeded from " + ClientText() + " for service " + ServiceName());
    return Reply("452 4.3.2 Error: too many recipients from " + peer_.address);
  }
  facts_.recipient = std::move(recipient);
  facts_.recipient_count = static_cast<int>(recipients_.size());
  facts_.event = NextEvent();
  std::vector<std::string> milter_args = MilterArguments(c);
  Decide(
      "RCPT", [this] { return context_->policy->CheckRecipient(facts_); },
      [this, notify, original, milter_args](const vm::Decision& d) {
        if (d.kind != vm::Decision::Kind::kAccept) return RcptDecided(d, notify, original);
        milter::MilterEvent event = milter::MilterEvent::Of(milter::MilterEvent::Kind::kRcpt);
        event.args = milter_args;
        AskMilters(std::move(event), [this, d, notify, original](const milter::Outcome& outcome) {
          if (!MiltersRefused("RCPT", outcome, "", facts_.recipient)) RcptDecided(d, notify, original);
        });
      });
}

void Session::RcptDecided(const vm::Decision& d, const std::string& notify, const std::string& original) {
  for (const std::string& warning : d.warnings) {
    Log(QueueIdOrNoqueue() + ": warn: RCPT from " + ClientText() + ": " + warning);
  }
  if (d.kind != vm::Decision::Kind::kAccept) {
    LogReject("RCPT", d.reply, facts_.recipient);
    return Reply(d.reply);
  }
  if (queue_id_.empty()) {
    queue_id_ = environment_.new_queue_id();
    Log(queue_id_ + ": client=" + ClientText() +
        (sasl_method_.empty() ? "" : ", sasl_method=" + sasl_method_ + ", sasl_username=" + facts_.sasl_username));
  }
  recipients_.push_back(
      Recipient{facts_.recipient, original.empty() ? "rfc822;" + facts_.recipient : original, notify, d.route});
  Absorb(d);
  Reply("250 2.1.5 Ok");
}

void Session::Absorb(const vm::Decision& d) {
  actions_.hold = actions_.hold || d.hold;
  actions_.discard = actions_.discard || d.discard;
  if (!d.redirect.empty()) actions_.redirect = d.redirect;
  if (!d.filter.empty()) actions_.filter = d.filter;
  actions_.bcc.insert(actions_.bcc.end(), d.bcc.begin(), d.bcc.end());
  actions_.prepend.insert(actions_.prepend.end(), d.prepend.begin(), d.prepend.end());
  actions_.header_edits.insert(actions_.header_edits.end(), d.header_edits.begin(), d.header_edits.end());
}

void Session::Data(const Command& c, bool crlf) {
  if (!mail_given_) return Reply("503 5.5.1 Error: need RCPT command");
  if (recipients_.empty()) return Reply("554 5.5.1 Error: no valid recipients");  // every RCPT refused
  if (!c.argument.empty()) return Reply("501 5.5.4 Syntax: DATA");
  if (used_bdat_) return Reply("503 5.5.1 Error: DATA after BDAT");
  facts_.recipient.clear();
  facts_.recipient_count = static_cast<int>(recipients_.size());
  facts_.event = NextEvent();
  Decide(
      "DATA", [this] { return context_->policy->Run(vm::VmStage::kData, facts_); },
      [this, crlf](const vm::Decision& d) {
        if (d.kind != vm::Decision::Kind::kAccept) return DataDecided(d, crlf);
        AskMilters(milter::MilterEvent::Of(milter::MilterEvent::Kind::kData),
                   [this, d, crlf](const milter::Outcome& outcome) {
                     if (!MiltersRefused("DATA", outcome, "", "")) DataDecided(d, crlf);
                   });
      });
}

void Session::DataDecided(const vm::Decision& d, bool crlf) {
  if (d.kind != vm::Decision::Kind::kAccept) {
    LogReject("DATA", d.reply, "");
    return Reply(d.reply);
  }
  Absorb(d);
  smtp::DataOptions options;
  options.bare_newline = BareNewlineRefused() ? smtp::BareNewline::kReject : smtp::BareNewline::kNormalize;
  options.line_length_limit = config_.line_length_limit;
  options.message_size_limit = config_.message_size_limit;
  options.data_line_ended_in_crlf = crlf;
  data_.emplace(options);
  StartContent();
  phase_ = Phase::kData;
  Reply("354 End data with <CR><LF>.<CR><LF>");
}

void Session::ConsumeData() {
  too_big_ = data_->too_big();
  switch (data_->state()) {
    case smtp::DataDecoder::State::kContent:
      return;
    case smtp::DataDecoder::State::kBareNewlineError:
      Count("data", false);
      Reply("521 5.5.2 " + config_.hostname + " Error: bare <LF> received");
      Log(QueueIdOrNoqueue() + ": reject: bare <LF> received in DATA from " + ClientText());
      Close();
      return;
    case smtp::DataDecoder::State::kDone:
      data_.reset();
      phase_ = Phase::kCommand;
      EndOfMessage();
      return;
  }
}

void Session::Bdat(const Command& c) {
  std::vector<std::string> words = SplitAny(c.argument, " ");
  long long size = -1;
  bool last = words.size() == 2 && EqualsIgnoreCase(words[1], "LAST");
  if (words.empty() || words.size() > 2 || (words.size() == 2 && !last) || !ParseDecimal(words[0], &size)) {
    // The chunk's length is unknown: nothing can be read reliably after it.
    Count("bdat", false);
    Reply("501 5.5.4 Syntax: BDAT count [LAST]");
    Close();
    return;
  }
  bdat_remaining_ = static_cast<uint64_t>(size);
  bdat_last_ = last;
  bdat_error_.clear();
  if (size == 0 && !last) {
    bdat_error_ = "551 5.7.1 Null BDAT request";
  } else if (!mail_given_ || recipients_.empty()) {
    bdat_error_ = mail_given_ ? "554 5.5.1 Error: no valid recipients" : "503 5.5.1 Error: need RCPT command";
  } else if (!used_bdat_) {
    used_bdat_ = true;
    StartContent();
    bdat_bytes_ = 0;
    facts_.event = NextEvent();
    Decide(
        "BDAT", [this] { return context_->policy->Run(vm::VmStage::kData, facts_); },
        [this](const vm::Decision& d) {
          if (d.kind != vm::Decision::Kind::kAccept) {
            LogReject("BDAT", d.reply, "");
            bdat_error_ = d.reply;
            ResetTransaction();
            phase_ = Phase::kBdat;
            return;
          }
          Absorb(d);
          AskMilters(milter::MilterEvent::Of(milter::MilterEvent::Kind::kData), [this](const milter::Outcome& outcome) {
            if (std::optional<std::string> reply = MilterReply("DATA", outcome, "", "")) {
              bdat_error_ = *reply;
              ResetTransaction();
            }
            phase_ = Phase::kBdat;
          });
        });
    return;
  }
  phase_ = Phase::kBdat;
}

void Session::ConsumeBdat() {
  std::string pending = lines_.TakePending();
  size_t take = static_cast<size_t>(std::min<uint64_t>(bdat_remaining_, pending.size()));
  if (bdat_error_.empty()) {
    bdat_bytes_ += take;
    if (config_.message_size_limit != 0 && bdat_bytes_ > config_.message_size_limit) {
      too_big_ = true;
    } else {
      AppendBdat(std::string_view(pending).substr(0, take));
    }
  }
  bdat_remaining_ -= take;
  lines_.Feed(std::string_view(pending).substr(take));
  if (bdat_remaining_ > 0) return;
  phase_ = Phase::kCommand;
  if (!bdat_error_.empty()) {
    Count("bdat", false);
    Reply(bdat_error_);
    return;
  }
  if (!bdat_last_) {
    Count("bdat", true);
    Reply("250 2.0.0 Ok: " + std::to_string(bdat_bytes_) + " bytes");
    return;
  }
  // The whole message: lines must end in <CR><LF>; bare <LF> as for DATA.
  if (bdat_bare_newline_) {
    Count("bdat", false);
    Reply("521 5.5.2 " + config_.hostname + " Error: bare <LF> received");
    Close();
    return;
  }
  if (content_->size() > 0 && (bdat_before_previous_ != '\r' || bdat_previous_ != '\n')) AppendBdat("\r\n");
  EndOfMessage();
}

void Session::AppendBdat(std::string_view chunk) {
  std::string normalized;
  normalized.reserve(chunk.size() + 16);
  for (char c : chunk) {
    if (c == '\n' && bdat_previous_ != '\r') {
      if (BareNewlineRefused()) bdat_bare_newline_ = true;
      normalized += '\r';
      bdat_before_previous_ = '\r';
    } else {
      bdat_before_previous_ = bdat_previous_;
    }
    normalized += c;
    bdat_previous_ = c;
  }
  if (!bdat_bare_newline_) content_->Append(normalized);
}

void Session::StartContent() {
  std::unique_ptr<queue::BodySpool> body =
      environment_.new_body ? environment_.new_body(queue_id_)
                            : std::make_unique<queue::BodySpool>("", queue_id_, 0, queue::kQueueFileBodyOffset);
  content_.emplace(std::move(body), MessageContent::LimitsOf(config_));
  bdat_previous_ = bdat_before_previous_ = 0;
  bdat_bare_newline_ = false;
}

std::vector<Session::HeaderField> Session::ParseHeaders(std::string_view section) {
  std::vector<HeaderField> headers;
  size_t pos = 0;
  while (pos < section.size()) {
    size_t end = section.find("\r\n", pos);
    if (end == std::string_view::npos) end = section.size();
    std::string_view line = section.substr(pos, end - pos);
    size_t next = std::min(end + 2, section.size());
    std::string_view raw = section.substr(pos, next - pos);
    if ((line.starts_with(' ') || line.starts_with('\t')) && !headers.empty()) {
      headers.back().logical += "\n" + std::string(line);
      headers.back().raw += raw;
    } else {
      headers.push_back(HeaderField{std::string(line.substr(0, line.find(':'))), std::string(line), std::string(raw)});
    }
    pos = next;
  }
  return headers;
}

std::string Session::ServiceName() const {
  return context_->image->service().empty() ? "smtp" : context_->image->service();
}

std::string Session::Protocol() const {
  std::string p = esmtp_ ? "ESMTP" : "SMTP";
  if (tls_ && esmtp_) p += "S";
  if (!sasl_method_.empty() && esmtp_) p += "A";
  return p;
}

std::string Session::ReceivedHeader() const {
  std::string h = "Received: from " + facts_.helo + " (" + peer_.name + " [" + peer_.address + "])\r\n";
  if (tls_ && config_.tls_received_header) {
    h += "\t(using " + tls_->protocol + " with cipher " + tls_->cipher + " (" + std::to_string(tls_->bits) + "/" +
         std::to_string(tls_->bits) + " bits))\r\n";
  }
  if (config_.sasl_authenticated_header && !sasl_method_.empty()) {
    h += "\t(Authenticated sender: " + Printable(facts_.sasl_username) + ")\r\n";
  }
  h += "\tby " + config_.hostname + " (Postern) with " + Protocol() + " id " + queue_id_;
  std::string date = FormatRfc5322Date(environment_.now ? environment_.now() : 0);
  if (recipients_.size() == 1) {
    h += "\r\n\tfor <" + Printable(recipients_.front().address) + ">; " + date + "\r\n";
  } else {
    h += ";\r\n\t" + date + "\r\n";
  }
  return h;
}

void Session::EndOfMessage() {
  const char* command = used_bdat_ ? "bdat" : "data";
  if (too_big_) {
    Count(command, false);
    Log(queue_id_ + ": reject: size limit exceeded from " + ClientText());
    Reply("552 5.3.4 Message size exceeds fixed limit");
    ResetTransaction();
    return;
  }
  content_->Finish();
  if (content_->header_too_big()) {
    // message_content.h: Postern's own limit.
    Count(command, false);
    Log(queue_id_ + ": reject: header size limit exceeded from " + ClientText());
    Reply("552 5.3.4 Message header size exceeds fixed limit");
    ResetTransaction();
    return;
  }
  message_headers_ = ParseHeaders(content_->header_section());
  facts_.headers.clear();
  facts_.header_lines.clear();
  for (const HeaderField& h : message_headers_) {
    size_t colon = h.logical.find(':');
    facts_.headers.emplace_back(h.name, std::string(Trim(std::string_view(h.logical).substr(colon + 1))));
    facts_.header_lines.push_back(h.logical);
  }
  facts_.body_lines = content_->TakeBodyCheckLines();
  facts_.size = static_cast<int64_t>(content_->size());
  facts_.recipient.clear();
  facts_.event = NextEvent();
  PrepareFacts("END-OF-MESSAGE");
  // The end-of-data stage, then the envelope sender as cleanup(8) rewrites
  // it on arrival (canonical form, sender_canonical_maps, canonical_maps),
  // with the resolver that `postern trace --sender` runs; the restrictions
  // saw it as sent. Both may ask live tables: off the loop when they can.
  RunDecision(
      [this] {
        vm::Decision d = context_->policy->Run(vm::VmStage::kEndOfData, facts_);
        network_.ClearPending();  // at the end of data only the records fetched before count (PP0505)
        if (d.kind == vm::Decision::Kind::kAccept) {
          mail::LookupFailureScope lookups;
          rewritten_sender_ = context_->resolver->RewriteSender(sender_, nullptr);
          sender_lookup_failure_ = lookups.failed() ? lookups.reason() : "";
        }
        return d;
      },
      [this](const vm::Decision& d) { EndOfMessageDecided(d); });
}

void Session::EndOfMessageDecided(const vm::Decision& d) {
  const char* command = used_bdat_ ? "bdat" : "data";
  std::vector<HeaderField> headers = std::move(message_headers_);
  message_headers_.clear();
  facts_.body_lines.clear();
  if (d.kind != vm::Decision::Kind::kAccept) {
    Count(command, false);
    Log(queue_id_ + ": reject: END-OF-MESSAGE from " + ClientText() + ": " + d.reply + "; from=<" + sender_ +
        "> proto=" + Protocol() + " helo=<" + facts_.helo + ">");
    Reply(d.reply);
    ResetTransaction();
    return;
  }
  Absorb(d);
  for (const std::string& warning : d.warnings) Log(queue_id_ + ": warning: header or body: " + warning);
  if (actions_.discard || milter_discard_) {
    Count(command, true);
    if (actions_.discard) Log(queue_id_ + ": discard: END-OF-MESSAGE from " + ClientText());
    Reply(QueuedReply(queue_id_));
    ResetTransaction();
    errors_ = 0;
    junk_commands_ = 0;
    return;
  }

  if (!sender_lookup_failure_.empty()) {  // cleanup(8) does not accept the message, for now
    Count(command, false);
    Log("warning: " + queue_id_ + ": " + sender_lookup_failure_ + " -- message not accepted, try again later");
    Reply("451 4.3.0 Error: queue file write error");
    ResetTransaction();
    return;
  }

  MessageToCommit commit;
  queue::QueuedMessage& m = commit.message;
  commit.hold = actions_.hold;
  m.id = queue_id_;
  m.arrival_time = environment_.now ? environment_.now() : 0;
  m.sender = std::move(rewritten_sender_);
  m.client_address = peer_.address;
  m.client_name = peer_.name;
  m.helo = facts_.helo;
  m.ret = ret_;
  m.envid = envid_;
  m.smtputf8 = smtputf8_;
  m.body_type = used_bdat_ && body_type_ == "7BIT" ? "8BITMIME" : body_type_;
  m.image_id = context_->image->id();
  if (!actions_.redirect.empty()) {
    // REDIRECT replaces every recipient (Postfix access(5)).
    Recipient r{mail::InternalForm(actions_.redirect), recipients_.front().original, "", ""};
    recipients_.assign(1, r);
  }
  for (const Recipient& r : recipients_) {
    queue::QueuedRecipient q;
    q.address = r.address;
    q.original = r.original;
    q.notify = r.notify;
    if (!r.route.empty()) q.route = queue::FrozenRoute::Policy(r.route);
    m.recipients.push_back(std::move(q));
  }
  for (const std::string& bcc : actions_.bcc) {
    queue::QueuedRecipient q;
    q.address = mail::InternalForm(bcc);
    q.original = "rfc822;" + q.address;
    m.recipients.push_back(std::move(q));
  }
  // Content: our Received:, the headers the policy prepends, the headers
  // as received minus the ones it removes or replaces, the body.
  std::string& out = m.content;
  out.reserve(content_->header_section().size() + 512);
  out += ReceivedHeader();
  for (const std::string& p : actions_.prepend) out += p + "\r\n";
  std::string message_id;
  for (size_t i = 0; i < headers.size(); ++i) {
    const HeaderField& h = headers[i];
    bool kept = true;
    for (const vm::HeaderEdit& edit : actions_.header_edits) {
      if (edit.header != i || !kept) continue;
      if (edit.kind == vm::HeaderEdit::Kind::kReplace) out += edit.replacement + "\r\n";
      kept = false;
    }
    if (kept) out += h.raw;
    if (EqualsIgnoreCase(h.name, "Message-ID")) message_id = std::string(Trim(h.logical.substr(h.name.size() + 1)));
  }
  if (AddsMissingHeaders()) {
    MissingHeaderFacts facts;
    for (size_t i = 0; i < headers.size(); ++i) {
      bool kept = std::none_of(actions_.header_edits.begin(), actions_.header_edits.end(),
                               [i](const vm::HeaderEdit& e) { return e.header == i; });
      if (kept) facts.names.push_back(headers[i].name);
    }
    for (const vm::HeaderEdit& e : actions_.header_edits) {
      if (e.kind == vm::HeaderEdit::Kind::kReplace)
        facts.names.push_back(e.replacement.substr(0, e.replacement.find(':')));
    }
    facts.queue_id = queue_id_;
    facts.hostname = config_.hostname;
    facts.sender = m.sender;
    facts.arrival = m.arrival_time;
    facts.undisclosed_recipients = config_.undisclosed_recipients_header;
    AddedHeaders added = MissingHeaders(facts);
    out += added.lines;
    if (!added.message_id.empty()) message_id = added.message_id;
  }
  commit.body = content_->TakeBody();
  commit.size = out.size() + commit.body->size();
  content_.reset();
  if (!message_id.empty()) Log(queue_id_ + ": message-id=" + message_id);
  commit_.emplace(std::move(commit));
  // The milters see the message as it would be stored, and may edit it.
  AskMilters(milter::MilterEvent::Of(milter::MilterEvent::Kind::kMessage),
             [this, command](const milter::Outcome& outcome) { MessageMiltered(outcome, command); });
}

// local_header_rewrite_clients (or always_add_missing_headers): whether
// cleanup(8) would add the headers the message lacks.
bool Session::AddsMissingHeaders() const {
  const SessionConfig::MissingHeaderClients& c = config_.missing_header_clients;
  if (c.all || (c.sasl_authenticated && !facts_.sasl_username.empty())) return true;
  if (c.tls_all_clientcerts && facts_.tls && facts_.tls_client_certificate) return true;
  // A table that cannot answer counts as no match here.
  if (c.tls_clientcerts && vm::FindClientCertificate(config_.relay_clientcerts, facts_).hit) return true;
  std::optional<mail::IpAddress> client = mail::IpAddress::Parse(peer_.address);
  if (!client) return false;
  if (c.mynetworks && config_.mynetworks.Match(*client)) return true;
  return c.inet_interfaces && std::find(config_.interface_addresses.begin(), config_.interface_addresses.end(),
                                        *client) != config_.interface_addresses.end();
}

std::string Session::QueuedReply(const std::string& id) const {
  // After BDAT LAST Postfix says how many bytes the chunks held.
  if (used_bdat_) return "250 2.0.0 Ok: " + std::to_string(bdat_bytes_) + " bytes queued as " + id;
  return "250 2.0.0 Ok: queued as " + id;
}

void Session::Committed(queue::StoreOutcome outcome) {
  const queue::QueuedMessage& m = commit_->message;
  switch (outcome) {
    case queue::StoreOutcome::kStored:
      Log(m.id + ": from=<" + m.sender + ">, size=" + std::to_string(commit_->size) +
          ", nrcpt=" + std::to_string(m.recipients.size()) + (commit_->hold ? " (queue hold)" : " (queue incoming)"));
      Reply(QueuedReply(m.id));
      errors_ = 0;
      junk_commands_ = 0;
      break;
    case queue::StoreOutcome::kNoSpace:
      Log(m.id + ": reject: END-OF-MESSAGE from " + ClientText() + ": 452 4.3.1 Insufficient system storage");
      Reply("452 4.3.1 Insufficient system storage");
      break;
    case queue::StoreOutcome::kFailed:
      Log(m.id + ": reject: END-OF-MESSAGE from " + ClientText() + ": 451 4.3.0 Error: queue file write error");
      Reply("451 4.3.0 Error: queue file write error");
      break;
  }
  commit_.reset();
  ResetTransaction();
  phase_ = Phase::kCommand;
  Process();
}

// ETRN as Postfix answers it for a domain that is not in fast_flush_domains:
// posternd keeps no per-site flush logs, so no domain is.
void Session::Etrn(const Command& c) {
  if (!helo_given_) return Reply("503 Error: send HELO/EHLO first");
  if (mail_given_) return Reply("503 Error: MAIL transaction in progress");
  if (c.argument.empty()) return Reply("500 Syntax: ETRN domain");
  std::string site = c.argument;
  if (site.front() == '@' || site.front() == '#') site.erase(0, 1);
  Reply("459 <" + site + ">: service unavailable");
}

void Session::Vrfy(const Command& c) {
  if (!config_.vrfy_enabled) return Reply("502 5.5.1 VRFY command is disabled");
  if (c.argument.empty()) return Reply("501 5.5.4 Syntax: VRFY address");
  std::string path = c.argument;
  if (path.size() >= 2 && path.front() == '<' && path.back() == '>') path = path.substr(1, path.size() - 2);
  std::string address = mail::InternalForm(path);
  // The unlisted-recipient check (a table failure answers 451 itself), off
  // the loop when it may ask live tables.
  RunDecision(
      [this, address] {
        vm::Decision d;
        if (std::optional<resolve::Delivery> unlisted = context_->resolver->CheckListed(address, false)) {
          d.kind = unlisted->code >= 500 ? vm::Decision::Kind::kReject : vm::Decision::Kind::kDefer;
          d.code = unlisted->code;
          d.reply = std::to_string(unlisted->code) + " " + unlisted->text;
        }
        return d;
      },
      [this, path](const vm::Decision& d) {
        Reply(d.kind == vm::Decision::Kind::kAccept ? "252 2.0.0 " + path : d.reply);
      });
}

void Session::StartTls(const Command& c) {
  if (!context_->tls_available || config_.tls_level == TlsLevel::kNone) {
    return Reply("502 5.5.2 Error: command not recognized");
  }
  if (tls_) return Reply("554 5.5.1 Error: TLS already active");
  if (!c.argument.empty()) return Reply("501 5.5.4 Syntax: STARTTLS");
  if (mail_given_) return Reply("503 5.5.1 Error: MAIL transaction in progress");
  Reply("220 2.0.0 Ready to start TLS");
  // Whatever the client sent after STARTTLS in the clear must never be read
  // as if it came over TLS (CVE-2011-0411).
  if (!lines_.pending().empty()) {
    Log("warning: " + ClientText() + ": plaintext input after STARTTLS discarded");
    lines_.Discard();
  }
  phase_ = Phase::kTls;
}

void Session::NoteTls(const TlsInfo& info) {
  tls_ = info;
  facts_.tls = true;
  facts_.tls_protocol = info.protocol;
  facts_.tls_cipher = info.cipher;
  facts_.tls_bits = info.bits;
  const std::optional<tls::PeerCertificate>& certificate = info.client_certificate;
  facts_.tls_client_certificate_present = certificate.has_value();
  facts_.tls_client_certificate = certificate && certificate->trusted;
  if (certificate) {
    facts_.ccert_subject = certificate->subject_cn;
    facts_.ccert_issuer = certificate->issuer_cn;
    facts_.ccert_fingerprint = certificate->fingerprint;
    facts_.ccert_pubkey_fingerprint = certificate->pubkey_fingerprint;
  }
  const char* kind = !certificate ? "Anonymous" : certificate->trusted ? "Trusted" : "Untrusted";
  Log(std::string(kind) + " TLS connection established from " + ClientText() + ": " + info.protocol + " with cipher " +
      info.cipher + " (" + std::to_string(info.bits) + "/" + std::to_string(info.bits) + " bits)");
}

void Session::WrappedTlsFailed(const std::string& reason) {
  Log("connect from " + ClientText());
  Log("SSL_accept error from " + ClientText() + ": " + reason);
  Log("lost connection after CONNECT from " + ClientText());
  Close();
}

// smtpd_tls_req_ccert: without a trusted client certificate the session
// ends once TLS is up. Returns whether it did.
bool Session::RefusedWithoutCertificate() {
  if (!config_.tls_req_ccert || facts_.tls_client_certificate) return false;
  std::string why =
      facts_.tls_client_certificate_present ? "Client certificate not trusted" : "No client certificate presented";
  Log("NOQUEUE: abort: TLS from " + ClientText() + ": " + why);
  Reply("421 4.7.1 " + config_.hostname + " Error: " + why);
  Close();
  return true;
}

void Session::TlsStarted(const TlsInfo& info) {
  NoteTls(info);
  if (RefusedWithoutCertificate()) return;
  // RFC 3207 4.2: forget everything learned before TLS.
  ResetSession();
  phase_ = Phase::kCommand;
  Process();
}

void Session::TlsFailed(const std::string& reason) {
  Log("SSL_accept error from " + ClientText() + ": " + reason);
  Close();
}

void Session::Xclient(const Command& c) {
  auto address = mail::IpAddress::Parse(peer_.address);
  if (!address || !config_.xclient_hosts.Match(*address)) {
    return Reply("550 5.7.0 Error: insufficient authorization");
  }
  if (mail_given_) return Reply("503 5.5.1 Error: MAIL transaction in progress");
  if (c.argument.empty()) return Reply("501 5.5.4 Syntax: XCLIENT attribute=value...");
  Peer peer = peer_;
  std::string helo, login;
  bool helo_set = false;
  for (const std::string& attribute : SplitAny(c.argument, " ")) {
    size_t eq = attribute.find('=');
    std::string name = ToUpper(attribute.substr(0, eq));
    std::optional<std::string> value;
    if (eq != std::string::npos) value = smtp::DecodeXtext(attribute.substr(eq + 1));
    if (!value) return Reply("501 5.5.4 Bad " + name + " syntax: " + attribute);
    bool unavailable = *value == "[UNAVAILABLE]" || *value == "[TEMPUNAVAIL]";
    if (name == "NAME") {
      peer.name = unavailable ? "unknown" : ToLower(*value);
    } else if (name == "REVERSE_NAME") {
      peer.reverse_name = unavailable ? "unknown" : ToLower(*value);
    } else if (name == "ADDR") {
      std::string a = *value;
      if (StartsWith(ToUpper(a), "IPV6:")) a = a.substr(5);
      if (!unavailable && !mail::IpAddress::Parse(a)) return Reply("501 5.5.4 Bad ADDR syntax: " + attribute);
      peer.address = unavailable ? "" : a;
    } else if (name == "PORT") {
      long long port = 0;
      if (!unavailable && (!ParseDecimal(*value, &port) || port > 65535)) {
        return Reply("501 5.5.4 Bad PORT syntax: " + attribute);
      }
      peer.port = static_cast<int>(port);
    } else if (name == "HELO") {
      helo = unavailable ? "" : *value;
      helo_set = true;
    } else if (name == "LOGIN") {
      login = unavailable ? "" : *value;
    } else if (name == "PROTO" || name == "DESTADDR" || name == "DESTPORT") {
      // Accepted and not needed.
    } else {
      return Reply("501 5.5.4 Bad XCLIENT attribute name: " + name);
    }
  }
  Log("client=" + ClientText() + " XCLIENT as " + peer.name + "[" + peer.address + "]");
  peer_ = peer;
  ResetSession();
  facts_ = vm::SmtpFacts{};
  facts_.dns = context_->asks_network ? &network_ : nullptr;
  network_ = vm::NetworkAnswers{};  // another client
  facts_.client_address = peer_.address;
  facts_.client_name = peer_.name;
  facts_.reverse_client_name = peer_.reverse_name;
  facts_.client_port = peer_.port;
  facts_.server_address = peer_.server_address;
  facts_.server_port = peer_.server_port;
  facts_.sasl_username = login;
  facts_.tls = tls_.has_value();
  if (helo_set) facts_.helo = Printable(helo);
  access_denied_.clear();
  Start();
}

void Session::ResetTransaction() {
  if (mail_given_ && milters_connected_) milter_abort_pending_ = true;  // Postfix's mail_reset
  milter_discard_ = false;
  milter_header_verdict_ = {};
  mail_given_ = false;
  sender_.clear();
  ret_.clear();
  envid_.clear();
  body_type_.clear();
  smtputf8_ = false;
  recipients_.clear();
  queue_id_.clear();
  actions_ = vm::Decision{};
  data_.reset();
  content_.reset();
  bdat_bytes_ = 0;
  too_big_ = false;
  used_bdat_ = false;
  facts_.has_sender = false;
  facts_.sender.clear();
  facts_.recipient.clear();
  facts_.recipient_count = 0;
  facts_.size = 0;
  facts_.headers.clear();
}

void Session::ResetSession() {
  ResetTransaction();
  helo_given_ = false;
  esmtp_ = false;
  facts_.helo.clear();
  // RFC 3207 4.2 and RFC 4954 4: nothing authenticated before TLS counts.
  sasl_method_.clear();
  facts_.sasl_username.clear();
}

void Session::LogReject(const std::string& stage, const std::string& reply, const std::string& recipient) {
  std::string line = QueueIdOrNoqueue() + ": reject: " + stage + " from " + ClientText() + ": " + reply;
  line += "; from=<" + (facts_.has_sender ? facts_.sender : std::string()) + ">";
  if (!recipient.empty()) line += " to=<" + recipient + ">";
  line += " proto=" + Protocol() + " helo=<" + facts_.helo + ">";
  Log(line);
}

void Session::TimedOut() {
  if (phase_ == Phase::kClosed) return;
  Reply("421 4.4.2 " + config_.hostname + " Error: timeout exceeded");
  Log("timeout after " + last_command_ + " from " + ClientText());
  Close();
}

void Session::ConnectionLost() {
  if (phase_ == Phase::kClosed) return;
  if (last_command_ != "QUIT") Log("lost connection after " + last_command_ + " from " + ClientText());
  Close();
}

void Session::ShutDown() {
  shutting_down_ = true;
  if (phase_ == Phase::kCommand && !mail_given_) {
    Reply("421 4.3.2 " + config_.hostname + " Service shutting down, closing transmission channel");
    Close();
  }
}

}  // namespace postern::session
