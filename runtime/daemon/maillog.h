// maillog.h: the daemon's log, one line per event, where Postfix would put
// it, so that existing log tools (pflogsumm, fail2ban filters, grep habits)
// read it unchanged:
//
// - maillog_file set: appended to that file ("Dec  6 03:16:11 host
//   postfix/smtpd[123]: text"), reopened on SIGHUP for logrotate;
//   /dev/stdout and /dev/stderr are the process's own (containers);
// - maillog_file empty: syslog, through /dev/log (journald or a syslog
//   daemon) with syslog_facility, the severity taken from the text
//   ("warning:", "fatal:"); without /dev/log, standard error.
//
// Programs are named as Postfix names them: $syslog_name/smtpd,
// $syslog_name/qmgr, $syslog_name/smtp, ... Thread-safe: each line is one
// write(2) or send(2).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "util/status.h"

namespace postern::daemon {

// Where log lines go (shared by every MailLog of a daemon).
class LogSink {
 public:
  // Standard error, until Open is called.
  LogSink();
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  // `maillog_file` as main.cf has it (empty: syslog with `facility`, a
  // syslog_facility name such as "mail" or "local0").
  Status Open(const std::string& maillog_file, const std::string& facility);
  // Opens the file again (after logrotate moved it); nothing for syslog.
  Status Reopen();
  // One event: `tag` is "postfix/smtpd", `hostname` myhostname.
  void Write(std::string_view hostname, std::string_view tag, std::string_view text);
  // What Open chose, for the daemon's start line ("syslog (mail)", a path).
  std::string Describe() const;

 private:
  void WriteFd(int fd, const std::string& line);

  mutable std::mutex mu_;  // guards the descriptors against Reopen
  std::string path_;       // a file, or empty
  int fd_ = 2;             // the file, or standard error
  bool owns_fd_ = false;
  int syslog_fd_ = -1;  // a datagram socket connected to /dev/log
  int facility_ = 2;    // LOG_MAIL >> 3
};

class MailLog {
 public:
  // Standard error as "postfix/<program>" on localhost, until the image
  // says more.
  explicit MailLog(std::string program);
  // `program` is the part after syslog_name ("smtpd").
  MailLog(std::shared_ptr<LogSink> sink, std::string hostname, std::string syslog_name, std::string program);
  void Write(std::string_view text) const;
  // Another program on the same log ("qmgr", "smtp", "bounce").
  MailLog For(std::string program) const { return MailLog(sink_, hostname_, syslog_name_, std::move(program)); }
  // The same, for a service with a syslog_name of its own.
  MailLog As(std::string syslog_name, std::string program) const {
    return MailLog(sink_, hostname_, std::move(syslog_name), std::move(program));
  }

 private:
  std::shared_ptr<LogSink> sink_;
  std::string hostname_;
  std::string syslog_name_;
  std::string tag_;  // syslog_name/program
};

// syslog_facility's value as a number (LOG_MAIL is 2), or -1.
int SyslogFacility(std::string_view name);

}  // namespace postern::daemon
