// scheduler.cc: see scheduler.h.
#include "runtime/qmgr/scheduler.h"

#include <algorithm>

namespace postern::qmgr {

void Scheduler::Add(const DestinationKey& destination, int64_t concurrency, bool reusable, JobId job) {
  Destination& d = destinations_[destination];
  d.limit = std::max<int64_t>(1, concurrency);
  d.reusable = reusable;
  d.jobs.push_back(job);
}

Scheduler::Decisions Scheduler::Next(double now, int64_t process_limit) {
  Decisions decisions;
  for (auto it = destinations_.begin(); it != destinations_.end();) {
    Destination& d = it->second;
    while (!d.jobs.empty() && d.running < d.limit && running_ < process_limit) {
      if (d.suspended_until > now) {
        decisions.suspended.push_back({d.jobs.front(), d.suspended_why});
        d.jobs.pop_front();
        continue;
      }
      // Each free connection slot takes its share of the backlog.
      Batch batch{it->first, {d.jobs.front()}};
      d.jobs.pop_front();
      if (d.reusable) {
        size_t share = d.jobs.size() / static_cast<size_t>(std::max<int64_t>(1, d.limit - d.running));
        for (size_t n = std::min(share, kReuseLimit - 1); n > 0 && !d.jobs.empty(); --n) {
          batch.jobs.push_back(d.jobs.front());
          d.jobs.pop_front();
        }
      }
      ++d.running;
      ++running_;
      decisions.start.push_back(std::move(batch));
    }
    if (d.jobs.empty() && d.running == 0 && d.suspended_until <= now) {
      it = destinations_.erase(it);
    } else {
      ++it;
    }
  }
  return decisions;
}

void Scheduler::Finished(const DestinationKey& destination, const BatchResult& result, double now, int64_t backoff) {
  --running_;
  auto it = destinations_.find(destination);
  if (it == destinations_.end()) return;
  Destination& d = it->second;
  --d.running;
  if (result.hosts_failed) {
    d.suspended_until = now + static_cast<double>(backoff);
    d.suspended_why = result.why;
  } else if (result.delivered_any) {
    d.suspended_until = 0;
  }
  for (auto job = result.unfinished.rbegin(); job != result.unfinished.rend(); ++job) d.jobs.push_front(*job);
}

void Scheduler::ResumeAll() {
  for (auto& [key, d] : destinations_) d.suspended_until = 0;
}

size_t Scheduler::waiting() const {
  size_t n = 0;
  for (const auto& [key, d] : destinations_) n += d.jobs.size();
  return n;
}

bool Scheduler::suspended(const DestinationKey& destination, double now) const {
  auto it = destinations_.find(destination);
  return it != destinations_.end() && it->second.suspended_until > now;
}

double NextAttemptDelay(double age, int64_t minimal, int64_t maximal) {
  return std::clamp(age, static_cast<double>(minimal), static_cast<double>(std::max(minimal, maximal)));
}

}  // namespace postern::qmgr
