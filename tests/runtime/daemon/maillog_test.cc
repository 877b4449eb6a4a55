// maillog_test.cc: the log sink writes every line, in order, in Postfix's
// format; batching groups lines but writes a warning at once with what
// came before it, and Flush and destruction leave nothing behind.
#include "runtime/daemon/maillog.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace postern::daemon {
namespace {

class MailLogTest : public ::testing::Test {
 protected:
  MailLogTest() {
    std::string pattern = (std::filesystem::temp_directory_path() / "postern-log-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    path_ = dir_ + "/maillog";
  }
  ~MailLogTest() override { std::filesystem::remove_all(dir_); }
  std::string Text() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::string dir_, path_;
};

TEST_F(MailLogTest, ALineInPostfixFormat) {
  auto sink = std::make_shared<LogSink>();
  ASSERT_TRUE(sink->Open(path_, "mail").ok());
  MailLog log(sink, "mx.example", "postfix", "smtpd");
  log.Write("connect from a[192.0.2.1]\r\nInjected: line");
  std::string text = Text();
  EXPECT_NE(text.find(" mx.example postfix/smtpd[" + std::to_string(getpid()) +
                      "]: connect from a[192.0.2.1]  Injected: line\n"),
            std::string::npos)
      << text;
}

TEST_F(MailLogTest, BatchedLinesAreWrittenInOrderAndAWarningAtOnce) {
  auto sink = std::make_shared<LogSink>();
  ASSERT_TRUE(sink->Open(path_, "mail").ok());
  sink->StartBatching();
  MailLog log(sink, "mx.example", "postfix", "qmgr");
  for (int i = 0; i < 1000; ++i) log.Write("line " + std::to_string(i));
  log.Write("warning: something");
  // Written before Write returned: no waiting for the batch.
  std::string text = Text();
  size_t at = 0;
  for (int i = 0; i < 1000; ++i) {
    at = text.find("]: line " + std::to_string(i) + "\n", at);
    ASSERT_NE(at, std::string::npos) << i;
  }
  EXPECT_NE(text.find("]: warning: something\n", at), std::string::npos);
  log.Write("after");
  sink->Flush();
  EXPECT_NE(Text().find("]: after\n"), std::string::npos);
}

TEST_F(MailLogTest, TheBatchIsWrittenSoonAndAtTheEnd) {
  auto sink = std::make_shared<LogSink>();
  ASSERT_TRUE(sink->Open(path_, "mail").ok());
  sink->StartBatching();
  MailLog log(sink, "mx.example", "postfix", "smtpd");
  log.Write("soon");
  for (int i = 0; i < 500 && Text().find("soon") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(Text().find("]: soon\n"), std::string::npos);
  log.Write("last");
  sink.reset();
  log = MailLog("smtpd");  // the sink goes with its last user
  EXPECT_NE(Text().find("]: last\n"), std::string::npos);
}

}  // namespace
}  // namespace postern::daemon
