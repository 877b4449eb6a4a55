// queue_file_test.cc: queue files round-trip, refuse any damage, and are
// written durably into a real directory.
#include "runtime/queue/queue_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "util/sha256.h"

namespace postern::queue {
namespace {

QueuedMessage Sample() {
  QueuedMessage m;
  m.id = "4Xk2Pq7Tz3";
  m.arrival_time = 1795000000;
  m.sender = "fred@example.com";
  m.client_address = "203.0.113.9";
  m.client_name = "mail.outside.example";
  m.helo = "mail.outside.example";
  m.ret = "HDRS";
  m.envid = "abc123";
  m.smtputf8 = true;
  m.body_type = "8BITMIME";
  m.image_id = std::string(64, 'a');
  m.recipients = {
      {"jean@example.com", "rfc822;jean@example.com", "SUCCESS,FAILURE", "", QueuedRecipient::State::kPending, 0, ""},
      {"bob@elsewhere.example", "bob@elsewhere.example", "", "relay:[mx.example]", QueuedRecipient::State::kDeferred, 2,
       "451 4.3.0 try again"}};
  m.content = "Subject: hi\r\n\r\nbody with \0 a NUL\r\n";
  m.content.push_back('\0');
  return m;
}

TEST(QueueFileTest, RoundTrip) {
  QueuedMessage m = Sample();
  auto decoded = DecodeQueueFile(EncodeQueueFile(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->id, m.id);
  EXPECT_EQ(decoded->sender, m.sender);
  EXPECT_EQ(decoded->content, m.content);
  ASSERT_EQ(decoded->recipients.size(), 2u);
  EXPECT_EQ(decoded->recipients[1].state, QueuedRecipient::State::kDeferred);
  EXPECT_EQ(decoded->recipients[1].route, "relay:[mx.example]");
  EXPECT_EQ(decoded->recipients[1].attempts, 2u);
  EXPECT_EQ(decoded->recipients[0].notify, "SUCCESS,FAILURE");
  EXPECT_TRUE(decoded->smtputf8);
}

TEST(QueueFileTest, DelayWarnedFlagRoundTripsAndVersionOneFilesStillDecode) {
  QueuedMessage m = Sample();
  m.delay_warned = true;
  auto decoded = DecodeQueueFile(EncodeQueueFile(m));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->delay_warned);

  // A version 1 file: the same without the flags byte (after the image id).
  m.delay_warned = false;
  std::string v2 = EncodeQueueFile(m);
  std::string body = v2.substr(0, v2.size() - 64);
  size_t flags_at = body.find(m.image_id) + m.image_id.size();
  ASSERT_EQ(body[flags_at], '\0');
  std::string v1 = body.substr(0, flags_at) + body.substr(flags_at + 1);
  v1[8] = 1;  // the version, little-endian u32 after the magic
  AppendSha256Trailer(&v1);
  auto old = DecodeQueueFile(v1);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_FALSE(old->delay_warned);
  EXPECT_EQ(old->recipients.size(), 2u);
  EXPECT_EQ(old->content, m.content);
}

TEST(QueueFileTest, EveryFlippedByteAndEveryTruncationIsRefused) {
  std::string bytes = EncodeQueueFile(Sample());
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x20);
    EXPECT_FALSE(DecodeQueueFile(damaged).ok()) << "flipped byte " << i;
  }
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeQueueFile(std::string_view(bytes).substr(0, n)).ok()) << "truncated to " << n;
  }
}

TEST(QueueFileTest, WritesDurablyIntoADirectory) {
  std::string pattern = (std::filesystem::temp_directory_path() / "postern-queue-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  QueuedMessage m = Sample();
  ASSERT_TRUE(WriteQueueFile(pattern, m).ok());
  std::ifstream in(pattern + "/" + m.id, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto decoded = DecodeQueueFile(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->content, m.content);
  // No temporary file is left behind.
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(pattern)) {
    EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();
    ++files;
  }
  EXPECT_EQ(files, 1u);
  std::filesystem::remove_all(pattern);
}

TEST(QueueFileTest, AnUnwritableDirectoryIsATemporaryError) {
  Status s = WriteQueueFile("/nonexistent-postern-queue", Sample());
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(s.temporary()) << s.message();
}

}  // namespace
}  // namespace postern::queue
