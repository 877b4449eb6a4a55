// scheduler.h: which deliveries run now, the core of qmgr(8)'s scheduling,
// as a plain object with no I/O and no clock of its own (the driver says
// what time it is), so every decision is unit-tested.
//
// Deliveries (jobs, by id) wait per destination: a transport and a nexthop.
// A destination runs at most its <transport>_destination_concurrency_limit
// batches at once, all destinations together at most default_process_limit.
// A batch is one delivery, or for a transport that reuses connections (smtp,
// lmtp) a share of the destination's backlog, up to kReuseLimit, carried
// one after another over one connection (Postfix's connection cache on
// demand). A destination whose hosts all failed is suspended for
// minimal_backoff_time: what waits for it is given back at once to be
// deferred ("delivery temporarily suspended") instead of queueing
// connections that would fail the same way.
//
// Thread-compatible.
#pragma once

#include <compare>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace postern::qmgr {

using JobId = uint64_t;

struct DestinationKey {
  std::string transport, nexthop;
  auto operator<=>(const DestinationKey&) const = default;
};

class Scheduler {
 public:
  static constexpr size_t kReuseLimit = 20;  // deliveries per connection

  // Queues `job` for `destination`, which may run `concurrency` batches at
  // once; `reusable`: its transport carries several jobs per connection.
  void Add(const DestinationKey& destination, int64_t concurrency, bool reusable, JobId job);

  struct Batch {
    DestinationKey destination;
    std::vector<JobId> jobs;
  };
  struct Suspended {
    JobId job;
    std::string why;  // the failure that suspended the destination
  };
  struct Decisions {
    std::vector<Batch> start;
    std::vector<Suspended> suspended;  // to be deferred now, without an attempt
  };
  // What to start at `now` (seconds), with at most `process_limit` batches
  // running in all.
  Decisions Next(double now, int64_t process_limit);

  struct BatchResult {
    bool hosts_failed = false;  // the first delivery found every host of the destination failing
    std::string why;            // their failure
    bool delivered_any = false;
    std::vector<JobId> unfinished;  // never attempted (the connection went first): they wait again, first
  };
  // A batch that Next() started has ended. A failure of every host
  // suspends the destination until now + `backoff`; a delivery lifts a
  // suspension.
  void Finished(const DestinationKey& destination, const BatchResult& result, double now, int64_t backoff);

  // Lifts every suspension (`postqueue -f`).
  void ResumeAll();

  int64_t running() const { return running_; }
  size_t waiting() const;
  bool suspended(const DestinationKey& destination, double now) const;

 private:
  struct Destination {
    std::deque<JobId> jobs;
    int64_t limit = 1;
    bool reusable = false;
    int64_t running = 0;
    double suspended_until = 0;
    std::string suspended_why;
  };
  std::map<DestinationKey, Destination> destinations_;
  int64_t running_ = 0;
};

// How long a message that has waited `age` seconds waits for its next
// attempt: as long again, within [minimal, maximal] (minimal_backoff_time,
// maximal_backoff_time): the interval doubles.
double NextAttemptDelay(double age, int64_t minimal, int64_t maximal);

}  // namespace postern::qmgr
