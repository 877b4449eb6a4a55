// async_resolver.cc: see async_resolver.h.
#include "runtime/dns/async_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "util/strings.h"

namespace postern::dns {
namespace asio = boost::asio;
namespace {

using Clock = std::chrono::steady_clock;
constexpr uint32_t kMaximumTtl = 3600;  // seconds an answer is kept at most
constexpr uint32_t kTemporaryTtl = 0;   // failures are not kept
constexpr size_t kCacheLimit = 20000;   // entries before the expired ones are swept

int TypeCode(RecordType type) {
  switch (type) {
    case RecordType::kA:
      return ns_t_a;
    case RecordType::kAaaa:
      return ns_t_aaaa;
    case RecordType::kMx:
      return ns_t_mx;
    case RecordType::kTxt:
      return ns_t_txt;
    case RecordType::kNs:
      return ns_t_ns;
  }
  return ns_t_a;
}

// The wire format, as far as the TTLs go (RFC 1035 4.1).
class WireReader {
 public:
  WireReader(const unsigned char* data, int length) : data_(data), length_(static_cast<size_t>(length)) {}

  uint32_t U16() {
    if (at_ + 2 > length_) return Fail();
    uint32_t v = (uint32_t{data_[at_]} << 8) | data_[at_ + 1];
    at_ += 2;
    return v;
  }
  uint32_t U32() { return (U16() << 16) | U16(); }
  void Skip(size_t n) { at_ = at_ + n > length_ ? Fail() : at_ + n; }
  void SkipName() {
    while (ok_ && at_ < length_) {
      unsigned char label = data_[at_];
      if (label == 0) {
        ++at_;
        return;
      }
      if ((label & 0xc0) == 0xc0) {
        Skip(2);
        return;
      }
      Skip(size_t{label} + 1);
    }
    Fail();
  }
  size_t at() const { return at_; }
  bool ok() const { return ok_; }

 private:
  uint32_t Fail() {
    ok_ = false;
    at_ = length_;
    return 0;
  }
  const unsigned char* data_;
  size_t length_;
  size_t at_ = 0;
  bool ok_ = true;
};

// How long an answer may be kept: the smallest TTL of its answer records,
// or for a negative answer the SOA's (the smaller of its TTL and minimum).
uint32_t CacheTtl(const unsigned char* data, int length, bool negative) {
  if (data == nullptr || length < 12) return 0;
  WireReader r(data, length);
  r.Skip(4);
  uint32_t questions = r.U16(), answers = r.U16(), authorities = r.U16();
  r.Skip(2);
  for (uint32_t i = 0; i < questions && r.ok(); ++i) {
    r.SkipName();
    r.Skip(4);
  }
  uint32_t ttl = kMaximumTtl;
  if (!negative) {
    for (uint32_t i = 0; i < answers && r.ok(); ++i) {
      r.SkipName();
      r.Skip(4);
      ttl = std::min(ttl, r.U32());
      r.Skip(r.U16());
    }
    return r.ok() ? ttl : 0;
  }
  for (uint32_t i = 0; i < answers && r.ok(); ++i) {
    r.SkipName();
    r.Skip(8);
    r.Skip(r.U16());
  }
  for (uint32_t i = 0; i < authorities && r.ok(); ++i) {
    r.SkipName();
    uint32_t type = r.U16();
    r.Skip(2);
    uint32_t record_ttl = r.U32();
    uint32_t size = r.U16();
    size_t end = r.at() + size;
    if (type == ns_t_soa) {
      r.SkipName();  // MNAME
      r.SkipName();  // RNAME
      r.Skip(16);    // serial, refresh, retry, expire
      uint32_t minimum = r.U32();
      return r.ok() ? std::min({ttl, record_ttl, minimum}) : 0;
    }
    r.Skip(end - r.at());
  }
  return 0;  // no SOA: not kept
}

std::string Address(int family, const void* bytes) {
  char text[INET6_ADDRSTRLEN] = {};
  return inet_ntop(family, bytes, text, sizeof text) != nullptr ? std::string(text) : std::string();
}

// The records of a successful answer, or an error status of c-ares.
int ParseValues(RecordType type, const unsigned char* data, int length, DnsReply* answer) {
  std::vector<std::string>* out = &answer->values;
  switch (type) {
    case RecordType::kA: {
      struct hostent* host = nullptr;
      int rc = ares_parse_a_reply(data, length, &host, nullptr, nullptr);
      if (rc != ARES_SUCCESS) return rc;
      for (char** a = host->h_addr_list; *a != nullptr; ++a) out->push_back(Address(AF_INET, *a));
      ares_free_hostent(host);
      return ARES_SUCCESS;
    }
    case RecordType::kAaaa: {
      struct hostent* host = nullptr;
      int rc = ares_parse_aaaa_reply(data, length, &host, nullptr, nullptr);
      if (rc != ARES_SUCCESS) return rc;
      for (char** a = host->h_addr_list; *a != nullptr; ++a) out->push_back(Address(AF_INET6, *a));
      ares_free_hostent(host);
      return ARES_SUCCESS;
    }
    case RecordType::kMx: {
      struct ares_mx_reply* reply = nullptr;
      int rc = ares_parse_mx_reply(data, length, &reply);
      if (rc != ARES_SUCCESS) return rc;
      std::vector<std::pair<int, std::string>> records;
      for (struct ares_mx_reply* m = reply; m != nullptr; m = m->next) {
        std::string host = m->host;
        records.emplace_back(m->priority, host.empty() ? "." : host);
      }
      ares_free_data(reply);
      std::stable_sort(records.begin(), records.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (auto& [preference, host] : records) {
        out->push_back(std::move(host));
        answer->preferences.push_back(preference);
      }
      return ARES_SUCCESS;
    }
    case RecordType::kNs: {
      struct hostent* host = nullptr;
      int rc = ares_parse_ns_reply(data, length, &host);
      if (rc != ARES_SUCCESS) return rc;
      for (char** name = host->h_aliases; name != nullptr && *name != nullptr; ++name) out->push_back(*name);
      ares_free_hostent(host);
      return ARES_SUCCESS;
    }
    case RecordType::kTxt: {
      struct ares_txt_ext* reply = nullptr;
      int rc = ares_parse_txt_reply_ext(data, length, &reply);
      if (rc != ARES_SUCCESS) return rc;
      for (struct ares_txt_ext* t = reply; t != nullptr; t = t->next) {
        std::string text(reinterpret_cast<const char*>(t->txt), t->length);
        if (t->record_start || out->empty()) {
          out->push_back(std::move(text));
        } else {
          out->back() += text;
        }
      }
      ares_free_data(reply);
      return ARES_SUCCESS;
    }
  }
  return ARES_EBADRESP;
}

}  // namespace

struct AsyncResolver::State {
  struct Key {
    RecordType type;
    std::string name;
    bool operator<(const Key& o) const { return std::tie(type, name) < std::tie(o.type, o.name); }
  };
  struct Cached {
    Clock::time_point expires;
    DnsReply reply;
  };
  struct Request {
    Key key;
    Callback done;
  };
  struct InFlight {
    State* state;
    Key key;
  };

  ares_channel channel = nullptr;
  int wakeup = -1;     // eventfd
  std::thread thread;  // started by the first question (after a daemon's forks)
  std::once_flag started;
  // Shared with the callers: the questions waiting to be sent, and stop.
  std::mutex mutex;
  std::deque<Request> requests;
  bool stopping = false;
  // The resolver thread's own.
  std::map<Key, Cached> cache;
  std::map<Key, std::vector<Callback>> waiting;

  ~State() {
    if (channel != nullptr) ares_destroy(channel);  // answers what is in flight with ARES_EDESTRUCTION
    if (wakeup >= 0) close(wakeup);
  }

  void Wake() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wakeup, &one, sizeof one);
  }

  void Run() {
    while (true) {
      std::deque<Request> batch;
      {
        std::lock_guard lock(mutex);
        if (stopping) return;
        batch.swap(requests);
      }
      for (Request& r : batch) Start(std::move(r));
      Poll();
    }
  }

  void Start(Request r) {
    auto cached = cache.find(r.key);
    if (cached != cache.end()) {
      if (cached->second.expires > Clock::now()) return r.done(cached->second.reply);
      cache.erase(cached);
    }
    auto [it, first] = waiting.try_emplace(r.key);
    it->second.push_back(std::move(r.done));
    if (!first) return;  // the same question is already asked
    auto* context = new InFlight{this, r.key};
    ares_query(channel, r.key.name.c_str(), ns_c_in, TypeCode(r.key.type), &State::Answered, context);
  }

  static void Answered(void* arg, int status, int /*timeouts*/, unsigned char* data, int length) {
    std::unique_ptr<InFlight> context(static_cast<InFlight*>(arg));
    State& s = *context->state;
    DnsReply reply;
    uint32_t ttl = kTemporaryTtl;
    if (status == ARES_SUCCESS) {
      status = ParseValues(context->key.type, data, length, &reply);
      if (status == ARES_SUCCESS && reply.values.empty()) status = ARES_ENODATA;
    }
    if (status == ARES_SUCCESS) {
      reply.status = DnsReply::Status::kFound;
      ttl = CacheTtl(data, length, false);
    } else if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
      reply.status = DnsReply::Status::kNotFound;
      reply.values.clear();
      ttl = CacheTtl(data, length, true);
    } else {
      reply.status = DnsReply::Status::kTemporary;
      reply.values.clear();
      reply.error = ares_strerror(status);
    }
    if (status != ARES_EDESTRUCTION && ttl > 0) {
      if (s.cache.size() >= kCacheLimit) s.Sweep();
      s.cache[context->key] = Cached{Clock::now() + std::chrono::seconds(ttl), reply};
    }
    auto waiting = s.waiting.find(context->key);
    if (waiting == s.waiting.end()) return;
    std::vector<Callback> callbacks = std::move(waiting->second);
    s.waiting.erase(waiting);
    for (Callback& done : callbacks) done(reply);
  }

  void Sweep() {
    Clock::time_point now = Clock::now();
    std::erase_if(cache, [now](const auto& entry) { return entry.second.expires <= now; });
    if (cache.size() >= kCacheLimit) cache.clear();
  }

  // One round of waiting: the c-ares sockets, the wakeup, the next timeout.
  void Poll() {
    ares_socket_t sockets[ARES_GETSOCK_MAXNUM];
    int mask = ares_getsock(channel, sockets, ARES_GETSOCK_MAXNUM);
    std::vector<struct pollfd> fds{pollfd{wakeup, POLLIN, 0}};
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = 0;
      if (ARES_GETSOCK_READABLE(mask, i)) events |= POLLIN;
      if (ARES_GETSOCK_WRITABLE(mask, i)) events |= POLLOUT;
      if (events != 0) fds.push_back(pollfd{sockets[i], events, 0});
    }
    struct timeval limit {
      1, 0
    }, tv;
    struct timeval* t = ares_timeout(channel, &limit, &tv);
    poll(fds.data(), fds.size(), static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000));
    if (fds[0].revents & POLLIN) {
      uint64_t count = 0;
      [[maybe_unused]] ssize_t n = read(wakeup, &count, sizeof count);
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      const struct pollfd& p = fds[i];
      ares_process_fd(channel, (p.revents & (POLLIN | POLLERR | POLLHUP)) ? p.fd : ARES_SOCKET_BAD,
                      (p.revents & POLLOUT) ? p.fd : ARES_SOCKET_BAD);
    }
    ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
  }
};

AsyncResolver::AsyncResolver(std::unique_ptr<State> state) : state_(std::move(state)) {}

AsyncResolver::~AsyncResolver() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
  }
  state_->Wake();
  if (state_->thread.joinable()) state_->thread.join();
  // What was never sent, and what is in flight (ares_destroy in ~State).
  for (State::Request& r : state_->requests) r.done(DnsReply{DnsReply::Status::kTemporary, {}, {}, "shutting down"});
  state_->requests.clear();
}

Result<std::unique_ptr<AsyncResolver>> AsyncResolver::Create(const ResolverOptions& options) {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  auto state = std::make_unique<State>();
  struct ares_options o {};
  o.timeout = static_cast<int>(options.timeout.count());
  o.tries = options.tries;
  int rc = ares_init_options(&state->channel, &o, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) return Status::Temporary(std::string("c-ares: ") + ares_strerror(rc));
  if (!options.servers.empty()) {
    rc = ares_set_servers_ports_csv(state->channel, options.servers.c_str());
    if (rc != ARES_SUCCESS) return Status::Permanent("DNS servers \"" + options.servers + "\": " + ares_strerror(rc));
  }
  state->wakeup = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (state->wakeup < 0) return Status::Temporary("eventfd: " + std::string(strerror(errno)));
  return std::unique_ptr<AsyncResolver>(new AsyncResolver(std::move(state)));
}

void AsyncResolver::Query(std::string name, RecordType type, Callback done) {
  {
    std::lock_guard lock(state_->mutex);
    if (state_->stopping) return done(DnsReply{DnsReply::Status::kTemporary, {}, {}, "shutting down"});
    state_->requests.push_back(State::Request{State::Key{type, ToLower(name)}, std::move(done)});
  }
  std::call_once(state_->started, [s = state_.get()] { s->thread = std::thread([s] { s->Run(); }); });
  state_->Wake();
}

asio::awaitable<DnsReply> AsyncQuery(AsyncResolver& resolver, std::string name, RecordType type) {
  auto executor = co_await asio::this_coro::executor;
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(DnsReply)>(
      [&resolver, executor](auto handler, std::string question, RecordType kind) {
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        resolver.Query(std::move(question), kind, [shared, executor](DnsReply reply) {
          asio::post(executor, [shared, reply = std::move(reply)]() mutable { (*shared)(std::move(reply)); });
        });
      },
      asio::use_awaitable, std::move(name), type);
}

asio::awaitable<std::vector<DnsReply>> AsyncQueryAll(AsyncResolver& resolver,
                                                     std::vector<std::pair<std::string, RecordType>> questions) {
  auto executor = co_await asio::this_coro::executor;
  // Shared by the queries' coroutines, all on this executor; the last
  // reply wakes this one (the timer never fires by itself).
  struct Gathered {
    Gathered(asio::any_io_executor e, size_t n)
        : replies(n), remaining(n), done(e, asio::steady_timer::time_point::max()) {}
    std::vector<DnsReply> replies;
    size_t remaining;
    asio::steady_timer done;
  };
  auto gathered = std::make_shared<Gathered>(executor, questions.size());
  for (size_t i = 0; i < questions.size(); ++i) {
    asio::co_spawn(
        executor,
        [&resolver, gathered, i, question = std::move(questions[i])]() -> asio::awaitable<void> {
          gathered->replies[i] = co_await AsyncQuery(resolver, question.first, question.second);
          if (--gathered->remaining == 0) gathered->done.cancel();
        },
        asio::detached);
  }
  while (gathered->remaining > 0) {
    boost::system::error_code ignored;
    co_await gathered->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return std::move(gathered->replies);
}

}  // namespace postern::dns
