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

namespace postern::queue {
namespace {

class QueueWriterTest : public ::testing::Test {
 protected:
  QueueWriterTest() {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-queue-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  ~QueueWriterTest() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
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
