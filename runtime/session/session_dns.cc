// session_dns.cc: the policy stages that wait for DNS records
// (Session::Decide, DnsAnswered; vm/dns_answers.h).
#include "runtime/session/session.h"

namespace postern::session {

void Session::Decide(std::function<vm::Decision()> run, std::function<void(const vm::Decision&)> then) {
  vm::Decision d = run();
  if (!dns_.pending().empty()) {
    // The decision is not final: the records first, then the stage again.
    pending_decision_ = PendingDecision{std::move(run), std::move(then), ""};
    phase_ = Phase::kDns;
    return;
  }
  then(d);
}

void Session::DnsAnswered(const std::vector<std::pair<vm::DnsQuestion, vm::DnsRecords>>& answers) {
  if (phase_ != Phase::kDns || !pending_decision_) return;
  for (const auto& [question, records] : answers) dns_.Answer(question, records);
  dns_.ClearPending();
  PendingDecision pending = std::move(*pending_decision_);
  pending_decision_.reset();
  phase_ = Phase::kCommand;
  size_t output_before = output_.size();
  Decide(pending.run, pending.then);
  if (phase_ == Phase::kDns) {  // the answers raised more questions
    pending_decision_->counted = pending.counted;
    return;
  }
  // The command is counted as HandleLine would have (DATA and BDAT that
  // go on count later).
  if (!pending.counted.empty() && phase_ == Phase::kCommand) {
    CountCommand(pending.counted, output_before);
  }
  Process();
}

}  // namespace postern::session
