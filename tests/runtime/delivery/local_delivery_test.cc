// local_delivery_test.cc: the local delivery agent on real files in a
// temporary directory: mbox format and quoting, a failed append cut back,
// locks, Maildir layout, commands (exit status, EX_TEMPFAIL, time limit,
// environment) and forwarding-loop detection; and nexthop parsing.
#include "runtime/delivery/local_delivery.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/delivery/smtp_agent.h"

namespace postern::delivery {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class LocalDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "postern-local-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
  }
  void TearDown() override { fs::remove_all(dir_); }

  LocalRequest Request(std::string detail) {
    LocalRequest r;
    r.queue_id = "0000000000000001";
    r.sender = "alice@example.org";
    r.recipient = "joe@example.com";
    r.original_recipient = "info@example.com";
    r.user = "joe";
    r.detail = std::move(detail);
    r.content = content_;
    r.hostname = "mx.example.com";
    r.now = 1795000000;
    return r;
  }

  fs::path dir_;
  std::string content_ =
      "Subject: hi\r\nFrom: alice@example.org\r\n\r\nFrom the start.\r\n>From quoted.\r\nlast line\r\n";
};

TEST_F(LocalDeliveryTest, MboxAppendsWithFromLineQuotingAndDeliveryHeaders) {
  fs::path box = dir_ / "joe";
  mail::DeliveryStatus first = DeliverLocally(Request("mailbox " + box.string()));
  ASSERT_EQ(first.code, 250) << first.reason;
  EXPECT_EQ(first.status + " " + first.reason, "2.0.0 delivered to mailbox");
  mail::DeliveryStatus second = DeliverLocally(Request("mailbox " + box.string()));
  ASSERT_EQ(second.code, 250) << second.reason;
  std::string text = ReadFile(box);
  std::string one =
      "Return-Path: <alice@example.org>\nX-Original-To: info@example.com\nDelivered-To: joe@example.com\n"
      "Subject: hi\nFrom: alice@example.org\n\n>From the start.\n>From quoted.\nlast line\n\n";
  ASSERT_EQ(text.substr(0, 5), "From ");
  EXPECT_NE(text.find("From alice@example.org  "), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  // Two copies, each the From_ line and the same text.
  size_t second_from = text.find("\nFrom alice@example.org  ");
  ASSERT_NE(second_from, std::string::npos);
  EXPECT_EQ(text.substr(text.find('\n') + 1, one.size()), one);
  EXPECT_EQ(text.substr(text.find('\n', second_from + 1) + 1), one);
  EXPECT_FALSE(fs::exists(dir_ / "joe.lock"));
  struct stat st;
  ASSERT_EQ(stat(box.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LocalDeliveryTest, MboxRefusesLinksAndHonoursTheSizeLimit) {
  fs::path box = dir_ / "joe";
  fs::path other = dir_ / "other";
  std::ofstream(other) << "x";
  fs::create_symlink(other, box);
  mail::DeliveryStatus linked = DeliverLocally(Request("mailbox " + box.string()));
  EXPECT_EQ(linked.code / 100, 4) << linked.reason;  // O_NOFOLLOW: never written through a symlink
  EXPECT_EQ(ReadFile(other), "x");
  fs::remove(box);
  fs::create_hard_link(other, box);
  mail::DeliveryStatus hard = DeliverLocally(Request("mailbox " + box.string()));
  EXPECT_EQ(hard.code, 550) << hard.reason;
  fs::remove(box);

  LocalRequest small = Request("mailbox " + box.string());
  small.mailbox_size_limit = 50;
  mail::DeliveryStatus full = DeliverLocally(small);
  EXPECT_EQ(full.code, 552) << full.reason;
  EXPECT_EQ(full.status, "5.2.2");
}

TEST_F(LocalDeliveryTest, MboxWaitsForAStaleFreeLockThenGivesUpTemporarily) {
  fs::path box = dir_ / "joe";
  std::ofstream(dir_ / "joe.lock") << "";
  mail::DeliveryStatus locked = DeliverLocally(Request("mailbox " + box.string()));
  EXPECT_EQ(locked.code, 450) << locked.reason;
  EXPECT_NE(locked.reason.find("unable to lock"), std::string::npos) << locked.reason;
  EXPECT_FALSE(fs::exists(box) && fs::file_size(box) > 0);
}

TEST_F(LocalDeliveryTest, MaildirWritesOneFileIntoNew) {
  fs::path maildir = dir_ / "Maildir";
  mail::DeliveryStatus r = DeliverLocally(Request("maildir " + maildir.string() + "/"));
  ASSERT_EQ(r.code, 250) << r.reason;
  EXPECT_TRUE(fs::is_directory(maildir / "cur"));
  EXPECT_TRUE(fs::is_empty(maildir / "tmp"));
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(maildir / "new")) files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0].filename().string().find(".mx.example.com"), std::string::npos);
  std::string text = ReadFile(files[0]);
  EXPECT_EQ(text.substr(0, 32), "Return-Path: <alice@example.org>");
  EXPECT_NE(text.find("\n\nFrom the start.\n>From quoted.\n"), std::string::npos) << text;  // no quoting
}

TEST_F(LocalDeliveryTest, CommandsGetTheMessageAndTheirStatusDecides) {
  fs::path out = dir_ / "out";
  LocalRequest with_environment =
      Request("command cat > " + out.string() + "; echo \"$SENDER $RECIPIENT $TZ\" >> " + out.string());
  with_environment.environment = {"TZ=Europe/Paris"};  // export_environment's
  mail::DeliveryStatus ok = DeliverLocally(with_environment);
  ASSERT_EQ(ok.code, 250) << ok.reason;
  std::string text = ReadFile(out);
  EXPECT_NE(text.find("Subject: hi\n"), std::string::npos);
  EXPECT_NE(text.find("alice@example.org joe@example.com Europe/Paris\n"), std::string::npos) << text;

  mail::DeliveryStatus tempfail = DeliverLocally(Request("command exit 75"));
  EXPECT_EQ(tempfail.code, 450) << tempfail.reason;
  mail::DeliveryStatus failed = DeliverLocally(Request("command echo go away; exit 1"));
  EXPECT_EQ(failed.code, 550);
  EXPECT_NE(failed.reason.find("Command died with status 1"), std::string::npos) << failed.reason;
  EXPECT_NE(failed.reason.find("go away"), std::string::npos) << failed.reason;

  // As local(8): a command out of time bounces.
  LocalRequest slow = Request("command sleep 30");
  slow.command_time_limit = 1;
  mail::DeliveryStatus timed_out = DeliverLocally(slow);
  EXPECT_EQ(timed_out.code, 550);
  EXPECT_EQ(timed_out.reason, "Command time limit exceeded: \"sleep 30\"");
  mail::DeliveryStatus no_user = DeliverLocally(Request("command exit 67"));
  EXPECT_EQ(no_user.status + " " + no_user.reason, "5.1.1 user unknown");

  // A command that does not read its input is judged by its exit status.
  mail::DeliveryStatus no_read = DeliverLocally(Request("command true"));
  EXPECT_EQ(no_read.code, 250) << no_read.reason;
}

TEST_F(LocalDeliveryTest, DevNullIsDeliveredWithoutALock) {
  // An alias to /dev/null: Postfix's local(8) reports it delivered; a dot-lock
  // next to it (/dev/null.lock) could not be made without root, and must not be.
  mail::DeliveryStatus r = DeliverLocally(Request("file /dev/null"));
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.status + " " + r.reason, "2.0.0 delivered to file: /dev/null");
  EXPECT_FALSE(fs::exists("/dev/null.lock"));
}

TEST_F(LocalDeliveryTest, AMessageAlreadyDeliveredToTheRecipientIsALoop) {
  content_ = "Delivered-To: JOE@example.com\r\nSubject: again\r\n\r\nbody\r\n";
  mail::DeliveryStatus r = DeliverLocally(Request("mailbox " + (dir_ / "joe").string()));
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.status + " " + r.reason, "5.4.6 mail forwarding loop for joe@example.com");
  EXPECT_FALSE(fs::exists(dir_ / "joe"));
  // Only headers count: the same text in the body is no loop.
  content_ = "Subject: quoted\r\n\r\nDelivered-To: joe@example.com\r\n";
  EXPECT_EQ(DeliverLocally(Request("mailbox " + (dir_ / "joe").string())).code, 250);
}

TEST(NexthopTest, ParsesSmtpAndLmtpForms) {
  auto domain = ParseNexthop("example.com", false);
  ASSERT_TRUE(domain.ok());
  EXPECT_EQ(domain->kind, Nexthop::Kind::kDomain);
  EXPECT_EQ(domain->port, 25);
  auto host = ParseNexthop("[192.0.2.1]:2525", false);
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->kind, Nexthop::Kind::kHost);
  EXPECT_EQ(host->name, "192.0.2.1");
  EXPECT_EQ(host->port, 2525);
  auto v6 = ParseNexthop("[ipv6:2001:db8::1]", false);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->name, "2001:db8::1");
  auto mx_port = ParseNexthop("example.com:587", false);
  ASSERT_TRUE(mx_port.ok());
  EXPECT_EQ(mx_port->kind, Nexthop::Kind::kDomain);
  EXPECT_EQ(mx_port->port, 587);
  auto unix_socket = ParseNexthop("unix:/run/dovecot/lmtp", true);
  ASSERT_TRUE(unix_socket.ok());
  EXPECT_EQ(unix_socket->kind, Nexthop::Kind::kUnix);
  EXPECT_EQ(unix_socket->name, "/run/dovecot/lmtp");
  auto inet = ParseNexthop("inet:mail.example.com", true);
  ASSERT_TRUE(inet.ok());
  EXPECT_EQ(inet->kind, Nexthop::Kind::kHost);
  EXPECT_EQ(inet->port, 24);
  EXPECT_FALSE(ParseNexthop("[192.0.2.1", false).ok());
  EXPECT_FALSE(ParseNexthop("[192.0.2.1]x", false).ok());
  EXPECT_FALSE(ParseNexthop("host:99999", false).ok());
  EXPECT_FALSE(ParseNexthop(":25", false).ok());
  EXPECT_FALSE(ParseNexthop("unix:", true).ok());
}

}  // namespace
}  // namespace postern::delivery
