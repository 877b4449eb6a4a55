// pipe_delivery_test.cc: pipe(8) deliveries to real commands (/bin/sh
// scripts in a temporary directory): what the command reads under each
// flag, its arguments, and how its exit status and output become the
// delivery's status (sysexits, an enhanced status code in the output,
// signals, the time limit, a command that cannot start); the refusals
// before anything runs (D and O with several recipients, size=, a
// Delivered-To: loop).
#include "runtime/delivery/pipe_delivery.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "runtime/delivery/command_runner.h"

namespace postern::delivery {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class PipeDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "postern-pipe-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    // Saves its input and its arguments, then says and exits as told by
    // the files "say" and "status" beside it.
    script_ = dir_ / "command";
    std::ofstream(script_) << "#!/bin/sh\n"
                              "cat > \"$(dirname \"$0\")/input\"\n"
                              "printf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n"
                              "d=$(dirname \"$0\")\n"
                              "[ -f \"$d/say\" ] && cat \"$d/say\"\n"
                              "exit $(cat \"$d/status\" 2>/dev/null || echo 0)\n";
    chmod(script_.c_str(), 0755);
  }
  void TearDown() override { fs::remove_all(dir_); }

  PipeRequest Request(const std::vector<std::string>& attributes) {
    Result<mail::PipeService> settings = mail::ParsePipeService(attributes);
    EXPECT_TRUE(settings.ok()) << settings.status().message();
    PipeRequest r;
    r.service = "filter";
    if (settings.ok()) r.settings = *settings;
    r.values.sender = "alice@example.org";
    r.values.nexthop = "example.com";
    r.values.queue_id = "4XyZ";
    r.values.recipients = {{"joe@example.com", "info@example.com"}};
    r.values.size = content_.size();
    r.content = content_;
    r.now = 1795000000;
    r.time_limit = 10;
    r.environment = {"PATH=/usr/bin:/bin"};
    return r;
  }
  void Exit(int status, const std::string& say = "") {
    std::ofstream(dir_ / "status") << status;
    std::ofstream(dir_ / "say") << say;
  }

  fs::path dir_, script_;
  std::string content_ = "Subject: hi\r\n\r\nFrom the start.\r\n.dot\r\nlast line\r\n";
};

TEST_F(PipeDeliveryTest, PlainCopyAndExpandedArguments) {
  PipeRequest r = Request({"user=x", "argv=" + script_.string(), "-f", "${sender}", "--", "${recipient}"});
  r.values.recipients.push_back({"ann@example.com", "ann@example.com"});
  mail::DeliveryStatus s = DeliverToPipe(r);
  EXPECT_EQ(s.code, 250) << s.reason;
  EXPECT_EQ(s.status + " " + s.reason, "2.0.0 delivered via filter service");
  EXPECT_EQ(ReadFile(dir_ / "input"), "Subject: hi\n\nFrom the start.\n.dot\nlast line\n");
  EXPECT_EQ(ReadFile(dir_ / "args"), "-f\nalice@example.org\n--\njoe@example.com\nann@example.com\n");
}

TEST_F(PipeDeliveryTest, FlagsShapeTheCopy) {
  PipeRequest r = Request({"flags=BFORD.>", "user=x", "eol=\\r\\n", "argv=" + script_.string()});
  ASSERT_EQ(DeliverToPipe(r).code, 250);
  EXPECT_EQ(ReadFile(dir_ / "input"),
            "From alice@example.org  Wed Nov 18 11:06:40 2026\r\n"
            "Return-Path: <alice@example.org>\r\n"
            "X-Original-To: info@example.com\r\n"
            "Delivered-To: joe@example.com\r\n"
            "Subject: hi\r\n\r\n>From the start.\r\n..dot\r\nlast line\r\n\r\n");
  // The null sender: MAILER-DAEMON in the From line, <> in Return-Path.
  r = Request({"flags=FR", "user=x", "argv=" + script_.string()});
  r.values.sender = "";
  ASSERT_EQ(DeliverToPipe(r).code, 250);
  EXPECT_EQ(ReadFile(dir_ / "input").substr(0, 74),
            "From MAILER-DAEMON  Wed Nov 18 11:06:40 2026\nReturn-Path: <MAILER-DAEMON>\n");
  r = Request({"flags=FR", "user=x", "null_sender=", "argv=" + script_.string()});
  r.values.sender = "";
  ASSERT_EQ(DeliverToPipe(r).code, 250);
  EXPECT_EQ(ReadFile(dir_ / "input").substr(0, 61), "From MAILER-DAEMON  Wed Nov 18 11:06:40 2026\nReturn-Path: <>\n");
}

TEST_F(PipeDeliveryTest, ExitStatusesAndOutputAsPostfixReadsThem) {
  PipeRequest r = Request({"user=x", "argv=" + script_.string()});
  struct Case {
    int status;
    std::string say;
    int code;
    std::string text;
  };
  for (const Case& c : std::vector<Case>{
           {75, "", 450, "4.3.0 temporary failure"},
           {75, "busy\nnow\n", 450, "4.3.0 temporary failure. Command output: busy now"},
           {67, "", 550, "5.1.1 user unknown"},
           {77, "", 550, "5.7.0 permission denied"},
           {78, "", 550, "5.3.5 local configuration error"},
           {71, "", 450, "4.3.0 system resource problem"},
           {1, "go away", 550,
            "5.3.0 Command died with status 1: \"" + script_.string() + "\". Command output: go away"},
           // An enhanced status code at the start of the output decides.
           {1, "4.2.2 mailbox full", 450, "4.2.2 mailbox full"},
           {75, "5.1.1 no such user here", 550, "5.1.1 no such user here"},
           {0, "all good", 250, "2.0.0 delivered via filter service (all good)"},
       }) {
    Exit(c.status, c.say);
    mail::DeliveryStatus s = DeliverToPipe(r);
    EXPECT_EQ(s.code, c.code) << c.status << " " << c.say;
    EXPECT_EQ(s.status + " " + s.reason, c.text);
  }
}

TEST_F(PipeDeliveryTest, SignalsTimeLimitsAndCommandsThatCannotStart) {
  std::ofstream(dir_ / "killer") << "#!/bin/sh\nkill -TERM $$\n";
  chmod((dir_ / "killer").c_str(), 0755);
  mail::DeliveryStatus killed = DeliverToPipe(Request({"user=x", "argv=" + (dir_ / "killer").string()}));
  EXPECT_EQ(killed.code, 450) << killed.reason;
  EXPECT_EQ(killed.reason, "Command died with signal 15: \"" + (dir_ / "killer").string() + "\"");

  PipeRequest slow = Request({"user=x", "argv=/bin/sleep", "30"});
  slow.time_limit = 1;
  mail::DeliveryStatus timed_out = DeliverToPipe(slow);
  EXPECT_EQ(timed_out.code, 550);
  EXPECT_EQ(timed_out.status + " " + timed_out.reason, "5.3.0 Command time limit exceeded: \"/bin/sleep\"");

  mail::DeliveryStatus missing = DeliverToPipe(Request({"user=x", "argv=" + (dir_ / "nothing").string()}));
  EXPECT_EQ(missing.code, 450);
  EXPECT_NE(missing.reason.find("No such file or directory"), std::string::npos) << missing.reason;

  // A program without a slash is looked up in /usr/bin and /bin.
  EXPECT_EQ(DeliverToPipe(Request({"user=x", "argv=true"})).code, 250);
}

TEST_F(PipeDeliveryTest, RefusalsBeforeTheCommandRuns) {
  PipeRequest two = Request({"flags=D", "user=x", "argv=" + script_.string()});
  two.values.recipients.push_back({"ann@example.com", ""});
  mail::DeliveryStatus s = DeliverToPipe(two);
  EXPECT_EQ(s.status + " " + s.reason, "4.3.5 mail system configuration error");
  two.settings.flags.delivered_to = false;
  two.settings.flags.original_to = true;
  EXPECT_EQ(DeliverToPipe(two).code, 450);

  PipeRequest big = Request({"user=x", "size=10", "argv=" + script_.string()});
  s = DeliverToPipe(big);
  EXPECT_EQ(s.code, 550);
  EXPECT_EQ(s.status + " " + s.reason, "5.2.3 message too large");

  std::string looped = "Delivered-To: JOE@example.com\r\nSubject: x\r\n\r\nbody\r\n";
  PipeRequest loop = Request({"flags=D", "user=x", "argv=" + script_.string()});
  loop.content = looped;
  s = DeliverToPipe(loop);
  EXPECT_EQ(s.status + " " + s.reason, "5.4.6 mail forwarding loop for joe@example.com");
  EXPECT_FALSE(fs::exists(dir_ / "input"));
  // Without D the header is only data.
  loop.settings.flags.delivered_to = false;
  EXPECT_EQ(DeliverToPipe(loop).code, 250);
}

TEST_F(PipeDeliveryTest, TheCommandRunsInDirectoryWithTheGivenEnvironment) {
  PipeRequest r = Request({"user=x", "directory=" + dir_.string(), "argv=/bin/sh", "-c", "pwd > out; env >> out"});
  r.working_directory = dir_.string();
  r.environment = {"PATH=/usr/bin:/bin", "TZ=UTC"};
  ASSERT_EQ(DeliverToPipe(r).code, 250);
  std::string out = ReadFile(dir_ / "out");
  EXPECT_EQ(out.substr(0, dir_.string().size() + 1), dir_.string() + "\n");
  EXPECT_NE(out.find("TZ=UTC\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("HOME="), std::string::npos) << out;
}

TEST(CommandRunnerTest, OutputIsCutAndMadePrintable) {
  CommandSpec spec;
  spec.argv = {"/bin/sh", "-c", "printf 'a\\tb\\001c\\n'; head -c 10000 /dev/zero | tr '\\0' x; exit 3"};
  CommandResult r = RunCommand(spec);
  ASSERT_EQ(r.end, CommandResult::End::kExited);
  EXPECT_EQ(r.exit_status, 3);
  EXPECT_EQ(r.output.size(), CommandResult::kOutputLimit);
  EXPECT_EQ(r.output.substr(0, 8), "a b_c xx");
}

}  // namespace
}  // namespace postern::delivery
