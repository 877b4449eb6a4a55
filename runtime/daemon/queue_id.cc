// queue_id.cc: see queue_id.h.
#include "runtime/daemon/queue_id.h"

#include <chrono>

namespace postern::daemon {

std::string QueueIdGenerator::Next() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto micros = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  uint64_t last = last_.load(std::memory_order_relaxed);
  uint64_t id = 0;
  do {
    id = micros > last ? micros : last + 1;
    if ((id & 1) != lane_) ++id;
  } while (!last_.compare_exchange_weak(last, id, std::memory_order_relaxed));
  static const char kHex[] = "0123456789ABCDEF";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4) out[static_cast<size_t>(i)] = kHex[id & 15];
  return out;
}

}  // namespace postern::daemon
