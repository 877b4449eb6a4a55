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
#include "util/bytes.h"
#include "util/read_file.h"
#include "util/strings.h"

namespace postern::local {

using delivery::LocalRequest;
using delivery::RecipientResult;
namespace {

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
  if (!r.GetU32(&n)) return false;
  payload->resize(n);
  return ReadAll(fd, payload->data(), n);
}

// The first byte of a request frame says what it asks for.
constexpr uint8_t kDeliverRequest = 'D';
constexpr uint8_t kTlsFilesRequest = 'T';

std::string EncodeRequest(const LocalHelperRequest& q) {
  ByteWriter w;
  w.PutU8(kDeliverRequest);
  for (std::string_view field :
       {std::string_view(q.image_id), std::string_view(q.transport), std::string_view(q.queue_id),
        std::string_view(q.sender), std::string_view(q.recipient), std::string_view(q.original_recipient),
        std::string_view(q.delivery), q.content}) {
    w.PutString(field);
  }
  w.PutU64(static_cast<uint64_t>(q.now));
  return w.Release();
}

bool GetContent(ByteReader* r, std::string_view* content) {
  uint32_t n = 0;
  return r->GetU32(&n) && r->GetRaw(n, content);
}

// The content stays in `frame`: q->content points into it.
bool DecodeRequest(ByteReader& r, LocalHelperRequest* q) {
  std::string_view content;
  uint64_t now = 0;
  bool ok = r.GetString(&q->image_id) && r.GetString(&q->transport) && r.GetString(&q->queue_id) &&
            r.GetString(&q->sender) && r.GetString(&q->recipient) && r.GetString(&q->original_recipient) &&
            r.GetString(&q->delivery) && GetContent(&r, &content) && r.GetU64(&now) && r.remaining() == 0;
  q->content = content;
  q->now = static_cast<int64_t>(now);
  return ok;
}

std::string EncodeResult(const RecipientResult& result) {
  ByteWriter w;
  w.PutU32(static_cast<uint32_t>(result.code));
  w.PutString(result.text);
  return w.Release();
}

// In a worker process: become `id` and deliver; the result goes to `out`.
[[noreturn]] void DeliverAs(const Identity& id, const LocalRequest& q, int out) {
  RecipientResult result;
  if (setgroups(0, nullptr) != 0 || setgid(id.gid) != 0 || setuid(id.uid) != 0 || getuid() == 0 || geteuid() == 0 ||
      getgid() == 0 || getegid() == 0) {
    result =
        RecipientResult{450, std::string("4.3.0 cannot switch to the recipient's privileges: ") + std::strerror(errno)};
  } else {
    if (chdir(id.home.c_str()) != 0 && chdir("/") != 0) {
      // a command then runs wherever it is; nothing to report
    }
    result = DeliverLocally(q);
  }
  std::string bytes = EncodeResult(result);
  WriteAll(out, bytes, /*socket=*/false);
  _exit(0);
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

RecipientResult Deliver(ByteReader& r, const std::string& images, const std::shared_ptr<const mail::LookupTable>& users,
                        Loaded* loaded) {
  LocalHelperRequest request;
  if (!DecodeRequest(r, &request)) return RecipientResult{450, "4.3.0 malformed local delivery request"};
  if (Status s = Load(images, request.image_id, users, loaded); !s.ok()) {
    return RecipientResult{450, "4.3.0 local delivery: " + s.message()};
  }
  auto authorized = Authorize(request, *loaded->resolver, *users);
  if (!authorized.ok()) {
    return RecipientResult{450, "4.3.0 local delivery refused: " + authorized.status().message()};
  }
  int result_pipe[2];
  if (pipe2(result_pipe, O_CLOEXEC) != 0)
    return RecipientResult{450, "4.3.0 pipe: " + std::string(std::strerror(errno))};
  pid_t pid = fork();
  if (pid < 0) {
    close(result_pipe[0]);
    close(result_pipe[1]);
    return RecipientResult{450, "4.3.0 fork: " + std::string(std::strerror(errno))};
  }
  if (pid == 0) {
    close(result_pipe[0]);
    DeliverAs(authorized->identity, authorized->request, result_pipe[1]);
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
  ByteReader answer(bytes);
  uint32_t code = 0;
  RecipientResult result;
  if (!answer.GetU32(&code) || !answer.GetString(&result.text)) {
    return RecipientResult{450, "4.3.0 the local delivery process ended without a result"};
  }
  result.code = static_cast<int>(code);
  return result;
}

// The answer to a TLS files request: u8 0 and an error text, u8 1 (no
// TLS), or u8 2 and the four ServerTlsFiles strings.
std::string ServeTlsFiles(ByteReader& r, const std::string& images,
                          const std::shared_ptr<const mail::LookupTable>& users, Loaded* loaded) {
  ByteWriter w;
  std::string id;
  Status status = r.GetString(&id) && r.remaining() == 0 ? Load(images, id, users, loaded)
                                                         : Status::Permanent("malformed TLS files request");
  if (!status.ok()) {
    w.PutU8(0);
    w.PutString(status.message());
    return w.Release();
  }
  auto files = tls::ReadServerTlsFiles(*loaded->image, ReadRegularFileFollowingLinks);
  if (!files.ok()) {
    w.PutU8(0);
    w.PutString(files.status().message());
  } else if (!*files) {
    w.PutU8(1);
  } else {
    w.PutU8(2);
    for (const std::string* field :
         {&(*files)->cert_path, &(*files)->key_path, &(*files)->cert_pem, &(*files)->key_pem}) {
      w.PutString(*field);
    }
  }
  return w.Release();
}

std::string Serve(std::string_view frame, const std::string& images,
                  const std::shared_ptr<const mail::LookupTable>& users, Loaded* loaded) {
  ByteReader r(frame);
  uint8_t kind = 0;
  if (r.GetU8(&kind) && kind == kTlsFilesRequest) return ServeTlsFiles(r, images, users, loaded);
  if (kind == kDeliverRequest) return EncodeResult(Deliver(r, images, users, loaded));
  return EncodeResult(RecipientResult{450, "4.3.0 malformed request"});
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
[[noreturn]] void HelperMain(int channel, const std::string& images,
                             const std::shared_ptr<const mail::LookupTable>& users, pid_t parent) {
  CloseInherited({channel});
  prctl(PR_SET_PDEATHSIG, SIGTERM);   // and when posternd is killed outright
  if (getppid() != parent) _exit(0);  // it already was
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);  // a terminal's ^C is posternd's to handle; EOF ends us
  std::string frame;
  Loaded loaded;
  while (ReceiveFrame(channel, &frame)) {
    if (!SendFrame(channel, Serve(frame, images, users, &loaded))) break;
  }
  _exit(0);
}

}  // namespace

Result<std::unique_ptr<LocalHelper>> LocalHelper::Start(const std::string& images,
                                                        std::shared_ptr<const mail::LookupTable> users, int channels) {
  if (!users) users = std::make_shared<mail::PasswdTable>();
  std::vector<int> ours, theirs;
  for (int i = 0; i < channels; ++i) {
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
    if (pid == 0) HelperMain(theirs[i], images, users, parent);
    pids.push_back(pid);
  }
  for (int fd : theirs) close(fd);
  return std::unique_ptr<LocalHelper>(new LocalHelper(std::move(pids), std::move(ours)));
}

LocalHelper::LocalHelper(std::vector<pid_t> pids, std::vector<int> channels)
    : pids_(std::move(pids)), free_(channels), all_(std::move(channels)) {}

LocalHelper::~LocalHelper() {
  for (int fd : all_) close(fd);
  for (pid_t pid : pids_) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
}

bool LocalHelper::Exchange(const std::string& request, std::string* answer) {
  int fd = -1;
  {
    std::unique_lock lock(mutex_);
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

RecipientResult LocalHelper::Deliver(const LocalHelperRequest& request) {
  std::string frame;
  if (Exchange(EncodeRequest(request), &frame)) {
    ByteReader r(frame);
    uint32_t code = 0;
    std::string text;
    if (r.GetU32(&code) && r.GetString(&text)) return RecipientResult{static_cast<int>(code), std::move(text)};
  }
  return RecipientResult{450, "4.3.0 the local delivery helper is gone"};
}

Result<std::optional<tls::ServerTlsFiles>> LocalHelper::ReadTlsFiles(const std::string& image_id) {
  ByteWriter w;
  w.PutU8(kTlsFilesRequest);
  w.PutString(image_id);
  std::string frame;
  if (!Exchange(w.Release(), &frame)) return Status::Temporary("the privileged helper is gone");
  ByteReader r(frame);
  uint8_t kind = 0;
  std::string error;
  if (r.GetU8(&kind) && kind == 1) return std::optional<tls::ServerTlsFiles>();
  tls::ServerTlsFiles files;
  if (kind == 2 && r.GetString(&files.cert_path) && r.GetString(&files.key_path) && r.GetString(&files.cert_pem) &&
      r.GetString(&files.key_pem)) {
    return std::optional<tls::ServerTlsFiles>(std::move(files));
  }
  if (kind == 0 && r.GetString(&error)) return Status::Permanent(error);
  return Status::Temporary("malformed answer from the privileged helper");
}

}  // namespace postern::local
