// queue_file_test.cc: queue files round-trip, refuse any damage to what
// was written before the 250, apply the records appended later (and stop
// at one a crash cut short), keep a body streamed before the envelope,
// still read versions 1 to 3, and are written
// durably into a real directory.
#include "runtime/queue/queue_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/queue/active_queue_file.h"
#include "util/bytes.h"
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
  QueuedRecipient jean;
  jean.address = "jean@example.com";
  jean.original = "rfc822;jean@example.com";
  jean.notify = "SUCCESS,FAILURE";
  QueuedRecipient bob;
  bob.address = "bob@elsewhere.example";
  bob.original = "bob@elsewhere.example";
  bob.route = FrozenRoute::Policy("relay:[mx.example]");
  bob.state = QueuedRecipient::State::kDeferred;
  bob.attempts = 2;
  bob.last = mail::DeliveryStatus::Local(451, "4.3.0", "host mx[192.0.2.1] said: 451 4.3.0 try again");
  bob.last.remote_reply = "451 4.3.0 try again";
  bob.last.remote_mta = "mx";
  bob.last.relay = "mx[192.0.2.1]:25";
  m.recipients = {jean, bob};
  m.content = "Subject: hi\r\n\r\nbody with \0 a NUL\r\n";
  m.content.push_back('\0');
  return m;
}

TEST(QueueFileTest, RoundTrip) {
  QueuedMessage m = Sample();
  auto decoded = DecodeQueueFile(EncodeQueueFile(m));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  const QueuedMessage& d = decoded->message;
  EXPECT_EQ(d.id, m.id);
  EXPECT_EQ(d.sender, m.sender);
  EXPECT_EQ(d.content, m.content);
  ASSERT_EQ(d.recipients.size(), 2u);
  EXPECT_EQ(d.recipients[1].state, QueuedRecipient::State::kDeferred);
  EXPECT_EQ(d.recipients[1].route.kind, FrozenRoute::Kind::kPolicy);
  EXPECT_EQ(d.recipients[1].route.transport, "relay");
  EXPECT_EQ(d.recipients[1].route.nexthop, "[mx.example]");
  EXPECT_EQ(d.recipients[1].attempts, 2u);
  EXPECT_EQ(d.recipients[1].last.code, 451);
  EXPECT_EQ(d.recipients[1].last.status, "4.3.0");
  EXPECT_EQ(d.recipients[1].last.remote_reply, "451 4.3.0 try again");
  EXPECT_EQ(d.recipients[1].last.relay, "mx[192.0.2.1]:25");
  EXPECT_EQ(d.recipients[0].notify, "SUCCESS,FAILURE");
  EXPECT_EQ(d.recipients[0].route.kind, FrozenRoute::Kind::kNone);
  EXPECT_TRUE(d.smtputf8);
  EXPECT_EQ(decoded->intact_size, EncodeQueueFile(m).size());
}

TEST(QueueFileTest, AppendedRecordsChangeStatesAndAddExpansions) {
  QueuedMessage m = Sample();
  std::string bytes = EncodeQueueFile(m);
  QueuedRecipient delivered = m.recipients[0];
  delivered.state = QueuedRecipient::State::kDelivered;
  delivered.attempts = 1;
  delivered.last = mail::DeliveryStatus::Local(250, "2.0.0", "delivered to maildir");
  bytes += EncodeRecipientRecord(0, delivered);
  QueuedRecipient alias;
  alias.address = "robert@elsewhere.example";
  alias.original = m.recipients[1].original;
  alias.route.kind = FrozenRoute::Kind::kDeliver;
  alias.route.transport = "local";
  alias.route.detail = "mailbox /var/mail/robert";
  QueuedRecipient unknown = alias;
  unknown.address = "nobody@elsewhere.example";
  unknown.route.kind = FrozenRoute::Kind::kBounce;
  unknown.route.bounce = mail::DeliveryStatus::Local(550, "5.1.1", "unknown user");
  std::vector<QueuedRecipient> expansion = {alias, unknown};
  bytes += EncodeExpansionRecord(1, expansion);
  bytes += EncodeDelayWarnedRecord();
  auto decoded = DecodeQueueFile(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  const QueuedMessage& d = decoded->message;
  EXPECT_EQ(decoded->intact_size, bytes.size());
  EXPECT_TRUE(d.delay_warned);
  ASSERT_EQ(d.recipients.size(), 4u);
  EXPECT_EQ(d.recipients[0].state, QueuedRecipient::State::kDelivered);
  EXPECT_EQ(d.recipients[0].last.reason, "delivered to maildir");
  EXPECT_EQ(d.recipients[1].state, QueuedRecipient::State::kExpanded);
  EXPECT_FALSE(d.recipients[1].Open());
  EXPECT_EQ(d.recipients[2].route.detail, "mailbox /var/mail/robert");
  EXPECT_EQ(d.recipients[3].route.bounce.status, "5.1.1");

  // A crash in the middle of an append: every shorter tail is read up to
  // the last whole record, and says where that ends.
  size_t whole = bytes.size() - EncodeDelayWarnedRecord().size();
  for (size_t cut = whole; cut < bytes.size(); ++cut) {
    auto torn = DecodeQueueFile(std::string_view(bytes).substr(0, cut));
    ASSERT_TRUE(torn.ok()) << cut;
    EXPECT_EQ(torn->intact_size, whole);
    EXPECT_FALSE(torn->message.delay_warned);
  }
}

TEST(QueueFileTest, ARecordThatDoesNotFitTheMessageMakesItCorrupt) {
  QueuedMessage m = Sample();
  QueuedRecipient r = m.recipients[0];
  r.state = QueuedRecipient::State::kDelivered;
  EXPECT_FALSE(DecodeQueueFile(EncodeQueueFile(m) + EncodeRecipientRecord(7, r)).ok());  // no recipient 7
  m.recipients[0].state = QueuedRecipient::State::kDelivered;  // expanding a delivered recipient
  EXPECT_FALSE(DecodeQueueFile(EncodeQueueFile(m) + EncodeExpansionRecord(0, std::vector<QueuedRecipient>{r})).ok());
}

// A version 2 file of `m` as Postern wrote it before version 3 (`v1`:
// without the flags byte), routes and replies as strings.
std::string OldFile(const QueuedMessage& m, bool v1) {
  ByteWriter w;
  w.PutRaw("PSTRNQUE");
  w.PutU32(v1 ? 1 : 2);
  w.PutString(m.id);
  w.PutU64(static_cast<uint64_t>(m.arrival_time));
  for (const std::string* f :
       {&m.sender, &m.client_address, &m.client_name, &m.helo, &m.sasl_username, &m.ret, &m.envid}) {
    w.PutString(*f);
  }
  w.PutU8(m.smtputf8 ? 1 : 0);
  w.PutString(m.body_type);
  w.PutString(m.image_id);
  if (!v1) w.PutU8(m.delay_warned ? 1 : 0);
  w.PutU32(2);
  w.PutString("jean@example.com");
  w.PutString("rfc822;jean@example.com");
  w.PutString("");
  w.PutString("=local\t\tmailbox /var/mail/jean");
  w.PutU8(0);
  w.PutU32(0);
  w.PutString("");
  w.PutString("bob@elsewhere.example");
  w.PutString("bob@elsewhere.example");
  w.PutString("");
  w.PutString("relay:[mx.example]");
  w.PutU8(3);
  w.PutU32(2);
  w.PutString("4.4.1 connect to mx.example[192.0.2.1]:25: Connection refused");
  w.PutString(m.content);
  std::string bytes = w.Release();
  AppendSha256Trailer(&bytes);
  return bytes;
}

TEST(QueueFileTest, TheContentIsTheHeadFromTheEnvelopeAndTheBodyBeforeIt) {
  QueuedMessage m = Sample();
  std::string head = "Received: from x\r\nSubject: s\r\n";
  std::string body = "\r\nthe body, streamed while it was received\r\n";
  Sha256 hash;
  hash.Update(body);
  FirstPartFrame frame = EncodeFirstPart(m, head, body.size(), hash.Final());
  ASSERT_EQ(frame.front.size(), kQueueFileBodyOffset);
  std::string bytes = frame.front + body + frame.back;
  auto decoded = DecodeQueueFile(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->message.content, head + body);
  EXPECT_EQ(decoded->version, 4u);
  EXPECT_EQ(decoded->intact_size, bytes.size());
  // The body is covered by the check like the rest.
  for (size_t i = kQueueFileBodyOffset; i < kQueueFileBodyOffset + body.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 1);
    EXPECT_FALSE(DecodeQueueFile(damaged).ok()) << "flipped body byte " << i;
  }
}

// Version 3: the envelope first, with the whole content in it, all of it
// under the trailer.
std::string VersionThreeFile(const QueuedMessage& m) {
  std::string v4 = EncodeQueueFile(m);
  ByteReader front(std::string_view(v4).substr(12));
  uint64_t first = 0, body_size = 0;
  front.GetU64(&first);
  front.GetU64(&body_size);
  std::string envelope = v4.substr(kQueueFileBodyOffset + body_size, first - kQueueFileBodyOffset - body_size);
  envelope.resize(envelope.size() - 4);  // the empty head
  ByteWriter content;
  content.PutString(m.content);
  envelope += content.bytes();
  ByteWriter w;
  w.PutRaw("PSTRNQUE");
  w.PutU32(3);
  w.PutU64(20 + envelope.size());
  std::string bytes = w.Release() + envelope;
  AppendSha256Trailer(&bytes);
  return bytes;
}

TEST(QueueFileTest, VersionThreeFilesStillDecodeWithTheirRecords) {
  QueuedMessage m = Sample();
  QueuedRecipient jean = m.recipients[0];
  jean.state = QueuedRecipient::State::kDelivered;
  auto decoded = DecodeQueueFile(VersionThreeFile(m) + EncodeRecipientRecord(0, jean));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->version, 3u);
  EXPECT_EQ(decoded->message.content, m.content);
  EXPECT_EQ(decoded->message.recipients[0].state, QueuedRecipient::State::kDelivered);
  EXPECT_EQ(decoded->message.recipients[1].last.remote_reply, "451 4.3.0 try again");
}

TEST(QueueFileTest, VersionOneAndTwoFilesStillDecode) {
  QueuedMessage m = Sample();
  m.delay_warned = true;
  for (bool v1 : {false, true}) {
    auto old = DecodeQueueFile(OldFile(m, v1));
    ASSERT_TRUE(old.ok()) << old.status().message();
    const QueuedMessage& d = old->message;
    EXPECT_EQ(d.delay_warned, !v1);
    ASSERT_EQ(d.recipients.size(), 2u);
    EXPECT_EQ(d.recipients[0].route.kind, FrozenRoute::Kind::kDeliver);
    EXPECT_EQ(d.recipients[0].route.transport, "local");
    EXPECT_EQ(d.recipients[0].route.detail, "mailbox /var/mail/jean");
    EXPECT_EQ(d.recipients[1].route.Describe(), "relay:[mx.example]");
    EXPECT_EQ(d.recipients[1].state, QueuedRecipient::State::kDeferred);
    EXPECT_EQ(d.recipients[1].last.code, 450);
    EXPECT_EQ(d.recipients[1].last.status, "4.4.1");
    EXPECT_EQ(d.recipients[1].last.reason, "connect to mx.example[192.0.2.1]:25: Connection refused");
    EXPECT_EQ(d.content, m.content);
  }
}

TEST(QueueFileTest, AnOldFileIsWrittenAgainInTheCurrentVersionWhenLoadedAndThenTakesRecords) {
  std::string root = (std::filesystem::temp_directory_path() / "postern-queue-XXXXXX").string();
  ASSERT_NE(mkdtemp(root.data()), nullptr);
  std::filesystem::create_directory(root + "/incoming");
  QueuedMessage m = Sample();
  std::ofstream(root + "/incoming/" + m.id, std::ios::binary) << OldFile(m, /*v1=*/false);
  QueuedMessage loaded;
  auto file = ActiveQueueFile::Open(root, "incoming", m.id, &loaded);
  ASSERT_TRUE(file.ok()) << file.status().message();
  loaded.recipients[0].state = QueuedRecipient::State::kDelivered;
  ASSERT_TRUE(file.value().Append(EncodeRecipientRecord(0, loaded.recipients[0])).ok());
  std::ifstream in(root + "/incoming/" + m.id, std::ios::binary);
  auto decoded = DecodeQueueFile(std::string((std::istreambuf_iterator<char>(in)), {}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->version, kQueueFileVersion);
  EXPECT_EQ(decoded->message.recipients[0].state, QueuedRecipient::State::kDelivered);
  EXPECT_EQ(decoded->message.recipients[1].route.Describe(), "relay:[mx.example]");
  std::filesystem::remove_all(root);
}

TEST(QueueFileTest, EveryFlippedByteAndEveryTruncationOfTheFirstPartIsRefused) {
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
  EXPECT_EQ(decoded->message.content, m.content);
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
