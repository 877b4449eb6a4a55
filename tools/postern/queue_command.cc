// queue_command.cc: `postern queue list|show|delete|hold|release|requeue`, the
// mailq, postqueue -j, postcat and postsuper of posternd's queue. It works
// on the queue directory: moves are renames, safe while posternd runs (the
// daemon only ever creates new files there).
#include <algorithm>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runtime/queue/queue_directory.h"
#include "tools/postern/commands.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

std::string ArrivalText(int64_t seconds) { return FormatTime(seconds, "%a %b %e %H:%M:%S", /*utc=*/false); }

const char* StateName(queue::QueuedRecipient::State s) {
  switch (s) {
    case queue::QueuedRecipient::State::kPending:
      return "pending";
    case queue::QueuedRecipient::State::kDelivered:
      return "delivered";
    case queue::QueuedRecipient::State::kBounced:
      return "bounced";
    case queue::QueuedRecipient::State::kDeferred:
      return "deferred";
  }
  return "?";
}

// mailq's layout: id, '!' when on hold, size, arrival, sender; then each
// recipient still to deliver, indented, after its last reply if any.
int List(const std::vector<queue::QueueEntry>& entries, bool json) {
  if (json) {
    for (const queue::QueueEntry& e : entries) {
      nlohmann::json j = {{"queue_name", e.queue}, {"queue_id", e.id}, {"message_size", e.file_size}};
      if (!e.message) {
        j["error"] = e.error;
      } else {
        j["arrival_time"] = e.message->arrival_time;
        j["message_size"] = e.message->content.size();
        j["sender"] = e.message->sender;
        j["image"] = e.message->image_id;
        nlohmann::json recipients = nlohmann::json::array();
        for (const queue::QueuedRecipient& r : e.message->recipients) {
          nlohmann::json rj = {{"address", r.address}, {"state", StateName(r.state)}};
          if (!r.last_reply.empty()) rj["delay_reason"] = r.last_reply;
          recipients.push_back(rj);
        }
        j["recipients"] = recipients;
      }
      std::cout << j.dump() << "\n";
    }
    return 0;
  }
  if (entries.empty()) {
    std::cout << "Mail queue is empty\n";
    return 0;
  }
  size_t width = 10;
  for (const queue::QueueEntry& e : entries) width = std::max(width, e.id.size());
  auto pad = [](std::string s, size_t n) { return s.size() < n ? s + std::string(n - s.size(), ' ') : s; };
  std::cout << pad("-Queue ID-", width + 1) << " --Size-- ----Arrival Time---- -Sender/Recipient-------\n";
  uint64_t bytes = 0;
  for (const queue::QueueEntry& e : entries) {
    std::string id = pad(e.id + (e.queue == "hold" ? "!" : ""), width + 1);
    if (!e.message) {
      std::cout << id << " " << e.error << "\n\n";
      continue;
    }
    const queue::QueuedMessage& m = *e.message;
    bytes += m.content.size();
    std::string size = std::to_string(m.content.size());
    std::cout << id << " " << std::string(size.size() < 8 ? 8 - size.size() : 0, ' ') << size << " "
              << pad(ArrivalText(m.arrival_time), 20) << " " << (m.sender.empty() ? "MAILER-DAEMON" : m.sender) << "\n";
    std::string indent(width + 32, ' ');
    for (const queue::QueuedRecipient& r : m.recipients) {
      if (r.state == queue::QueuedRecipient::State::kDelivered || r.state == queue::QueuedRecipient::State::kBounced) {
        continue;
      }
      if (!r.last_reply.empty()) std::cout << pad("", width + 12) << "(" << r.last_reply << ")\n";
      std::cout << indent << r.address << "\n";
    }
    std::cout << "\n";
  }
  std::cout << "-- " << (bytes + 1023) / 1024 << " Kbytes in " << entries.size() << " Request"
            << (entries.size() == 1 ? "" : "s") << ".\n";
  return 0;
}

void Show(const queue::QueueEntry& e) {
  std::string where = e.queue + "/" + e.id;
  std::cout << "*** ENVELOPE RECORDS " << where << " ***\n";
  if (!e.message) {
    std::cout << "error: " << e.error << "\n";
    return;
  }
  const queue::QueuedMessage& m = *e.message;
  std::cout << "message_size: " << m.content.size() << "\n"
            << "message_arrival_time: " << ArrivalText(m.arrival_time) << "\n"
            << "sender: " << m.sender << "\n"
            << "client: " << m.client_name << "[" << m.client_address << "]\n"
            << "helo: " << m.helo << "\n";
  if (!m.sasl_username.empty()) std::cout << "sasl_username: " << m.sasl_username << "\n";
  if (!m.ret.empty()) std::cout << "dsn_ret: " << m.ret << "\n";
  if (!m.envid.empty()) std::cout << "dsn_envid: " << m.envid << "\n";
  std::cout << "body_type: " << m.body_type << (m.smtputf8 ? ", smtputf8" : "") << "\n"
            << "image: " << m.image_id << "\n";
  for (const queue::QueuedRecipient& r : m.recipients) {
    std::cout << "recipient: " << r.address << " (" << StateName(r.state);
    if (!r.original.empty()) std::cout << ", original " << r.original;
    if (!r.notify.empty()) std::cout << ", notify " << r.notify;
    if (!r.route.empty()) std::cout << ", route " << r.route;
    if (r.attempts > 0) std::cout << ", " << r.attempts << " attempts, last: " << r.last_reply;
    std::cout << ")\n";
  }
  std::cout << "*** MESSAGE CONTENTS " << where << " ***\n";
  std::string text;
  text.reserve(m.content.size());
  for (size_t i = 0; i < m.content.size(); ++i) {
    if (m.content[i] == '\r' && i + 1 < m.content.size() && m.content[i + 1] == '\n') continue;
    text += m.content[i];
  }
  std::cout << text << "*** END OF MESSAGE ***\n";
}

}  // namespace

int RunQueue(const QueueOptions& options) {
  const std::string& root = options.queue_directory;
  auto listed = queue::ListQueue(root);
  if (!listed.ok()) {
    std::cerr << "postern queue: " << listed.status().message() << "\n";
    return 2;
  }
  if (options.action == "list") return List(*listed, options.json);

  bool all = options.ids.size() == 1 && options.ids.front() == "ALL" && options.action != "show";
  std::vector<const queue::QueueEntry*> chosen;
  int status = 0;
  if (all) {
    for (const queue::QueueEntry& e : *listed) chosen.push_back(&e);
  } else {
    for (const std::string& id : options.ids) {
      auto it = std::find_if(listed->begin(), listed->end(), [&](const queue::QueueEntry& e) { return e.id == id; });
      if (it == listed->end()) {
        std::cerr << "postern queue: " << id << ": no such message in the queue\n";
        status = 1;
        continue;
      }
      chosen.push_back(&*it);
    }
  }
  int done = 0;
  for (const queue::QueueEntry* e : chosen) {
    Status s;
    if (options.action == "show") {
      Show(*e);
      continue;
    } else if (options.action == "delete") {
      s = queue::DeleteMessage(root, e->queue, e->id);
    } else if (options.action == "hold") {
      if (e->queue == "hold") continue;
      s = queue::MoveMessage(root, e->id, e->queue, "hold");
    } else if (options.action == "release") {
      if (e->queue != "hold") continue;
      s = queue::MoveMessage(root, e->id, "hold", "incoming");
    } else if (options.action == "requeue") {
      if (e->queue != "deferred") continue;
      s = queue::MoveMessage(root, e->id, "deferred", "incoming");
    }
    if (!s.ok()) {
      std::cerr << "postern queue: " << s.message() << "\n";
      status = 2;
      continue;
    }
    ++done;
  }
  if (options.action != "show") {
    const char* verb = options.action == "delete"    ? "Deleted"
                       : options.action == "hold"    ? "Placed on hold"
                       : options.action == "requeue" ? "Requeued"
                                                     : "Released from hold";
    std::cerr << "postern queue: " << verb << ": " << done << " message" << (done == 1 ? "" : "s") << "\n";
    // A running posternd looks at its queue now rather than at its next
    // queue run; without one, the change waits for its start.
    std::string ignored;
    if (done > 0) AskDaemon(root + "/control", "scan", &ignored);
  }
  return status;
}

}  // namespace postern::cli
