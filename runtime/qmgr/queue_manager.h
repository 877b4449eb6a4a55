// queue_manager.h: what happens after the 250 (qmgr(8) and the delivery
// agents it runs). Every message in the queue is delivered, deferred and
// tried again, or bounced with a delivery status notification, and none
// is lost.
//
// Queues (docs/queue.md): incoming/ (new mail, and mail released or
// recovered), deferred/ (mail waiting for its next attempt: the file's
// mtime is that time), hold/ (left alone), corrupt/ (files that do not
// decode). The active queue is a bounded window in memory
// (qmgr_message_active_limit), filled alternately from incoming and from
// deferred mail that is due, so a long deferred queue never starves new
// mail.
//
// A loaded message's pending recipients are resolved with the newest
// image (resolve/resolver.h); one that expands (aliases, virtual aliases)
// is replaced by its final recipients, with their routes frozen, and the
// file rewritten before anything is delivered. Recipients are grouped per
// transport and nexthop (a destination) into deliveries of at most
// <transport>_destination_recipient_limit; a destination runs at most
// <transport>_destination_concurrency_limit at once, all of them at most
// default_process_limit. A destination whose hosts all failed is
// suspended for minimal_backoff_time: its waiting mail is deferred at
// once ("delivery temporarily suspended") instead of queueing connections.
//
// After every delivery the recipients' states are kept in memory, and
// written to the file (new file, fsync, rename) when other deliveries of
// the message are still to come, so a restart never delivers a recipient
// twice that was recorded as delivered. When a message is finished: a
// failure notice (RFC 3464) to the sender for recipients that bounced, a
// success notice for NOTIFY=SUCCESS, a delay warning once past
// delay_warning_time, all queued durably before the message changes; then the file is removed, or rewritten into
// deferred/ with its next attempt time (the message's age, between minimal_backoff_time and maximal_backoff_time:
// doubling), or, past maximal_queue_lifetime (bounce_queue_lifetime for bounces), bounced. Bounces of bounces go to
// 2bounce_notice_recipient only when notify_classes asks for it, and are otherwise discarded with a log line.
//
// Threads: one runs the scheduler and every SMTP/LMTP conversation
// (Asio); a second does the queue's file writes, in order; a small pool
// answers DNS questions and runs local deliveries.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runtime/dns/dns_resolver.h"
#include "runtime/local/local_helper.h"
#include "runtime/qmgr/delivery_config.h"
#include "runtime/queue/queue_writer.h"
#include "util/asio.h"
#include "util/status.h"

namespace postern::qmgr {

struct QueueManagerServices {
  // The newest image ready for delivery (a reload changes what new loads use).
  std::function<std::shared_ptr<const DeliveryContext>()> context;
  // One maillog line: program ("postern/qmgr", "postern/smtp", ...) and text.
  // One log line of `program`, named after `syslog_name` (empty: main.cf's).
  std::function<void(const std::string& syslog_name, const std::string& program, const std::string& text)> log;
  std::function<std::string()> new_queue_id;
  queue::QueueWriter* writer = nullptr;  // notifications are queued through it
  dns::DnsResolver* dns = nullptr;       // null: only numeric nexthops are reached
  // Local deliveries with the recipient's privileges (posternd started as
  // root); null: they run with the daemon's own.
  local::LocalHelper* local_helper = nullptr;
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

  // One recipient's result of one attempt.
  struct Outcome {
    int code = 0;        // 2xx, 4xx, 5xx
    std::string status;  // enhanced status code
    std::string text;    // for the log and the notice
    std::string relay;   // "host[addr]:port", "local", "none"
    bool host_failure = false;
    int code_for_dsn = 0;  // the remote server's reply code, 0 when the text is not a reply
  };

 private:
  struct Message;
  struct Job;
  struct Destination;

  void Pump();
  void ScanQueues(bool all_deferred);
  std::shared_ptr<Message> Load(const std::string& id, const std::string& queue);
  boost::asio::awaitable<void> Process(std::shared_ptr<Message> message);
  void Dispatch();
  using Finished = std::function<void(size_t job, std::vector<Outcome> outcomes)>;
  static constexpr size_t kReuseLimit = 20;  // deliveries per connection
  static bool Reuses(const Job& job);
  boost::asio::awaitable<void> RunBatch(std::string destination, std::vector<Job> jobs);
  boost::asio::awaitable<void> JobDone(std::shared_ptr<Message> message, bool changed);
  boost::asio::awaitable<void> RunAgent(const std::vector<Job>& jobs, const Finished& finished);
  boost::asio::awaitable<std::vector<Outcome>> RunSimpleAgent(const Job& job);
  void Record(Message& message, const Job& job, size_t index, const Outcome& outcome);
  boost::asio::awaitable<void> Finish(std::shared_ptr<Message> message);
  boost::asio::awaitable<bool> QueueNotice(const Message& message, int kind, const std::vector<size_t>& recipients);
  boost::asio::awaitable<void> ScanLoop();
  void Log(const std::string& program, const std::string& text) const;
  void LogAs(const std::string& syslog_name, const std::string& program, const std::string& text) const;

  std::string root_;
  QueueManagerServices services_;
  boost::asio::io_context io_{1};
  boost::asio::io_context disk_{1};  // queue file writes, one at a time, in order
  boost::asio::thread_pool blocking_{4};
  std::thread io_thread_, disk_thread_;
  std::unique_ptr<boost::asio::steady_timer> scan_timer_;
  struct State;
  std::unique_ptr<State> state_;  // touched only on io_'s thread
  std::atomic<bool> started_{false}, stopped_{false};
  mutable std::atomic<uint64_t> delivered_{0}, bounced_{0}, deferred_{0}, removed_{0}, active_{0}, running_{0};
};

}  // namespace postern::qmgr
