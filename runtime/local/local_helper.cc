// local_helper.cc: see local_helper.h.
#include "runtime/local/local_helper.h"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "mail/passwd_table.h"
#include "runtime/local/helper_protocol.h"
#include "util/bytes.h"
#include "util/read_file.h"
#include "util/strings.h"

namespace postern::local {

using delivery::LocalRequest;
namespace {

// The helper could not deliver: try again later.
mail::DeliveryStatus Failure(std::string reason) {
  return mail::DeliveryStatus::Local(450, "4.3.0", std::move(reason));
}

// To a socket (without SIGPIPE when the peer is gone) or a pipe.
bool WriteAll(int fd, std::string_view bytes, bool socket = true) {
  while (!bytes.empty()) {
    ssize_t n = socket ? send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) : write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

bool ReadAll(int fd, char* out, size_t size) {
  while (size > 0) {
    ssize_t n = read(fd, out, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// A frame: u32 length, then the bytes.
bool SendFrame(int fd, std::string_view payload) {
  ByteWriter w;
  w.PutString(payload);
  return WriteAll(fd, w.bytes());
}

bool ReceiveFrame(int fd, std::string* payload) {
  char length[4];
  if (!ReadAll(fd, length, sizeof length)) return false;
  uint32_t n = 0;
  ByteReader r(std::string_view(length, sizeof length));
  // Larger than any message posternd accepts: a peer that says so is broken.
  constexpr uint32_t kMaxFrame = 1u << 30;
  if (!r.GetU32(&n) || n > kMaxFrame) return false;
  payload->resize(n);
  return ReadAll(fd, payload->data(), n);
}

// In a worker process: become `id` and deliver; the result goes to `out`.
[[noreturn]] void DeliverAs(const Identity& id, const LocalRequest& q, int out) {
  mail::DeliveryStatus result;
  if (setgroups(0, nullptr) != 0 || setgid(id.gid) != 0 || setuid(id.uid) != 0 || getuid() == 0 || geteuid() == 0 ||
      getgid() == 0 || getegid() == 0) {
    result = Failure(std::string("cannot switch to the recipient's privileges: ") + std::strerror(errno));
  } else {
    if (chdir(id.home.c_str()) != 0 && chdir("/") != 0) {
      // a command then runs wherever it is; nothing to report
    }
    result = DeliverLocally(q);
  }
  std::string bytes = EncodeDeliverAnswer(result);
  WriteAll(out, bytes, /*socket=*/false);
  _exit(0);
}

// In a worker process: enter the service's chroot=, become its user= and
// run the command; the result goes to `out`.
[[noreturn]] void PipeAs(const AuthorizedPipe& pipe, int out) {
  mail::DeliveryStatus result;
  const Identity& id = pipe.identity;
  if (!pipe.chroot.empty() && (chroot(pipe.chroot.c_str()) != 0 || chdir("/") != 0)) {
    result = Failure("cannot change root directory to " + pipe.chroot + ": " + std::strerror(errno));
  } else if (setgroups(0, nullptr) != 0 || setgid(id.gid) != 0 || setuid(id.uid) != 0 || getuid() == 0 ||
             geteuid() == 0 || getgid() == 0 || getegid() == 0) {
    result = Failure(std::string("cannot switch to the service's privileges: ") + std::strerror(errno));
  } else {
    result = delivery::DeliverToPipe(pipe.request);
  }
  std::string bytes = EncodeDeliverAnswer(result);
  WriteAll(out, bytes, /*socket=*/false);
  _exit(0);
}

// Forks a worker that runs `work` (which writes an encoded answer to the
// descriptor it is given, then exits) and returns its answer.
template <typename Work>
mail::DeliveryStatus InWorker(const Work& work) {
  int result_pipe[2];
  if (pipe2(result_pipe, O_CLOEXEC) != 0) return Failure("pipe: " + std::string(std::strerror(errno)));
  pid_t pid = fork();
  if (pid < 0) {
    close(result_pipe[0]);
    close(result_pipe[1]);
    return Failure("fork: " + std::string(std::strerror(errno)));
  }
  if (pid == 0) {
    close(result_pipe[0]);
    work(result_pipe[1]);
    _exit(0);  // work does not return
  }
  close(result_pipe[1]);
  std::string bytes;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = read(result_pipe[0], buffer, sizeof buffer)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) bytes.append(buffer, static_cast<size_t>(n));
  }
  close(result_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::optional<mail::DeliveryStatus> result = DecodeDeliverAnswer(bytes);
  if (!result) return Failure("the local delivery process ended without a result");
  return *result;
}

// The image and resolver of the last request, loaded by this process.
struct Loaded {
  std::shared_ptr<const image::Image> image;
  std::unique_ptr<resolve::Resolver> resolver;
};

Status Load(const std::string& images, const std::string& id, const std::shared_ptr<const mail::LookupTable>& users,
            Loaded* loaded) {
  if (loaded->image && loaded->image->id() == id) return Status::Ok();
  auto image = LoadTrustedImage(images, id);
  if (!image.ok()) return image.status();
  loaded->image = *image;
  loaded->resolver = std::make_unique<resolve::Resolver>(*image, users);
  return Status::Ok();
}

mail::DeliveryStatus Deliver(const LocalHelperRequest& request, const std::string& images,
                             const std::shared_ptr<const mail::LookupTable>& users, Loaded* loaded) {
  if (Status s = Load(images, request.image_id, users, loaded); !s.ok()) {
    return Failure("local delivery: " + s.message());
  }
  auto authorized = Authorize(request, *loaded->resolver, *users);
  if (!authorized.ok()) {
    return Failure("local delivery refused: " + authorized.status().message());
  }
  return InWorker([&](int out) { DeliverAs(authorized->identity, authorized->request, out); });
}

// A pipe(8) service's user= and command are the image's; a service that
// cannot run defers, as pipe(8)'s fatal errors do.
mail::DeliveryStatus Pipe(const PipeHelperRequest& request, const std::string& images,
                          const std::shared_ptr<const mail::LookupTable>& users, const Identity& mail_owner,
                          Loaded* loaded) {
  if (Status s = Load(images, request.image_id, users, loaded); !s.ok()) {
    return Failure("pipe delivery: " + s.message());
  }
  auto authorized = AuthorizePipe(request, *loaded->image, *users, mail_owner);
  if (!authorized.ok()) {
    return mail::DeliveryStatus::Local(450, "4.3.5",
                                       "mail system configuration error: " + authorized.status().message());
  }
  return InWorker([&](int out) { PipeAs(*authorized, out); });
}

Result<std::optional<tls::ServerTlsFiles>> TlsFiles(const std::string& image_id, const std::string& service,
                                                    const std::string& images,
                                                    const std::shared_ptr<const mail::LookupTable>& users,
                                                    Loaded* loaded) {
  if (Status s = Load(images, image_id, users, loaded); !s.ok()) return s;
  return tls::ReadServerTlsFiles(*loaded->image->ForService(service), ReadRegularFileFollowingLinks);
}

// What the helper serves, the same for every channel.
struct HelperContext {
  std::string images;
  std::shared_ptr<const mail::LookupTable> users;
  Identity mail_owner;
};

// A channel serves one kind of work: the delivery process's local and pipe
// deliveries, or the SMTP process's TLS file reads.
enum class Channel { kDeliveries, kTlsFiles };

std::string Serve(std::string_view frame, Channel channel, const HelperContext& c, Loaded* loaded) {
  std::optional<DecodedHelperRequest> request = DecodeHelperRequest(frame);
  bool tls = request && request->kind == HelperRequestKind::kTlsFiles;
  if (!request || tls != (channel == Channel::kTlsFiles)) return EncodeDeliverAnswer(Failure("malformed request"));
  if (tls) return EncodeTlsFilesAnswer(TlsFiles(request->image_id, request->service, c.images, c.users, loaded));
  if (request->kind == HelperRequestKind::kPipe) {
    return EncodeDeliverAnswer(Pipe(request->pipe, c.images, c.users, c.mail_owner, loaded));
  }
  return EncodeDeliverAnswer(Deliver(request->deliver, c.images, c.users, loaded));
}

// Everything posternd had open (listening sockets, the control socket, queue
// files) but the helper's channels and the standard descriptors: a helper
// that held posternd's port would keep it from being restarted.
void CloseInherited(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int fd : keep) {
    if (static_cast<unsigned>(fd) > from) close_range(from, static_cast<unsigned>(fd) - 1, 0);
    from = static_cast<unsigned>(fd) + 1;
  }
  close_range(from, ~0U, 0);
}

// One helper process serves one channel, single-threaded, so that the
// workers it forks start from a process no other thread holds a lock in.
[[noreturn]] void HelperMain(int channel, Channel serves, const HelperContext& context, pid_t parent) {
  CloseInherited({channel});
  prctl(PR_SET_PDEATHSIG, SIGTERM);   // and when posternd is killed outright
  if (getppid() != parent) _exit(0);  // it already was
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);  // a terminal's ^C is posternd's to handle; EOF ends us
  std::string frame;
  Loaded loaded;
  while (ReceiveFrame(channel, &frame)) {
    if (!SendFrame(channel, Serve(frame, serves, context, &loaded))) break;
  }
  _exit(0);
}

}  // namespace

Result<std::unique_ptr<LocalHelper>> LocalHelper::Start(const std::string& images,
                                                        std::shared_ptr<const mail::LookupTable> users,
                                                        const Identity& mail_owner, int delivery_channels) {
  if (!users) users = std::make_shared<mail::PasswdTable>();
  HelperContext context{images, std::move(users), mail_owner};
  std::vector<int> ours, theirs;  // the first pair is the TLS channel
  for (int i = 0; i < delivery_channels + 1; ++i) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      for (int fd : ours) close(fd);
      for (int fd : theirs) close(fd);
      return Status::Temporary(std::string("socketpair: ") + std::strerror(errno));
    }
    ours.push_back(pair[0]);
    theirs.push_back(pair[1]);
  }
  pid_t parent = getpid();
  std::vector<pid_t> pids;
  for (size_t i = 0; i < theirs.size(); ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      int error = errno;
      for (int fd : ours) close(fd);
      for (int fd : theirs) close(fd);
      for (pid_t p : pids) waitpid(p, nullptr, 0);  // they end when their channel closes
      return Status::Temporary(std::string("fork: ") + std::strerror(error));
    }
    if (pid == 0) {
      HelperMain(theirs[i], i == 0 ? Channel::kTlsFiles : Channel::kDeliveries, context, parent);
    }
    pids.push_back(pid);
  }
  for (int fd : theirs) close(fd);
  return std::unique_ptr<LocalHelper>(new LocalHelper(std::move(pids), std::move(ours)));
}

LocalHelper::LocalHelper(std::vector<pid_t> pids, std::vector<int> channels)
    : pids_(std::move(pids)), tls_channel_(channels.front()) {
  all_.assign(channels.begin() + 1, channels.end());
  free_ = all_;
}

void LocalHelper::KeepOnly(Task task) {
  if (task == Task::kDeliver) {
    close(tls_channel_);
    tls_channel_ = -1;
  } else {
    for (int fd : all_) close(fd);
    all_.clear();
    free_.clear();
  }
}

LocalHelper::~LocalHelper() {
  for (int fd : all_) close(fd);
  if (tls_channel_ >= 0) close(tls_channel_);
  for (pid_t pid : pids_) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

bool LocalHelper::Exchange(const std::string& request, std::string* answer) {
  int fd = -1;
  {
    std::unique_lock lock(mutex_);
    if (all_.empty()) return false;  // given up in this process (KeepOnly)
    available_.wait(lock, [this] { return !free_.empty(); });
    fd = free_.back();
    free_.pop_back();
  }
  bool ok = SendFrame(fd, request) && ReceiveFrame(fd, answer);
  {
    std::lock_guard lock(mutex_);
    free_.push_back(fd);
  }
  available_.notify_one();
  return ok;
}

mail::DeliveryStatus LocalHelper::Deliver(const LocalHelperRequest& request) {
  std::string frame;
  std::optional<mail::DeliveryStatus> result;
  if (Exchange(EncodeDeliverRequest(request), &frame)) result = DecodeDeliverAnswer(frame);
  return result ? *result : Failure("the local delivery helper is gone");
}

mail::DeliveryStatus LocalHelper::Pipe(const PipeHelperRequest& request) {
  std::string frame;
  std::optional<mail::DeliveryStatus> result;
  if (Exchange(EncodePipeRequest(request), &frame)) result = DecodeDeliverAnswer(frame);
  return result ? *result : Failure("the delivery helper is gone");
}

Result<std::optional<tls::ServerTlsFiles>> LocalHelper::ReadTlsFiles(const std::string& image_id,
                                                                     const std::string& service) {
  std::lock_guard lock(tls_mutex_);
  std::string frame;
  if (tls_channel_ < 0 || !SendFrame(tls_channel_, EncodeTlsFilesRequest(image_id, service)) ||
      !ReceiveFrame(tls_channel_, &frame)) {
    return Status::Temporary("the privileged helper is gone");
  }
  return DecodeTlsFilesAnswer(frame);
}

}  // namespace postern::local
