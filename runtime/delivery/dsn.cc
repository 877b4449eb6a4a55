// dsn.cc: see dsn.h. Texts follow Postfix's bounce templates.
#include "runtime/delivery/dsn.h"

#include "util/strings.h"

namespace postern::delivery {
std::string MakeDsn(const queue::QueuedMessage& original, DsnKind kind, const std::vector<DsnRecipient>& recipients,
                    const DsnOptions& options) {
  const std::string boundary = options.queue_id + "." + std::to_string(options.now) + "/" + options.hostname;
  const char* subject = kind == DsnKind::kFailure ? "Undelivered Mail Returned to Sender"
                        : kind == DsnKind::kDelay ? "Delayed Mail (still being retried)"
                                                  : "Successful Mail Delivery Report";
  std::string m;
  m += "From: MAILER-DAEMON@" + options.hostname + " (Mail Delivery System)\r\n";
  m += "Subject: " + std::string(subject) + "\r\n";
  m += "To: " + options.to + "\r\n";
  m += "Auto-Submitted: auto-replied\r\n";
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + boundary + "\"\r\n";
  m += "Content-Transfer-Encoding: 8bit\r\n";
  m += "Message-Id: <" + options.queue_id + "@" + options.hostname + ">\r\n";
  m += "Date: " + FormatRfc5322Date(options.now) + "\r\n";
  m += "\r\nThis is a MIME-encapsulated message.\r\n\r\n";

  // 1. For people.
  m += "--" + boundary + "\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
  m += "This is the mail system at host " + options.hostname + ".\r\n\r\n";
  switch (kind) {
    case DsnKind::kFailure:
      m += "I'm sorry to have to inform you that your message could not\r\n"
           "be delivered to one or more recipients. It's attached below.\r\n\r\n"
           "For further assistance, please send mail to postmaster.\r\n\r\n"
           "If you do so, please include this problem report. You can\r\n"
           "delete your own text from the attached returned message.\r\n\r\n";
      break;
    case DsnKind::kDelay:
      m += "####################################################################\r\n"
           "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
           "####################################################################\r\n\r\n"
           "Your message could not be delivered for some time.\r\n"
           "It will be retried until it is too old.\r\n\r\n";
      break;
    case DsnKind::kSuccess:
      m += "Your message was successfully delivered to the destination(s)\r\n"
           "listed below. If the message was delivered to mailbox you will\r\n"
           "receive no further notifications. Otherwise you may still receive\r\n"
           "notifications of mail delivery errors from other systems.\r\n\r\n";
      break;
  }
  m += "                   The mail system\r\n\r\n";
  for (const DsnRecipient& r : recipients) m += "<" + r.address + ">: " + r.outcome.reason + "\r\n\r\n";

  // 2. For programs (RFC 3464).
  m += "--" + boundary + "\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n";
  m += "Reporting-MTA: dns; " + options.hostname + "\r\n";
  m += "X-Postern-Queue-ID: " + original.id + "\r\n";
  m += "X-Postern-Sender: rfc822; " + original.sender + "\r\n";
  if (!original.envid.empty()) m += "Original-Envelope-Id: " + original.envid + "\r\n";
  m += "Arrival-Date: " + FormatRfc5322Date(original.arrival_time) + "\r\n";
  for (const DsnRecipient& r : recipients) {
    m += "\r\nFinal-Recipient: rfc822; " + r.address + "\r\n";
    if (!r.original.empty()) {
      size_t semicolon = r.original.find(';');
      m += "Original-Recipient: " + r.original.substr(0, semicolon) + "; " + r.original.substr(semicolon + 1) + "\r\n";
    }
    m += std::string("Action: ") +
         (kind == DsnKind::kFailure ? "failed"
          : kind == DsnKind::kDelay ? "delayed"
                                    : "delivered") +
         "\r\n";
    std::string status = r.outcome.status;
    if (status.empty()) status = kind == DsnKind::kFailure ? "5.0.0" : kind == DsnKind::kDelay ? "4.0.0" : "2.0.0";
    m += "Status: " + status + "\r\n";
    if (!r.outcome.remote_mta.empty()) m += "Remote-MTA: dns; " + r.outcome.remote_mta + "\r\n";
    if (!r.outcome.remote_reply.empty()) m += "Diagnostic-Code: smtp; " + r.outcome.remote_reply + "\r\n";
  }
  m += "\r\n";

  // 3. The message, or its headers (RET=HDRS, or too big to return whole).
  size_t header_end = original.content.find("\r\n\r\n");
  bool headers_only = original.ret == "HDRS" || original.content.size() > options.size_limit;
  if (headers_only) {
    m += "--" + boundary +
         "\r\nContent-Description: Undelivered Message Headers\r\n"
         "Content-Type: text/rfc822-headers\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    m += header_end == std::string::npos ? original.content : original.content.substr(0, header_end + 2);
  } else {
    m += "--" + boundary +
         "\r\nContent-Description: Undelivered Message\r\n"
         "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: 8bit\r\n\r\n";
    m += original.content;
  }
  if (!m.ends_with("\r\n")) m += "\r\n";
  m += "\r\n--" + boundary + "--\r\n";
  return m;
}

}  // namespace postern::delivery
