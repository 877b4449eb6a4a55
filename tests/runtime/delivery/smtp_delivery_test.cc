// smtp_delivery_test.cc: the delivery connection against Postfix's
// smtp-sink on a loopback port (a real SMTP and LMTP server): accepted,
// soft and hard refusals, 421 and disconnects mid-conversation, a server
// that is down. Skipped when smtp-sink is not installed.
#include "runtime/delivery/smtp_delivery.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace postern::delivery {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

uint16_t FreePort() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

// smtp-sink with `flags` on 127.0.0.1:port, dumping messages into dir().
class SmtpSink {
 public:
  explicit SmtpSink(std::vector<std::string> flags) {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-sink-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    std::filesystem::permissions(dir_, std::filesystem::perms::all);
    // Another test may take the port before smtp-sink binds it: then
    // smtp-sink exits and is started again on another port.
    for (int attempt = 0; attempt < 5 && !Start(flags); ++attempt) {
    }
  }
  bool Start(const std::vector<std::string>& flags) {
    port_ = FreePort();
    std::vector<std::string> argv = {"smtp-sink"};
    if (geteuid() == 0) argv.insert(argv.end(), {"-u", "nobody"});
    argv.insert(argv.end(), {"-d", dir_ + "/%M."});
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"127.0.0.1:" + std::to_string(port_), "10"});
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawnp(&pid_, "smtp-sink", nullptr, nullptr, args.data(), environ) != 0) {
      pid_ = 0;
      return false;
    }
    for (int i = 0; i < 100; ++i) {  // until it listens, or has given up
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return false;
      }
      asio::io_context io;
      tcp::socket s(io);
      boost::system::error_code ec;
      s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
      if (!ec) return waitpid(pid_, nullptr, WNOHANG) == 0;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  ~SmtpSink() {
    if (pid_ != 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  bool running() const { return pid_ != 0; }
  uint16_t port() const { return port_; }
  // Everything smtp-sink dumped.
  std::string Dumped() const {
    std::string all;
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir_)) {
      if (!f.is_regular_file()) continue;
      std::ifstream in(f.path());
      std::stringstream s;
      s << in.rdbuf();
      all += s.str();
    }
    return all;
  }

 private:
  uint16_t port_ = 0;
  pid_t pid_ = 0;
  std::string dir_;
};

asio::awaitable<void> DeliverInto(const tcp::endpoint& server, const ClientOptions& options,
                                  const OutboundMessage& message, std::vector<mail::DeliveryStatus>* out) {
  *out = co_await DeliverOverSmtp(server, options, message, nullptr, DeliveryTimeouts{});
}

class SmtpDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (system("command -v smtp-sink >/dev/null 2>&1") != 0) GTEST_SKIP() << "smtp-sink is not installed";
    message_.sender = "alice@example.org";
    message_.recipients = {{"bob@example.net", "", ""}, {"carol@example.net", "", ""}};
    content_ = "Subject: delivery test\r\n\r\n.a line with a dot\r\nbody\r\n";
    message_.content = content_;
  }

  std::vector<mail::DeliveryStatus> Deliver(uint16_t port, bool lmtp = false) {
    ClientOptions options;
    options.helo_name = "mail.example.org";
    options.server = "sink[127.0.0.1]";
    options.relay = options.server + ":" + std::to_string(port);
    options.lmtp = lmtp;
    options.tls = TlsPolicy::kNone;
    asio::io_context io;
    std::vector<mail::DeliveryStatus> results;
    tcp::endpoint server(asio::ip::make_address("127.0.0.1"), port);
    asio::co_spawn(io, DeliverInto(server, options, message_, &results), asio::detached);
    io.run();
    return results;
  }

  std::string content_;
  OutboundMessage message_;
};

TEST_F(SmtpDeliveryTest, AcceptedByTheSink) {
  SmtpSink sink({});
  ASSERT_TRUE(sink.running());
  auto results = Deliver(sink.port());
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].code, 250) << results[0].reason;
  EXPECT_EQ(results[1].code, 250) << results[1].reason;
  std::string dumped = sink.Dumped();
  EXPECT_NE(dumped.find("Subject: delivery test"), std::string::npos) << dumped;
  EXPECT_NE(dumped.find("\n.a line with a dot"), std::string::npos) << dumped;  // the stuffed dot was removed
}

TEST_F(SmtpDeliveryTest, SoftAndHardRefusals) {
  {
    SmtpSink sink({"-r", "RCPT"});
    auto results = Deliver(sink.port());
    EXPECT_EQ(results[0].code, 450) << results[0].reason;
    EXPECT_NE(results[0].reason.find("(in reply to RCPT TO command)"), std::string::npos) << results[0].reason;
  }
  {
    SmtpSink sink({"-f", "MAIL"});
    auto results = Deliver(sink.port());
    EXPECT_EQ(results[1].code, 500) << results[1].reason;
    EXPECT_NE(results[1].reason.find("(in reply to MAIL FROM command)"), std::string::npos) << results[1].reason;
  }
}

TEST_F(SmtpDeliveryTest, DisconnectsAndA421) {
  {
    SmtpSink sink({"-Q", "DATA"});
    auto results = Deliver(sink.port());
    EXPECT_EQ(results[0].code, 421) << results[0].reason;
  }
  {
    SmtpSink sink({"-q", "RCPT"});
    auto results = Deliver(sink.port());
    EXPECT_EQ(results[0].code, 450) << results[0].reason;
    EXPECT_NE(results[0].reason.find("lost connection with sink"), std::string::npos) << results[0].reason;
  }
}

TEST_F(SmtpDeliveryTest, ServerDown) {
  uint16_t port = FreePort();
  auto results = Deliver(port);
  EXPECT_EQ(results[0].code, 450);
  EXPECT_NE(results[0].reason.find("connect to sink[127.0.0.1]:"), std::string::npos) << results[0].reason;
}

TEST_F(SmtpDeliveryTest, Lmtp) {
  SmtpSink sink({"-L"});
  auto results = Deliver(sink.port(), /*lmtp=*/true);
  EXPECT_EQ(results[0].code, 250) << results[0].reason;
  EXPECT_EQ(results[1].code, 250) << results[1].reason;
}

}  // namespace
}  // namespace postern::delivery
