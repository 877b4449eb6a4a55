// asio.h: Boost.Asio and its SSL streams, for the daemon and the delivery
// agents. Boost 1.74's awaitable.hpp uses std::exchange without including
// <utility>, so that comes first; include Asio through this header only.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
// clang-format on
