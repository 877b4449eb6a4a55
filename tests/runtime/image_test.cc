// image_test.cc: the image format end to end: reproducible bytes, atomic
// publication with pruning, verification that refuses a damaged image, and
// the CDB reader agreeing with tinycdb.
#include "runtime/image/image.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/runtime/test_config.h"

namespace postern::image {
namespace {

namespace fs = std::filesystem;
using testing::TestConfig;

void WriteSample(const TestConfig& config, const std::string& directory = "") {
  std::string dir = directory.empty() ? config.config_directory() : directory;
  fs::create_directories(dir);
  std::ofstream(dir + "/main.cf") << "myhostname = mail.example.com\n"
                                     "mydomain = example.com\n"
                                     "alias_maps = hash:/etc/postfix/aliases\n"
                                     "virtual_alias_maps = hash:/etc/postfix/virtual, pcre:/etc/postfix/virtual.pcre\n"
                                     "smtpd_client_restrictions = check_client_access cidr:/etc/postfix/clients\n";
  std::ofstream(dir + "/aliases") << "postmaster: root\nroot: admin, fred\n";
  std::ofstream(dir + "/virtual") << "@thebible.com fred\ninfo@example.com jean\n";
  std::ofstream(dir + "/virtual.pcre") << "/^(.*)@old\\.example$/ ${1}@example.com\n";
  std::ofstream(dir + "/clients") << "192.0.2.0/24 REJECT\n";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ImageTest, SameInputsGiveByteIdenticalImagesInDifferentDirectories) {
  TestConfig a, b;
  WriteSample(a);
  WriteSample(b, b.root() + "/elsewhere/conf");
  emit::PublishResult first = a.Publish();
  emit::PublishOptions options{b.root() + "/other-images", 5, std::nullopt, ""};
  auto second = emit::PublishImage(b.Build(b.root() + "/elsewhere/conf"), options);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(fs::path(first.path).filename(), fs::path(second->path).filename());
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(first.path)) {
    if (!entry.is_regular_file()) continue;
    fs::path relative = fs::relative(entry.path(), first.path);
    EXPECT_EQ(ReadFile(entry.path()), ReadFile((fs::path(second->path) / relative).string())) << relative;
    ++files;
  }
  EXPECT_GE(files, 7u);
}

TEST(ImageTest, LoadsTablesAndParameters) {
  TestConfig config;
  WriteSample(config);
  auto image = config.Compile();
  ASSERT_TRUE(image);
  EXPECT_EQ(image->Text("myhostname"), "mail.example.com");
  EXPECT_EQ(image->Text("myorigin"), "mail.example.com");  // $myhostname, expanded
  EXPECT_EQ(image->Text("config_directory"), "/etc/postfix");
  const mail::LookupTable* virtual_table = image->Table("hash:/etc/postfix/virtual");
  ASSERT_NE(virtual_table, nullptr);
  EXPECT_EQ(virtual_table->Lookup("INFO@Example.COM"), "jean");
  const mail::LookupTable* pcre = image->Table("pcre:/etc/postfix/virtual.pcre");
  ASSERT_NE(pcre, nullptr);
  EXPECT_EQ(pcre->Lookup("joe@old.example"), "joe@example.com");
  EXPECT_FALSE(pcre->AcceptsPartialKeys());
  const mail::LookupTable* cidr = image->Table("cidr:/etc/postfix/clients");
  ASSERT_NE(cidr, nullptr);
  EXPECT_EQ(cidr->Lookup("192.0.2.9"), "REJECT");
  EXPECT_EQ(cidr->Lookup("198.51.100.1"), std::nullopt);
  const mail::LookupTable* aliases = image->Table("hash:/etc/postfix/aliases");
  ASSERT_NE(aliases, nullptr);
  EXPECT_EQ(aliases->Lookup("root"), "admin, fred");
  EXPECT_NE(image->manifest().find("hash:/etc/postfix/virtual"), std::string_view::npos);
}

TEST(ImageTest, DatabaseTablesAreReadWhenCompilingAndAnsweredFromTheImage) {
  TestConfig config;
  std::string database = config.root() + "/users.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(database.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE mailbox(local_part TEXT, domain TEXT, maildir TEXT, active INT);"
                         "INSERT INTO mailbox VALUES('joe','example.com','example.com/joe/',1),"
                         "('ann','example.com','example.com/ann/',0),('joe','other.example','other/joe/',1);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  config.Write("main.cf",
               "virtual_mailbox_domains = example.com other.example\n"
               "virtual_mailbox_maps = proxy:sqlite:/etc/postfix/mailboxes.cf\n");
  config.Write("mailboxes.cf", "dbpath = " + database +
                                   "\nquery = SELECT maildir FROM mailbox WHERE local_part='%u' AND domain='%d' "
                                   "AND active = 1\nresult_format = /var/mail/%s\n");
  auto image = config.Compile();
  ASSERT_TRUE(image);
  // The database is not needed any more.
  std::filesystem::remove(database);
  const mail::LookupTable* mailboxes = image->Table("proxy:sqlite:/etc/postfix/mailboxes.cf");
  ASSERT_NE(mailboxes, nullptr);
  EXPECT_EQ(mailboxes->Lookup("Joe@Example.com"), "/var/mail/example.com/joe/");
  EXPECT_EQ(mailboxes->Lookup("joe@other.example"), "/var/mail/other/joe/");
  EXPECT_EQ(mailboxes->Lookup("ann@example.com"), std::nullopt);
  EXPECT_EQ(mailboxes->Lookup("joe"), std::nullopt);
  EXPECT_NE(image->manifest().find("sqlite:/etc/postfix/mailboxes.cf"), std::string_view::npos);
}

TEST(ImageTest, SmtpdServicesHaveTheirOwnSettingsAndPolicy) {
  TestConfig config;
  WriteSample(config);
  config.Write("cert.pem", "");
  config.Write("master.cf",
               "smtp inet n - n - - smtpd\n"
               "submission inet n - n - 20 smtpd\n"
               "  -o syslog_name=postfix/submission\n"
               "  -o smtpd_tls_wrappermode=yes\n"
               "  -o smtpd_tls_cert_file=/etc/postfix/cert.pem\n"
               "  -o smtpd_client_restrictions=check_client_access,cidr:/etc/postfix/submitters,reject\n"
               "  -o myorigin=elsewhere.example\n"
               "relay unix - - n - - smtp\n"
               "  -o smtp_connect_timeout=5s\n");
  config.Write("submitters", "192.0.2.0/24 OK\n");
  auto image = config.Compile();
  ASSERT_TRUE(image);
  std::shared_ptr<const Image> smtp = image->ForService("smtp");
  std::shared_ptr<const Image> submission = image->ForService("submission");
  EXPECT_EQ(submission->service(), "submission");
  EXPECT_EQ(smtp->Text("syslog_name"), "postfix");
  EXPECT_EQ(submission->Text("syslog_name"), "postfix/submission");
  EXPECT_TRUE(submission->settings().Boolean("smtpd_tls_wrappermode"));
  EXPECT_FALSE(smtp->settings().Boolean("smtpd_tls_wrappermode"));
  EXPECT_EQ(submission->Text("smtpd_tls_cert_file"), "/etc/postfix/cert.pem");
  // smtpd does not read myorigin (cleanup does): the override is not applied.
  EXPECT_EQ(submission->Text("myorigin"), image->Text("myorigin"));
  // The service's policy, with the table only its override names.
  EXPECT_EQ(mail::EncodeProgram(*smtp->program()), mail::EncodeProgram(*image->program()));
  EXPECT_NE(mail::EncodeProgram(*submission->program()), mail::EncodeProgram(*image->program()));
  EXPECT_NE(image->Table("cidr:/etc/postfix/submitters"), nullptr);
  // A delivery service keeps its overrides as before.
  EXPECT_EQ(image->settings().Seconds("relay/smtp_connect_timeout"), 5);
  for (const mail::ServiceEntry& s : image->services()) {
    if (s.name == "submission") {
      EXPECT_EQ(s.process_limit, 20u);
    } else if (s.name == "smtp") {
      EXPECT_EQ(s.process_limit, mail::kDefaultProcessLimit);
    }
  }
}

TEST(ImageTest, PublishSwapsCurrentAndPrunesOldImages) {
  TestConfig config;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    config.Write("main.cf", "myhostname = host" + std::to_string(i) + ".example.com\n");
    emit::PublishResult r = config.Publish(/*keep=*/2);
    ids.push_back(fs::path(r.path).filename().string());
    EXPECT_EQ(fs::read_symlink(config.images_directory() + "/current").string(), ids.back());
    if (i > 0) {
      EXPECT_EQ(r.previous, ids[ids.size() - 2]);
    }
  }
  // current + 2 previous are kept, the two oldest are gone.
  EXPECT_TRUE(fs::exists(config.images_directory() + "/" + ids[4]));
  EXPECT_TRUE(fs::exists(config.images_directory() + "/" + ids[3]));
  EXPECT_TRUE(fs::exists(config.images_directory() + "/" + ids[2]));
  EXPECT_FALSE(fs::exists(config.images_directory() + "/" + ids[1]));
  EXPECT_FALSE(fs::exists(config.images_directory() + "/" + ids[0]));
  for (const auto& entry : fs::directory_iterator(config.images_directory())) {
    EXPECT_NE(entry.path().filename().string()[0], '.') << "temporary left behind: " << entry.path();
  }
  // Publishing an existing image only moves `current`.
  config.Write("main.cf", "myhostname = host3.example.com\n");
  emit::PublishResult again = config.Publish(2);
  EXPECT_TRUE(again.already_present);
  EXPECT_EQ(fs::read_symlink(config.images_directory() + "/current").string(), ids[3]);
}

class DamagedImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteSample(config_);
    path_ = config_.Publish().path;
    ASSERT_TRUE(Image::Load(path_).ok());
  }
  std::string Refusal() {
    auto image = Image::Load(path_);
    EXPECT_FALSE(image.ok());
    return image.ok() ? "" : image.status().message();
  }
  void Rewrite(const std::string& name, const std::function<void(std::string*)>& change) {
    std::string file = path_ + "/" + name;
    std::string bytes = ReadFile(file);
    change(&bytes);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  }
  TestConfig config_;
  std::string path_;
};

TEST_F(DamagedImageTest, FlippedByteInATableIsRefused) {
  Rewrite("tables/002.cdb", [](std::string* b) { (*b)[b->size() / 2] ^= 0x01; });
  EXPECT_NE(Refusal().find("tables/002.cdb: checksum mismatch"), std::string::npos);
}

TEST_F(DamagedImageTest, TruncatedParametersAreRefused) {
  Rewrite("params.cdb", [](std::string* b) { b->resize(b->size() - 100); });
  EXPECT_NE(Refusal().find("params.cdb has"), std::string::npos);
}

TEST_F(DamagedImageTest, MissingFileIsRefused) {
  fs::remove(path_ + "/MANIFEST");
  EXPECT_NE(Refusal().find("missing file"), std::string::npos);
}

TEST_F(DamagedImageTest, DamagedHeaderIsRefused) {
  Rewrite("IMAGE", [](std::string* b) { (*b)[20] ^= 0x40; });
  EXPECT_NE(Refusal().find("corrupt image header: checksum mismatch"), std::string::npos);
}

TEST_F(DamagedImageTest, TruncatedHeaderIsRefused) {
  Rewrite("IMAGE", [](std::string* b) { b->resize(5); });
  EXPECT_NE(Refusal().find("bad magic"), std::string::npos);
}

TEST_F(DamagedImageTest, ContentThatDoesNotMatchTheDirectoryNameIsRefused) {
  // A consistent image of another configuration, put under this name.
  TestConfig other;
  other.Write("main.cf", "myhostname = other.example.com\n");
  std::string other_path = other.Publish().path;
  fs::remove_all(path_);
  fs::copy(other_path, path_, fs::copy_options::recursive);
  EXPECT_NE(Refusal().find("does not match its name"), std::string::npos);
}

}  // namespace
}  // namespace postern::image
