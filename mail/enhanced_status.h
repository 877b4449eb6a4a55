// enhanced_status.h: RFC 3463 enhanced status codes ("5.1.1"), recognised
// in one place for every part that reads them: reply texts in tables and
// policies, the resolver's results, server replies to the delivery agents,
// delivery status notifications.
//
// A code is class.subject.detail: class 2, 4 or 5, subject and detail of
// one to three digits each (Postfix's dsn_valid()).
#pragma once

#include <string>
#include <string_view>

namespace postern::mail {

bool IsEnhancedStatus(std::string_view word);

// A text split at its leading code: "5.1.1 No such user" is {"5.1.1", "No
// such user"}; a text that does not start with a code followed by a space
// or its end is {"", text}.
struct StatusAndText {
  std::string_view status;
  std::string_view text;
};
StatusAndText SplitEnhancedStatus(std::string_view text);

// The code of class `code / 100` that stands for "no detail": "5.0.0",
// "4.0.0", "2.0.0"; "" for any other code.
std::string DefaultEnhancedStatus(int code);

// The code a server's reply gives ("550 5.1.1 No such user": 5.1.1), when
// its class is the reply code's; the class default otherwise.
std::string EnhancedStatusOfReply(int code, std::string_view reply_text);

// smtpd's correction of an address status (X.1.Y) to what a reply
// rejects (Postfix's smtpd_dsn_fix): a recipient's status becomes the
// sender's counterpart in a "Sender address" reply (5.1.1 -> 4.1.7) and
// the other way round in a "Recipient address" reply; any other class
// (a client, a HELO name) gets 4.0.0. Other statuses are left alone. The
// class digit of the result is 4: the reply code sets it afterwards.
std::string FixStatusForReplyClass(std::string_view status, std::string_view reply_class);

}  // namespace postern::mail
