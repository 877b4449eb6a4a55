// local_delivery.cc: see local_delivery.h.
#include "runtime/delivery/local_delivery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>

#include "mail/address.h"
#include "runtime/delivery/command_runner.h"
#include "util/strings.h"

namespace postern::delivery {
namespace {

using mail::DeliveryStatus;

constexpr int kLockTries = 20;              // 100 ms apart
constexpr int64_t kStaleLockSeconds = 500;  // a dot-lock older than this is removed (Postfix's stale_lock_time)

DeliveryStatus Done(std::string text) { return DeliveryStatus::Local(250, "2.0.0", std::move(text)); }

std::string Errno(int error) { return std::strerror(error); }

// A temporary failure for most errors; a full disk or quota stays temporary
// as well (mail is kept, not bounced, as local(8) does).
DeliveryStatus FileError(const std::string& what, const std::string& path, int error) {
  return DeliveryStatus::Local(450, "4.2.0", "cannot update " + what + " " + path + ": " + Errno(error));
}

}  // namespace

bool AlreadyDelivered(std::string_view content, std::string_view recipient) {
  size_t at = 0;
  while (at < content.size()) {
    size_t end = content.find('\n', at);
    std::string_view line = content.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of headers
    if (line.size() > 13 && EqualsIgnoreCase(line.substr(0, 13), "delivered-to:") &&
        EqualsIgnoreCase(Trim(line.substr(13)), recipient)) {
      return true;
    }
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  return false;
}

namespace {

// The copy that is written: delivery headers, the message in LF lines;
// for mbox the From_ line, ">From " quoting and a closing blank line.
std::string LocalCopy(const LocalRequest& r, bool mbox) {
  std::string out;
  out.reserve(r.content.size() + 256);
  if (mbox)
    out += "From " + (r.sender.empty() ? std::string("MAILER-DAEMON") : r.sender) + "  " +
           FormatTime(r.now, "%a %b %e %H:%M:%S %Y") + "\n";
  out += "Return-Path: <" + r.sender + ">\n";
  out += "X-Original-To: " + r.original_recipient + "\n";
  out += "Delivered-To: " + r.recipient + "\n";
  size_t at = 0;
  bool in_body = false;
  while (at < r.content.size()) {
    size_t end = r.content.find('\n', at);
    std::string_view line = r.content.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (mbox && in_body && StartsWith(line, "From ")) out += '>';
    if (line.empty()) in_body = true;
    out += line;
    out += '\n';
    if (end == std::string_view::npos) break;
    at = end + 1;
  }
  if (mbox) out += '\n';
  return out;
}

bool WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// name.lock, created exclusively; a stale one is removed.
DeliveryStatus DotLock(const std::string& path, bool* locked) {
  std::string lock = path + ".lock";
  for (int i = 0; i < kLockTries; ++i) {
    int fd = open(lock.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      close(fd);
      *locked = true;
      return Done("");
    }
    if (errno != EEXIST) return FileError("lock file", lock, errno);
    struct stat st;
    if (stat(lock.c_str(), &st) == 0 && std::time(nullptr) - st.st_mtime > kStaleLockSeconds) {
      unlink(lock.c_str());
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeliveryStatus::Local(450, "4.2.0",
                               "cannot update mailbox " + path + ": unable to lock it (" + lock + " exists)");
}

DeliveryStatus AppendMbox(const LocalRequest& r, const std::string& path, const char* what) {
  bool dot_locked = false;
  DeliveryStatus lock = DotLock(path, &dot_locked);
  if (lock.code != 250) return lock;
  struct Unlock {
    std::string lock;
    ~Unlock() { unlink(lock.c_str()); }
  } unlock{path + ".lock"};

  int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return FileError(what, path, errno);
  struct Close {
    int fd;
    ~Close() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0) return FileError(what, path, errno);
  // local(8)'s safety checks: a regular file with one name.
  if (!S_ISREG(st.st_mode))
    return DeliveryStatus::Local(550, "5.2.0",
                                 "cannot update " + std::string(what) + " " + path + ": not a regular file");
  if (st.st_nlink != 1)
    return DeliveryStatus::Local(550, "5.2.0",
                                 "cannot update " + std::string(what) + " " + path + ": file has " +
                                     std::to_string(st.st_nlink) + " hard links");
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  int tries = 0;
  while (fcntl(fd, F_SETLK, &fl) != 0) {
    if ((errno != EAGAIN && errno != EACCES) || ++tries == kLockTries) {
      return DeliveryStatus::Local(
          450, "4.2.0", "cannot update " + std::string(what) + " " + path + ": unable to lock it: " + Errno(errno));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string copy = LocalCopy(r, /*mbox=*/true);
  if (r.mailbox_size_limit != 0 && static_cast<uint64_t>(st.st_size) + copy.size() > r.mailbox_size_limit) {
    return DeliveryStatus::Local(
        552, "5.2.2", "cannot update " + std::string(what) + " " + path + ": mailbox full (mailbox_size_limit)");
  }
  off_t before = lseek(fd, 0, SEEK_END);
  if (!WriteAll(fd, copy) || fsync(fd) != 0) {
    int error = errno;
    if (before >= 0 && ftruncate(fd, before) != 0) { /* the error below is what counts */
    }
    return FileError(what, path, error);
  }
  return Done(std::string("delivered to ") + what + (std::string_view(what) == "file" ? ": " + path : ""));
}

DeliveryStatus MakeDirectory(const std::string& path) {
  for (size_t at = 1; at <= path.size(); ++at) {
    if (at != path.size() && path[at] != '/') continue;
    std::string prefix = path.substr(0, at);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return FileError("maildir", path, errno);
  }
  return Done("");
}

DeliveryStatus WriteMaildir(const LocalRequest& r, std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    DeliveryStatus made = MakeDirectory(dir + sub);
    if (made.code != 250) return made;
  }
  static std::atomic<uint64_t> sequence{0};
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  std::string host = r.hostname;
  for (char& c : host) {
    if (c == '/' || c == ':') c = '_';
  }
  std::string name = std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" + std::to_string(getpid()) +
                     "Q" + std::to_string(++sequence) + "." + host;
  std::string tmp = dir + "/tmp/" + name;
  std::string final_name = dir + "/new/" + name;
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return FileError("maildir", dir, errno);
  std::string copy = LocalCopy(r, /*mbox=*/false);
  bool ok = WriteAll(fd, copy) && fsync(fd) == 0;
  int error = errno;
  close(fd);
  if (!ok || link(tmp.c_str(), final_name.c_str()) != 0) {
    if (ok) error = errno;
    unlink(tmp.c_str());
    return FileError("maildir", dir, error);
  }
  unlink(tmp.c_str());
  int dfd = open((dir + "/new").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Done("delivered to maildir");
}

DeliveryStatus DeliverToCommand(const LocalRequest& r, const std::string& command) {
  mail::AddressParts parts = mail::SplitAddress(r.recipient);
  CommandSpec spec;
  spec.argv = {"/bin/sh", "-c", command};
  spec.environment = r.environment;
  spec.environment.insert(spec.environment.end(),
                          {"PATH=/usr/bin:/bin", "SHELL=/bin/sh", "SENDER=" + r.sender, "RECIPIENT=" + r.recipient,
                           "ORIGINAL_RECIPIENT=" + r.original_recipient, "USER=" + r.user, "LOGNAME=" + r.user,
                           "LOCAL=" + parts.local, "DOMAIN=" + parts.domain, "QUEUE_ID=" + r.queue_id});
  std::string copy = LocalCopy(r, /*mbox=*/false);
  spec.input = copy;
  spec.time_limit = r.command_time_limit;
  std::optional<DeliveryStatus> failed = CommandFailure(RunCommand(spec), command);
  return failed ? *failed : Done("delivered to command: " + command);
}

}  // namespace

DeliveryStatus DeliverLocally(const LocalRequest& r) {
  if (AlreadyDelivered(r.content, r.recipient)) {
    return DeliveryStatus::Local(550, "5.4.6", "mail forwarding loop for " + r.recipient);
  }
  std::string_view detail = r.detail;
  size_t space = detail.find(' ');
  std::string_view kind = detail.substr(0, space);
  std::string target(space == std::string_view::npos ? "" : detail.substr(space + 1));
  if (target.empty()) return DeliveryStatus::Local(450, "4.3.5", "no local delivery target for " + r.recipient);
  if (kind == "mailbox") return AppendMbox(r, target, "mailbox");
  // Postfix's local(8) takes /dev/null as delivered: nothing to lock or append.
  if (kind == "file" && target == "/dev/null") return Done("delivered to file: /dev/null");
  if (kind == "file") return AppendMbox(r, target, "file");
  if (kind == "maildir") return WriteMaildir(r, target);
  if (kind == "command") return DeliverToCommand(r, target);
  return DeliveryStatus::Local(450, "4.3.5", "unknown local delivery \"" + std::string(detail) + "\"");
}

}  // namespace postern::delivery
