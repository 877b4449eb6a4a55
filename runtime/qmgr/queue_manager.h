// queue_manager.h: what happens after the 250 (qmgr(8) and the delivery
// agents it runs). Every message in the queue is delivered, deferred and
// tried again, or bounced with a delivery status notification, and none
// is lost. This is the driver: it owns the threads and the files and asks
// the parts with one job each what to do:
//
//   route_planner.h  where each recipient goes (expansions frozen)
//   scheduler.h      which deliveries run now (concurrency, suspension)
//   agent_runner.h   the delivery agents, with a mail::DeliveryStatus each
//   delivery_log.h   the maillog line of each attempt
//   notices.h        bounces, success notices, delay warnings, expiry
//   active_queue_file.h  the message's file: records appended, moves that
//                        cannot race `postern queue`
//
// Queues (docs/queue.md): incoming/ (new mail, and mail released or
// recovered), deferred/ (mail waiting for its next attempt: the file's
// mtime is that time), hold/ (left alone), corrupt/ (files that do not
// decode). The active queue is a bounded window in memory
// (qmgr_message_active_limit, and at most half the open files the process
// may have), filled alternately from incoming and from deferred mail that
// is due, so a long deferred queue never starves new mail.
//
// An address verification probe runs like mail up to the point of
// delivery (agent_runner.h); each recipient's outcome is the probe's result
// for its address (and the original address it came from), logged with
// status=deliverable or undeliverable; then the probe is removed, never
// deferred nor bounced.
//
// A delivery's final outcomes are recorded in the file when other
// deliveries of the message are still to come, so a restart never delivers
// twice a recipient recorded as delivered. When a message's pass is over:
// its notices are queued durably first; then the file is removed, or its
// new states are recorded and it moves to deferred/ with its next attempt
// time (the message's age, within minimal_backoff_time..maximal_backoff_time).
//
// Threads: one runs the scheduler and every SMTP/LMTP conversation (Asio);
// a second does the queue's file writes, in order; a bounded pool runs
// local deliveries, so slow commands never hold up SMTP delivery; DNS is
// the asynchronous resolver's.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mail/address_verification.h"
#include "runtime/dns/async_resolver.h"
#include "runtime/local/local_helper.h"
#include "runtime/qmgr/agent_runner.h"
#include "runtime/qmgr/delivery_config.h"
#include "runtime/qmgr/delivery_log.h"
#include "runtime/qmgr/scheduler.h"
#include "runtime/queue/queue_writer.h"
#include "util/asio.h"
#include "util/status.h"

namespace postern::qmgr {

struct QueueManagerServices {
  // The newest image ready for delivery (a reload changes what new loads use).
  std::function<std::shared_ptr<const DeliveryContext>()> context;
  // One log line of `program`, named after `syslog_name` (empty: main.cf's).
  std::function<void(const std::string& syslog_name, const std::string& program, const std::string& text)> log;
  std::function<std::string()> new_queue_id;
  queue::QueueWriter* writer = nullptr;  // notifications are queued through it
  dns::AsyncResolver* dns = nullptr;     // null: only numeric nexthops are reached
  // Local deliveries with the recipient's privileges (posternd started as
  // root); null: they run with the daemon's own.
  local::LocalHelper* local_helper = nullptr;
  size_t local_threads = 4;  // local deliveries at once
  // What a probe (queue_file.h: verify_probe) found for an address: the
  // address verification cache records it. Null: probes are only logged.
  std::function<void(const std::string& address, mail::AddressStatus status, const std::string& text)> probe_result;
};

class QueueManager {
 public:
  QueueManager(std::string root, QueueManagerServices services);
  ~QueueManager();  // Stop()s
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;

  // REQUIRES: the queue directories exist (queue::PrepareQueueDirectories).
  // Removes temporary files a crash left,
  // finds the mail already queued and starts delivering it.
  Status Start();
  // Messages stored in incoming/ (the queue writer's hook). Thread-safe.
  void Arrived(std::vector<std::string> ids);
  // Tries all deferred mail now, and forgets suspended destinations (as
  // `postqueue -f`). Thread-safe.
  void Flush();
  // Looks for new files in incoming/ and due ones in deferred/ now (after
  // `postern queue release` or `requeue`). Thread-safe.
  void Rescan();
  // Stops loading mail and starting deliveries; waits up to `grace` for
  // the deliveries in progress, then ends. What is not finished stays in
  // the queue.
  void Stop(std::chrono::seconds grace = std::chrono::seconds(10));

  struct Stats {
    uint64_t delivered = 0, bounced = 0, deferred = 0;  // recipients
    uint64_t removed = 0;                               // messages finished
    uint64_t active = 0, running = 0;                   // now
  };
  Stats stats() const;

 private:
  struct Message;
  struct Job;

  void Pump();
  void ScanQueues(bool all_deferred);
  std::shared_ptr<Message> Load(const std::string& id, const std::string& queue);
  boost::asio::awaitable<void> Process(std::shared_ptr<Message> message);
  void Dispatch();
  boost::asio::awaitable<void> RunBatch(DestinationKey destination, std::vector<uint64_t> jobs);
  boost::asio::awaitable<void> JobDone(std::shared_ptr<Message> message);
  void Record(Message& message, const std::string& transport, size_t recipient, const mail::DeliveryStatus& outcome);
  void RecordProbe(Message& message, const std::string& transport, queue::QueuedRecipient& recipient,
                   const mail::DeliveryStatus& outcome);
  void LogOutcome(const Message& message, const std::string& transport, const std::string& line) const;
  AttemptTimes Times(const Message& message) const;
  boost::asio::awaitable<void> Remove(Message& message);
  boost::asio::awaitable<void> Finish(std::shared_ptr<Message> message);
  boost::asio::awaitable<bool> QueueNotice(const Message& message, int kind, const std::vector<size_t>& recipients);
  boost::asio::awaitable<Status> AppendRecords(Message& message, std::string records);
  void Retire(const std::string& id);
  boost::asio::awaitable<void> ScanLoop();
  void Log(const std::string& program, const std::string& text) const;
  void LogAs(const std::string& syslog_name, const std::string& program, const std::string& text) const;

  std::string root_;
  QueueManagerServices services_;
  boost::asio::io_context io_{1};
  boost::asio::io_context disk_{1};  // queue file writes, one at a time, in order
  boost::asio::thread_pool local_pool_;
  boost::asio::thread_pool route_pool_{4};  // routing that asks live tables' servers
  AgentRunner agents_;
  std::thread io_thread_, disk_thread_;
  std::unique_ptr<boost::asio::steady_timer> scan_timer_;
  struct State;
  std::unique_ptr<State> state_;     // touched only on io_'s thread
  int64_t open_file_budget_ = 1000;  // messages active at once, by file descriptors
  std::atomic<bool> started_{false}, stopped_{false};
  mutable std::atomic<uint64_t> delivered_{0}, bounced_{0}, deferred_{0}, removed_{0}, active_{0}, running_{0};
  std::mutex idle_mutex_;
  std::condition_variable idle_;  // running_ reached 0
};

}  // namespace postern::qmgr
