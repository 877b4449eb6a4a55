// queue_command.cc: `postern queue list|show|delete|hold|release|requeue`, the
// mailq, postqueue -j, postcat and postsuper of posternd's queue. It works
// on the queue directory: moves are renames, safe while posternd runs (the
// daemon only ever creates new files there).
#include <algorithm>
#include <ctime>
#include <filesystem>
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
    case queue::QueuedRecipient::State::kExpanded:
      return "expanded";
  }
  return "?";
}

// The size mailq shows: the message as Postfix counts it, lines ending in
// a bare newline (the queue file keeps the <CR><LF> that came in).
uint64_t PostfixMessageSize(const std::string& content) {
  uint64_t crlf = 0;
  for (size_t at = content.find("\r\n"); at != std::string::npos; at = content.find("\r\n", at + 2)) ++crlf;
  return content.size() - crlf;
}

std::string Padded(const std::string& text, size_t width, bool right) {
  if (text.size() >= width) return text;
  std::string fill(width - text.size(), ' ');
  return right ? fill + text : text + fill;
}

// mailq's layout, column for column as Postfix's postqueue prints it: the
// short format for ids of up to 11 characters, the long one otherwise;
// '!' after the id when on hold; a "(reason)" line, right-aligned to column
// 76, when a recipient's reason differs from the one before it; a blank
// line between messages; the total in whole Kbytes.
int List(const std::vector<queue::QueueEntry>& entries, bool json) {
  if (json) {
    for (const queue::QueueEntry& e : entries) {
      nlohmann::json j = {{"queue_name", e.queue}, {"queue_id", e.id}, {"message_size", e.file_size}};
      if (!e.message) {
        j["error"] = e.error;
      } else {
        j["arrival_time"] = e.message->arrival_time;
        j["message_size"] = PostfixMessageSize(e.message->content);
        j["sender"] = e.message->sender;
        j["image"] = e.message->image_id;
        nlohmann::json recipients = nlohmann::json::array();
        for (const queue::QueuedRecipient& r : e.message->recipients) {
          nlohmann::json rj = {{"address", r.address}, {"state", StateName(r.state)}};
          if (!r.last.reason.empty()) rj["delay_reason"] = r.last.reason;
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
  bool long_ids = false;
  for (const queue::QueueEntry& e : entries) long_ids = long_ids || e.id.size() > 10;
  const size_t id_width = long_ids ? 17 : 11, size_width = long_ids ? 8 : 7, time_width = long_ids ? 19 : 20;
  auto row = [&](const std::string& id, const std::string& size, const std::string& time, const std::string& who) {
    std::cout << Padded(id, id_width, false) << " " << Padded(size, size_width, true) << " "
              << Padded(time, time_width, false) << " " << who << "\n";
  };
  if (long_ids) {
    row("----Queue ID-----", "--Size--", "---Arrival Time----", "--Sender/Recipient------");
  } else {
    row("-Queue ID-", "--Size--", "----Arrival Time----", "-Sender/Recipient-------");
  }
  uint64_t bytes = 0;
  bool first = true;
  for (const queue::QueueEntry& e : entries) {
    if (!first) std::cout << "\n";
    first = false;
    std::string id = e.id + (e.queue == "hold" ? "!" : "");
    if (!e.message) {
      row(id, "", "", "(" + e.error + ")");
      continue;
    }
    const queue::QueuedMessage& m = *e.message;
    uint64_t size = PostfixMessageSize(m.content);
    bytes += size;
    row(id, std::to_string(size), ArrivalText(m.arrival_time).substr(0, time_width),
        m.sender.empty() ? "MAILER-DAEMON" : m.sender);
    std::string previous_reason;
    for (const queue::QueuedRecipient& r : m.recipients) {
      if (!r.Open()) continue;
      if (r.last.reason != previous_reason) {
        previous_reason = r.last.reason;
        std::string reason = previous_reason.empty() ? "reason unavailable" : previous_reason;
        std::cout << std::string(reason.size() < 76 ? 76 - reason.size() : 0, ' ') << "(" << reason << ")\n";
      }
      row("", "", "", r.address);
    }
  }
  std::cout << "\n-- " << bytes / 1024 << " Kbytes in " << entries.size() << " Request"
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
    if (!r.route.Describe().empty()) std::cout << ", route " << r.route.Describe();
    if (r.attempts > 0) std::cout << ", " << r.attempts << " attempts, last: " << r.last.status << " " << r.last.reason;
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
  // posternd makes incoming/ when it opens a queue: without it this is not
  // one, and "Mail queue is empty" would be a wrong answer.
  std::error_code ec;
  if (!std::filesystem::is_directory(root + "/incoming", ec)) {
    if (ec == std::errc::permission_denied) {
      // The queue is 0700, the daemon's user's: root or that user may look.
      std::cerr << "postern queue: " << root << ": " << ec.message() << "\n";
    } else {
      std::cerr << "postern queue: " << root << " is not a posternd queue directory (it has no incoming/)\n";
    }
    return 2;
  }
  auto listed = queue::ListQueue(root);
  if (!listed.ok()) {
    std::cerr << "postern queue: " << listed.status().message() << "\n";
    return 2;
  }
  if (options.action == "list") return List(*listed, options.json);

  // postsuper's forms: ALL, or ALL and a queue name (ALL deferred).
  bool all = !options.ids.empty() && options.ids.front() == "ALL" && options.action != "show";
  std::string only_queue;
  if (all && options.ids.size() == 2) {
    only_queue = options.ids[1];
    if (std::find(std::begin(queue::kQueueNames), std::end(queue::kQueueNames), only_queue) ==
        std::end(queue::kQueueNames)) {
      std::cerr << "postern queue: unknown queue \"" << only_queue << "\" (incoming, deferred, hold, corrupt)\n";
      return 2;
    }
  } else if (all && options.ids.size() > 2) {
    std::cerr << "postern queue: ALL takes at most one queue name\n";
    return 2;
  }
  std::vector<const queue::QueueEntry*> chosen;
  int status = 0;
  if (all) {
    for (const queue::QueueEntry& e : *listed) {
      if (only_queue.empty() || e.queue == only_queue) chosen.push_back(&e);
    }
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
