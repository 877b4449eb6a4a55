// active_queue_file_test.cc: the queue manager's hold on a message it is
// delivering, against what `postern queue` does meanwhile: a delete or a
// hold at any point never brings the message back, never leaves it in two
// queues and never loses what was recorded (so a released message does
// not deliver again what was delivered); a record a crash cut short is cut
// off before the next append.
#include "runtime/queue/active_queue_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "runtime/queue/queue_directory.h"

namespace postern::queue {
namespace {

class ActiveQueueFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-active-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    ASSERT_TRUE(PrepareQueueDirectories(root_, std::nullopt).ok());
    QueuedMessage m;
    m.id = "000661FC2A30D5B6";
    m.sender = "joe@example.org";
    for (const char* address : {"a@example.com", "b@example.com"}) {
      QueuedRecipient r;
      r.address = address;
      m.recipients.push_back(r);
    }
    m.content = "Subject: x\r\n\r\nbody\r\n";
    ASSERT_TRUE(WriteQueueFile(root_ + "/incoming", m).ok());
    id_ = m.id;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }

  // Where the message is now, by queue.
  std::vector<std::string> Where() {
    std::vector<std::string> queues;
    for (std::string_view q : kQueueNames) {
      if (std::filesystem::exists(root_ + "/" + std::string(q) + "/" + id_)) queues.emplace_back(q);
    }
    return queues;
  }
  QueuedMessage Read(const std::string& queue) {
    std::ifstream in(root_ + "/" + queue + "/" + id_, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    auto decoded = DecodeQueueFile(bytes);
    EXPECT_TRUE(decoded.ok()) << decoded.status().message();
    return decoded.ok() ? decoded->message : QueuedMessage{};
  }
  std::string Delivered(QueuedMessage& m, uint32_t index) {
    m.recipients[index].state = QueuedRecipient::State::kDelivered;
    m.recipients[index].attempts = 1;
    m.recipients[index].last = mail::DeliveryStatus::Local(250, "2.0.0", "delivered");
    return EncodeRecipientRecord(index, m.recipients[index]);
  }

  std::string root_, id_;
};

TEST_F(ActiveQueueFileTest, RecordsAreAppendedAndTheMessageDeferred) {
  QueuedMessage m;
  auto file = ActiveQueueFile::Open(root_, "incoming", id_, &m);
  ASSERT_TRUE(file.ok()) << file.status().message();
  ASSERT_TRUE(file.value().Append(Delivered(m, 0)).ok());
  ASSERT_TRUE(file.value().Defer(2000000000).ok());
  EXPECT_EQ(Where(), std::vector<std::string>{"deferred"});
  struct stat st {};
  stat((root_ + "/deferred/" + id_).c_str(), &st);
  EXPECT_EQ(st.st_mtime, 2000000000);  // the next attempt
  QueuedMessage again = Read("deferred");
  EXPECT_EQ(again.recipients[0].state, QueuedRecipient::State::kDelivered);
  EXPECT_EQ(again.recipients[1].state, QueuedRecipient::State::kPending);
  ASSERT_TRUE(file.value().Remove().ok());
  EXPECT_TRUE(Where().empty());
}

TEST_F(ActiveQueueFileTest, ADeleteDuringDeliveryIsNeverUndone) {
  QueuedMessage m;
  auto file = ActiveQueueFile::Open(root_, "incoming", id_, &m);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(DeleteMessage(root_, "incoming", id_).ok());  // postern queue delete
  EXPECT_TRUE(file.value().Append(Delivered(m, 0)).ok());   // into the file nobody names any more
  EXPECT_TRUE(file.value().Defer(2000000000).not_found());
  EXPECT_TRUE(file.value().Remove().ok());
  EXPECT_TRUE(Where().empty());
}

TEST_F(ActiveQueueFileTest, AHoldDuringDeliveryKeepsWhatWasDelivered) {
  QueuedMessage m;
  auto file = ActiveQueueFile::Open(root_, "incoming", id_, &m);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(MoveMessage(root_, id_, "incoming", "hold").ok());  // postern queue hold
  ASSERT_TRUE(file.value().Append(Delivered(m, 0)).ok());
  EXPECT_TRUE(file.value().Defer(2000000000).not_found());  // not moved out of hold
  EXPECT_EQ(Where(), std::vector<std::string>{"hold"});
  // Finished meanwhile: the held file stays, and knows a@ was delivered.
  EXPECT_TRUE(file.value().Remove().ok());
  EXPECT_EQ(Where(), std::vector<std::string>{"hold"});
  EXPECT_EQ(Read("hold").recipients[0].state, QueuedRecipient::State::kDelivered);
  // Released and loaded again: only b@ is still to be delivered.
  ASSERT_TRUE(MoveMessage(root_, id_, "hold", "incoming").ok());
  QueuedMessage released;
  auto again = ActiveQueueFile::Open(root_, "incoming", id_, &released);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(released.recipients[0].Open());
  EXPECT_TRUE(released.recipients[1].Open());
}

TEST_F(ActiveQueueFileTest, ARequeueOfADeferredMessageIsNotUndone) {
  QueuedMessage m;
  auto file = ActiveQueueFile::Open(root_, "incoming", id_, &m);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file.value().Defer(2000000000).ok());
  QueuedMessage loaded;
  auto deferred = ActiveQueueFile::Open(root_, "deferred", id_, &loaded);
  ASSERT_TRUE(deferred.ok());
  ASSERT_TRUE(MoveMessage(root_, id_, "deferred", "incoming").ok());  // postern queue requeue
  EXPECT_TRUE(deferred.value().Defer(2000000100).not_found());
  EXPECT_EQ(Where(), std::vector<std::string>{"incoming"});
}

TEST_F(ActiveQueueFileTest, ARecordCutShortIsCutOffBeforeTheNextAppend) {
  QueuedMessage m;
  {
    auto file = ActiveQueueFile::Open(root_, "incoming", id_, &m);
    ASSERT_TRUE(file.ok());
    std::string record = Delivered(m, 0);
    ASSERT_TRUE(file.value().Append(record.substr(0, record.size() / 2)).ok());  // the crash
  }
  QueuedMessage after;
  auto file = ActiveQueueFile::Open(root_, "incoming", id_, &after);
  ASSERT_TRUE(file.ok());
  EXPECT_TRUE(after.recipients[0].Open());  // the torn record said nothing
  ASSERT_TRUE(file.value().Append(Delivered(after, 1)).ok());
  QueuedMessage read = Read("incoming");
  EXPECT_TRUE(read.recipients[0].Open());
  EXPECT_EQ(read.recipients[1].state, QueuedRecipient::State::kDelivered);  // read past where the tear was
}

TEST_F(ActiveQueueFileTest, ADamagedOrMisnamedFileIsPermanentAndAMissingOneNotFound) {
  std::ofstream(root_ + "/incoming/BAD", std::ios::binary) << "PSTRNQUE not a queue file";
  QueuedMessage m;
  auto bad = ActiveQueueFile::Open(root_, "incoming", "BAD", &m);
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(bad.status().temporary());
  EXPECT_FALSE(bad.status().not_found());
  EXPECT_TRUE(ActiveQueueFile::Open(root_, "incoming", "GONE", &m).status().not_found());
  std::filesystem::copy_file(root_ + "/incoming/" + id_, root_ + "/incoming/OTHER");
  auto renamed = ActiveQueueFile::Open(root_, "incoming", "OTHER", &m);  // a file under another's name
  ASSERT_FALSE(renamed.ok());
  EXPECT_EQ(renamed.status().message(), "corrupt queue file: its queue id is " + id_);
  std::filesystem::create_symlink(root_ + "/incoming/" + id_, root_ + "/incoming/LINK");
  EXPECT_FALSE(ActiveQueueFile::Open(root_, "incoming", "LINK", &m).ok());  // never through a link
}

}  // namespace
}  // namespace postern::queue
