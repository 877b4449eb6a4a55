// stream_connect.cc: see stream_connect.h.
#include "runtime/net/stream_connect.h"

namespace postern::net {
namespace asio = boost::asio;
using asio::generic::stream_protocol;

asio::awaitable<boost::system::error_code> ConnectStream(stream_protocol::socket& socket, std::string_view where) {
  boost::system::error_code ec;
  auto executor = socket.get_executor();
  if (where.substr(0, 5) == "inet:") {
    std::string_view rest = where.substr(5);
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) co_return asio::error::invalid_argument;
    std::string host(rest.substr(0, colon));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    asio::ip::tcp::resolver resolver(executor);
    auto endpoints = co_await resolver.async_resolve(host, std::string(rest.substr(colon + 1)),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return ec;
    ec = asio::error::host_not_found;
    for (const auto& entry : endpoints) {
      socket = stream_protocol::socket(executor);
      co_await socket.async_connect(stream_protocol::endpoint(entry.endpoint()),
                                    asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) break;
    }
    co_return ec;
  }
  std::string_view path = where.substr(0, 5) == "unix:" ? where.substr(5) : where;
  socket = stream_protocol::socket(executor);
  co_await socket.async_connect(stream_protocol::endpoint{asio::local::stream_protocol::endpoint(std::string(path))},
                                asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

}  // namespace postern::net
