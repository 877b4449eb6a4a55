// local_authority_test.cc: the root local delivery helper does only what
// the image gives a recipient, whatever the daemon asks, and runs a pipe
// service only as its master.cf entry says; and, as root, a forged request
// over the helper's channel runs nothing.
#include "runtime/local/local_authority.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "mail/passwd_table.h"
#include "runtime/local/local_helper.h"
#include "tests/runtime/test_config.h"

namespace postern::local {
namespace {

using testing::TestConfig;

class LocalAuthorityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Where default_privs may write: sticky and open, as /tmp is.
    std::filesystem::create_directories(config_.root() + "/drop");
    chmod((config_.root() + "/drop").c_str(), 01777);
    output_ = config_.root() + "/drop/out";
    config_.Write("main.cf",
                  "myhostname = mail.example.com\nmydomain = example.com\nmyorigin = $mydomain\n"
                  "mydestination = $myhostname, $mydomain, localhost\nalias_maps = hash:" +
                      config_.config_directory() +
                      "/aliases\n"
                      "recipient_delimiter = +\nmail_spool_directory = " +
                      config_.root() +
                      "/spool\ndefault_privs = nobody\n"
                      "filter_time_limit = 7m\nexport_environment = TZ LANG=C.UTF-8\n");
    config_.Write("aliases", "postmaster: root\nroot: \"|touch " + output_ + "\"\nteam: fred, /tmp/team.mbox\n");
    config_.Write("master.cf",
                  "smtp inet n - n - - smtpd\n"
                  "smtp unix - - n - - smtp\n"
                  "local unix - n n - - local\n"
                  "filter unix - n n - - pipe flags=R user=nobody argv=/usr/bin/touch " +
                      config_.root() +
                      "/drop/pipe-${queue_id}\n"
                      "wheelpipe unix - n n - - pipe user=wheel argv=/bin/true\n"
                      "ghost unix - n n - - pipe user=ghost argv=/bin/true\n");
    image_ = config_.Compile();
    users_ = mail::ParsePasswdText(
        "fred:x:1000:1000::/home/fred:/bin/sh\n"
        "root:x:0:0::/root:/bin/sh\n"
        "wheel:x:1002:0::/home/wheel:/bin/sh\n"
        "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n");
    resolver_ = std::make_unique<resolve::Resolver>(image_, users_);
  }

  LocalHelperRequest Request(const std::string& recipient, const std::string& delivery) {
    LocalHelperRequest r;
    r.image_id = image_->id();
    r.transport = "local";
    r.queue_id = "ABC";
    r.recipient = recipient;
    r.original_recipient = recipient;
    r.delivery = delivery;
    r.content = "Subject: x\r\n\r\nbody\r\n";
    return r;
  }

  Result<AuthorizedDelivery> Decide(const LocalHelperRequest& r) { return Authorize(r, *resolver_, *users_); }

  PipeHelperRequest Pipe(const std::string& transport) {
    PipeHelperRequest r;
    r.image_id = image_->id();
    r.transport = transport;
    r.queue_id = "ABC";
    r.sender = "alice@example.org";
    r.nexthop = "example.com";
    r.recipients = {{"fred@example.com", "fred@example.com"}};
    r.content = "Subject: x\r\n\r\nbody\r\n";
    return r;
  }

  TestConfig config_;
  std::string output_;
  std::shared_ptr<const image::Image> image_;
  std::shared_ptr<const mail::LookupTable> users_;
  std::unique_ptr<resolve::Resolver> resolver_;
};

TEST_F(LocalAuthorityTest, AMailboxRunsAsItsUserWithLimitsFromTheImage) {
  auto d = Decide(Request("fred+list@example.com", "mailbox " + config_.root() + "/spool/fred"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->identity.uid, 1000u);
  EXPECT_EQ(d->identity.gid, 1000u);
  EXPECT_EQ(d->request.user, "fred");
  EXPECT_EQ(d->request.hostname, "mail.example.com");
  EXPECT_EQ(d->request.mailbox_size_limit, 51200000u);
  // export_environment, for a command (local(8) passes it on too).
  EXPECT_NE(std::find(d->request.environment.begin(), d->request.environment.end(), "LANG=C.UTF-8"),
            d->request.environment.end());
}

TEST_F(LocalAuthorityTest, AnAliasCommandOfRootRunsAsDefaultPrivs) {
  auto d = Decide(Request("root@example.com", "command touch " + output_));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->identity.uid, 65534u);
  EXPECT_EQ(d->identity.gid, 65534u);
}

TEST_F(LocalAuthorityTest, AUserInGroupRootGetsDefaultPrivs) {
  auto d = Decide(Request("wheel@example.com", "mailbox " + config_.root() + "/spool/wheel"));
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->identity.uid, 65534u);
  EXPECT_NE(d->identity.gid, 0u);
}

TEST_F(LocalAuthorityTest, ADeliveryTheImageDoesNotGiveIsRefused) {
  // What a compromised daemon would ask: a command of its choosing, for a
  // user of its choosing, or another user's mailbox.
  EXPECT_FALSE(Decide(Request("fred@example.com", "command id > /tmp/owned")).ok());
  EXPECT_FALSE(Decide(Request("root@example.com", "command id > /tmp/owned")).ok());
  EXPECT_FALSE(Decide(Request("fred@example.com", "mailbox /etc/passwd")).ok());
  EXPECT_FALSE(Decide(Request("fred@example.com", "file /etc/cron.d/x")).ok());
  EXPECT_FALSE(Decide(Request("team@example.com", "file /etc/cron.d/x")).ok());
  EXPECT_TRUE(Decide(Request("team@example.com", "file /tmp/team.mbox")).ok());
  LocalHelperRequest other_service = Request("root@example.com", "command touch " + output_);
  other_service.transport = "smtp";
  EXPECT_FALSE(Decide(other_service).ok());
}

TEST_F(LocalAuthorityTest, AnImageOthersCanWriteIsNotTrusted) {
  if (geteuid() != 0) GTEST_SKIP() << "images are trusted when root owns them: run as root";
  auto trusted = LoadTrustedImage(config_.images_directory(), image_->id());
  ASSERT_TRUE(trusted.ok()) << trusted.status().message();
  EXPECT_FALSE(LoadTrustedImage(config_.images_directory(), "../../etc").ok());
  std::string file = config_.images_directory() + "/" + image_->id() + "/IMAGE";
  chmod(file.c_str(), 0666);
  auto writable = LoadTrustedImage(config_.images_directory(), image_->id());
  ASSERT_FALSE(writable.ok());
  EXPECT_NE(writable.status().message().find("writable by others"), std::string::npos);
  chmod(file.c_str(), 0444);
  chmod(config_.images_directory().c_str(), 0777);
  EXPECT_FALSE(LoadTrustedImage(config_.images_directory(), image_->id()).ok());
}

TEST_F(LocalAuthorityTest, APipeServiceRunsAsItsUserWithTheImagesCommand) {
  setenv("TZ", "Europe/Paris", 1);
  Identity owner{2000, 2000, "/"};
  auto d = AuthorizePipe(Pipe("filter"), *image_, *users_, owner);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->identity.uid, 65534u);
  EXPECT_EQ(d->identity.gid, 65534u);
  EXPECT_EQ(d->request.settings.argv,
            (std::vector<std::string>{"/usr/bin/touch", config_.root() + "/drop/pipe-${queue_id}"}));
  EXPECT_TRUE(d->request.settings.flags.return_path);
  EXPECT_EQ(d->request.time_limit, 420);  // filter_time_limit
  EXPECT_EQ(d->request.environment,
            (std::vector<std::string>{"TZ=Europe/Paris", "LANG=C.UTF-8", "PATH=/usr/bin:/bin"}));
  EXPECT_EQ(d->request.values.recipient_delimiter, "+");
  EXPECT_EQ(d->request.working_directory, "/");

  // Only a pipe service of the image, and never with root's group, an
  // unknown user or the mail owner's privileges.
  for (const char* transport : {"local", "smtp", "nosuch", "wheelpipe", "ghost"}) {
    EXPECT_FALSE(AuthorizePipe(Pipe(transport), *image_, *users_, owner).ok()) << transport;
  }
  EXPECT_FALSE(AuthorizePipe(Pipe("filter"), *image_, *users_, Identity{65534, 3000, "/"}).ok());
  EXPECT_FALSE(AuthorizePipe(Pipe("filter"), *image_, *users_, Identity{3000, 65534, "/"}).ok());
  auto unknown = AuthorizePipe(Pipe("ghost"), *image_, *users_, owner);
  EXPECT_EQ(unknown.status().message(), "user=ghost of service ghost is not a known user");
}

TEST_F(LocalAuthorityTest, TheHelperRunsNothingAForgedRequestAsks) {
  if (geteuid() != 0 || getpwnam("nobody") == nullptr) GTEST_SKIP() << "the helper runs as root";
  chmod(config_.root().c_str(), 0755);  // default_privs must reach drop/
  auto helper = LocalHelper::Start(config_.images_directory(), users_, Identity{65533, 65533, "/"}, 1);
  ASSERT_TRUE(helper.ok()) << helper.status().message();
  std::string forged_output = config_.root() + "/drop/forged";
  auto forged = (*helper)->Deliver(Request("root@example.com", "command touch " + forged_output));
  EXPECT_EQ(forged.code, 450) << forged.reason;
  EXPECT_FALSE(std::filesystem::exists(forged_output));
  auto wrong_image = Request("root@example.com", "command touch " + output_);
  wrong_image.image_id = std::string(64, 'a');
  EXPECT_EQ((*helper)->Deliver(wrong_image).code, 450);
  EXPECT_FALSE(std::filesystem::exists(output_));

  auto real = (*helper)->Deliver(Request("root@example.com", "command touch " + output_));
  EXPECT_EQ(real.code, 250) << real.reason;
  struct stat st {};
  ASSERT_EQ(stat(output_.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);  // default_privs, never root

  // A pipe service runs its own command as its user=; a request for a
  // service that is not a pipe one runs nothing.
  auto piped = (*helper)->Pipe(Pipe("filter"));
  EXPECT_EQ(piped.code, 250) << piped.reason;
  ASSERT_EQ(stat((config_.root() + "/drop/pipe-ABC").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 65534u);
  PipeHelperRequest not_pipe = Pipe("local");
  not_pipe.queue_id = "DEF";
  EXPECT_EQ((*helper)->Pipe(not_pipe).code, 450);
  EXPECT_EQ((*helper)->Pipe(Pipe("wheelpipe")).status, "4.3.5");

  // The SMTP process keeps only the TLS channel: it cannot ask for deliveries.
  auto tls = (*helper)->ReadTlsFiles(image_->id(), "smtp");
  ASSERT_TRUE(tls.ok()) << tls.status().message();
  EXPECT_FALSE(*tls);  // this image offers no TLS
  (*helper)->KeepOnly(LocalHelper::Task::kTlsFiles);
  EXPECT_EQ((*helper)->Deliver(Request("root@example.com", "command touch " + output_)).code, 450);
  EXPECT_TRUE((*helper)->ReadTlsFiles(image_->id(), "smtp").ok());
  (*helper)->KeepOnly(LocalHelper::Task::kDeliver);
  EXPECT_FALSE((*helper)->ReadTlsFiles(image_->id(), "smtp").ok());
}

}  // namespace
}  // namespace postern::local
