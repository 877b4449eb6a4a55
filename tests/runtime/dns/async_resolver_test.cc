// async_resolver_test.cc: the asynchronous resolver against a real DNS
// server, Debian's dnsmasq, serving a test zone on a loopback port: record
// types, TXT texts, answers kept for their TTL after the server is gone,
// many identical questions at once, the coroutine form; and delivery's
// lookups on it (mail_exchangers.h): preference order, random order among
// equal preferences, a domain without MX, no such domain (NotFound), a
// server that does not answer (temporary).
// Skipped when dnsmasq is not installed.
#include "runtime/dns/async_resolver.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "runtime/dns/mail_exchangers.h"

extern char** environ;

namespace postern::dns {
namespace {

// A loopback port free for UDP and for TCP (dnsmasq binds both).
int FreeUdpPort() {
  while (true) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(udp, reinterpret_cast<struct sockaddr*>(&a), sizeof a);
    socklen_t length = sizeof a;
    getsockname(udp, reinterpret_cast<struct sockaddr*>(&a), &length);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    bool both = bind(tcp, reinterpret_cast<struct sockaddr*>(&a), sizeof a) == 0;
    close(tcp);
    close(udp);
    if (both) return ntohs(a.sin_port);
  }
}

// AsyncResolver::Query, waited for.
DnsReply Ask(AsyncResolver& resolver, const std::string& name, RecordType type) {
  std::mutex mutex;
  std::condition_variable answered;
  std::optional<DnsReply> reply;
  resolver.Query(name, type, [&](DnsReply r) {
    std::lock_guard lock(mutex);
    reply = std::move(r);
    answered.notify_one();
  });
  std::unique_lock lock(mutex);
  answered.wait(lock, [&] { return reply.has_value(); });
  return *reply;
}

class DnsResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (system("test -x /usr/sbin/dnsmasq") != 0) GTEST_SKIP() << "dnsmasq is not installed";
    // Another test may take the port between the check and dnsmasq's bind:
    // then dnsmasq exits, and it is started again on another port.
    for (int attempt = 0; attempt < 5 && !resolver_; ++attempt) StartDnsmasq();
    ASSERT_TRUE(resolver_) << "dnsmasq did not start";
  }

  void StartDnsmasq() {
    port_ = FreeUdpPort();
    std::vector<std::string> argv = {
        "/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
        "--pid-file=", "--bind-interfaces", "--listen-address=127.0.0.1", "--port=" + std::to_string(port_),
        "--local=/test/", "--mx-host=example.test,mx1.example.test,10", "--mx-host=example.test,mx2.example.test,20",
        "--mx-host=equal.test,a.equal.test,10", "--mx-host=equal.test,b.equal.test,10",
        "--host-record=mx1.example.test,192.0.2.1", "--host-record=mx2.example.test,192.0.2.2,2001:db8::2",
        "--host-record=a.equal.test,192.0.2.11", "--host-record=b.equal.test,192.0.2.12",
        "--host-record=nomx.test,192.0.2.9", "--txt-record=2.0.0.127.list.test,Listed for testing",
        // example.test NS ns.example.test (type 2, the name in wire format)
        "--dns-rr=example.test,2,026e73076578616d706c65047465737400", "--local-ttl=300"};
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], nullptr, nullptr, args.data(), environ) != 0) {
      pid_ = 0;
      return;
    }
    ResolverOptions options;
    options.servers = "127.0.0.1:" + std::to_string(port_);
    options.timeout = std::chrono::milliseconds(500);
    for (int i = 0; i < 50; ++i) {  // until dnsmasq answers, or has given up
      auto resolver = AsyncResolver::Create(options);
      if (!resolver.ok()) return;
      if (Ask(**resolver, "nomx.test", RecordType::kA).status == DnsReply::Status::kFound) {
        resolver_ = std::move(resolver).value();
        return;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    TearDown();
  }
  void TearDown() override {
    if (pid_ != 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = 0;
    }
  }

  pid_t pid_ = 0;
  int port_ = 0;
  // Outlives every resolver of a test: a resolver's thread may still be
  // inside the post() that woke io_.run() when a lookup returns.
  boost::asio::io_context io_;
  std::unique_ptr<AsyncResolver> resolver_;
  std::mt19937 random_{7};

  Result<std::vector<MailExchanger>> Exchangers(AsyncResolver& resolver, const std::string& domain) {
    Result<std::vector<MailExchanger>> out = Status::Temporary("not run");
    io_.restart();
    boost::asio::co_spawn(
        io_, [&]() -> boost::asio::awaitable<void> { out = co_await LookupMailExchangers(resolver, domain, random_); },
        boost::asio::detached);
    io_.run();
    return out;
  }
};

TEST_F(DnsResolverTest, ExchangersByPreferenceWithTheirAddresses) {
  auto mx = Exchangers(*resolver_, "example.test");
  ASSERT_TRUE(mx.ok()) << mx.status().message();
  ASSERT_EQ(mx->size(), 2u);
  EXPECT_EQ((*mx)[0].host, "mx1.example.test");
  EXPECT_EQ((*mx)[0].preference, 10);
  EXPECT_EQ((*mx)[0].addresses, std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ((*mx)[1].host, "mx2.example.test");
  std::set<std::string> addresses((*mx)[1].addresses.begin(), (*mx)[1].addresses.end());
  EXPECT_EQ(addresses, (std::set<std::string>{"192.0.2.2", "2001:db8::2"}));
}

TEST_F(DnsResolverTest, EqualPreferencesInRandomOrder) {
  std::set<std::string> firsts;
  for (int i = 0; i < 64 && firsts.size() < 2; ++i) {
    auto mx = Exchangers(*resolver_, "equal.test");
    ASSERT_TRUE(mx.ok()) << mx.status().message();
    ASSERT_EQ(mx->size(), 2u);
    firsts.insert((*mx)[0].host);
  }
  EXPECT_EQ(firsts, (std::set<std::string>{"a.equal.test", "b.equal.test"}));
}

TEST_F(DnsResolverTest, NoMxMeansTheDomainItself) {
  auto mx = Exchangers(*resolver_, "nomx.test");
  ASSERT_TRUE(mx.ok()) << mx.status().message();
  ASSERT_EQ(mx->size(), 1u);
  EXPECT_EQ((*mx)[0].host, "nomx.test");
  EXPECT_EQ((*mx)[0].addresses, std::vector<std::string>{"192.0.2.9"});
}

TEST_F(DnsResolverTest, NoSuchDomainIsPermanent) {
  auto mx = Exchangers(*resolver_, "nosuch.test");
  ASSERT_FALSE(mx.ok());
  EXPECT_TRUE(mx.status().not_found()) << mx.status().message();
  EXPECT_NE(mx.status().message().find("Host or domain name not found"), std::string::npos);
}

TEST_F(DnsResolverTest, SilentServerIsTemporary) {
  ResolverOptions options;
  options.servers = "127.0.0.1:" + std::to_string(FreeUdpPort());
  options.timeout = std::chrono::milliseconds(200);
  options.tries = 1;
  auto resolver = AsyncResolver::Create(options);
  ASSERT_TRUE(resolver.ok());
  auto mx = Exchangers(**resolver, "example.test");
  ASSERT_FALSE(mx.ok());
  EXPECT_TRUE(mx.status().temporary()) << mx.status().message();
}

class AsyncResolverTest : public DnsResolverTest {
 protected:
  std::unique_ptr<AsyncResolver> Make(int port) {
    ResolverOptions options;
    options.servers = "127.0.0.1:" + std::to_string(port);
    options.timeout = std::chrono::milliseconds(300);
    options.tries = 1;
    auto resolver = AsyncResolver::Create(options);
    EXPECT_TRUE(resolver.ok());
    return resolver.ok() ? std::move(resolver).value() : nullptr;
  }
};

TEST_F(AsyncResolverTest, RecordsOfEachType) {
  auto resolver = Make(port_);
  DnsReply mx = Ask(*resolver, "example.test", RecordType::kMx);
  ASSERT_EQ(mx.status, DnsReply::Status::kFound) << mx.error;
  EXPECT_EQ(mx.values, (std::vector<std::string>{"mx1.example.test", "mx2.example.test"}));  // by preference
  DnsReply a = Ask(*resolver, "mx2.example.test", RecordType::kA);
  EXPECT_EQ(a.values, std::vector<std::string>{"192.0.2.2"});
  DnsReply aaaa = Ask(*resolver, "mx2.example.test", RecordType::kAaaa);
  EXPECT_EQ(aaaa.values, std::vector<std::string>{"2001:db8::2"});
  DnsReply txt = Ask(*resolver, "2.0.0.127.list.test", RecordType::kTxt);
  EXPECT_EQ(txt.values, std::vector<std::string>{"Listed for testing"});
  DnsReply ns = Ask(*resolver, "example.test", RecordType::kNs);
  EXPECT_EQ(ns.values, std::vector<std::string>{"ns.example.test"});
  EXPECT_EQ(Ask(*resolver, "nomx.test", RecordType::kNs).status, DnsReply::Status::kNotFound);
  EXPECT_EQ(Ask(*resolver, "nosuch.test", RecordType::kMx).status, DnsReply::Status::kNotFound);
  EXPECT_EQ(Ask(*resolver, "nomx.test", RecordType::kMx).status, DnsReply::Status::kNotFound);  // no data
}

TEST_F(AsyncResolverTest, AnswersAreKeptForTheirTtl) {
  auto resolver = Make(port_);
  ASSERT_EQ(Ask(*resolver, "mx1.example.test", RecordType::kA).status, DnsReply::Status::kFound);
  TearDown();  // the server is gone: the answer comes from the cache (TTL 300 s)
  DnsReply again = Ask(*resolver, "MX1.example.test", RecordType::kA);
  EXPECT_EQ(again.status, DnsReply::Status::kFound) << again.error;
  EXPECT_EQ(again.values, std::vector<std::string>{"192.0.2.1"});
  EXPECT_EQ(Ask(*resolver, "mx2.example.test", RecordType::kA).status, DnsReply::Status::kTemporary);
}

TEST_F(AsyncResolverTest, ManyIdenticalQuestionsAtOnce) {
  auto resolver = Make(port_);
  std::atomic<int> found{0}, answered{0};
  for (int i = 0; i < 50; ++i) {
    resolver->Query("a.equal.test", RecordType::kA, [&](DnsReply r) {
      if (r.status == DnsReply::Status::kFound && r.values == std::vector<std::string>{"192.0.2.11"}) ++found;
      ++answered;
    });
  }
  for (int i = 0; i < 200 && answered < 50; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(found.load(), 50);
}

TEST_F(AsyncResolverTest, ASilentServerIsATemporaryFailure) {
  auto resolver = Make(FreeUdpPort());
  DnsReply r = Ask(*resolver, "example.test", RecordType::kMx);
  EXPECT_EQ(r.status, DnsReply::Status::kTemporary);
  EXPECT_FALSE(r.error.empty());
}

TEST_F(AsyncResolverTest, TheCoroutineFormAnswersOnItsExecutor) {
  // The context outlives the resolver: its thread may still be inside the
  // post() that woke io.run() when the test ends.
  boost::asio::io_context io;
  auto resolver = Make(port_);
  std::optional<DnsReply> reply;
  std::thread::id ran_on;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        reply = co_await AsyncQuery(*resolver, "nomx.test", RecordType::kA);
        ran_on = std::this_thread::get_id();
      },
      boost::asio::detached);
  io.run();
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->values, std::vector<std::string>{"192.0.2.9"});
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(AsyncResolverTest, ManyQuestionsAtOnceAnswerInTheirOrder) {
  boost::asio::io_context io;  // outlives the resolver, as above
  auto resolver = Make(port_);
  std::vector<DnsReply> replies;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        std::vector<std::pair<std::string, RecordType>> questions = {{"mx2.example.test", RecordType::kAaaa},
                                                                     {"nosuch.test", RecordType::kA},
                                                                     {"example.test", RecordType::kMx},
                                                                     {"mx1.example.test", RecordType::kA}};
        replies = co_await AsyncQueryAll(*resolver, std::move(questions));
      },
      boost::asio::detached);
  io.run();
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].values, std::vector<std::string>{"2001:db8::2"});
  EXPECT_EQ(replies[1].status, DnsReply::Status::kNotFound);
  EXPECT_EQ(replies[2].values, (std::vector<std::string>{"mx1.example.test", "mx2.example.test"}));
  EXPECT_EQ(replies[2].preferences, (std::vector<int>{10, 20}));
  EXPECT_EQ(replies[3].values, std::vector<std::string>{"192.0.2.1"});
}

}  // namespace
}  // namespace postern::dns
