// master_service_support.h: which master.cf services posternd runs. One
// answer for the compiler's checks (a service Postern would not run is a
// diagnostic) and for the queue manager (which agents it dispatches to).
#pragma once

#include <string_view>

namespace postern::mail {

enum class ServiceSupport {
  kSmtpServer,     // an inet smtpd service: posternd listens on it
  kDeliveryAgent,  // a transport posternd's queue manager delivers with
  kInert,          // a Postfix daemon whose job posternd does itself, or that
                   // nothing in Postern uses (pickup, cleanup, qmgr, spawn, ...)
  kMissingAgent,   // a delivery agent posternd does not have (virtual):
                   // mail routed to it would stay deferred
  kMissing,        // a service whose job posternd does not do (postscreen, qmqpd)
};

// `type` and `command` as master.cf writes them (fields 2 and 8).
ServiceSupport ClassifyService(std::string_view type, std::string_view command);

// Whether the queue manager delivers with `command` (smtp, lmtp, local,
// pipe, discard, error, retry).
bool IsImplementedAgent(std::string_view command);

}  // namespace postern::mail
