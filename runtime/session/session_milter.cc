// session_milter.cc: the SMTP session's side of smtpd_milters
// (MILTER_README): which milters a client gets (smtpd_milter_maps), which
// event the milters are asked about at each stage,
// the macros they are sent, and what their answers do, as Postfix's smtpd
// (check_milter_reply) and cleanup(8) do it (milter_header_checks among
// them); and the last step of a message after them, before it is stored (a
// content_filter's routes).
#include "mail/address.h"
#include "runtime/resolve/address_lookup.h"
#include "runtime/session/session.h"
#include "util/strings.h"

namespace postern::session {

std::vector<milter::MilterSettings> Session::MiltersForClient() {
  if (config_.milter_maps.empty()) return config_.milters;
  resolve::LookupOutcome found = resolve::FindKey(config_.milter_maps, peer_.address, false);
  if (!found.error.empty()) {
    Log("warning: smtpd_milter_maps lookup for " + peer_.address + ": " + found.error + "; using smtpd_milters");
    return config_.milters;
  }
  if (!found.hit) return config_.milters;
  std::string_view value = Trim(found.hit->value);
  if (EqualsIgnoreCase(value, "DISABLE")) return {};
  auto milters = MiltersOf(value, config_.milter_defaults, config_.queue_directory);
  if (!milters.ok()) {
    Log("warning: smtpd_milter_maps: bad milter list \"" + std::string(value) + "\" for " + peer_.address + ": " +
        milters.status().message() + "; using smtpd_milters");
    return config_.milters;
  }
  return std::move(milters).value();
}

void Session::AskMilters(milter::MilterEvent event, std::function<void(const milter::Outcome&)> then) {
  if (milters_.empty() || milter_discard_ ||
      (!milters_connected_ && event.kind != milter::MilterEvent::Kind::kConnect)) {
    then(std::nullopt);
    return;
  }
  milters_connected_ = true;
  event.abort_first = milter_abort_pending_;
  milter_abort_pending_ = false;
  event.macros = MilterMacros();
  milter_event_ = std::move(event);
  pending_milter_ = PendingMilter{std::move(then), ""};
  phase_ = Phase::kMilter;
}

void Session::MilterAnswered(const milter::Outcome& outcome) {
  if (phase_ != Phase::kMilter || !pending_milter_) return;
  PendingMilter pending = std::move(*pending_milter_);
  pending_milter_.reset();
  phase_ = Phase::kCommand;
  size_t output_before = output_.size();
  pending.then(outcome);
  if (phase_ == Phase::kMilter) {  // the next event right away
    pending_milter_->counted = pending.counted;
    return;
  }
  if (!pending.counted.empty() && phase_ == Phase::kCommand) CountCommand(pending.counted, output_before);
  Process();
}

milter::MacroValues Session::MilterMacros() const {
  milter::MacroValues m;
  m["j"] = config_.hostname;
  m["_"] = peer_.reverse_name + " [" + peer_.address + "]" +
           (EqualsIgnoreCase(peer_.name, peer_.reverse_name) ? "" : " (may be forged)");
  m["daemon_name"] = config_.milter_daemon_name;
  m["daemon_addr"] = peer_.server_address;
  m["daemon_port"] = std::to_string(peer_.server_port);
  m["v"] = config_.milter_v;
  m["client_addr"] = peer_.address;
  m["client_port"] = std::to_string(peer_.port);
  m["client_name"] = peer_.name;
  m["client_ptr"] = peer_.reverse_name;
  if (!queue_id_.empty()) m["i"] = queue_id_;
  if (tls_) {
    m["tls_version"] = tls_->protocol;
    m["cipher"] = tls_->cipher;
    m["cipher_bits"] = std::to_string(tls_->bits);
  }
  if (!sasl_method_.empty()) {
    m["auth_type"] = sasl_method_;
    m["auth_authen"] = facts_.sasl_username;
  }
  if (facts_.has_sender) m["mail_addr"] = facts_.sender;
  if (!facts_.recipient.empty()) m["rcpt_addr"] = facts_.recipient;
  for (const auto& [name, value] : config_.milter_macro_defaults) {
    std::string_view key = name;
    if (key.size() > 2 && key.front() == '{' && key.back() == '}') key = key.substr(1, key.size() - 2);
    m.emplace(std::string(key), value);  // only where there is no value
  }
  return m;
}

std::optional<std::string> Session::MilterReply(const char* stage, const milter::Outcome& outcome,
                                                const std::string& sender, const std::string& recipient) {
  if (!outcome) return std::nullopt;
  std::string action = "milter-reject", text;
  std::optional<std::string> reply;
  switch (outcome->kind) {
    case milter::Response::Kind::kHold:
      actions_.hold = true;
      action = "milter-hold";
      text = "milter triggers HOLD action";
      break;
    case milter::Response::Kind::kDiscard:
      milter_discard_ = true;
      action = "milter-discard";
      text = "milter triggers DISCARD action";
      break;
    case milter::Response::Kind::kShutdown:
      reply = text = "421 4.7.0 Server closing connection";
      break;
    case milter::Response::Kind::kReply:
      reply = text = outcome->reply;
      break;
  }
  Log(QueueIdOrNoqueue() + ": " + action + ": " + stage + " from " + ClientText() + ": " + text + ";" +
      MilterLogEnvelope(sender, recipient));
  return reply;
}

std::string Session::MilterLogEnvelope(const std::string& sender, const std::string& recipient) const {
  std::string out;
  if (!sender.empty() || facts_.has_sender) out += " from=<" + (sender.empty() ? facts_.sender : sender) + ">";
  if (!recipient.empty()) out += " to=<" + recipient + ">";
  out += " proto=" + Protocol();
  if (!facts_.helo.empty()) out += " helo=<" + facts_.helo + ">";
  return out;
}

bool Session::MiltersRefused(const char* stage, const milter::Outcome& outcome, const std::string& sender,
                             const std::string& recipient) {
  std::optional<std::string> reply = MilterReply(stage, outcome, sender, recipient);
  if (!reply) return false;
  Reply(*reply);
  if (reply->starts_with("421")) Close();
  return true;
}

void Session::ConnectMiltered(const milter::Outcome& outcome) {
  std::optional<std::string> reply = MilterReply("CONNECT", outcome, "", "");
  if (reply && reply->starts_with("421")) {
    Reply("421 " + config_.hostname + " Service unavailable - try again later");
    Close();
  } else if (reply && reply->front() == '5') {
    // The reply stays with the milter: MAIL gets it.
    Reply("554 " + config_.hostname + " ESMTP not accepting connections");
  } else {
    Reply("220 " + config_.banner);
  }
}

void Session::MessageMiltered(const milter::Outcome& outcome, const char* command) {
  milter::HeaderCheckVerdict checked = std::move(milter_header_verdict_);
  milter_header_verdict_ = {};
  std::string recipient = commit_->message.recipients.size() == 1 ? commit_->message.recipients.front().address : "";
  // milter_header_checks' actions, logged as cleanup(8) logs them.
  for (const milter::HeaderCheckVerdict::Logged& l : checked.logged) {
    Log(QueueIdOrNoqueue() + ": milter-header-" + l.action + ": header " + l.header.substr(0, 60) + " from " +
        ClientText() + ";" + MilterLogEnvelope(commit_->message.sender, recipient) +
        (l.text.empty() ? "" : ": " + l.text));
  }
  std::optional<std::string> reply = MilterReply("END-OF-MESSAGE", outcome, commit_->message.sender, recipient);
  if (!reply) reply = checked.reject;
  if (reply) {
    Count(command, false);
    Reply(*reply);
    commit_.reset();
    ResetTransaction();
    if (reply->starts_with("421")) Close();
    return;
  }
  Count(command, true);
  if (milter_discard_ || checked.discard || commit_->message.recipients.empty()) {
    Reply(QueuedReply(queue_id_));
    commit_.reset();
    ResetTransaction();
    errors_ = 0;
    junk_commands_ = 0;
    return;
  }
  if (!checked.redirect.empty()) {
    // REDIRECT replaces every recipient (header_checks(5)).
    std::vector<queue::QueuedRecipient>& recipients = commit_->message.recipients;
    queue::QueuedRecipient r;
    r.address = mail::InternalForm(checked.redirect);
    r.original = recipients.front().original;
    recipients.assign(1, r);
  }
  // content_filter, or a FILTER action (the last one wins, and
  // milter_header_checks come last): every recipient, those a milter
  // added too, goes to the filter first.
  const std::string& filter = !checked.filter.empty()    ? checked.filter
                              : !actions_.filter.empty() ? actions_.filter
                                                         : config_.content_filter;
  if (!filter.empty()) {
    for (queue::QueuedRecipient& r : commit_->message.recipients) r.route = queue::FrozenRoute::Policy(filter);
  }
  commit_->hold = commit_->hold || actions_.hold || checked.hold;
  commit_->size = commit_->message.content.size() + commit_->body->size();
  phase_ = Phase::kCommit;
}

}  // namespace postern::session
