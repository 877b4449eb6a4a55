// local_delivery.cc: see local_delivery.h.
#include "runtime/delivery/local_delivery.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

#include "mail/address.h"
#include "util/strings.h"

extern char** environ;

namespace postern::delivery {
namespace {

using mail::DeliveryStatus;

constexpr int kLockTries = 20;               // 100 ms apart
constexpr int64_t kStaleLockSeconds = 500;   // a dot-lock older than this is removed (Postfix's stale_lock_time)
constexpr size_t kCommandOutputLimit = 200;  // of a failed command's output, in the bounce

DeliveryStatus Done(std::string text) { return DeliveryStatus::Local(250, "2.0.0", std::move(text)); }

std::string Errno(int error) { return std::strerror(error); }

// A temporary failure for most errors; a full disk or quota stays temporary
// as well (mail is kept, not bounced, as local(8) does).
DeliveryStatus FileError(const std::string& what, const std::string& path, int error) {
  return DeliveryStatus::Local(450, "4.2.0", "cannot update " + what + " " + path + ": " + Errno(error));
}

// Whether the header section already has "Delivered-To: <recipient>".
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

DeliveryStatus RunCommand(const LocalRequest& r, const std::string& command) {
  int input[2], output[2];
  if (pipe2(input, O_CLOEXEC) != 0)
    return DeliveryStatus::Local(450, "4.3.0", "cannot run command: pipe: " + Errno(errno));
  if (pipe2(output, O_CLOEXEC) != 0) {
    close(input[0]);
    close(input[1]);
    return DeliveryStatus::Local(450, "4.3.0", "cannot run command: pipe: " + Errno(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, input[0], 0);
  posix_spawn_file_actions_adddup2(&actions, output[1], 1);
  posix_spawn_file_actions_adddup2(&actions, output[1], 2);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attributes, 0);

  mail::AddressParts parts = mail::SplitAddress(r.recipient);
  std::vector<std::string> env = {"PATH=/usr/bin:/bin",
                                  "SHELL=/bin/sh",
                                  "SENDER=" + r.sender,
                                  "RECIPIENT=" + r.recipient,
                                  "ORIGINAL_RECIPIENT=" + r.original_recipient,
                                  "USER=" + r.user,
                                  "LOGNAME=" + r.user,
                                  "LOCAL=" + parts.local,
                                  "DOMAIN=" + parts.domain,
                                  "QUEUE_ID=" + r.queue_id};
  std::vector<char*> envp;
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string shell = "/bin/sh", dash_c = "-c", text = command;
  char* argv[] = {shell.data(), dash_c.data(), text.data(), nullptr};
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attributes);
  close(input[0]);
  close(output[1]);
  if (spawned != 0) {
    close(input[1]);
    close(output[0]);
    return DeliveryStatus::Local(450, "4.3.0", "cannot run command " + command + ": " + Errno(spawned));
  }
  std::string copy = LocalCopy(r, /*mbox=*/false);
  std::string_view pending = copy;
  std::string said;
  fcntl(input[1], F_SETFL, O_NONBLOCK);
  // A command that exits without reading all of its input must not kill
  // the daemon with SIGPIPE: it is blocked in this thread while writing,
  // and one raised is taken back before the mask is restored.
  sigset_t pipe_signal, saved_mask;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &saved_mask);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(r.command_time_limit);
  bool timed_out = false;
  int in_fd = input[1], out_fd = output[0];
  while (in_fd >= 0 || out_fd >= 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd fds[2];
    int n = 0;
    if (in_fd >= 0) fds[n++] = {in_fd, POLLOUT, 0};
    if (out_fd >= 0) fds[n++] = {out_fd, POLLIN, 0};
    if (poll(fds, static_cast<nfds_t>(n), static_cast<int>(std::min<int64_t>(left.count(), 1000))) < 0 &&
        errno != EINTR) {
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in_fd) {
        ssize_t w = write(in_fd, pending.data(), std::min<size_t>(pending.size(), 65536));
        if (w > 0) pending.remove_prefix(static_cast<size_t>(w));
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || pending.empty()) {
          close(in_fd);  // done, or the command stopped reading (EPIPE): its exit status decides
          in_fd = -1;
        }
      } else {
        char buffer[4096];
        ssize_t got = read(out_fd, buffer, sizeof buffer);
        if (got > 0) {
          if (said.size() < kCommandOutputLimit) said.append(buffer, static_cast<size_t>(got));
        } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
          close(out_fd);
          out_fd = -1;
        }
      }
    }
  }
  if (in_fd >= 0) close(in_fd);
  if (out_fd >= 0) close(out_fd);
  struct timespec no_wait {};
  while (sigtimedwait(&pipe_signal, nullptr, &no_wait) == SIGPIPE) {
  }
  pthread_sigmask(SIG_SETMASK, &saved_mask, nullptr);
  if (timed_out) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  said = std::string(Trim(said.substr(0, kCommandOutputLimit)));
  for (char& c : said) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (timed_out)
    return DeliveryStatus::Local(450, "4.3.0", "command " + command + " ran out of time (command_time_limit)");
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Done("delivered to command: " + command);
  std::string why = WIFEXITED(status) ? "Command died with status " + std::to_string(WEXITSTATUS(status))
                                      : "Command killed by signal " + std::to_string(WTERMSIG(status));
  why += ": \"" + command + "\"" + (said.empty() ? "" : ". Command output: " + said);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 75) return DeliveryStatus::Local(450, "4.3.0", why);  // EX_TEMPFAIL
  return DeliveryStatus::Local(550, "5.3.0", why);
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
  if (kind == "command") return RunCommand(r, target);
  return DeliveryStatus::Local(450, "4.3.5", "unknown local delivery \"" + std::string(detail) + "\"");
}

}  // namespace postern::delivery
