// run_on.h: handing work to other threads from a connection's coroutine
// and resuming when it is done.
//
// CrossThreadSignal: a one-shot signal; Notify() from any thread, co_await
// Wait() on the executor it was made with. RunOn(target, f): runs f on
// `target` (a thread pool, another io_context) and resumes the caller with
// its result. The result and the function live in the caller's coroutine
// frame, which outlives the work: no handler or argument is copied between
// threads. (Strings passed as arguments through Asio 1.74's async_initiate
// under use_awaitable came out corrupted with GCC 12, ASan showed: their
// inline buffers pointed into a freed awaitable frame. Hence this.)
#pragma once

#include <optional>
#include <type_traits>

#include "util/asio.h"

namespace postern {

class CrossThreadSignal {
 public:
  explicit CrossThreadSignal(boost::asio::any_io_executor executor)
      : executor_(executor), timer_(executor, boost::asio::steady_timer::time_point::max()) {}
  // Thread-safe. What the notifier wrote before Notify() is visible after Wait().
  void Notify() {
    boost::asio::post(executor_, [this] { timer_.cancel(); });
  }
  boost::asio::awaitable<void> Wait() {
    boost::system::error_code ignored;  // operation_aborted is the notification
    co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  }

 private:
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer timer_;
};

// `f` is taken by reference: a temporary lambda lives until the co_await
// that awaits this ends.
template <typename Target, typename Function>
boost::asio::awaitable<std::invoke_result_t<const Function&>> RunOn(Target& target, const Function& f) {
  CrossThreadSignal done(co_await boost::asio::this_coro::executor);
  std::optional<std::invoke_result_t<const Function&>> value;
  boost::asio::post(target, [&] {
    value.emplace(f());
    done.Notify();
  });
  co_await done.Wait();
  co_return std::move(*value);
}

}  // namespace postern
