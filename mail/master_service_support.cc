// master_service_support.cc: see master_service_support.h.
#include "mail/master_service_support.h"

#include <algorithm>
#include <iterator>

namespace postern::mail {
namespace {

constexpr std::string_view kAgents[] = {"discard", "error", "lmtp", "local", "pipe", "retry", "smtp"};

constexpr std::string_view kMissingAgents[] = {"virtual"};

// Postfix's own daemons that posternd replaces as a whole (it queues,
// schedules, bounces and resolves in one process) or that serve programs
// Postern does not ship; a service running one changes nothing here.
constexpr std::string_view kInertDaemons[] = {
    "anvil", "bounce", "cleanup", "dnsblog", "flush", "oqmgr",  "pickup",   "postlogd",        "proxymap",
    "qmgr",  "scache", "showq",   "smtpd",   "spawn", "tlsmgr", "tlsproxy", "trivial-rewrite", "verify",
};

template <size_t N>
bool Contains(const std::string_view (&list)[N], std::string_view word) {
  return std::find(std::begin(list), std::end(list), word) != std::end(list);
}

}  // namespace

bool IsImplementedAgent(std::string_view command) { return Contains(kAgents, command); }

ServiceSupport ClassifyService(std::string_view type, std::string_view command) {
  if (type == "inet") {
    if (command == "smtpd") return ServiceSupport::kSmtpServer;
    return ServiceSupport::kMissing;  // postscreen, qmqpd, ...
  }
  if (type == "unix" || type == "fifo") {
    if (IsImplementedAgent(command)) return ServiceSupport::kDeliveryAgent;
    if (Contains(kMissingAgents, command)) return ServiceSupport::kMissingAgent;
  }
  if (Contains(kInertDaemons, command)) return ServiceSupport::kInert;
  return ServiceSupport::kMissing;
}

}  // namespace postern::mail
