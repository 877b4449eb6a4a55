// service_notifier.cc: see service_notifier.h.
#include "runtime/daemon/service_notifier.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "util/strings.h"

namespace postern::daemon {

ServiceNotifier ServiceNotifier::FromEnvironment() {
  const char* socket = getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return {};
  std::optional<std::chrono::microseconds> watchdog;
  const char* usec = getenv("WATCHDOG_USEC");
  const char* pid = getenv("WATCHDOG_PID");
  int64_t interval = usec != nullptr ? ParseDecimal(usec).value_or(0) : 0;
  bool for_this_process = pid == nullptr || ParseDecimal(pid).value_or(-1) == getpid();
  if (interval > 0 && for_this_process) watchdog = std::chrono::microseconds(interval);
  return ServiceNotifier(socket, watchdog);
}

std::optional<std::chrono::microseconds> ServiceNotifier::watchdog_period() const {
  if (!enabled() || !watchdog_) return std::nullopt;
  return *watchdog_ / 2;
}

bool ServiceNotifier::Send(const std::string& state) {
  if (!enabled()) return false;
  std::lock_guard lock(mutex_);
  struct sockaddr_un address {};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  socklen_t length = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + socket_path_.size());
  // Never blocking: a service manager that does not read (a unix datagram
  // queue holds few messages) costs a message, never a stalled loop.
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return false;
  ssize_t sent =
      sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<struct sockaddr*>(&address), length);
  close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

void ServiceNotifier::Ready(const std::string& status) {
  Send("READY=1\nMAINPID=" + std::to_string(getpid()) + "\nSTATUS=" + status + "\n");
}

void ServiceNotifier::Reloading() {
  // systemd 253 and later want the monotonic time of the reload with it.
  struct timespec now {};
  clock_gettime(CLOCK_MONOTONIC, &now);
  int64_t usec = now.tv_sec * 1000000 + now.tv_nsec / 1000;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec) + "\nSTATUS=reloading\n");
}

void ServiceNotifier::Stopping(const std::string& status) { Send("STOPPING=1\nSTATUS=" + status + "\n"); }

void ServiceNotifier::Status(const std::string& status) { Send("STATUS=" + status + "\n"); }

void ServiceNotifier::Watchdog() { Send("WATCHDOG=1\n"); }

}  // namespace postern::daemon
