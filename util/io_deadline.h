// io_deadline.h: a time limit on the operations in progress on a socket.
// Arm() starts it; when it runs out, the socket's pending operations are
// cancelled (they complete with operation_aborted) and expired() says the
// time limit was why. Disarm() once the operation has completed.
//
// Thread-compatible: used on the socket's executor. REQUIRES: the socket
// outlives the deadline.
#pragma once

#include <chrono>

#include "util/asio.h"

namespace postern {

template <typename Socket>
class IoDeadline {
 public:
  IoDeadline(boost::asio::any_io_executor executor, Socket& socket) : timer_(executor), socket_(&socket) {}

  void Arm(std::chrono::steady_clock::duration limit) {
    expired_ = false;
    timer_.expires_after(limit);
    // Cancelled (the deadline disarmed or destroyed): `this` is not touched.
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      expired_ = true;
      boost::system::error_code ignored;
      socket_->cancel(ignored);
    });
  }
  void Disarm() { timer_.cancel(); }
  bool expired() const { return expired_; }

 private:
  boost::asio::steady_timer timer_;
  Socket* socket_;
  bool expired_ = false;
};

}  // namespace postern
