// rate_counter.cc: see rate_counter.h.
#include "runtime/daemon/rate_counter.h"

#include <chrono>

namespace postern::daemon {

RateCounter::RateCounter(std::function<int64_t()> now) : now_(std::move(now)) {
  if (!now_) {
    now_ = [] {
      return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
    };
  }
}

int64_t RateCounter::Count(std::string_view field, std::string_view key, int64_t window_seconds, uint64_t event) const {
  if (window_seconds <= 0) return 0;
  int64_t now = now_();
  // Buckets of a tenth of the window (at least a second): the count covers
  // the last window to within one bucket.
  int64_t width = std::max<int64_t>(1, window_seconds / kBuckets);
  int64_t slot = now / width;
  std::string id;
  id.reserve(field.size() + key.size() + 24);
  id.append(field).append(1, '\0').append(key).append(1, '\0').append(std::to_string(window_seconds));
  std::lock_guard lock(mutex_);
  if (++calls_ % 10000 == 0) {
    for (auto it = series_.begin(); it != series_.end();) {
      it = now - it->second.last_seen > it->second.window ? series_.erase(it) : std::next(it);
    }
  }
  Series& s = series_[id];
  s.window = window_seconds;
  s.last_seen = now;
  auto& bucket = s.slot[static_cast<size_t>(slot % kBuckets)];
  auto& count = s.count[static_cast<size_t>(slot % kBuckets)];
  if (bucket != slot) {
    bucket = slot;
    count = 0;
  }
  if (event == 0 || event != s.last_event) {
    ++count;
    s.last_event = event;
  }
  int64_t total = 0;
  for (int i = 0; i < kBuckets; ++i) {
    if (s.slot[static_cast<size_t>(i)] > slot - kBuckets) total += s.count[static_cast<size_t>(i)];
  }
  return total;
}

}  // namespace postern::daemon
