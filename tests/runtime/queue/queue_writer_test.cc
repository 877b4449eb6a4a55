// queue_writer_test.cc: group commit stores every submitted file under its
// name, intact, with no temporary left, and reports failures per file.
#include "runtime/queue/queue_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>

#include "runtime/queue/queue_file.h"
#include "tests/runtime/temp_directory.h"

namespace postern::queue {
namespace {

class QueueWriterTest : public ::testing::Test {
 protected:
  testing::TempDirectory temp_{"postern-queue"};
  const std::string& root_ = temp_.path();
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST_F(QueueWriterTest, ABodyStreamedIntoItsFileGetsItsEnvelopeAndName) {
  auto writer = QueueWriter::Open(root_ + "/q");
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  for (bool hold : {false, true}) {
    QueuedMessage m;
    m.id = hold ? "STREAMED2" : "STREAMED1";
    m.sender = "a@example.org";
    m.recipients.resize(1);
    m.recipients[0].address = "b@example.com";
    std::unique_ptr<BodySpool> body = (*writer)->NewBody(m.id);
    std::string text;
    while (text.size() < 3 * QueueWriter::kBodyMemoryLimit) text += "a line of the body, long enough\r\n";
    for (size_t i = 0; i < text.size(); i += 1000) body->Append(std::string_view(text).substr(i, 1000));
    ASSERT_TRUE(body->Finish().ok());
    ASSERT_TRUE(body->spilled());
    std::string head = "Subject: big\r\n";
    FirstPartFrame frame = EncodeFirstPart(m, head, body->size(), body->digest());
    std::promise<StoreOutcome> p;
    (*writer)->Submit(m.id, hold, StagedFile{frame.front, std::move(body), frame.back},
                      [&p](StoreOutcome o, const std::string&) { p.set_value(o); });
    ASSERT_EQ(p.get_future().get(), StoreOutcome::kStored);
    auto decoded = DecodeQueueFile(ReadFile(root_ + "/q/" + (hold ? "hold/" : "incoming/") + m.id));
    ASSERT_TRUE(decoded.ok()) << decoded.status().message();
    EXPECT_EQ(decoded->message.content, head + text);
    EXPECT_EQ(decoded->message.recipients[0].address, "b@example.com");
  }
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root_ + "/q")) {
    EXPECT_NE(entry.path().filename().string()[0], '.') << entry.path();  // no temporary left
  }
}

TEST_F(QueueWriterTest, ConcurrentSubmissionsAreAllStored) {
  auto writer = QueueWriter::Open(root_ + "/q");
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  constexpr int kThreads = 8, kEach = 50;
  std::atomic<int> stored{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        QueuedMessage m;
        m.id = "T" + std::to_string(t) + "M" + std::to_string(i);
        m.sender = "a@example.org";
        QueuedRecipient r;
        r.address = "b@example.com";
        r.original = "rfc822;b@example.com";
        m.recipients.push_back(r);
        m.content = "Subject: " + m.id + "\r\n\r\nbody\r\n";
        std::promise<StoreOutcome> p;
        (*writer)->Submit(m.id, i % 10 == 0, EncodeQueueFile(m),
                          [&p](StoreOutcome o, const std::string&) { p.set_value(o); });
        if (p.get_future().get() == StoreOutcome::kStored) ++stored;
      }
    });
  }
  for (auto& t : threads) t.join();
  (*writer)->Stop();
  EXPECT_EQ(stored.load(), kThreads * kEach);
  QueueWriter::Stats stats = (*writer)->stats();
  EXPECT_EQ(stats.files, uint64_t{kThreads * kEach});
  EXPECT_LE(stats.batches, stats.files);
  int files = 0;
  for (const char* queue : {"incoming", "hold"}) {
    for (const auto& entry : std::filesystem::directory_iterator(root_ + "/q/" + queue)) {
      std::string name = entry.path().filename().string();
      EXPECT_FALSE(name.starts_with(".tmp-")) << name;
      auto decoded = DecodeQueueFile(ReadFile(entry.path().string()));
      ASSERT_TRUE(decoded.ok()) << name;
      EXPECT_EQ(decoded->message.id, name);
      ++files;
    }
  }
  EXPECT_EQ(files, kThreads * kEach);
}

TEST_F(QueueWriterTest, FailureIsReportedAndLeavesNothing) {
  auto writer = QueueWriter::Open(root_ + "/q");
  ASSERT_TRUE(writer.ok());
  std::filesystem::remove_all(root_ + "/q/incoming");
  std::ofstream(root_ + "/q/incoming") << "not a directory";
  std::promise<std::pair<StoreOutcome, std::string>> p;
  (*writer)->Submit("X1", false, "bytes", [&p](StoreOutcome o, const std::string& e) { p.set_value({o, e}); });
  auto [outcome, error] = p.get_future().get();
  EXPECT_EQ(outcome, StoreOutcome::kFailed);
  EXPECT_NE(error.find("open"), std::string::npos) << error;
  (*writer)->Stop();
  std::promise<StoreOutcome> after;
  (*writer)->Submit("X2", false, "bytes", [&after](StoreOutcome o, const std::string&) { after.set_value(o); });
  EXPECT_EQ(after.get_future().get(), StoreOutcome::kFailed);
}

TEST_F(QueueWriterTest, AnExistingMessageIsNeverReplaced) {
  auto writer = QueueWriter::Open(root_ + "/q");
  ASSERT_TRUE(writer.ok());
  auto store = [&](const std::string& bytes) {
    std::promise<StoreOutcome> p;
    (*writer)->Submit("SAME", false, bytes, [&p](StoreOutcome o, const std::string&) { p.set_value(o); });
    return p.get_future().get();
  };
  EXPECT_EQ(store("first"), StoreOutcome::kStored);
  EXPECT_EQ(store("second"), StoreOutcome::kFailed);
  EXPECT_EQ(ReadFile(root_ + "/q/incoming/SAME"), "first");
  EXPECT_FALSE(std::filesystem::exists(root_ + "/q/incoming/.tmp-SAME"));
}

}  // namespace
}  // namespace postern::queue
