// service_notifier.h: telling the service manager how posternd is doing,
// as systemd's sd_notify(3) protocol has it (a datagram of NAME=VALUE lines
// to the unix socket NOTIFY_SOCKET names; a leading '@' is an abstract
// socket): READY=1 once it listens, RELOADING=1 and READY=1 around a reload,
// STOPPING=1 at shutdown, STATUS= lines, and WATCHDOG=1 while the main
// loop runs when WATCHDOG_USEC asks for it (Type=notify, WatchdogSec=).
// Without NOTIFY_SOCKET every call does nothing. Thread-safe.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>

namespace postern::daemon {

class ServiceNotifier {
 public:
  // From the environment: NOTIFY_SOCKET, and WATCHDOG_USEC (with
  // WATCHDOG_PID, when set, naming this process).
  static ServiceNotifier FromEnvironment();
  ServiceNotifier() = default;
  ServiceNotifier(std::string socket_path, std::optional<std::chrono::microseconds> watchdog)
      : socket_path_(std::move(socket_path)), watchdog_(watchdog) {}

  bool enabled() const { return !socket_path_.empty(); }
  // How often to send WATCHDOG=1 (half the interval asked for), if asked.
  std::optional<std::chrono::microseconds> watchdog_period() const;

  void Ready(const std::string& status);
  void Reloading();
  void Stopping(const std::string& status);
  void Status(const std::string& status);
  void Watchdog();
  // Sends `state` (NAME=VALUE lines) as it is; false when it could not.
  bool Send(const std::string& state);

 private:
  std::string socket_path_;
  std::optional<std::chrono::microseconds> watchdog_;
  std::mutex mutex_;
};

}  // namespace postern::daemon
