// maillog.h: the daemon's log, one line per event on stderr, in the format
// of Postfix's maillog ("Nov 22 03:16:11 host postern/smtpd[123]: text"),
// so that existing log tools (pflogsumm, fail2ban filters, grep habits)
// read it. Runs in the foreground under systemd or a container runtime,
// which collect stderr. Thread-safe: each line is one write(2).
#pragma once

#include <string>
#include <string_view>

namespace postern::daemon {

class MailLog {
 public:
  // `hostname` is myhostname; `program` "postern/smtpd".
  MailLog(std::string hostname, std::string program);
  void Write(std::string_view text) const;
  // Another program name on the same log ("postern/posternd").
  MailLog For(std::string program) const { return MailLog(hostname_, std::move(program)); }

 private:
  std::string hostname_;
  std::string program_;
};

}  // namespace postern::daemon
