// queue_impact_command.cc: `postern queue impact NEW`, what loading NEW
// would do to mail posternd has already accepted: each open recipient of
// each queued message is planned as the queue manager plans it
// (qmgr/route_planner.h) under the image posternd serves and under NEW, and
// the recipients whose final recipients, routes or bounces differ are
// listed. Recipients whose route was frozen (the policy's route, a content
// filter, an earlier expansion) keep it under any image, and are counted.
// Exit codes as `postern diff`: 0 nothing changes, 1 something does, 2
// errors.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "runtime/image/image_parameters.h"
#include "runtime/qmgr/route_planner.h"
#include "runtime/queue/queue_directory.h"
#include "tools/postern/commands.h"
#include "tools/postern/diff_side.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

using queue::QueuedRecipient;

// Each open recipient's planned outcome, one line per final recipient.
std::map<size_t, std::vector<std::string>> Outcomes(const queue::QueuedMessage& message,
                                                    const resolve::Resolver& resolver) {
  queue::QueuedMessage planned = message;  // planning appends expansions to it
  qmgr::RoutePlan plan = qmgr::PlanRoutes(planned, resolver);
  std::map<size_t, std::vector<std::string>> lines;
  for (const qmgr::PlannedDelivery& d : plan.deliveries) {
    const std::string& address = planned.recipients[d.recipient].address;
    // local(8)'s own part (its aliases, .forward, mailbox, unknown user),
    // as the local delivery helper computes it from the same image.
    const mail::ServiceEntry* service = image::TransportService(resolver.image(), d.transport);
    if (d.detail.empty() && service != nullptr && service->command == "local") {
      for (const resolve::Delivery& local : resolver.LocalDeliveries(address, d.transport)) {
        lines[d.recipient].push_back(
            local.status == resolve::Delivery::Status::kDeliver
                ? local.address + " via " + d.transport + ":" + d.nexthop + " (" + local.detail + ")"
                : local.address + (local.status == resolve::Delivery::Status::kDefer ? " defers " : " bounces ") +
                      std::to_string(local.code) + " " + local.text);
      }
      continue;
    }
    lines[d.recipient].push_back(address + " via " + d.transport + ":" + d.nexthop +
                                 (d.detail.empty() ? "" : " (" + d.detail + ")"));
  }
  for (const auto& [index, status] : plan.decided) {
    lines[index].push_back(planned.recipients[index].address + (status.bounced() ? " bounces " : " defers ") +
                           std::to_string(status.code) + " " + status.status + " " + status.reason);
  }
  // An expanded recipient's outcome is its final recipients'.
  for (const qmgr::RoutePlan::Expansion& e : plan.expansions) {
    std::vector<std::string>& parent = lines[e.recipient];
    for (size_t i = e.first; i < e.first + e.count; ++i) {
      parent.insert(parent.end(), lines[i].begin(), lines[i].end());
      lines.erase(i);
    }
  }
  return lines;
}

bool Bounces(const std::vector<std::string>& lines) {
  for (const std::string& line : lines) {
    if (line.find(" bounces ") != std::string::npos) return true;
  }
  return false;
}

// The image posternd serves, as its control socket says.
Result<std::string> ServedImage(const std::string& queue_directory) {
  std::string error;
  std::optional<std::string> answer = AskDaemon(queue_directory + "/control", "status", &error);
  if (!answer) return Status::Permanent("posternd does not answer (" + error + "): name its image with --old");
  nlohmann::json status = nlohmann::json::parse(*answer, nullptr, false);
  if (status.is_discarded() || !status.contains("image_path")) {
    return Status::Permanent("posternd did not say which image it serves: name it with --old");
  }
  return status["image_path"].get<std::string>();
}

}  // namespace

int RunQueueImpact(const QueueImpactOptions& options) {
  std::string old_what = options.old_side;
  if (old_what.empty()) {
    Result<std::string> served = ServedImage(options.queue_directory);
    if (!served.ok()) {
      std::cerr << "postern queue impact: " << served.status().message() << "\n";
      return 2;
    }
    old_what = *served;
  }
  DiffSideOptions side_options;
  side_options.defines = options.defines;
  side_options.users_file = options.users_file;
  side_options.test_users = false;
  TemporaryImages scratch;
  DiagnosticSink diagnostics;
  Result<DiffSide> old_side = OpenDiffSide(old_what, side_options, &scratch, "old", &diagnostics);
  Result<DiffSide> new_side =
      old_side.ok() ? OpenDiffSide(options.new_side, side_options, &scratch, "new", &diagnostics) : old_side.status();
  if (!old_side.ok() || !new_side.ok()) {
    std::cerr << RenderDiagnostics(diagnostics.diagnostics());
    std::cerr << "postern queue impact: " << (old_side.ok() ? new_side : old_side).status().message() << "\n";
    return 2;
  }
  auto entries = queue::ListQueue(options.queue_directory);
  if (!entries.ok()) {
    std::cerr << "postern queue impact: " << entries.status().message() << "\n";
    return 2;
  }
  // As the queue manager resolves: main.cf's view, the system's users
  // unless --users stands in for them.
  resolve::Resolver old_resolver(old_side->image, old_side->users);
  resolve::Resolver new_resolver(new_side->image, new_side->users);

  size_t messages = 0, open = 0, frozen = 0, unreadable = 0;
  nlohmann::json changes = nlohmann::json::array();
  std::string text;
  for (const queue::QueueEntry& entry : *entries) {
    if (!entry.message) {
      ++unreadable;
      continue;
    }
    ++messages;
    const queue::QueuedMessage& message = *entry.message;
    std::map<size_t, std::vector<std::string>> before = Outcomes(message, old_resolver);
    std::map<size_t, std::vector<std::string>> after = Outcomes(message, new_resolver);
    std::string message_text;
    for (size_t i = 0; i < message.recipients.size(); ++i) {
      const QueuedRecipient& r = message.recipients[i];
      if (!r.Open()) continue;
      ++open;
      if (r.route.kind != queue::FrozenRoute::Kind::kNone) {
        ++frozen;
        continue;
      }
      if (before[i] == after[i]) continue;
      bool bounces = !Bounces(before[i]) && Bounces(after[i]);
      changes.push_back({{"queue_name", entry.queue},
                         {"queue_id", message.id},
                         {"sender", message.sender},
                         {"recipient", r.address},
                         {"old", before[i]},
                         {"new", after[i]},
                         {"bounces", bounces}});
      message_text += "  " + r.address + (bounces ? "  BOUNCES" : "") + "\n";
      for (const std::string& line : before[i]) message_text += "    - " + line + "\n";
      for (const std::string& line : after[i]) message_text += "    + " + line + "\n";
    }
    if (!message_text.empty()) {
      text += message.id + " (" + entry.queue + ", from <" + message.sender + ">)\n" + message_text;
    }
  }
  std::string summary = std::to_string(changes.size()) + " of " + std::to_string(open) +
                        " open recipients change, in " + std::to_string(messages) + " messages (" +
                        std::to_string(frozen) + " with a frozen route keep it" +
                        (unreadable > 0 ? "; " + std::to_string(unreadable) + " files do not decode" : "") + ")";
  if (options.json) {
    nlohmann::json j = {{"old", old_side->image->id()},
                        {"new", new_side->image->id()},
                        {"messages", messages},
                        {"open_recipients", open},
                        {"frozen_recipients", frozen},
                        {"unreadable", unreadable},
                        {"changes", changes}};
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "--- " << old_what << " (" << old_side->image->id().substr(0, 12) << ")\n+++ " << options.new_side
              << " (" << new_side->image->id().substr(0, 12) << ")\n\n"
              << text << (text.empty() ? "" : "\n") << summary << "\n";
  }
  return changes.empty() ? 0 : 1;
}

}  // namespace postern::cli
