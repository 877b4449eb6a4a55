// delivery_status.h: one recipient's result of one delivery attempt, as
// every delivery agent reports it and as the queue manager, the queue file,
// the delivery status notifications and the log consume it (the role of
// Postfix's DSN_BUF). Built once where the result is known, read by field
// everywhere else: nothing downstream searches its texts.
#pragma once

#include <string>
#include <string_view>

namespace postern::mail {

struct DeliveryStatus {
  // 2xx delivered, 4xx try again later, 5xx bounce; 0 while there is none.
  int code = 0;
  // The RFC 3463 code (enhanced_status.h), always set with `code`.
  std::string status;
  // Why, in words, for the log and the notice's text part:
  // "host mx.example.net[192.0.2.25] said: 550 5.1.1 ... (in reply to RCPT
  // TO command)", "delivered to maildir", "connect to ...: timeout".
  std::string reason;
  // What a server replied, as it said it ("550 5.1.1 <bob@example.net>:
  // ..."): the notice's Diagnostic-Code. Empty when no server answered.
  std::string remote_reply;
  // The server that replied, by name (the notice's Remote-MTA).
  std::string remote_mta;
  // Where the attempt went, for the log: "mx.example.net[192.0.2.25]:25",
  // "local", "none".
  std::string relay = "none";
  // The server failed before the envelope (no connection, greeting, EHLO
  // or TLS refused): the destination's next host may be tried, and when
  // all failed the destination is suspended.
  bool host_failure = false;

  bool delivered() const { return code / 100 == 2; }
  bool bounced() const { return code / 100 == 5; }
  bool deferred() const { return code / 100 == 4; }

  // A result decided without a server: `status` may be empty (the code's
  // class default).
  static DeliveryStatus Local(int code, std::string_view status, std::string reason);
  // The same from a text that may start with its code ("5.1.1 unknown
  // user"), as the resolver and the local delivery agent word them.
  static DeliveryStatus FromText(int code, std::string_view status_and_reason);

  // What the log line shows in parentheses: the server's own reply for a
  // delivery (as smtp(8) logs "status=sent (250 2.0.0 Ok)"), the reason
  // otherwise.
  const std::string& LogText() const { return delivered() && !remote_reply.empty() ? remote_reply : reason; }
};

}  // namespace postern::mail
