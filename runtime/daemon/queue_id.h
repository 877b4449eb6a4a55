// queue_id.h: queue ids, unique for the life of a queue: the microseconds
// since the epoch as 16 upper-case hex digits, strictly increasing within
// a process (two sessions in the same microsecond get consecutive ids).
// The queue writer refuses to replace an existing file, so even a clock
// that steps back after a restart cannot overwrite a message.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace postern::daemon {

class QueueIdGenerator {
 public:
  std::string Next();

 private:
  std::atomic<uint64_t> last_{0};
};

}  // namespace postern::daemon
