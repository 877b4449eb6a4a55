// shared_slot.h: a shared_ptr that one thread replaces while others read
// it (the image a daemon serves), as std::atomic<std::shared_ptr> would
// hold it, but behind a mutex: libstdc++ 12 guards its atomic shared_ptr
// with a lock bit ThreadSanitizer does not see, and reports races that are
// not there. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace postern {

template <typename T>
class SharedSlot {
 public:
  std::shared_ptr<T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  void store(std::shared_ptr<T> value) {
    {
      std::lock_guard lock(mutex_);
      std::swap(value_, value);
    }
    // The old value is released here, outside the lock.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<T> value_;
};

}  // namespace postern
