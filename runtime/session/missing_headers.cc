// missing_headers.cc: see missing_headers.h.
#include "runtime/session/missing_headers.h"

#include <algorithm>

#include "mail/address.h"
#include "util/strings.h"

namespace postern::session {

AddedHeaders MissingHeaders(const MissingHeaderFacts& f) {
  auto has = [&f](std::string_view name) {
    return std::any_of(f.names.begin(), f.names.end(),
                       [name](const std::string& n) { return EqualsIgnoreCase(n, name); });
  };
  // cleanup(8) goes by the Resent- headers when the message has any.
  bool resent = std::any_of(f.names.begin(), f.names.end(), [](const std::string& n) {
    return n.size() > 7 && EqualsIgnoreCase(n.substr(0, 7), "Resent-");
  });
  std::string prefix = resent ? "Resent-" : "";
  AddedHeaders out;
  if (!has(prefix + "Message-Id")) {
    out.message_id = "<" + FormatTime(f.arrival, "%Y%m%d%H%M%S") + "." + f.queue_id + "@" + f.hostname + ">";
    out.lines += prefix + "Message-Id: " + out.message_id + "\r\n";
  }
  if (!has(prefix + "Date")) out.lines += prefix + "Date: " + FormatRfc5322Date(f.arrival) + "\r\n";
  if (!has(prefix + "From")) {
    out.lines += prefix + "From: " + mail::QuoteLocalPart(f.sender.empty() ? "MAILER-DAEMON" : f.sender) + "\r\n";
  }
  if (!f.undisclosed_recipients.empty() && !has("To") && !has("Cc") && !has("Resent-To") && !has("Resent-Cc")) {
    out.lines += f.undisclosed_recipients + "\r\n";
  }
  return out;
}

}  // namespace postern::session
