// session_network.cc: the policy stages that wait: for DNS records, policy
// servers and address verification (Session::Decide, NetworkAnswered;
// vm/network_answers.h),
// or for live tables' servers, off the connection's thread (Decided).
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "runtime/session/session.h"

namespace postern::session {

// What a policy server is told about the command being decided.
void Session::PrepareFacts(const char* command) {
  facts_.command = command;
  facts_.protocol_name = esmtp_ ? "ESMTP" : "SMTP";
  facts_.queue_id = queue_id_;
  facts_.instance = facts_.has_sender ? instance_ : "";
  facts_.sasl_method = sasl_method_;
}

// A unique name for the transaction (Postfix's "instance" attribute).
std::string Session::NextInstance() {
  static std::atomic<uint64_t> transactions{0};
  static const pid_t pid = getpid();  // sessions run in one process, which does not fork after
  char text[64];
  snprintf(text, sizeof text, "%x.%llx.%llx", static_cast<unsigned>(pid),
           static_cast<unsigned long long>(environment_.now ? environment_.now() : 0),
           static_cast<unsigned long long>(++transactions));
  return text;
}

void Session::Decide(const char* command, std::function<vm::Decision()> run,
                     std::function<void(const vm::Decision&)> then) {
  PrepareFacts(command);
  network_.StartEvaluation();  // each evaluation asks its policy servers anew, and sleeps again
  RunDecision(std::move(run), std::move(then));
}

void Session::RunDecision(std::function<vm::Decision()> run, std::function<void(const vm::Decision&)> then) {
  if (context_->decides_off_loop) {
    // A table may wait for its server: the connection decides elsewhere.
    pending_decision_ = PendingDecision{std::move(run), std::move(then), ""};
    phase_ = Phase::kDecide;
    return;
  }
  vm::Decision d = run();
  Conclude(d, std::move(run), std::move(then));
}

void Session::Conclude(const vm::Decision& d, std::function<vm::Decision()> run,
                       std::function<void(const vm::Decision&)> then) {
  if (!d.lookup_failure.empty()) Log("warning: " + d.lookup_failure);
  if (network_.has_pending()) {
    // The decision is not final: the records first, then the stage again.
    pending_decision_ = PendingDecision{std::move(run), std::move(then), ""};
    phase_ = Phase::kNetwork;
    return;
  }
  then(d);
}

vm::Decision Session::DecideOffLoop() const { return pending_decision_->run(); }

void Session::Decided(const vm::Decision& decision) {
  if (phase_ != Phase::kDecide || !pending_decision_) return;
  PendingDecision pending = std::move(*pending_decision_);
  pending_decision_.reset();
  phase_ = Phase::kCommand;
  size_t output_before = output_.size();
  Conclude(decision, pending.run, pending.then);
  Resume(pending.counted, output_before);
}

void Session::NetworkAnswered(const NetworkReplies& replies) {
  if (phase_ != Phase::kNetwork || !pending_decision_) return;
  for (const auto& [question, records] : replies.dns) network_.Answer(question, records);
  for (const auto& [question, reply] : replies.policy) network_.Answer(question, reply);
  for (const auto& [address, verification] : replies.verifications) network_.Answer(address, verification);
  if (replies.paused) network_.PauseTaken();
  network_.ClearPending();
  PendingDecision pending = std::move(*pending_decision_);
  pending_decision_.reset();
  phase_ = Phase::kCommand;
  size_t output_before = output_.size();
  RunDecision(pending.run, pending.then);
  Resume(pending.counted, output_before);
}

void Session::Resume(const std::string& counted, size_t output_before) {
  if (phase_ == Phase::kNetwork || phase_ == Phase::kDecide) {  // more questions, or the stage again
    pending_decision_->counted = counted;
    return;
  }
  if (phase_ == Phase::kMilter) {  // the milters next
    pending_milter_->counted = counted;
    return;
  }
  // The command is counted as HandleLine would have (DATA and BDAT that
  // go on count later).
  if (!counted.empty() && phase_ == Phase::kCommand) CountCommand(counted, output_before);
  Process();
}

}  // namespace postern::session
