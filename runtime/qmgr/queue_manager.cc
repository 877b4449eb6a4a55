// queue_manager.cc: see queue_manager.h.
#include "runtime/qmgr/queue_manager.h"

#include <sys/resource.h>

#include <cmath>
#include <deque>
#include <filesystem>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "runtime/delivery/dsn.h"
#include "runtime/qmgr/delivery_log.h"
#include "runtime/qmgr/notices.h"
#include "runtime/qmgr/route_planner.h"
#include "runtime/queue/active_queue_file.h"
#include "runtime/queue/queue_directory.h"
#include "runtime/queue/queue_file.h"
#include "util/run_on.h"
#include "util/strings.h"

namespace postern::qmgr {
namespace asio = boost::asio;
using mail::DeliveryStatus;
using queue::QueuedMessage;
using queue::QueuedRecipient;
using RecipientState = QueuedRecipient::State;

namespace {

// Seconds since the epoch.
double Now() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

}  // namespace

struct QueueManager::Message {
  QueuedMessage q;
  std::optional<queue::ActiveQueueFile> file;
  std::shared_ptr<const DeliveryContext> context;
  std::vector<bool> fresh;                // per recipient: decided in this pass
  std::unordered_set<size_t> unrecorded;  // recipients whose state the file does not have yet
  int outstanding = 0;                    // deliveries not finished
  double loaded_at = 0;
  uint64_t rescans = 0;                      // State::rescans when it was loaded
  std::unique_ptr<asio::steady_timer> wake;  // cancelled when outstanding reaches 0
};

struct QueueManager::Job {
  std::shared_ptr<Message> message;
  AgentJob agent;
};

struct QueueManager::State {
  std::deque<std::string> incoming, deferred;  // ids waiting to be loaded
  std::unordered_set<std::string> known;       // ids waiting or active
  std::unordered_map<std::string, std::shared_ptr<Message>> active;
  Scheduler scheduler;
  std::unordered_map<JobId, Job> jobs;  // waiting or running
  JobId next_job = 1;
  bool deferred_turn = false;
  bool stopping = false;
  uint64_t rescans = 0;  // Rescan() requests so far
};

QueueManager::QueueManager(std::string root, QueueManagerServices services)
    : root_(std::move(root)),
      services_(std::move(services)),
      local_pool_(std::max<size_t>(1, services_.local_threads)),
      agents_(AgentServices{services_.dns, services_.local_helper, &local_pool_}),
      state_(std::make_unique<State>()) {}

QueueManager::~QueueManager() { Stop(std::chrono::seconds(0)); }

void QueueManager::Log(const std::string& program, const std::string& text) const { LogAs("", program, text); }

void QueueManager::LogAs(const std::string& syslog_name, const std::string& program, const std::string& text) const {
  if (services_.log) services_.log(syslog_name, program, text);
}

QueueManager::Stats QueueManager::stats() const {
  return Stats{delivered_.load(), bounced_.load(), deferred_.load(), removed_.load(), active_.load(), running_.load()};
}

Status QueueManager::Start() {
  // Each active message holds its file open: at most half the descriptors
  // the process may have (the rest are connections and the like).
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    open_file_budget_ = std::max<int64_t>(16, static_cast<int64_t>(limit.rlim_cur) / 2);
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
    state_->scheduler.ResumeAll();
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
  {
    std::unique_lock lock(idle_mutex_);
    idle_.wait_for(lock, grace, [this] { return running_.load() == 0; });
  }
  // Work handed to other threads finishes before the coroutines waiting
  // for it are destroyed with io_.
  local_pool_.join();
  route_pool_.join();
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
  int64_t limit = std::min(context->config.active_limit, open_file_budget_);
  while (static_cast<int64_t>(s.active.size()) < limit && (!s.incoming.empty() || !s.deferred.empty())) {
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
  auto message = std::make_shared<Message>();
  Result<queue::ActiveQueueFile> file = queue::ActiveQueueFile::Open(root_, queue, id, &message->q);
  if (!file.ok()) {
    const Status& s = file.status();
    // Gone (delivered, deleted, held) is nothing to do; an unreadable file
    // is tried again at the next queue scan; one that does not decode is
    // never delivered.
    if (s.temporary()) {
      Log("qmgr", "warning: " + id + ": " + s.message());
    } else if (!s.not_found()) {
      Status moved = queue::MoveMessage(root_, id, queue, "corrupt");
      Log("qmgr",
          "warning: " + id + ": " + s.message() + ": " + (moved.ok() ? "moved to the corrupt queue" : moved.message()));
    }
    return nullptr;
  }
  message->file.emplace(std::move(file).value());
  message->context = services_.context();
  message->loaded_at = Now();
  message->rescans = state_->rescans;
  message->wake = std::make_unique<asio::steady_timer>(io_, asio::steady_timer::time_point::max());
  size_t open = 0;
  for (const QueuedRecipient& r : message->q.recipients) open += r.Open();
  Log("qmgr", id + ": from=<" + message->q.sender + ">, size=" + std::to_string(message->q.content.size()) +
                  ", nrcpt=" + std::to_string(open) + " (queue active)");
  return message;
}

asio::awaitable<Status> QueueManager::AppendRecords(Message& message, std::string records) {
  queue::ActiveQueueFile& file = *message.file;
  co_return co_await RunOn(disk_, [&] { return file.Append(records); });
}

// The message leaves the active queue (finished, or to be found again by
// a later scan).
void QueueManager::Retire(const std::string& id) {
  State& s = *state_;
  s.active.erase(id);
  s.known.erase(id);
  active_ = s.active.size();
}

asio::awaitable<void> QueueManager::Process(std::shared_ptr<Message> message) {
  State& s = *state_;
  const DeliveryContext& context = *message->context;
  QueuedMessage& q = message->q;

  // 1. Where each open recipient goes; expansions recorded before anything
  //    is delivered. Live tables may wait for their servers: then not on
  //    the queue manager's thread, with the recipients taken there and back.
  RoutePlan plan;
  if (context.resolver->image().has_live_tables()) {
    queue::QueuedMessage planned;
    planned.recipients = std::move(q.recipients);
    plan = co_await RunOn(route_pool_, [&] { return PlanRoutes(planned, *context.resolver); });
    q.recipients = std::move(planned.recipients);
  } else {
    plan = PlanRoutes(q, *context.resolver);
  }
  message->fresh.assign(q.recipients.size(), false);
  if (!plan.records.empty()) {
    Status written = co_await AppendRecords(*message, std::move(plan.records));
    if (!written.ok()) {
      Log("qmgr", "warning: " + q.id + ": " + written.message());
      Retire(q.id);
      Pump();
      co_return;
    }
  }
  for (auto& [index, outcome] : plan.decided) Record(*message, "", index, outcome);

  // 2. Deliveries per destination, at most <transport>_destination_recipient_limit recipients each.
  std::map<DestinationKey, std::vector<const PlannedDelivery*>> groups;
  for (const PlannedDelivery& p : plan.deliveries) groups[{p.transport, p.nexthop}].push_back(&p);
  for (auto& [key, members] : groups) {
    auto transport = context.config.transports.find(key.transport);
    bool known = transport != context.config.transports.end();
    size_t limit = known ? static_cast<size_t>(std::max<int64_t>(1, transport->second.recipient_limit)) : 1;
    int64_t concurrency = known ? transport->second.concurrency_limit : 1;
    bool reusable = AgentRunner::Reuses(context.config, key.transport);
    for (size_t at = 0; at < members.size(); at += limit) {
      Job job{message, AgentJob{&q, &context, key.transport, key.nexthop, {}, {}}};
      for (size_t i = at; i < members.size() && i < at + limit; ++i) {
        job.agent.recipients.push_back(members[i]->recipient);
        job.agent.details.push_back(members[i]->detail);
      }
      JobId id = s.next_job++;
      s.jobs.emplace(id, std::move(job));
      s.scheduler.Add(key, concurrency, reusable, id);
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
  Retire(q.id);
  // A rescan while it was active skipped its id; an admin may have
  // requeued or released it meanwhile.
  if (message->rescans != s.rescans) ScanQueues(/*all_deferred=*/false);
  Pump();
}

void QueueManager::Dispatch() {
  State& s = *state_;
  if (s.stopping) return;
  std::shared_ptr<const DeliveryContext> context = services_.context();
  Scheduler::Decisions decisions = s.scheduler.Next(Now(), context->config.process_limit);
  for (const Scheduler::Suspended& suspended : decisions.suspended) {
    auto it = s.jobs.find(suspended.job);
    Job job = std::move(it->second);
    s.jobs.erase(it);
    DeliveryStatus outcome = DeliveryStatus::Local(450, "4.4.1", "delivery temporarily suspended: " + suspended.why);
    for (size_t index : job.agent.recipients) Record(*job.message, job.agent.transport, index, outcome);
    if (--job.message->outstanding == 0) job.message->wake->cancel();
  }
  for (Scheduler::Batch& batch : decisions.start) {
    running_ = static_cast<uint64_t>(s.scheduler.running());
    asio::co_spawn(io_, RunBatch(std::move(batch.destination), std::move(batch.jobs)), asio::detached);
  }
}

asio::awaitable<void> QueueManager::RunBatch(DestinationKey destination, std::vector<JobId> ids) {
  State& s = *state_;
  std::vector<AgentJob> jobs;
  for (JobId id : ids) jobs.push_back(s.jobs.at(id).agent);
  std::vector<bool> finished(jobs.size(), false);
  Scheduler::BatchResult result;
  bool first = true;
  co_await agents_.Run(jobs, [&](size_t index, std::vector<DeliveryStatus> outcomes) {
    Job& job = s.jobs.at(ids[index]);
    for (size_t i = 0; i < job.agent.recipients.size() && i < outcomes.size(); ++i) {
      Record(*job.message, job.agent.transport, job.agent.recipients[i], outcomes[i]);
    }
    finished[index] = true;
    if (first) {
      first = false;
      result.hosts_failed = !outcomes.empty() && std::all_of(outcomes.begin(), outcomes.end(),
                                                             [](const DeliveryStatus& o) { return o.host_failure; });
      if (result.hosts_failed) result.why = outcomes.front().reason;
    }
    result.delivered_any = result.delivered_any || std::any_of(outcomes.begin(), outcomes.end(),
                                                               [](const DeliveryStatus& o) { return o.delivered(); });
    asio::co_spawn(io_, JobDone(job.message), asio::detached);
  });
  for (size_t i = 0; i < ids.size(); ++i) {
    if (finished[i]) {
      s.jobs.erase(ids[i]);
    } else {
      result.unfinished.push_back(ids[i]);  // the connection went before its turn
    }
  }
  std::shared_ptr<const DeliveryContext> context = services_.context();
  s.scheduler.Finished(destination, result, Now(), context->config.minimal_backoff);
  {
    std::lock_guard lock(idle_mutex_);
    running_ = static_cast<uint64_t>(s.scheduler.running());
  }
  if (running_ == 0) idle_.notify_all();
  Dispatch();
}

// One delivery of `message` is over: when more are to come, its final
// outcomes are recorded first, so a restart does not deliver them again.
asio::awaitable<void> QueueManager::JobDone(std::shared_ptr<Message> message) {
  if (message->outstanding > 1) {
    std::string records;
    for (auto it = message->unrecorded.begin(); it != message->unrecorded.end();) {
      const QueuedRecipient& r = message->q.recipients[*it];
      if (r.state == RecipientState::kDelivered || r.state == RecipientState::kBounced) {
        records += queue::EncodeRecipientRecord(static_cast<uint32_t>(*it), r);
        it = message->unrecorded.erase(it);
      } else {
        ++it;
      }
    }
    if (!records.empty()) {
      Status written = co_await AppendRecords(*message, std::move(records));
      if (!written.ok()) Log("qmgr", "warning: " + message->q.id + ": " + written.message());
    }
  }
  if (--message->outstanding == 0) message->wake->cancel();
}

// Applies one recipient's outcome to the message and logs it as the agent would.
void QueueManager::Record(Message& message, const std::string& transport, size_t index, const DeliveryStatus& outcome) {
  QueuedRecipient& r = message.q.recipients[index];
  r.attempts++;
  r.last = outcome;
  if (message.q.verify_probe) {
    RecordProbe(message, transport, r, outcome);
    return;
  }
  if (outcome.delivered()) {
    r.state = RecipientState::kDelivered;
    delivered_++;
  } else if (outcome.bounced()) {
    r.state = RecipientState::kBounced;
    bounced_++;
  } else {
    r.state = RecipientState::kDeferred;
    deferred_++;
  }
  message.fresh[index] = true;
  message.unrecorded.insert(index);
  LogOutcome(message, transport, DeliveryLogLine(message.q.id, r, outcome, Times(message)));
}

AttemptTimes QueueManager::Times(const Message& message) const {
  return AttemptTimes{static_cast<double>(message.q.arrival_time), message.loaded_at, Now()};
}

// One outcome of a probe: final either way (a probe is tried once), and
// the cache's record of the address.
void QueueManager::RecordProbe(Message& message, const std::string& transport, QueuedRecipient& r,
                               const DeliveryStatus& outcome) {
  r.state = outcome.delivered() ? RecipientState::kDelivered : RecipientState::kBounced;
  mail::AddressStatus status = outcome.delivered() ? mail::AddressStatus::kDeliverable
                               : outcome.bounced() ? mail::AddressStatus::kUndeliverable
                                                   : mail::AddressStatus::kDeferred;
  if (services_.probe_result) {
    // The address asked about, and the final address it became (Postfix
    // updates both).
    std::string asked = r.OriginalAddress();
    if (!asked.empty()) services_.probe_result(asked, status, outcome.LogText());
    if (asked != r.address) services_.probe_result(r.address, status, outcome.LogText());
  }
  LogOutcome(message, transport,
             DeliveryLogLine(message.q.id, r, outcome, Times(message), mail::ProbeStatusWord(status)));
}

void QueueManager::LogOutcome(const Message& message, const std::string& transport, const std::string& line) const {
  // Postfix names the line after the delivery agent's program (smtp for a
  // relay service too), and after qmgr when no agent ran; a service with
  // -o syslog_name logs under that name.
  std::string program = "qmgr", syslog_name;
  if (auto t = message.context->config.transports.find(transport);
      !transport.empty() && t != message.context->config.transports.end()) {
    program = t->second.agent;
    syslog_name = t->second.syslog_name;
  }
  LogAs(syslog_name, program, line);
}

asio::awaitable<bool> QueueManager::QueueNotice(const Message& message, int kind, const std::vector<size_t>& which) {
  const QueuedMessage& q = message.q;
  QueuedMessage notice =
      MakeNotice(q, static_cast<delivery::DsnKind>(kind), which, message.context->config, services_.new_queue_id(),
                 static_cast<int64_t>(Now()), message.context->image->id());
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
  Log("bounce", q.id + ": " + (q.sender.empty() ? std::string("postmaster") : std::string("sender")) + " " + what +
                    " notification: " + notice.id);
  co_return true;
}

asio::awaitable<void> QueueManager::Remove(Message& message) {
  queue::ActiveQueueFile& file = *message.file;
  Status removed = co_await RunOn(disk_, [&] { return file.Remove(); });
  if (!removed.ok()) {  // it stays, and is found again at the next queue run
    Log("qmgr", "warning: " + message.q.id + ": " + removed.message());
    co_return;
  }
  removed_++;
  Log("qmgr", message.q.id + ": removed");
}

asio::awaitable<void> QueueManager::Finish(std::shared_ptr<Message> message) {
  const DeliveryConfig& config = message->context->config;
  QueuedMessage& q = message->q;
  double now = Now();
  if (q.verify_probe) {  // its results are in the cache: no notices, nothing to try again
    co_await Remove(*message);
    co_return;
  }
  NoticePlan plan = PlanNotices(q, message->fresh, config, now);
  if (plan.expired) {
    for (size_t i = 0; i < q.recipients.size(); ++i) {
      if (q.recipients[i].state == RecipientState::kBounced) message->unrecorded.insert(i);
    }
    Log("qmgr", q.id + ": from=<" + q.sender + ">, status=expired, returned to sender");
  }
  bool notices_ok = true;
  if (!plan.failed.empty()) {
    if (plan.discard_failed) {
      Log("bounce", q.id + ": undeliverable " + (q.sender.empty() ? "bounce" : "postmaster notice") + " discarded");
    } else {
      notices_ok = co_await QueueNotice(*message, static_cast<int>(delivery::DsnKind::kFailure), plan.failed);
    }
  }
  if (notices_ok && !plan.succeeded.empty()) {
    notices_ok = co_await QueueNotice(*message, static_cast<int>(delivery::DsnKind::kSuccess), plan.succeeded);
  }
  bool warned = false;
  if (notices_ok && !plan.delayed.empty() &&
      co_await QueueNotice(*message, static_cast<int>(delivery::DsnKind::kDelay), plan.delayed)) {
    q.delay_warned = warned = true;
  }
  std::vector<size_t> deferred = plan.deferred;
  if (!notices_ok) {
    // The sender must hear of it: the bounced recipients are tried again
    // (and bounce again) at the next attempt, when a notice can be stored.
    for (size_t i : plan.failed) {
      q.recipients[i].state = RecipientState::kDeferred;
      message->unrecorded.insert(i);
    }
    deferred.insert(deferred.end(), plan.failed.begin(), plan.failed.end());
  }

  queue::ActiveQueueFile& file = *message->file;
  if (deferred.empty()) {
    co_await Remove(*message);
    co_return;
  }
  // The states of this pass, then the next attempt: after as long again as
  // the message has waited.
  std::string records;
  for (size_t i : message->unrecorded) {
    records += queue::EncodeRecipientRecord(static_cast<uint32_t>(i), q.recipients[i]);
  }
  message->unrecorded.clear();
  if (warned) records += queue::EncodeDelayWarnedRecord();
  double age = now - static_cast<double>(q.arrival_time);
  auto next =
      static_cast<int64_t>(std::ceil(now + NextAttemptDelay(age, config.minimal_backoff, config.maximal_backoff)));
  Status moved = co_await RunOn(disk_, [&] {
    Status s = records.empty() ? Status::Ok() : file.Append(records);
    return s.ok() ? file.Defer(next) : s;
  });
  if (!moved.ok() && !moved.not_found()) {  // it stays where it was, tried again at the next queue run
    Log("qmgr", "warning: " + q.id + ": " + moved.message());
  }
}

}  // namespace postern::qmgr
