// maillog.cc: see maillog.h.
#include "runtime/daemon/maillog.h"

#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

namespace postern::daemon {

MailLog::MailLog(std::string hostname, std::string program)
    : hostname_(std::move(hostname)), program_(std::move(program)) {}

void MailLog::Write(std::string_view text) const {
  struct timeval now;
  gettimeofday(&now, nullptr);
  struct tm tm;
  localtime_r(&now.tv_sec, &tm);
  char stamp[32];
  size_t n = strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  std::string line;
  line.reserve(n + hostname_.size() + program_.size() + text.size() + 24);
  line.append(stamp, n);
  line += ' ';
  line += hostname_;
  line += ' ';
  line += program_;
  line += '[';
  line += std::to_string(getpid());
  line += "]: ";
  for (char c : text) line += (c == '\n' || c == '\r') ? ' ' : c;  // one event, one line
  line += '\n';
  size_t done = 0;
  while (done < line.size()) {
    ssize_t w = write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // nowhere to log to; never block the mail path on it
    done += static_cast<size_t>(w);
  }
}

}  // namespace postern::daemon
