// maillog.cc: see maillog.h.
#include "runtime/daemon/maillog.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

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
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    wake_.notify_one();
  }
  if (flusher_.joinable()) flusher_.join();
  Flush();
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

void LogSink::WriteFd(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t w = write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;  // nowhere to log to; never block the mail path on it
    done += static_cast<size_t>(w);
  }
}

void LogSink::Write(std::string_view hostname, std::string_view tag, std::string_view text) {
  int severity = Severity(text);
  std::lock_guard<std::mutex> lock(mu_);
  std::string body = std::string(tag) + "[" + std::to_string(batching_ ? pid_ : getpid()) + "]: " + OneLine(text);
  if (syslog_fd_ >= 0) {
    // RFC 3164 as syslog(3) sends it locally: the daemon adds the host name.
    pending_.push_back("<" + std::to_string(facility_ * 8 + severity) + ">" + Timestamp() + " " + body);
  } else {
    pending_.push_back(Timestamp() + " " + std::string(hostname) + " " + body + "\n");
  }
  constexpr int kWarning = 4;
  constexpr size_t kLargestBatch = 512;
  if (!batching_ || stopping_ || severity <= kWarning || pending_.size() >= kLargestBatch) {
    WritePending();
  } else if (pending_.size() == 1) {
    wake_.notify_one();
  }
}

void LogSink::WritePending() {
  if (pending_.empty()) return;
  size_t sent = 0;
  if (syslog_fd_ >= 0) {
    // One datagram per line, as many per system call as it takes.
    while (sent < pending_.size()) {
      constexpr size_t kPerCall = 64;
      struct mmsghdr messages[kPerCall] = {};
      struct iovec parts[kPerCall];
      unsigned n = 0;
      for (; n < kPerCall && sent + n < pending_.size(); ++n) {
        parts[n].iov_base = pending_[sent + n].data();
        parts[n].iov_len = pending_[sent + n].size();
        messages[n].msg_hdr.msg_iov = &parts[n];
        messages[n].msg_hdr.msg_iovlen = 1;
      }
      int done = sendmmsg(syslog_fd_, messages, n, MSG_NOSIGNAL);
      if (done <= 0) break;  // the log daemon went away: the rest goes to standard error
      sent += static_cast<size_t>(done);
    }
  }
  std::string bytes;
  for (size_t i = sent; i < pending_.size(); ++i) {
    bytes += pending_[i];
    if (syslog_fd_ >= 0) bytes += "\n";
  }
  pending_.clear();
  if (!bytes.empty()) WriteFd(fd_, bytes);
}

void LogSink::StartBatching() {
  std::lock_guard<std::mutex> lock(mu_);
  if (batching_) return;
  pid_ = getpid();
  batching_ = true;
  flusher_ = std::thread([this] { RunFlusher(); });
}

void LogSink::RunFlusher() {
  // A batch is what comes within this long of its first line.
  constexpr auto kBatchDelay = std::chrono::milliseconds(5);
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (stopping_) break;
    wake_.wait_for(lock, kBatchDelay, [this] { return stopping_; });
    WritePending();
  }
  WritePending();
}

void LogSink::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  WritePending();
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
