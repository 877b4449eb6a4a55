// delivery_process.cc: see delivery_process.h.
#include "runtime/daemon/delivery_process.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "runtime/daemon/queue_id.h"
#include "runtime/dns/async_resolver.h"
#include "runtime/image/image.h"
#include "runtime/qmgr/queue_manager.h"
#include "runtime/queue/queue_writer.h"
#include "runtime/resolve/resolver.h"
#include "runtime/verify/verify_cache.h"
#include "util/strings.h"

namespace postern::daemon {
namespace {

using Context = std::shared_ptr<const qmgr::DeliveryContext>;

// The longest command: "arrived " and up to kIdsPerArrival queue ids.
constexpr size_t kIdsPerArrival = 1000;
constexpr size_t kMaxCommand = 8 + kIdsPerArrival * 17 + 64;

// The image `id` made ready for delivery.
Result<Context> LoadContext(const DeliveryProcessOptions& o, const std::string& id) {
  std::error_code ec;
  std::string path = std::filesystem::is_directory(o.images + "/" + id, ec) ? o.images + "/" + id : o.images;
  auto image = image::Image::Load(path);
  if (!image.ok()) return image.status();
  if ((*image)->id() != id) return Status::Permanent("image " + id + " is not in " + o.images);
  auto resolver = std::make_shared<resolve::Resolver>(*image, o.users);
  return qmgr::MakeDeliveryContext(*image, resolver);
}

[[noreturn]] void ChildMain(int channel, const DeliveryProcessOptions& o, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // the SMTP process gone: so are we, and the queue lock with us
  if (getppid() != parent) _exit(0);
  prctl(PR_SET_DUMPABLE, 0);
  for (int s : {SIGINT, SIGHUP, SIGTERM, SIGPIPE}) signal(s, SIG_IGN);  // the SMTP process decides
  MailLog log = o.log.For("qmgr");
  // Every active message holds its queue file open: as many descriptors as
  // the system lets this process have.
  struct rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  auto first = LoadContext(o, o.image_id);
  if (!first.ok()) {
    log.Write("fatal: delivery process: " + first.status().message());
    _exit(1);
  }
  std::atomic<Context> context(*first);
  dns::ResolverOptions dns_options;
  dns_options.servers = o.dns_servers;
  auto dns = dns::AsyncResolver::Create(dns_options);
  if (!dns.ok()) log.Write("warning: DNS: " + dns.status().message() + "; only numeric nexthops can be reached");
  auto writer = queue::QueueWriter::Open(o.queue_directory);  // for bounces and delay notices
  if (!writer.ok()) {
    log.Write("fatal: delivery process: queue: " + writer.status().message());
    _exit(1);
  }
  QueueIdGenerator ids(1);  // odd ids: the SMTP process's are even
  qmgr::QueueManagerServices services;
  services.context = [&context] { return context.load(); };
  services.log = [&o](const std::string& syslog_name, const std::string& program, const std::string& text) {
    (syslog_name.empty() ? o.log.For(program) : o.log.As(syslog_name, program)).Write(text);
  };
  services.new_queue_id = [&ids] { return ids.Next(); };
  services.writer = writer->get();
  services.dns = dns.ok() ? dns->get() : nullptr;
  services.local_helper = o.local_helper;
  // What probes find goes into the cache the SMTP process reads (its own
  // connection: SQLite handles are not shared across the fork).
  auto verify_cache = verify::VerifyCache::Open(verify::VerifyCachePath(o.queue_directory));
  if (!verify_cache.ok()) log.Write("warning: " + verify_cache.status().message());
  if (verify_cache.ok()) {
    services.probe_result = [&context, &log, cache = verify_cache->get()](
                                const std::string& address, mail::AddressStatus status, const std::string& text) {
      verify::VerifyRules rules = verify::VerifyRulesOf(*context.load()->image);
      int64_t now = time(nullptr);
      Status s = cache->Change(address, [&](const std::optional<verify::VerifyEntry>& stored) {
        return verify::RecordResult(stored, status, text, rules, now);
      });
      if (!s.ok()) log.Write("warning: " + s.message());
    };
  }
  qmgr::QueueManager qmgr(o.queue_directory, std::move(services));
  if (Status s = qmgr.Start(); !s.ok()) {
    log.Write("fatal: queue manager: " + s.message());
    _exit(1);
  }
  long long grace = 10;
  std::vector<char> buffer(kMaxCommand);
  while (true) {
    ssize_t n = recv(channel, buffer.data(), buffer.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the SMTP process is gone
    std::string command(buffer.data(), static_cast<size_t>(n));
    if (StartsWith(command, "arrived ")) {
      qmgr.Arrived(SplitAny(command.substr(8), " "));
    } else if (command == "reopen") {
      if (Status s = o.log_sink->Reopen(); !s.ok()) log.Write("warning: " + s.message());
    } else if (command == "flush") {
      qmgr.Flush();
    } else if (command == "scan") {
      qmgr.Rescan();
    } else if (StartsWith(command, "reload ")) {
      auto next = LoadContext(o, command.substr(7));
      if (next.ok()) {
        context.store(*next);
      } else {
        log.Write("warning: delivery process: reload refused: " + next.status().message());
      }
    } else if (command == "stats") {
      qmgr::QueueManager::Stats q = qmgr.stats();
      nlohmann::json j = {{"delivered", q.delivered}, {"bounced", q.bounced}, {"deferred", q.deferred},
                          {"removed", q.removed},     {"active", q.active},   {"running", q.running}};
      std::string reply = j.dump();
      send(channel, reply.data(), reply.size(), MSG_NOSIGNAL);
    } else if (StartsWith(command, "stop ")) {
      ParseDecimal(command.substr(5), &grace);
      break;
    }
  }
  qmgr.Stop(std::chrono::seconds(grace));
  (*writer)->Stop();
  _exit(0);
}

}  // namespace

Result<std::unique_ptr<DeliveryProcess>> DeliveryProcess::Start(const DeliveryProcessOptions& options,
                                                                const std::function<void()>& in_child) {
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return Status::Temporary(std::string("socketpair: ") + std::strerror(errno));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int error = errno;
    close(pair[0]);
    close(pair[1]);
    return Status::Temporary(std::string("fork: ") + std::strerror(error));
  }
  if (pid == 0) {
    close(pair[0]);
    in_child();
    ChildMain(pair[1], options, parent);
  }
  close(pair[1]);
  struct timeval timeout {
    10, 0
  };  // a stats answer never takes long
  setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    int error = errno;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    close(pair[0]);
    return Status::Temporary(std::string("pidfd_open: ") + std::strerror(error));
  }
  return std::unique_ptr<DeliveryProcess>(new DeliveryProcess(pid, pidfd, pair[0]));
}

DeliveryProcess::~DeliveryProcess() { Stop(std::chrono::seconds(0)); }

void DeliveryProcess::Arrived(const std::vector<std::string>& ids) {
  for (size_t at = 0; at < ids.size(); at += kIdsPerArrival) {
    std::string command = "arrived";
    for (size_t i = at; i < ids.size() && i < at + kIdsPerArrival; ++i) command += " " + ids[i];
    Send(command);
  }
}

void DeliveryProcess::Send(const std::string& command) {
  std::lock_guard lock(mutex_);
  if (channel_ >= 0) send(channel_, command.data(), command.size(), MSG_NOSIGNAL);
}

Result<std::string> DeliveryProcess::Stats() {
  std::lock_guard lock(mutex_);
  if (channel_ < 0) return Status::Temporary("the delivery process has stopped");
  char buffer[1024];
  while (recv(channel_, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
    // an answer that came after its asker gave up
  }
  if (send(channel_, "stats", 5, MSG_NOSIGNAL) != 5) return Status::Temporary("the delivery process is gone");
  ssize_t n = recv(channel_, buffer, sizeof buffer, 0);
  if (n <= 0) return Status::Temporary("the delivery process does not answer");
  return std::string(buffer, static_cast<size_t>(n));
}

void DeliveryProcess::Stop(std::chrono::seconds grace) {
  std::lock_guard lock(mutex_);
  if (channel_ < 0) return;
  std::string stop = "stop " + std::to_string(grace.count());
  send(channel_, stop.data(), stop.size(), MSG_NOSIGNAL);
  // Wait for it to end (its deliveries get the grace period), then no more.
  struct pollfd p {
    pidfd_, POLLIN, 0
  };
  int timeout_ms = static_cast<int>((grace.count() + 5) * 1000);
  while (poll(&p, 1, timeout_ms) < 0 && errno == EINTR) {
  }
  if (waitpid(pid_, nullptr, WNOHANG) == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  close(channel_);
  close(pidfd_);
  channel_ = -1;
}

}  // namespace postern::daemon
