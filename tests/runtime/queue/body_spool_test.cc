// body_spool_test.cc: a body stays in memory while small, then goes into
// its queue file at the body's offset; its digest covers all of it; a
// spool that is dropped removes its file; a failure is reported at Finish.
#include "runtime/queue/body_spool.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tests/runtime/temp_directory.h"

namespace postern::queue {
namespace {

class BodySpoolTest : public ::testing::Test {
 protected:
  size_t Files() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++n;
    return n;
  }
  testing::TempDirectory temp_{"postern-spool"};
  const std::string& dir_ = temp_.path();
};

std::string DigestOf(std::string_view data) {
  Sha256 hash;
  hash.Update(data);
  return Sha256::Hex(hash.Final());
}

TEST_F(BodySpoolTest, ASmallBodyStaysInMemory) {
  BodySpool spool(dir_, "A1", 100, 28);
  spool.Append("hello ");
  spool.Append("world\r\n");
  ASSERT_TRUE(spool.Finish().ok());
  EXPECT_FALSE(spool.spilled());
  EXPECT_EQ(spool.memory(), "hello world\r\n");
  EXPECT_EQ(spool.size(), 13u);
  EXPECT_EQ(Sha256::Hex(spool.digest()), DigestOf("hello world\r\n"));
  EXPECT_EQ(Files(), 0u);
}

TEST_F(BodySpoolTest, ALargeBodyGoesIntoItsFileAtTheBodyOffsetAndMemoryStaysBounded) {
  std::string expected;
  {
    BodySpool spool(dir_, "B2", 1000, 28);
    for (int i = 0; i < 500; ++i) {
      std::string line = "line " + std::to_string(i) + " of the body\r\n";
      expected += line;
      spool.Append(line);
      EXPECT_LT(spool.memory().size(), 1000u + line.size());
    }
    ASSERT_TRUE(spool.Finish().ok());
    EXPECT_TRUE(spool.spilled());
    EXPECT_EQ(spool.path(), dir_ + "/.tmp-B2");
    EXPECT_EQ(spool.size(), expected.size());
    EXPECT_EQ(Sha256::Hex(spool.digest()), DigestOf(expected));
    std::ifstream in(spool.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    ASSERT_EQ(bytes.size(), 28 + expected.size());
    EXPECT_EQ(bytes.substr(0, 28), std::string(28, '\0'));  // left for the writer
    EXPECT_EQ(bytes.substr(28), expected);
  }
  EXPECT_EQ(Files(), 0u);  // dropped before the writer took it: removed
}

TEST_F(BodySpoolTest, AReleasedFileStays) {
  BodySpool spool(dir_, "C3", 4, 0);
  spool.Append("more than four bytes");
  ASSERT_TRUE(spool.Finish().ok());
  spool.Release();
  EXPECT_FALSE(spool.spilled());
  EXPECT_EQ(Files(), 1u);
}

TEST_F(BodySpoolTest, AFileThatCannotBeCreatedIsReportedAtFinishAndTheRestIsCounted) {
  BodySpool spool(dir_ + "/missing", "D4", 4, 0);
  spool.Append("more than four bytes");
  spool.Append("and more");
  Status finished = spool.Finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_NE(finished.message().find("create " + dir_ + "/missing/.tmp-D4: No such file or directory"),
            std::string::npos)
      << finished.message();
  EXPECT_FALSE(spool.no_space());
  EXPECT_EQ(spool.size(), 28u);
  EXPECT_TRUE(spool.memory().empty());
}

TEST_F(BodySpoolTest, WithoutADirectoryEverythingStaysInMemory) {
  BodySpool spool("", "E5", 1, 28);
  spool.Append(std::string(10000, 'x'));
  ASSERT_TRUE(spool.Finish().ok());
  EXPECT_FALSE(spool.spilled());
  EXPECT_EQ(spool.memory().size(), 10000u);
}

}  // namespace
}  // namespace postern::queue
