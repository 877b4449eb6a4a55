// rate_counter.h: the daemon's answer to the policy language's
// `rate(field) > N per unit`: per (field, value, window), a sliding window
// of 10 buckets (each a tenth of the window), counting stage evaluations
// (RateOracle::Count). Memory is a few hundred bytes per active value;
// values idle for longer than their window are forgotten. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "runtime/vm/network_oracle.h"

namespace postern::daemon {

class RateCounter : public vm::RateOracle {
 public:
  // `now` in seconds; the system clock when empty.
  explicit RateCounter(std::function<int64_t()> now = {});
  int64_t Count(std::string_view field, std::string_view key, int64_t window_seconds, uint64_t event) const override;

 private:
  static constexpr int kBuckets = 10;
  struct Series {
    std::array<int64_t, kBuckets> slot{};  // which time slot each bucket holds
    std::array<int64_t, kBuckets> count{};
    uint64_t last_event = 0;
    int64_t last_seen = 0;
    int64_t window = 0;
  };
  std::function<int64_t()> now_;
  mutable std::mutex mutex_;
  mutable std::unordered_map<std::string, Series> series_;
  mutable uint64_t calls_ = 0;
};

}  // namespace postern::daemon
