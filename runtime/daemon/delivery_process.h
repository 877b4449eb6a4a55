// delivery_process.h: the queue manager and the delivery agents in a
// process of their own, apart from the process that parses SMTP.
//
// posternd forks it after dropping its privileges. It holds the root
// helper's delivery channels (the SMTP process closes its copies), is not
// dumpable (the SMTP process, same uid, cannot ptrace it or read its
// memory), and loads its images itself. The SMTP process talks to it over
// a socket pair, one datagram per command:
//
//   arrived ID... (stored durably: the queue writer's cue) | flush | scan |
//   reload ID | reopen (the log file) | stats (answered with a JSON
//   object) | stop SECONDS
//
// Its queue scans cannot ask the SMTP process's queue writer which files it
// is still making durable; a scan in that instant takes such a file as
// mail, which matters only when the writer then fails and removes it.
//
// It ends on `stop` (deliveries in progress get the grace period) or when
// the SMTP process is gone (SIGKILL from the kernel: the queue is crash-safe,
// and the queue lock is free for the next posternd at once).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mail/lookup_table.h"
#include "runtime/daemon/maillog.h"
#include "runtime/local/local_helper.h"
#include "util/status.h"

namespace postern::daemon {

struct DeliveryProcessOptions {
  std::string images;    // posternd -i
  std::string image_id;  // the image to start with
  std::string queue_directory;
  std::string dns_servers;                         // empty: the system's
  std::shared_ptr<const mail::LookupTable> users;  // null: the system's
  local::LocalHelper* local_helper = nullptr;      // null: deliveries with our own privileges
  MailLog log;
  std::shared_ptr<LogSink> log_sink;  // opened again on "reopen" (SIGHUP, logrotate)
};

class DeliveryProcess {
 public:
  // Forks. In the child, `in_child` runs first (to close what the SMTP
  // process holds: listening sockets, the helper's TLS channel), and the
  // child never returns.
  static Result<std::unique_ptr<DeliveryProcess>> Start(const DeliveryProcessOptions& options,
                                                        const std::function<void()>& in_child);
  ~DeliveryProcess();  // Stop()s
  DeliveryProcess(const DeliveryProcess&) = delete;
  DeliveryProcess& operator=(const DeliveryProcess&) = delete;

  // Thread-safe. "flush", "scan", "reload ID", "reopen".
  void Send(const std::string& command);
  // Messages stored durably in incoming/. Thread-safe.
  void Arrived(const std::vector<std::string>& ids);
  // The queue manager's counters as a JSON object, or an error.
  Result<std::string> Stats();
  // Asks it to stop, waits up to `grace` plus a little, then kills it.
  void Stop(std::chrono::seconds grace);
  // Readable once the process has ended (pidfd_open(2)).
  int pidfd() const { return pidfd_; }

 private:
  DeliveryProcess(pid_t pid, int pidfd, int channel) : pid_(pid), pidfd_(pidfd), channel_(channel) {}
  pid_t pid_;
  int pidfd_;
  int channel_;
  std::mutex mutex_;
};

}  // namespace postern::daemon
