// read_file_test.cc: a file another user may have tampered with is read
// only when it is a regular file reached without a link, never blocking.
#include "util/read_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace postern {
namespace {

class ReadFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-read-XXXXXX").string();
    root_ = mkdtemp(pattern.data());
    std::ofstream(root_ + "/plain") << "contents\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(ReadFileTest, ARegularFileIsReadWhole) {
  auto bytes = ReadRegularFile(root_ + "/plain");
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  EXPECT_EQ(*bytes, "contents\n");
}

TEST_F(ReadFileTest, AMissingFileIsNotFound) { EXPECT_TRUE(ReadRegularFile(root_ + "/absent").status().not_found()); }

TEST_F(ReadFileTest, ALinkIsRefusedUnlessFollowingIsAsked) {
  std::filesystem::create_symlink(root_ + "/plain", root_ + "/link");
  auto refused = ReadRegularFile(root_ + "/link");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("symbolic link"), std::string::npos);
  auto followed = ReadRegularFileFollowingLinks(root_ + "/link");
  ASSERT_TRUE(followed.ok());
  EXPECT_EQ(*followed, "contents\n");
}

TEST_F(ReadFileTest, AFifoIsRefusedWithoutWaitingForAWriter) {
  ASSERT_EQ(mkfifo((root_ + "/fifo").c_str(), 0600), 0);
  auto refused = ReadRegularFile(root_ + "/fifo");  // would block forever without O_NONBLOCK
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not a regular file"), std::string::npos);
  EXPECT_FALSE(ReadRegularFile(root_).ok());  // a directory neither
}

}  // namespace
}  // namespace postern
