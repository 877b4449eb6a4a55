// dovecot_auth_client_test.cc: the client against a real Dovecot (Debian's
// dovecot-core) started as an authentication server only, under a
// temporary directory, with a passwd-file of test users. Skipped when
// Dovecot is not installed.
#include "runtime/sasl/dovecot_auth_client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

namespace postern::sasl {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

class PrivateDovecot {
 public:
  PrivateDovecot() {
    std::string pattern = (fs::temp_directory_path() / "postern-dovecot-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    fs::permissions(root_, fs::perms(0755));  // Dovecot's auth process runs as nobody
    fs::create_directories(root_ + "/run");
    fs::create_directories(root_ + "/state");
    std::ofstream(root_ + "/users") << "fred@example.com:{PLAIN}secret\njean:{PLAIN}motdepasse\n";
    std::ofstream(root_ + "/dovecot.conf")
        << "protocols =\nlisten = 127.0.0.1\nbase_dir = " << root_ << "/run\nstate_dir = " << root_
        << "/state\nlog_path = " << root_
        << "/dovecot.log\ndefault_login_user = nobody\ndefault_internal_user = nobody\n"
           "default_internal_group = nogroup\nssl = no\nauth_mechanisms = plain login\n"
           "auth_failure_delay = 0\ndisable_plaintext_auth = no\n"
           "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u "
        << root_ << "/users\n}\nuserdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=" << root_
        << "\n}\nservice auth {\n  unix_listener auth-client {\n    path = " << root_
        << "/auth\n    mode = 0666\n  }\n}\nservice anvil {\n  chroot =\n}\n";
    std::string command = "/usr/sbin/dovecot -c " + root_ + "/dovecot.conf >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) return;
    for (int i = 0; i < 100 && !fs::exists(socket()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    started_ = fs::exists(socket());
  }
  ~PrivateDovecot() {
    std::string command = "/usr/sbin/dovecot -c " + root_ + "/dovecot.conf stop >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) {
      // Already gone.
    }
    fs::remove_all(root_);
  }
  bool started() const { return started_; }
  std::string socket() const { return root_ + "/auth"; }

 private:
  std::string root_;
  bool started_ = false;
};

template <typename F>
void RunCoroutine(F f) {
  asio::io_context io;
  asio::co_spawn(io, f(io.get_executor()), asio::detached);
  io.run();
}

TEST(DovecotAuthClientTest, AuthenticatesAgainstARealDovecot) {
  if (geteuid() != 0 || !fs::exists("/usr/sbin/dovecot")) GTEST_SKIP() << "needs root and Debian's dovecot-core";
  PrivateDovecot dovecot;
  if (!dovecot.started()) GTEST_SKIP() << "dovecot did not start";
  RunCoroutine([&](asio::any_io_executor executor) -> asio::awaitable<void> {
    DovecotAuthClient client(executor, dovecot.socket(), std::chrono::seconds(10));
    Status connected = co_await client.Connect();
    EXPECT_TRUE(connected.ok()) << connected.message();
    std::vector<std::string> names;
    for (const DovecotMechanism& m : client.mechanisms()) names.push_back(m.name);
    EXPECT_EQ(names, (std::vector<std::string>{"PLAIN", "LOGIN"}));

    DovecotAuthRequest plain;
    plain.id = client.NextId();
    plain.mechanism = "PLAIN";
    plain.initial_response = "AGZyZWRAZXhhbXBsZS5jb20Ac2VjcmV0";  // \0fred@example.com\0secret
    auto ok = co_await client.Exchange(*EncodeDovecotAuth(plain), plain.id);
    EXPECT_TRUE(ok.ok() && ok->kind == DovecotAuthReply::Kind::kOk && ok->user == "fred@example.com")
        << (ok.ok() ? ok->reason : ok.status().message());

    plain.id = client.NextId();
    plain.initial_response = "AGZyZWRAZXhhbXBsZS5jb20Ad3Jvbmc=";  // wrong password
    auto fail = co_await client.Exchange(*EncodeDovecotAuth(plain), plain.id);
    EXPECT_TRUE(fail.ok() && fail->kind == DovecotAuthReply::Kind::kFail && !fail->temporary);

    // LOGIN: two challenges over the same connection.
    DovecotAuthRequest login;
    login.id = client.NextId();
    login.mechanism = "LOGIN";
    auto first = co_await client.Exchange(*EncodeDovecotAuth(login), login.id);
    EXPECT_TRUE(first.ok() && first->kind == DovecotAuthReply::Kind::kContinue &&
                first->challenge == "VXNlcm5hbWU6");  // "Username:"
    auto second = co_await client.Exchange(*EncodeDovecotContinue(login.id, "amVhbg=="), login.id);
    EXPECT_TRUE(second.ok() && second->kind == DovecotAuthReply::Kind::kContinue);
    auto done = co_await client.Exchange(*EncodeDovecotContinue(login.id, "bW90ZGVwYXNzZQ=="), login.id);
    EXPECT_TRUE(done.ok() && done->kind == DovecotAuthReply::Kind::kOk && done->user == "jean");
  });
}

TEST(DovecotAuthClientTest, AnAbsentServerIsATemporaryError) {
  RunCoroutine([](asio::any_io_executor executor) -> asio::awaitable<void> {
    DovecotAuthClient client(executor, "/nonexistent/auth", std::chrono::seconds(2));
    Status s = co_await client.Connect();
    EXPECT_TRUE(s.temporary()) << s.message();
    DovecotAuthClient inet(executor, "inet:127.0.0.1:1", std::chrono::seconds(2));
    Status t = co_await inet.Connect();
    EXPECT_TRUE(t.temporary()) << t.message();
  });
}

}  // namespace
}  // namespace postern::sasl
