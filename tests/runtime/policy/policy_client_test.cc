// policy_client_test.cc: the policy client against a policy server in the
// test (real loopback sockets): the action of a reply, one connection for
// many requests, a server that closes after each reply (made again), the
// request limit, a server nobody listens on (every try fails), a reply
// without action=.
#include "runtime/policy/policy_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace postern::policy {
namespace {

namespace asio = boost::asio;

// A policy server on a loopback port, one connection at a time: answers
// `reply` to every request, and closes the connection after each when
// `close_after_reply`.
class TestServer {
 public:
  TestServer(std::string reply, bool close_after_reply) : reply_(std::move(reply)), close_(close_after_reply) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t length = sizeof a;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
    listen(listener_, 8);
    thread_ = std::thread([this] { Serve(); });
  }
  ~TestServer() {
    shutdown(listener_, SHUT_RDWR);
    close(listener_);
    thread_.join();
  }
  int port() const { return port_; }
  int connections() const { return connections_; }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (true) {
      int fd = accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      ++connections_;
      std::string in;
      char buffer[1024];
      bool open = true;
      while (open) {
        ssize_t n = read(fd, buffer, sizeof buffer);
        if (n <= 0) break;
        in.append(buffer, static_cast<size_t>(n));
        size_t end;
        while ((end = in.find("\n\n")) != std::string::npos) {
          in.erase(0, end + 2);
          ++requests_;
          std::string out = reply_ + "\n\n";
          [[maybe_unused]] ssize_t w = write(fd, out.data(), out.size());
          if (close_) {
            open = false;
            break;
          }
        }
      }
      close(fd);
    }
  }

  std::string reply_;
  bool close_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0}, requests_{0};
  std::thread thread_;
};

std::vector<Result<std::string>> AskAll(PolicyClientOptions options, int n) {
  asio::io_context io;
  std::vector<Result<std::string>> out;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        PolicyClient client(co_await asio::this_coro::executor, options);
        for (int i = 0; i < n; ++i) out.push_back(co_await client.Ask("request=smtpd_access_policy\n\n"));
      },
      asio::detached);
  io.run();
  return out;
}

PolicyClientOptions Options(int port) {
  PolicyClientOptions o;
  o.service = "inet:127.0.0.1:" + std::to_string(port);
  o.timeout = std::chrono::seconds(5);
  o.retry_delay = std::chrono::seconds(0);
  return o;
}

TEST(PolicyClientTest, OneConnectionForManyRequests) {
  TestServer server("action=DEFER_IF_PERMIT Greylisted", false);
  auto replies = AskAll(Options(server.port()), 3);
  ASSERT_EQ(replies.size(), 3u);
  for (const auto& r : replies) {
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(*r, "DEFER_IF_PERMIT Greylisted");
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(PolicyClientTest, AServerThatClosesIsConnectedToAgain) {
  TestServer server("action=DUNNO", true);
  auto replies = AskAll(Options(server.port()), 3);
  for (const auto& r : replies) EXPECT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(server.requests(), 3);
  EXPECT_GE(server.connections(), 3);  // each request after a close tries the old connection first
}

TEST(PolicyClientTest, TheRequestLimitEndsAConnection) {
  TestServer server("action=OK", false);
  PolicyClientOptions options = Options(server.port());
  options.request_limit = 2;
  auto replies = AskAll(options, 5);
  for (const auto& r : replies) EXPECT_TRUE(r.ok());
  EXPECT_EQ(server.connections(), 3);
}

TEST(PolicyClientTest, NobodyListeningFailsEveryTry) {
  int port;
  {
    TestServer gone("action=DUNNO", false);
    port = gone.port();
  }
  auto replies = AskAll(Options(port), 1);
  ASSERT_FALSE(replies[0].ok());
  EXPECT_NE(replies[0].status().message().find("connect to inet:127.0.0.1:"), std::string::npos)
      << replies[0].status().message();
}

TEST(PolicyClientTest, AReplyWithoutAnActionIsAnError) {
  TestServer server("result=DUNNO", false);
  auto replies = AskAll(Options(server.port()), 1);
  EXPECT_FALSE(replies[0].ok());
  EXPECT_EQ(*ParsePolicyReply("action=REJECT no\n"), "REJECT no");
  EXPECT_FALSE(ParsePolicyReply("\n").ok());
}

}  // namespace
}  // namespace postern::policy
