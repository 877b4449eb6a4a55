// session_auth.cc: the AUTH command of the session (RFC 4954), as Postfix's
// smtpd answers it: which mechanisms EHLO offers (the authentication
// server's, filtered by smtpd_sasl_security_options, or the _tls_ variant
// under TLS; none before STARTTLS with smtpd_tls_auth_only), the checks
// before an exchange, the 334 challenges, and 235, 535, 454 and 501 at the
// end. The exchange itself is the daemon's (Next::kAuthenticate): the
// session never sees a decoded credential, and never logs one.
#include <algorithm>

#include "runtime/session/session.h"
#include "util/strings.h"

namespace postern::session {

using smtp::Command;

namespace {

// Whether `options` (noanonymous, noplaintext, ...) let `m` be offered.
bool Allowed(const sasl::DovecotMechanism& m, const std::vector<std::string>& options) {
  auto has = [&](const char* option) { return std::find(options.begin(), options.end(), option) != options.end(); };
  if (has("noanonymous") && m.anonymous) return false;
  if (has("noplaintext") && m.plaintext) return false;
  if (has("nodictionary") && m.dictionary) return false;
  if (has("noactive") && m.active) return false;
  if (has("mutual_auth") && !m.mutual_auth) return false;
  if (has("forward_secrecy") && !m.forward_secrecy) return false;
  return true;
}

}  // namespace

void Session::SetSaslMechanisms(std::vector<sasl::DovecotMechanism> mechanisms) {
  sasl_mechanisms_ = std::move(mechanisms);
}

bool Session::SaslActive() const { return config_.sasl_enabled && (!config_.tls_auth_only || tls_); }

std::vector<std::string> Session::OfferedSaslMechanisms() const {
  std::vector<std::string> names;
  if (!SaslActive()) return names;
  const std::vector<std::string>& options = tls_ ? config_.sasl_tls_security_options : config_.sasl_security_options;
  for (const sasl::DovecotMechanism& m : sasl_mechanisms_) {
    if (Allowed(m, options)) names.push_back(m.name);
  }
  return names;
}

void Session::Auth(const Command& c) {
  if (!SaslActive()) return Reply("503 5.5.1 Error: authentication not enabled");
  if (config_.helo_required && !helo_given_) return Reply("503 5.5.1 Error: send HELO/EHLO first");
  if (mail_given_) return Reply("503 5.5.1 Error: MAIL transaction in progress");
  if (!facts_.sasl_username.empty()) return Reply("503 5.5.1 Error: already authenticated");
  std::vector<std::string> words = SplitAny(c.argument, " \t");
  if (words.empty() || words.size() > 2) return Reply("501 5.5.4 Syntax: AUTH mechanism");
  if (int64_t rate = 0; environment_.allow && !environment_.allow(RateEvent::kAuth, &rate)) {
    Log("warning: AUTH command rate limit exceeded: " + std::to_string(rate) + " from " + ClientText() +
        " for service " + ServiceName());
    return Reply("450 4.7.1 Error: too many AUTH commands from " + peer_.address);
  }
  std::string mechanism = ToUpper(words[0]);
  std::vector<std::string> offered = OfferedSaslMechanisms();
  if (std::find(offered.begin(), offered.end(), mechanism) == offered.end()) {
    Log("warning: " + ClientText() + ": SASL " + Printable(mechanism) +
        " authentication failed: Invalid authentication mechanism, sasl_username=(unavailable)");
    return Reply("535 5.7.8 Error: authentication failed: Invalid authentication mechanism");
  }
  // The initial response goes to the server as sent, "=" too (RFC 4954's
  // empty response), as Postfix passes it.
  sasl_step_ = SaslStep{true, mechanism, std::nullopt};
  if (words.size() == 2) sasl_step_.response = words[1];
  phase_ = Phase::kSaslServer;
}

void Session::SaslResponse(const std::string& line) {
  if (line == "*") {
    phase_ = Phase::kCommand;
    Count("auth", false);
    Log("warning: " + ClientText() + ": SASL " + sasl_step_.mechanism + " authentication aborted");
    return Reply("501 5.7.0 Authentication aborted");
  }
  sasl_step_ = SaslStep{false, sasl_step_.mechanism, line};
  phase_ = Phase::kSaslServer;
}

void Session::SaslAnswered(const Result<sasl::DovecotAuthReply>& answer) {
  phase_ = Phase::kCommand;
  const std::string& mechanism = sasl_step_.mechanism;
  // The AUTH command counts when its exchange ends (the disconnect line's auth=).
  bool done = !answer.ok() || answer->kind != sasl::DovecotAuthReply::Kind::kContinue;
  if (done) Count("auth", answer.ok() && answer->kind == sasl::DovecotAuthReply::Kind::kOk);
  if (!answer.ok()) {
    Log("warning: " + ClientText() + ": SASL " + mechanism + " authentication failed: " + answer.status().message());
    Reply("454 4.7.0 Temporary authentication failure: " + answer.status().message());
  } else if (answer->kind == sasl::DovecotAuthReply::Kind::kContinue) {
    phase_ = Phase::kSaslClient;
    Reply("334 " + answer->challenge);
  } else if (answer->kind == sasl::DovecotAuthReply::Kind::kOk) {
    sasl_method_ = mechanism;
    facts_.sasl_username = Printable(answer->user);
    Reply("235 2.7.0 Authentication successful");
  } else {
    std::string reason = answer->reason.empty() ? "(reason unavailable)" : Printable(answer->reason);
    Log("warning: " + ClientText() + ": SASL " + mechanism + " authentication failed: " + reason +
        ", sasl_username=" + (answer->user.empty() ? "(unavailable)" : Printable(answer->user)));
    Reply(answer->temporary ? "454 4.7.0 Temporary authentication failure: " + reason
                            : "535 5.7.8 Error: authentication failed: " + reason);
  }
  Process();
}

}  // namespace postern::session
