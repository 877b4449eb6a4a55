// queue_manager.cc: see queue_manager.h.
#include "runtime/qmgr/queue_manager.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "mail/address.h"
#include "mail/master_service_support.h"
#include "runtime/delivery/dsn.h"
#include "runtime/delivery/local_delivery.h"
#include "runtime/delivery/smtp_agent.h"
#include "runtime/queue/queue_directory.h"
#include "runtime/queue/queue_file.h"
#include "util/durable_file.h"
#include "util/read_file.h"
#include "util/run_on.h"
#include "util/strings.h"

namespace postern::qmgr {
namespace asio = boost::asio;
using queue::QueuedMessage;
using queue::QueuedRecipient;
using RecipientState = QueuedRecipient::State;

namespace {

// A recipient's route frozen at expansion: "=transport\tnexthop\tdetail",
// or "!code\ttext" for an expansion result that bounces. Policy routes
// ("transport:nexthop") never start with either.
constexpr char kFrozen = '=';
constexpr char kFrozenBounce = '!';

double Now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

// A delay as Postfix logs it: "0", "0.02", "1.3", "12".
std::string Seconds(double s) {
  if (s < 0.005) return "0";
  char buffer[32];
  snprintf(buffer, sizeof buffer, s < 10 ? "%.2f" : "%.0f", s);
  std::string out = buffer;
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

// The enhanced status code a result text starts with ("5.1.1 ..."), if any.
std::string LeadingStatus(std::string_view text) {
  std::string_view word = text.substr(0, text.find(' '));
  if (word.size() >= 5 && (word[0] == '2' || word[0] == '4' || word[0] == '5') && word[1] == '.' &&
      word.find_first_not_of("0123456789.") == std::string_view::npos) {
    return std::string(word);
  }
  return "";
}

bool NotifyWants(const std::string& notify, std::string_view what) {
  if (notify.empty()) return what == "FAILURE" || what == "DELAY";  // RFC 3461's default
  for (const std::string& item : SplitAny(ToUpper(notify), ",")) {
    if (item == what) return true;
  }
  return false;
}

std::string WithoutPrefix(const std::string& original) {
  return StartsWith(ToLower(original), "rfc822;") ? original.substr(7) : original;
}

// Replaces a queue file with `bytes` (durably), unless it is gone: deleted
// or held by an admin meanwhile (NotFound), which is then left alone.
Status RewriteQueueFile(const std::string& directory, const std::string& id, std::string_view bytes) {
  struct stat st;
  if (stat((directory + "/" + id).c_str(), &st) != 0) return Status::NotFound(id);
  return WriteFileDurably(directory, id, bytes, 0600);
}

}  // namespace

namespace {

// An outcome the resolver decided ("5.1.1 unknown user: ..."), with no delivery.
QueueManager::Outcome Decided(int code, const std::string& text) {
  std::string status = LeadingStatus(text);
  if (status.empty()) status = delivery::StatusOf(text, code);
  return QueueManager::Outcome{code, status, LeadingStatus(text).empty() ? text : text.substr(status.size() + 1),
                               "none"};
}

}  // namespace

struct QueueManager::Message {
  QueuedMessage q;
  std::string queue;  // where its file is: incoming or deferred
  std::shared_ptr<const DeliveryContext> context;
  std::vector<std::optional<Outcome>> outcomes;  // per recipient, this pass
  int outstanding = 0;                           // deliveries not finished
  double loaded_at = 0;
  uint64_t rescans = 0;                      // State::rescans when it was loaded
  std::unique_ptr<asio::steady_timer> wake;  // cancelled when outstanding reaches 0
};

struct QueueManager::Job {
  std::shared_ptr<Message> message;
  std::string transport, nexthop;
  std::vector<size_t> recipients;  // indices into message->q.recipients
  std::vector<std::string> details;
};

struct QueueManager::Destination {
  std::deque<Job> jobs;
  int64_t limit = 20;
  int running = 0;
  double suspended_until = 0;
  std::string suspended_why;
};

struct QueueManager::State {
  std::deque<std::string> incoming, deferred;  // ids waiting to be loaded
  std::unordered_set<std::string> known;       // ids waiting or active
  std::unordered_map<std::string, std::shared_ptr<Message>> active;
  std::map<std::string, Destination> destinations;  // "transport\0nexthop"
  int64_t running = 0;
  bool deferred_turn = false;
  bool stopping = false;
  uint64_t rescans = 0;  // Rescan() requests so far
};

QueueManager::QueueManager(std::string root, QueueManagerServices services)
    : root_(std::move(root)), services_(std::move(services)), state_(std::make_unique<State>()) {}

QueueManager::~QueueManager() { Stop(std::chrono::seconds(0)); }

void QueueManager::Log(const std::string& program, const std::string& text) const { LogAs("", program, text); }

void QueueManager::LogAs(const std::string& syslog_name, const std::string& program, const std::string& text) const {
  if (services_.log) services_.log(syslog_name, program, text);
}

QueueManager::Stats QueueManager::stats() const {
  return Stats{delivered_.load(), bounced_.load(), deferred_.load(), removed_.load(), active_.load(), running_.load()};
}

Status QueueManager::Start() {
  // Temporary files of deferral rewrites a crash interrupted (the writer's
  // own temporaries in incoming/ were never acknowledged either).
  for (const char* q : {"/incoming", "/deferred"}) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root_ + q, ec)) {
      if (StartsWith(entry.path().filename().string(), ".tmp-")) unlink(entry.path().c_str());
    }
  }
  scan_timer_ = std::make_unique<asio::steady_timer>(io_);
  asio::co_spawn(io_, ScanLoop(), asio::detached);
  io_thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
  disk_thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(disk_);
    disk_.run();
  });
  started_ = true;
  return Status::Ok();
}

void QueueManager::Arrived(std::vector<std::string> ids) {
  asio::post(io_, [this, ids = std::move(ids)] {
    for (const std::string& id : ids) {
      if (state_->known.insert(id).second) state_->incoming.push_back(id);
    }
    Pump();
  });
}

void QueueManager::Flush() {
  asio::post(io_, [this] {
    for (auto& [key, d] : state_->destinations) d.suspended_until = 0;
    ScanQueues(/*all_deferred=*/true);
    Pump();
  });
}

void QueueManager::Rescan() {
  asio::post(io_, [this] {
    ++state_->rescans;
    ScanQueues(/*all_deferred=*/false);
    Pump();
  });
}

void QueueManager::Stop(std::chrono::seconds grace) {
  if (!started_ || stopped_.exchange(true)) return;
  asio::post(io_, [this] {
    state_->stopping = true;
    scan_timer_->cancel();
  });
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (running_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Work handed to other threads finishes before the coroutines waiting
  // for it are destroyed with io_.
  blocking_.join();
  disk_.stop();  // file writes already started complete: each is one call
  if (disk_thread_.joinable()) disk_thread_.join();
  io_.stop();
  if (io_thread_.joinable()) io_thread_.join();
}

asio::awaitable<void> QueueManager::ScanLoop() {
  ScanQueues(/*all_deferred=*/false);
  Pump();
  while (!state_->stopping) {
    std::shared_ptr<const DeliveryContext> context = services_.context();
    scan_timer_->expires_after(std::chrono::seconds(context->config.queue_run_delay));
    boost::system::error_code ec;
    co_await scan_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state_->stopping) co_return;
    ScanQueues(/*all_deferred=*/false);
    Pump();
  }
}

// Mail nobody announced (recovered after a crash, released from hold,
// requeued) and deferred mail whose time has come.
void QueueManager::ScanQueues(bool all_deferred) {
  auto now = std::filesystem::file_time_type::clock::now();
  for (const char* q : {"incoming", "deferred"}) {
    std::error_code ec;
    std::vector<std::string> found;
    for (const auto& entry : std::filesystem::directory_iterator(root_ + "/" + q, ec)) {
      std::string name = entry.path().filename().string();
      if (name.empty() || name.front() == '.') continue;
      if (std::string_view(q) == "deferred" && !all_deferred) {  // due yet? (mtime is the next attempt)
        std::error_code time_error;
        auto due = std::filesystem::last_write_time(entry.path(), time_error);
        if (time_error || due > now) continue;
      }
      // A file the writer has named but not yet made durable (and may still
      // remove, when its client is told to try again) is not mail yet: the
      // writer announces it once it is.
      if (std::string_view(q) == "incoming" && services_.writer != nullptr && services_.writer->Settling(name)) {
        continue;
      }
      found.push_back(std::move(name));
    }
    std::sort(found.begin(), found.end());  // ids are in arrival order
    for (std::string& id : found) {
      if (!state_->known.insert(id).second) continue;
      (std::string_view(q) == "incoming" ? state_->incoming : state_->deferred).push_back(std::move(id));
    }
  }
}

void QueueManager::Pump() {
  State& s = *state_;
  if (s.stopping) return;
  std::shared_ptr<const DeliveryContext> context = services_.context();
  while (static_cast<int64_t>(s.active.size()) < context->config.active_limit &&
         (!s.incoming.empty() || !s.deferred.empty())) {
    bool from_deferred = (s.deferred_turn && !s.deferred.empty()) || s.incoming.empty();
    s.deferred_turn = !s.deferred_turn;
    std::deque<std::string>& from = from_deferred ? s.deferred : s.incoming;
    std::string id = std::move(from.front());
    from.pop_front();
    std::shared_ptr<Message> message = Load(id, from_deferred ? "deferred" : "incoming");
    if (!message) {
      s.known.erase(id);
      continue;
    }
    s.active[id] = message;
    active_ = s.active.size();
    asio::co_spawn(io_, Process(message), asio::detached);
  }
  Dispatch();
}

std::shared_ptr<QueueManager::Message> QueueManager::Load(const std::string& id, const std::string& queue) {
  std::string path = root_ + "/" + queue + "/" + id;
  Result<std::string> bytes = ReadRegularFile(path);
  if (!bytes.ok()) {
    // Gone (delivered, deleted, held) is nothing to do; an unreadable file
    // is tried again at the next queue scan.
    if (!bytes.status().not_found()) Log("qmgr", "warning: " + id + ": " + bytes.status().message());
    return nullptr;
  }
  Result<QueuedMessage> decoded = queue::DecodeQueueFile(*bytes);
  if (!decoded.ok() || decoded->id != id) {
    std::string why = decoded.ok() ? "its queue id is " + decoded->id : decoded.status().message();
    Status moved = queue::MoveMessage(root_, id, queue, "corrupt");
    Log("qmgr", "warning: " + id + ": corrupt queue file (" + why +
                    "): " + (moved.ok() ? "moved to the corrupt queue" : moved.message()));
    return nullptr;
  }
  auto message = std::make_shared<Message>();
  message->q = std::move(decoded).value();
  message->queue = queue;
  message->context = services_.context();
  message->loaded_at = Now();
  message->rescans = state_->rescans;
  message->wake = std::make_unique<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
  size_t pending = 0;
  for (const QueuedRecipient& r : message->q.recipients)
    pending += r.state == RecipientState::kPending || r.state == RecipientState::kDeferred;
  Log("qmgr", id + ": from=<" + message->q.sender + ">, size=" + std::to_string(message->q.content.size()) +
                  ", nrcpt=" + std::to_string(pending) + " (queue active)");
  return message;
}

asio::awaitable<void> QueueManager::Process(std::shared_ptr<Message> message) {
  State& s = *state_;
  const DeliveryContext& context = *message->context;
  QueuedMessage& q = message->q;

  // 1. Where each pending recipient goes. Expansions replace their
  //    recipient by the final ones, frozen, and the file is rewritten
  //    before any delivery, so what is recorded later is per final address.
  struct Planned {
    size_t index;
    std::string transport, nexthop, detail;
  };
  std::vector<QueuedRecipient> recipients;
  std::vector<Planned> planned;
  std::vector<std::pair<size_t, Outcome>> decided;  // bounced or deferred without delivery
  bool rewrite = false;
  resolve::ResolveOptions options;
  options.smtpd_checks = false;
  options.record_steps = false;
  for (QueuedRecipient& r : q.recipients) {
    size_t index = recipients.size();
    if (r.state == RecipientState::kDelivered || r.state == RecipientState::kBounced) {
      recipients.push_back(std::move(r));
      continue;
    }
    if (!r.route.empty() && r.route.front() == kFrozen) {
      std::vector<std::string> f = SplitFields(r.route.substr(1), '\t');
      f.resize(3);
      planned.push_back({index, f[0], f[1], f[2]});
      recipients.push_back(std::move(r));
      continue;
    }
    if (!r.route.empty() && r.route.front() == kFrozenBounce) {
      std::string rest = r.route.substr(1);
      size_t tab = rest.find('\t');
      long long code = 550;
      ParseDecimal(rest.substr(0, tab), &code);
      std::string text = tab == std::string::npos ? "" : rest.substr(tab + 1);
      decided.push_back({index, Decided(static_cast<int>(code), text)});
      recipients.push_back(std::move(r));
      continue;
    }
    if (!r.route.empty()) {  // the policy's route action: "transport:nexthop"
      size_t colon = r.route.find(':');
      planned.push_back(
          {index, r.route.substr(0, colon), colon == std::string::npos ? "" : r.route.substr(colon + 1), ""});
      recipients.push_back(std::move(r));
      continue;
    }
    resolve::Resolution resolution = context.resolver->Resolve(r.address, options);
    const std::vector<resolve::Delivery>& results = resolution.results;
    auto defer = std::find_if(results.begin(), results.end(),
                              [](const resolve::Delivery& d) { return d.status == resolve::Delivery::Status::kDefer; });
    if (defer != results.end()) {
      // Nothing of it now: the whole recipient is tried again later.
      decided.push_back({index, Decided(defer->code, defer->text)});
      recipients.push_back(std::move(r));
      continue;
    }
    if (results.size() == 1 && results[0].address == r.address) {
      const resolve::Delivery& d = results[0];
      if (d.status == resolve::Delivery::Status::kDeliver) {
        planned.push_back({index, d.transport, d.nexthop, d.detail});
      } else {
        decided.push_back({index, Decided(d.code, d.text)});
      }
      recipients.push_back(std::move(r));
      continue;
    }
    rewrite = true;
    if (results.empty()) {
      r.route = std::string(1, kFrozenBounce) + "550\t5.1.0 the address resolves to no recipient";
      decided.push_back({index, Decided(550, "5.1.0 the address resolves to no recipient")});
      recipients.push_back(std::move(r));
      continue;
    }
    for (const resolve::Delivery& d : results) {
      QueuedRecipient expanded;
      expanded.address = d.address;
      expanded.original = r.original;
      expanded.notify = r.notify;
      size_t at = recipients.size();
      if (d.status == resolve::Delivery::Status::kDeliver) {
        expanded.route = std::string(1, kFrozen) + d.transport + '\t' + d.nexthop + '\t' + d.detail;
        planned.push_back({at, d.transport, d.nexthop, d.detail});
      } else {
        expanded.route = std::string(1, kFrozenBounce) + std::to_string(d.code) + '\t' + d.text;
        decided.push_back({at, Decided(d.code, d.text)});
      }
      recipients.push_back(std::move(expanded));
    }
  }
  q.recipients = std::move(recipients);
  message->outcomes.assign(q.recipients.size(), std::nullopt);
  if (rewrite) {
    std::string directory = root_ + "/" + message->queue;
    std::string bytes = queue::EncodeQueueFile(q);
    Status written = co_await RunOn(disk_, [&] { return RewriteQueueFile(directory, q.id, bytes); });
    if (!written.ok()) {
      if (!written.not_found()) Log("qmgr", "warning: " + q.id + ": " + written.message());
      s.active.erase(q.id);
      s.known.erase(q.id);
      active_ = s.active.size();
      Pump();
      co_return;
    }
  }
  for (auto& [index, outcome] : decided) {
    Job none{message, "", "", {index}, {""}};
    Record(*message, none, 0, outcome);
  }

  // 2. Deliveries per destination.
  std::map<std::pair<std::string, std::string>, std::vector<const Planned*>> groups;
  for (const Planned& p : planned) groups[{p.transport, p.nexthop}].push_back(&p);
  for (auto& [key, members] : groups) {
    auto transport = context.config.transports.find(key.first);
    int64_t limit = transport == context.config.transports.end() ? 1 : transport->second.recipient_limit;
    int64_t concurrency = transport == context.config.transports.end() ? 1 : transport->second.concurrency_limit;
    Destination& d = s.destinations[key.first + '\0' + key.second];
    d.limit = concurrency;
    for (size_t at = 0; at < members.size(); at += static_cast<size_t>(limit)) {
      Job job{message, key.first, key.second, {}, {}};
      for (size_t i = at; i < members.size() && i < at + static_cast<size_t>(limit); ++i) {
        job.recipients.push_back(members[i]->index);
        job.details.push_back(members[i]->detail);
      }
      d.jobs.push_back(std::move(job));
      ++message->outstanding;
    }
  }
  Dispatch();
  while (message->outstanding > 0) {
    boost::system::error_code ec;
    message->wake->expires_at(asio::steady_timer::time_point::max());
    co_await message->wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (s.stopping && message->outstanding > 0 && io_.stopped()) co_return;
  }

  // 3. Notices, then the file's fate.
  co_await Finish(message);
  s.active.erase(q.id);
  s.known.erase(q.id);
  active_ = s.active.size();
  // A rescan while it was active skipped its id; an admin may have
  // requeued or released it meanwhile.
  if (message->rescans != s.rescans) ScanQueues(/*all_deferred=*/false);
  Pump();
}

// Whether the job's transport talks SMTP or LMTP (and so can reuse a connection).
bool QueueManager::Reuses(const Job& job) {
  const auto& transports = job.message->context->config.transports;
  auto t = transports.find(job.transport);
  return t != transports.end() && (t->second.agent == "smtp" || t->second.agent == "lmtp");
}

void QueueManager::Dispatch() {
  State& s = *state_;
  if (s.stopping) return;
  double now = Now();
  std::shared_ptr<const DeliveryContext> context = services_.context();
  for (auto it = s.destinations.begin(); it != s.destinations.end();) {
    Destination& d = it->second;
    while (!d.jobs.empty() && d.running < d.limit && s.running < context->config.process_limit) {
      if (d.suspended_until > now) {
        Job job = std::move(d.jobs.front());
        d.jobs.pop_front();
        Outcome o{450, "4.4.1", "delivery temporarily suspended: " + d.suspended_why, "none"};
        for (size_t i = 0; i < job.recipients.size(); ++i) Record(*job.message, job, i, o);
        if (--job.message->outstanding == 0) job.message->wake->cancel();
        continue;
      }
      // A backlog shares connections (Postfix's connection cache on
      // demand): each free connection slot takes its share of the waiting
      // deliveries, up to kReuseLimit, one after another.
      std::vector<Job> batch;
      batch.push_back(std::move(d.jobs.front()));
      d.jobs.pop_front();
      if (Reuses(batch.front())) {
        size_t share = d.jobs.size() / static_cast<size_t>(std::max<int64_t>(1, d.limit - d.running));
        for (size_t n = std::min(share, kReuseLimit - 1); n > 0 && !d.jobs.empty(); --n) {
          batch.push_back(std::move(d.jobs.front()));
          d.jobs.pop_front();
        }
      }
      ++d.running;
      ++s.running;
      running_ = static_cast<uint64_t>(s.running);
      asio::co_spawn(io_, RunBatch(it->first, std::move(batch)), asio::detached);
    }
    if (d.jobs.empty() && d.running == 0 && d.suspended_until <= now) {
      it = s.destinations.erase(it);
    } else {
      ++it;
    }
  }
}

asio::awaitable<void> QueueManager::RunBatch(std::string key, std::vector<Job> jobs) {
  State& s = *state_;
  std::vector<bool> finished(jobs.size(), false);
  std::optional<bool> dead;  // the first delivery's hosts all failed
  std::string dead_why;
  bool delivered_any = false;
  co_await RunAgent(jobs, [&](size_t index, std::vector<Outcome> outcomes) {
    Job& job = jobs[index];
    for (size_t i = 0; i < job.recipients.size(); ++i) Record(*job.message, job, i, outcomes[i]);
    finished[index] = true;
    if (!dead) {
      dead = !outcomes.empty() &&
             std::all_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.host_failure; });
      if (*dead) dead_why = outcomes.front().text;
    }
    delivered_any = delivered_any ||
                    std::any_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.code / 100 == 2; });
    bool changed = std::any_of(outcomes.begin(), outcomes.end(), [](const Outcome& o) { return o.code / 100 != 4; });
    asio::co_spawn(io_, JobDone(job.message, changed), asio::detached);
  });
  --s.running;
  running_ = static_cast<uint64_t>(s.running);
  auto d = s.destinations.find(key);
  if (d != s.destinations.end()) {
    --d->second.running;
    if (dead && *dead) {
      d->second.suspended_until = Now() + static_cast<double>(jobs.front().message->context->config.minimal_backoff);
      d->second.suspended_why = dead_why;
    } else if (delivered_any) {
      d->second.suspended_until = 0;
    }
    // Deliveries a lost connection never reached wait for the next one.
    for (size_t i = jobs.size(); i-- > 0;) {
      if (!finished[i]) d->second.jobs.push_front(std::move(jobs[i]));
    }
  }
  Dispatch();
}

// One delivery of `message` is over: when more are to come, what it did is
// written to the file first, so a restart does not deliver it again.
asio::awaitable<void> QueueManager::JobDone(std::shared_ptr<Message> message, bool changed) {
  if (message->outstanding > 1 && changed) {
    std::string directory = root_ + "/" + message->queue;
    std::string bytes = queue::EncodeQueueFile(message->q);
    std::string id = message->q.id;
    Status written = co_await RunOn(disk_, [&] { return RewriteQueueFile(directory, id, bytes); });
    if (!written.ok() && !written.not_found()) Log("qmgr", "warning: " + id + ": " + written.message());
  }
  if (--message->outstanding == 0) message->wake->cancel();
}

// Every agent but smtp and lmtp: one delivery, outcomes per recipient.
asio::awaitable<std::vector<QueueManager::Outcome>> QueueManager::RunSimpleAgent(const Job& job) {
  const Message& message = *job.message;
  const DeliveryConfig& config = message.context->config;
  const QueuedMessage& q = message.q;
  size_t n = job.recipients.size();
  auto all = [n](Outcome o) { return std::vector<Outcome>(n, o); };
  auto transport = config.transports.find(job.transport);
  if (transport == config.transports.end()) {
    co_return all(
        Outcome{450, "4.3.0", "mail transport unavailable: no master.cf service \"" + job.transport + "\"", "none"});
  }
  const TransportConfig& t = transport->second;
  auto unavailable = [&] {
    return all(Outcome{450, "4.3.0", "mail transport unavailable: the " + t.agent + " agent is not supported", "none"});
  };
  if (!mail::IsImplementedAgent(t.agent)) co_return unavailable();  // pipe, virtual: postern check says so (PC0136)
  if (t.agent == "discard") {
    co_return all(Outcome{250, "2.0.0", job.nexthop.empty() ? "discarded" : job.nexthop, "none"});
  }
  // error(8) defers instead of bouncing when it serves a service named "retry".
  bool retry = t.agent == "retry" || (t.agent == "error" && job.transport == "retry");
  if (t.agent == "error" && !retry) {
    co_return all(Decided(550, job.nexthop.empty() ? "delivery refused" : job.nexthop));
  }
  if (retry) {
    co_return all(Decided(450, job.nexthop.empty() ? "delivery temporarily suspended" : job.nexthop));
  }
  if (t.agent == "local") {
    std::vector<Outcome> out;
    for (size_t i = 0; i < n; ++i) {
      const QueuedRecipient& r = q.recipients[job.recipients[i]];
      delivery::RecipientResult result;
      local::LocalHelper* helper = services_.local_helper;
      if (helper != nullptr) {
        // The helper decides from the image itself (local_authority.h).
        local::LocalHelperRequest request;
        request.image_id = job.message->context->resolver->image().id();
        request.transport = job.transport;
        request.queue_id = q.id;
        request.sender = q.sender;
        request.recipient = r.address;
        request.original_recipient = WithoutPrefix(r.original);
        request.delivery = job.details[i];
        request.content = q.content;
        request.now = static_cast<int64_t>(Now());
        result = co_await RunOn(blocking_, [&] { return helper->Deliver(request); });
      } else {
        // Not root: every delivery runs with posternd's own privileges.
        delivery::LocalRequest request;
        request.queue_id = q.id;
        request.sender = q.sender;
        request.recipient = r.address;
        request.original_recipient = WithoutPrefix(r.original);
        std::string local = ToLower(mail::SplitAddress(r.address).local);
        auto extension = mail::SplitExtension(local, config.recipient_delimiter);
        request.user = extension ? extension->base : local;
        request.detail = job.details[i];
        request.content = q.content;
        request.hostname = config.hostname;
        request.now = static_cast<int64_t>(Now());
        request.command_time_limit = config.command_time_limit;
        request.mailbox_size_limit = config.mailbox_size_limit;
        result = co_await RunOn(blocking_, [&] { return delivery::DeliverLocally(request); });
      }
      std::string status = LeadingStatus(result.text);
      std::string text = status.empty() ? result.text : result.text.substr(status.size() + 1);
      out.push_back(Outcome{result.code, status.empty() ? delivery::StatusOf(result.text, result.code) : status,
                            std::move(text), "local"});
    }
    co_return out;
  }
  co_return unavailable();  // smtp and lmtp are delivered by RunAgent
}

asio::awaitable<void> QueueManager::RunAgent(const std::vector<Job>& jobs, const Finished& finished) {
  if (!Reuses(jobs.front())) {
    finished(0, co_await RunSimpleAgent(jobs.front()));
    co_return;
  }
  const Job& first = jobs.front();
  const DeliveryConfig& config = first.message->context->config;
  const TransportConfig& t = config.transports.find(first.transport)->second;
  bool lmtp = t.agent == "lmtp";
  Result<delivery::Nexthop> nexthop = delivery::ParseNexthop(first.nexthop, lmtp);
  if (!nexthop.ok()) {
    for (size_t i = 0; i < jobs.size(); ++i) {
      finished(i, std::vector<Outcome>(jobs[i].recipients.size(),
                                       Outcome{450, "4.3.5", nexthop.status().message(), "none"}));
    }
    co_return;
  }
  // With sender-dependent authentication a connection carries one
  // sender's mail (the rest waits for the next connection).
  size_t count = jobs.size();
  if (t.sasl && t.sender_dependent_authentication) {
    count = 1;
    while (count < jobs.size() && jobs[count].message->q.sender == first.message->q.sender) ++count;
  }
  std::vector<delivery::OutboundMessage> outbound(count);
  std::vector<const delivery::OutboundMessage*> pointers;
  for (size_t j = 0; j < count; ++j) {
    const QueuedMessage& q = jobs[j].message->q;
    delivery::OutboundMessage& m = outbound[j];
    m.sender = q.sender;
    m.ret = q.ret;
    m.envid = q.envid;
    m.smtputf8 = q.smtputf8;
    m.eight_bit = q.body_type == "8BITMIME" || q.body_type == "BINARYMIME";
    m.content = q.content;
    for (size_t index : jobs[j].recipients) {
      const QueuedRecipient& r = q.recipients[index];
      m.recipients.push_back({r.address, r.notify, r.original});
    }
    pointers.push_back(&m);
  }
  delivery::SmtpAgentOptions options;
  options.client.helo_name = config.helo_name;
  options.client.lmtp = lmtp;
  options.client.tls = t.tls;
  options.timeouts.connect = std::chrono::seconds(t.connect_timeout);
  options.timeouts.command = std::chrono::seconds(t.command_timeout);
  options.address_limit = static_cast<size_t>(t.address_limit);
  const DeliveryContext& context = *first.message->context;
  if (t.sasl) {
    options.sasl = *t.sasl;
    options.sasl->credentials = [&context, &first, &t](const std::string& host) {
      return context.SaslCredentialsFor(first.message->q.sender, t.sender_dependent_authentication, host,
                                        first.nexthop);
    };
  }
  dns::DnsResolver* dns = services_.dns;
  delivery::HostLookup lookup =
      [this, dns](const delivery::Nexthop& next) -> asio::awaitable<Result<std::vector<delivery::TargetHost>>> {
    boost::system::error_code ec;
    asio::ip::make_address(next.name, ec);
    if (!ec) co_return std::vector<delivery::TargetHost>{{next.name, {next.name}}};
    if (dns == nullptr) co_return Status::Temporary("no DNS resolver");
    std::string name = next.name;
    if (next.kind == delivery::Nexthop::Kind::kDomain) {
      Result<std::vector<dns::MailExchanger>> mx = co_await RunOn(blocking_, [&] { return dns->LookupMx(name); });
      if (!mx.ok()) co_return mx.status();
      std::vector<delivery::TargetHost> hosts;
      for (dns::MailExchanger& m : mx.value()) hosts.push_back({std::move(m.host), std::move(m.addresses)});
      co_return hosts;
    }
    Result<std::vector<std::string>> addresses = co_await RunOn(blocking_, [&] { return dns->LookupAddresses(name); });
    if (!addresses.ok()) co_return addresses.status();
    co_return std::vector<delivery::TargetHost>{{name, std::move(addresses).value()}};
  };
  co_await delivery::DeliverViaSmtp(*nexthop, options, std::span<const delivery::OutboundMessage* const>(pointers),
                                    first.message->context->TlsFor(t.tls), lookup,
                                    [&](size_t j, delivery::AgentOutcome result) {
                                      std::vector<Outcome> out;
                                      for (const delivery::RecipientResult& r : result.results) {
                                        Outcome o;
                                        o.code = r.code;
                                        o.relay = result.relay;
                                        o.host_failure = r.host_failure;
                                        o.status = LeadingStatus(r.text);
                                        o.text = o.status.empty() ? r.text : r.text.substr(o.status.size() + 1);
                                        if (o.status.empty()) {
                                          bool said = o.text.find(" said: ") != std::string::npos;
                                          o.code_for_dsn = said ? r.code : 0;
                                          o.status = said ? delivery::StatusOf(o.text, r.code)
                                                     : StartsWith(o.text, "lost connection") ? "4.4.2"
                                                     : r.host_failure                        ? "4.4.1"
                                                                      : delivery::StatusOf(o.text, r.code);
                                        }
                                        out.push_back(std::move(o));
                                      }
                                      finished(j, std::move(out));
                                    });
}

// Applies one recipient's outcome to the message and logs it as the agent would.
void QueueManager::Record(Message& message, const Job& job, size_t i, const Outcome& outcome) {
  size_t index = job.recipients[i];
  QueuedRecipient& r = message.q.recipients[index];
  r.attempts++;
  r.last_reply = outcome.status + " " + outcome.text;
  const char* status = "deferred";
  if (outcome.code / 100 == 2) {
    r.state = RecipientState::kDelivered;
    status = "sent";
    delivered_++;
  } else if (outcome.code / 100 == 5) {
    r.state = RecipientState::kBounced;
    status = "bounced";
    bounced_++;
  } else {
    r.state = RecipientState::kDeferred;
    deferred_++;
  }
  message.outcomes[index] = outcome;
  double now = Now();
  std::string text = outcome.text;
  if (outcome.code / 100 == 2) {  // the server's own reply, as smtp(8) logs it
    size_t said = text.find(" said: ");
    if (said != std::string::npos) {
      text = text.substr(said + 7);
      size_t in_reply = text.rfind(" (in reply to ");
      if (in_reply != std::string::npos) text.resize(in_reply);
    }
  }
  std::string original = WithoutPrefix(r.original);
  std::string line = message.q.id + ": to=<" + r.address + ">";
  if (!original.empty() && !EqualsIgnoreCase(original, r.address)) line += ", orig_to=<" + original + ">";
  line += ", relay=" + (outcome.relay.empty() ? std::string("none") : outcome.relay);
  line += ", delay=" + Seconds(now - static_cast<double>(message.q.arrival_time));
  line += ", delays=" + Seconds(message.loaded_at - static_cast<double>(message.q.arrival_time)) + "/" +
          Seconds(now - message.loaded_at) + "/0/0";
  line += ", dsn=" + outcome.status + ", status=" + status + " (" + text + ")";
  // Postfix names the line after the delivery agent's program (smtp for a
  // relay service too), and after qmgr when no agent ran.
  // (syslog_name: the transport's, for a service with -o syslog_name.)
  std::string program = "qmgr", syslog_name;
  if (auto t = message.context->config.transports.find(job.transport);
      !job.transport.empty() && t != message.context->config.transports.end()) {
    program = t->second.agent;
    syslog_name = t->second.syslog_name;
  }
  LogAs(syslog_name, program, line);
}

asio::awaitable<bool> QueueManager::QueueNotice(const Message& message, int kind, const std::vector<size_t>& which) {
  const DeliveryConfig& config = message.context->config;
  const QueuedMessage& q = message.q;
  bool double_bounce = q.sender.empty();
  std::vector<delivery::DsnRecipient> recipients;
  for (size_t index : which) {
    const QueuedRecipient& r = q.recipients[index];
    delivery::DsnRecipient d;
    d.address = r.address;
    d.original = r.original;
    const Outcome* o = message.outcomes[index] ? &*message.outcomes[index] : nullptr;
    d.status = o ? o->status : LeadingStatus(r.last_reply);
    d.reply = o ? o->text : r.last_reply.substr(std::min(r.last_reply.size(), d.status.size() + 1));
    d.code = o ? o->code_for_dsn : 0;
    if (o && o->relay != "none" && o->relay != "local") d.remote_mta = o->relay.substr(0, o->relay.find('['));
    recipients.push_back(std::move(d));
  }
  QueuedMessage notice;
  notice.id = services_.new_queue_id();
  notice.arrival_time = static_cast<int64_t>(Now());
  notice.image_id = message.context->image->id();
  std::string to = q.sender;
  if (double_bounce) {
    to = config.double_bounce_recipient.find('@') == std::string::npos
             ? config.double_bounce_recipient + "@" + config.myorigin
             : config.double_bounce_recipient;
    notice.sender = "double-bounce@" + config.myorigin;
  }
  delivery::DsnOptions options;
  options.hostname = config.hostname;
  options.queue_id = notice.id;
  options.now = notice.arrival_time;
  options.size_limit = config.bounce_size_limit;
  QueuedMessage addressed = q;
  addressed.sender = to;  // the notice's To:
  notice.content = delivery::MakeDsn(addressed, static_cast<delivery::DsnKind>(kind), recipients, options);
  notice.body_type = std::any_of(notice.content.begin(), notice.content.end(),
                                 [](char c) { return static_cast<unsigned char>(c) >= 0x80; })
                         ? "8BITMIME"
                         : "7BIT";
  notice.recipients.push_back(QueuedRecipient{to, "rfc822;" + to, "", "", RecipientState::kPending, 0, ""});

  CrossThreadSignal stored(io_.get_executor());
  queue::StoreOutcome outcome = queue::StoreOutcome::kFailed;
  std::string error;
  services_.writer->Submit(notice.id, false, queue::EncodeQueueFile(notice),
                           [&](queue::StoreOutcome o, const std::string& e) {
                             outcome = o;
                             error = e;
                             stored.Notify();
                           });
  co_await stored.Wait();
  if (outcome != queue::StoreOutcome::kStored) {
    Log("bounce", "warning: " + q.id + ": cannot queue a notification: " + error);
    co_return false;
  }
  const char* what = kind == static_cast<int>(delivery::DsnKind::kFailure) ? "non-delivery"
                     : kind == static_cast<int>(delivery::DsnKind::kDelay) ? "delay"
                                                                           : "delivery status";
  Log("bounce", q.id + ": " + (double_bounce ? std::string("postmaster") : std::string("sender")) + " " + what +
                    " notification: " + notice.id);
  co_return true;
}

asio::awaitable<void> QueueManager::Finish(std::shared_ptr<Message> message) {
  const DeliveryConfig& config = message->context->config;
  QueuedMessage& q = message->q;
  double now = Now();
  double age = now - static_cast<double>(q.arrival_time);
  std::vector<size_t> failed, succeeded, deferred;
  for (size_t i = 0; i < q.recipients.size(); ++i) {
    if (q.recipients[i].state == RecipientState::kDeferred) deferred.push_back(i);
  }
  int64_t lifetime = q.sender.empty() ? config.bounce_queue_lifetime : config.maximal_queue_lifetime;
  if (!deferred.empty() && age >= static_cast<double>(lifetime)) {
    for (size_t i : deferred) {
      QueuedRecipient& r = q.recipients[i];
      r.state = RecipientState::kBounced;
      if (!message->outcomes[i]) message->outcomes[i] = Decided(450, r.last_reply);
    }
    Log("qmgr", q.id + ": from=<" + q.sender + ">, status=expired, returned to sender");
    deferred.clear();
  }
  for (size_t i = 0; i < q.recipients.size(); ++i) {
    const QueuedRecipient& r = q.recipients[i];
    if (!message->outcomes[i]) continue;  // decided in an earlier pass
    if (r.state == RecipientState::kBounced && NotifyWants(r.notify, "FAILURE")) failed.push_back(i);
    if (r.state == RecipientState::kDelivered && !r.notify.empty() && NotifyWants(r.notify, "SUCCESS"))
      succeeded.push_back(i);
  }
  bool notices_ok = true;
  if (!failed.empty()) {
    bool from_double_bounce = StartsWith(ToLower(q.sender), "double-bounce@");
    if (from_double_bounce || (q.sender.empty() && !config.notify_2bounce)) {
      Log("bounce", q.id + ": undeliverable " + (q.sender.empty() ? "bounce" : "postmaster notice") + " discarded");
    } else {
      notices_ok = co_await QueueNotice(*message, static_cast<int>(delivery::DsnKind::kFailure), failed);
    }
  }
  if (notices_ok && !succeeded.empty() && !q.sender.empty()) {
    notices_ok = co_await QueueNotice(*message, static_cast<int>(delivery::DsnKind::kSuccess), succeeded);
  }
  // Still deferred after delay_warning_time: one warning per message, for
  // the recipients whose NOTIFY allows it (RFC 3461: by default).
  if (notices_ok && !deferred.empty() && !q.delay_warned && !q.sender.empty() && config.delay_warning_time > 0 &&
      age >= static_cast<double>(config.delay_warning_time)) {
    std::vector<size_t> delayed;
    for (size_t i : deferred) {
      if (NotifyWants(q.recipients[i].notify, "DELAY")) delayed.push_back(i);
    }
    if (!delayed.empty() && co_await QueueNotice(*message, static_cast<int>(delivery::DsnKind::kDelay), delayed)) {
      q.delay_warned = true;
    }
  }
  if (!notices_ok) {
    // The sender must hear of it: the bounced recipients are tried again
    // (and bounce again) at the next attempt, when a notice can be stored.
    for (size_t i : failed) q.recipients[i].state = RecipientState::kDeferred;
    deferred.insert(deferred.end(), failed.begin(), failed.end());
  }

  std::string id = q.id;
  std::string from = root_ + "/" + message->queue;
  if (deferred.empty()) {
    Status removed = co_await RunOn(disk_, [&] {
      if (unlink((from + "/" + id).c_str()) != 0 && errno != ENOENT) {
        return Status::Temporary("remove " + from + "/" + id + ": " + std::strerror(errno));
      }
      return Status::Ok();
    });
    if (!removed.ok()) {  // it stays, and is found again at the next queue run
      Log("qmgr", "warning: " + id + ": " + removed.message());
      co_return;
    }
    removed_++;
    Log("qmgr", id + ": removed");
    co_return;
  }
  // Next attempt: after as long again as the message has waited, within
  // minimal_backoff_time..maximal_backoff_time.
  double delay =
      std::clamp(age, static_cast<double>(config.minimal_backoff), static_cast<double>(config.maximal_backoff));
  auto next = static_cast<time_t>(std::ceil(now + delay));
  std::string bytes = queue::EncodeQueueFile(q);
  std::string to = root_ + "/deferred";
  Status moved = co_await RunOn(disk_, [&] {
    Status s = RewriteQueueFile(from, id, bytes);
    if (!s.ok()) return s;
    struct timespec times[2] = {{next, 0}, {next, 0}};
    if (utimensat(AT_FDCWD, (from + "/" + id).c_str(), times, 0) != 0) {
      return Status::Temporary("utimensat " + from + "/" + id + ": " + std::strerror(errno));
    }
    if (from == to) return Status::Ok();
    return queue::MoveMessage(root_, id, message->queue, "deferred");
  });
  if (!moved.ok() && !moved.not_found()) {  // it stays where it was, tried again at the next queue run
    Log("qmgr", "warning: " + id + ": " + moved.message());
  }
}

}  // namespace postern::qmgr
