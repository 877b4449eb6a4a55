// maillog.cc: see maillog.h.
#include "runtime/daemon/maillog.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>

#include "util/strings.h"

namespace postern::daemon {
namespace {

// RFC 5424 severities, chosen as Postfix's msg(3) does from the text.
int Severity(std::string_view text) {
  if (text.starts_with("fatal:") || text.starts_with("panic:")) return 2;  // LOG_CRIT
  if (text.starts_with("error:")) return 3;                                // LOG_ERR
  if (text.starts_with("warning:")) return 4;                              // LOG_WARNING
  return 6;                                                                // LOG_INFO
}

// This process's id, asked once (and again in a child after fork): one
// system call less per line.
std::atomic<pid_t> cached_pid{0};

pid_t ProcessId() {
  pid_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid != 0) return pid;
  static std::once_flag registered;
  std::call_once(registered, [] { pthread_atfork(nullptr, nullptr, [] { cached_pid.store(0); }); });
  pid = getpid();
  cached_pid.store(pid, std::memory_order_relaxed);
  return pid;
}

std::string Timestamp() {
  struct timeval now;
  gettimeofday(&now, nullptr);
  struct tm tm;
  localtime_r(&now.tv_sec, &tm);
  char stamp[32];
  size_t n = strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm);
  return std::string(stamp, n);
}

// One event, one line, and nothing in it a terminal or a log parser would
// take for something else (client-supplied text included).
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return Printable(out);
}

}  // namespace

int SyslogFacility(std::string_view name) {
  static constexpr std::pair<std::string_view, int> kFacilities[] = {
      {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},    {"auth", 4},    {"syslog", 5},  {"lpr", 6},
      {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},    {"local0", 16}, {"local1", 17},
      {"local2", 18}, {"local3", 19}, {"local4", 20}, {"local5", 21},   {"local6", 22}, {"local7", 23},
  };
  for (const auto& [n, v] : kFacilities) {
    if (n == name) return v;
  }
  return -1;
}

LogSink::LogSink() = default;

LogSink::~LogSink() {
  if (owns_fd_) close(fd_);
  if (syslog_fd_ >= 0) close(syslog_fd_);
}

Status LogSink::Open(const std::string& maillog_file, const std::string& facility) {
  std::lock_guard<std::mutex> lock(mu_);
  if (maillog_file.empty()) {
    int f = SyslogFacility(facility);
    if (f < 0) return Status::Permanent("unknown syslog_facility \"" + facility + "\"");
    facility_ = f;
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return Status::Temporary(std::string("syslog socket: ") + std::strerror(errno));
    struct sockaddr_un address {};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, "/dev/log", sizeof address.sun_path - 1);
    if (connect(s, reinterpret_cast<struct sockaddr*>(&address), sizeof address) != 0) {
      int error = errno;
      close(s);
      return Status::Temporary(std::string("/dev/log: ") + std::strerror(error) + "; logging to standard error");
    }
    syslog_fd_ = s;
    return Status::Ok();
  }
  path_ = maillog_file;
  if (path_ == "/dev/stdout" || path_ == "/dev/stderr") {
    fd_ = path_ == "/dev/stdout" ? 1 : 2;
    return Status::Ok();
  }
  int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return Status::Permanent("maillog_file " + path_ + ": " + std::strerror(errno));
  fd_ = fd;
  owns_fd_ = true;
  return Status::Ok();
}

Status LogSink::Reopen() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!owns_fd_) return Status::Ok();
  int fd = open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return Status::Temporary("maillog_file " + path_ + ": " + std::strerror(errno));
  close(fd_);
  fd_ = fd;
  return Status::Ok();
}

std::string LogSink::Describe() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (syslog_fd_ >= 0) return "syslog";
  return path_.empty() ? "standard error" : path_;
}

void LogSink::WriteFd(int fd, const std::string& line) {
  size_t done = 0;
  while (done < line.size()) {
    ssize_t w = write(fd, line.data() + done, line.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // nowhere to log to; never block the mail path on it
    done += static_cast<size_t>(w);
  }
}

void LogSink::Write(std::string_view hostname, std::string_view tag, std::string_view text) {
  std::string body = std::string(tag) + "[" + std::to_string(ProcessId()) + "]: " + OneLine(text);
  std::lock_guard<std::mutex> lock(mu_);
  if (syslog_fd_ >= 0) {
    // RFC 3164 as syslog(3) sends it locally: the daemon adds the host name.
    std::string message = "<" + std::to_string(facility_ * 8 + Severity(text)) + ">" + Timestamp() + " " + body;
    if (send(syslog_fd_, message.data(), message.size(), MSG_NOSIGNAL) >= 0) return;
    // The log daemon went away: keep the line on standard error.
  }
  WriteFd(fd_, Timestamp() + " " + std::string(hostname) + " " + body + "\n");
}

MailLog::MailLog(std::string program)
    : MailLog(std::make_shared<LogSink>(), "localhost", "postfix", std::move(program)) {}

MailLog::MailLog(std::shared_ptr<LogSink> sink, std::string hostname, std::string syslog_name, std::string program)
    : sink_(std::move(sink)),
      hostname_(std::move(hostname)),
      syslog_name_(std::move(syslog_name)),
      tag_(syslog_name_ + "/" + program) {}

void MailLog::Write(std::string_view text) const { sink_->Write(hostname_, tag_, text); }

}  // namespace postern::daemon
