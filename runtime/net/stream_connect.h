// stream_connect.h: connecting to a local server as Postfix names one: a
// unix socket path, or inet:host:port (smtpd_sasl_path, check_policy_service
// inet:..., unix:...). One stream socket type for both.
#pragma once

#include <string>
#include <string_view>

#include "util/asio.h"

namespace postern::net {

// Connects `socket` to `where` ("inet:host:port", "inet:[::1]:port", or a
// path, with or without "unix:"). An error code on failure (invalid
// argument for a malformed inet: form).
boost::asio::awaitable<boost::system::error_code> ConnectStream(boost::asio::generic::stream_protocol::socket& socket,
                                                                std::string_view where);

}  // namespace postern::net
