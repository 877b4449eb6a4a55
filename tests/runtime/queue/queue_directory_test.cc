// queue_directory_test.cc: the queue directories as root prepares them,
// and listing a queue.
#include "runtime/queue/queue_directory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace postern::queue {
namespace {

class QueueDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-queue-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  static mode_t Mode(const std::string& path) {
    struct stat st {};
    lstat(path.c_str(), &st);
    return st.st_mode & 07777;
  }
  std::string root_;
};

TEST_F(QueueDirectoryTest, QueuesAreCreatedPrivate) {
  std::string q = root_ + "/spool/queue";
  ASSERT_TRUE(PrepareQueueDirectories(q, std::nullopt).ok());
  EXPECT_EQ(Mode(q), 0700u);
  for (std::string_view name : kQueueNames) EXPECT_EQ(Mode(q + "/" + std::string(name)), 0700u) << name;
  // An existing queue that others could list is closed.
  chmod((q + "/incoming").c_str(), 0755);
  ASSERT_TRUE(PrepareQueueDirectories(q, std::nullopt).ok());
  EXPECT_EQ(Mode(q + "/incoming"), 0700u);
}

TEST_F(QueueDirectoryTest, AQueueThatIsALinkIsRefusedAndItsTargetUntouched) {
  std::string q = root_ + "/queue";
  std::filesystem::create_directories(root_ + "/elsewhere");
  chmod((root_ + "/elsewhere").c_str(), 0755);
  std::filesystem::create_directories(q);
  std::filesystem::create_directory_symlink(root_ + "/elsewhere", q + "/deferred");
  Status s = PrepareQueueDirectories(q, std::nullopt);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("deferred is not a directory"), std::string::npos) << s.message();
  EXPECT_EQ(Mode(root_ + "/elsewhere"), 0755u);
}

TEST_F(QueueDirectoryTest, FilesInAQueueAreLeftAsTheyAre) {
  std::string q = root_ + "/queue";
  ASSERT_TRUE(PrepareQueueDirectories(q, std::nullopt).ok());
  std::ofstream(root_ + "/target") << "x";
  chmod((root_ + "/target").c_str(), 0640);
  std::filesystem::create_symlink(root_ + "/target", q + "/incoming/ABC");
  ASSERT_TRUE(PrepareQueueDirectories(q, QueueOwner{getuid(), getgid()}).ok());
  EXPECT_EQ(Mode(root_ + "/target"), 0640u);
  // Listing refuses the link rather than reading through it.
  EXPECT_FALSE(ListQueue(q).ok());
}

TEST_F(QueueDirectoryTest, TemporaryFilesAreRemovedAndMessagesKept) {
  std::string q = root_ + "/queue";
  ASSERT_TRUE(PrepareQueueDirectories(q, std::nullopt).ok());
  std::ofstream(q + "/incoming/.tmp-A1") << "half written";
  std::ofstream(q + "/deferred/.tmp-B2") << "half rewritten";
  std::ofstream(q + "/incoming/C3") << "a message";
  RemoveTemporaryFiles(q);
  EXPECT_FALSE(std::filesystem::exists(q + "/incoming/.tmp-A1"));
  EXPECT_FALSE(std::filesystem::exists(q + "/deferred/.tmp-B2"));
  EXPECT_TRUE(std::filesystem::exists(q + "/incoming/C3"));
}

}  // namespace
}  // namespace postern::queue
