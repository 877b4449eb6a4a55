// agent_runner.h: runs the delivery agent of a transport for a batch of
// deliveries to one destination, and reports each delivery's outcome per
// recipient as a mail::DeliveryStatus: smtp and lmtp (several deliveries
// over one connection, DNS through the asynchronous resolver), local and
// pipe (on a bounded pool of their own, through the privileged helper when
// posternd runs as root), discard, error and retry. A transport Postern does not
// implement defers with "mail transport unavailable" (postern check says
// so first, PC0136).
#pragma once

#include <functional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "mail/delivery_status.h"
#include "runtime/dns/async_resolver.h"
#include "runtime/local/local_helper.h"
#include "runtime/qmgr/delivery_config.h"
#include "runtime/queue/queue_file.h"
#include "util/asio.h"

namespace postern::qmgr {

// One delivery: some recipients of one message, to one destination.
struct AgentJob {
  const queue::QueuedMessage* message = nullptr;  // outlives the run
  const DeliveryContext* context = nullptr;       // the image the message was loaded with
  std::string transport, nexthop;
  std::vector<size_t> recipients;    // indices into message->recipients
  std::vector<std::string> details;  // per recipient: local delivery's detail ("mailbox /var/mail/u")
};

struct AgentServices {
  dns::AsyncResolver* dns = nullptr;  // null: only numeric nexthops are reached
  // Local and pipe deliveries with the recipient's or the service's
  // privileges (posternd started as root); null: with the daemon's own.
  local::LocalHelper* local_helper = nullptr;
  boost::asio::thread_pool* local_pool = nullptr;  // where local and pipe deliveries block
};

// `done(j, outcomes)` for each job attempted, as it finishes, with one
// outcome per recipient. A job never reported was not attempted (a
// connection failed before its turn) and may run again.
using JobDone = std::function<void(size_t job, std::vector<mail::DeliveryStatus> outcomes)>;

class AgentRunner {
 public:
  explicit AgentRunner(AgentServices services) : services_(services) {}

  // REQUIRES: jobs is not empty; every job has the first one's transport
  // and nexthop.
  boost::asio::awaitable<void> Run(std::span<const AgentJob> jobs, const JobDone& done);

  // Whether `transport` carries several deliveries per connection.
  static bool Reuses(const DeliveryConfig& config, const std::string& transport);

 private:
  boost::asio::awaitable<void> RunSmtp(std::span<const AgentJob> jobs, const JobDone& done);
  boost::asio::awaitable<std::vector<mail::DeliveryStatus>> RunOne(const AgentJob& job);
  boost::asio::awaitable<mail::DeliveryStatus> DeliverLocally(const AgentJob& job, size_t i);
  // One command for all of the job's recipients.
  boost::asio::awaitable<mail::DeliveryStatus> DeliverToPipe(const AgentJob& job);

  AgentServices services_;
  std::mt19937 random_{std::random_device{}()};
};

}  // namespace postern::qmgr
