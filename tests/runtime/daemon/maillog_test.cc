// maillog_test.cc: the log sink writes each line as it is logged, in
// Postfix's format, named with the pid of the process that logged it (a
// forked child's own).
#include "runtime/daemon/maillog.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/runtime/temp_directory.h"

namespace postern::daemon {
namespace {

class MailLogTest : public ::testing::Test {
 protected:
  std::string Text() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  testing::TempDirectory dir_{"postern-log"};
  std::string path_ = dir_.path() + "/maillog";
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

TEST_F(MailLogTest, EachLineIsWrittenWhenLoggedWithItsProcessId) {
  auto sink = std::make_shared<LogSink>();
  ASSERT_TRUE(sink->Open(path_, "mail").ok());
  MailLog log(sink, "mx.example", "postfix", "qmgr");
  log.Write("before the fork");
  EXPECT_NE(Text().find("postfix/qmgr[" + std::to_string(getpid()) + "]: before the fork\n"), std::string::npos);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    log.Write("in the child");
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  log.Write("after the fork");
  std::string text = Text();
  EXPECT_NE(text.find("postfix/qmgr[" + std::to_string(child) + "]: in the child\n"), std::string::npos) << text;
  EXPECT_NE(text.find("postfix/qmgr[" + std::to_string(getpid()) + "]: after the fork\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace postern::daemon
