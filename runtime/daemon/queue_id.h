// queue_id.h: queue ids, unique for the life of a queue: the microseconds
// since the epoch as 16 upper-case hex digits (rounded up to the
// process's lane, below), strictly increasing within a process (two
// sessions in the same microsecond get the next ids of their lane).
// The queue writer refuses to replace an existing file, so even a clock
// that steps back after a restart cannot overwrite a message.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace postern::daemon {

// Two processes write into one queue (the SMTP process and the delivery
// process, for bounces): each has a lane, the parity of its ids, so their
// ids never meet.
class QueueIdGenerator {
 public:
  explicit QueueIdGenerator(unsigned lane = 0) : lane_(lane & 1) {}
  std::string Next();

 private:
  const uint64_t lane_;
  std::atomic<uint64_t> last_{0};
};

}  // namespace postern::daemon
