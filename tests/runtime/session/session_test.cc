// session_test.cc: the SMTP session state machine, driven with bytes and
// events (no sockets): replies, sequencing, policy, limits, DATA/BDAT
// content, the smuggling variants, STARTTLS and XCLIENT, commit outcomes.
#include "runtime/session/session.h"

#include <gtest/gtest.h>

#include "mail/passwd_table.h"
#include "tests/runtime/test_config.h"

namespace postern::session {
namespace {

constexpr char kMainCf[] =
    "compatibility_level = 3.6\n"
    "myhostname = mx.example.com\n"
    "mydomain = example.com\n"
    "mydestination = $myhostname, localhost, $mydomain\n"
    "mynetworks = 127.0.0.0/8\n"
    "alias_maps =\n"
    "smtpd_authorized_xclient_hosts = 127.0.0.1\n"
    "smtpd_recipient_limit = 3\n"
    "message_size_limit = 2000\n";

class SessionTest : public ::testing::Test {
 protected:
  void Configure(const std::string& extra_main_cf = "", bool tls = false) {
    config_.Write("main.cf", kMainCf + extra_main_cf);
    config_.Write("master.cf", "smtp inet n - n - - smtpd\n");
    auto users = mail::ParsePasswdText("joe:x:1000:1000::/home/joe:/bin/sh\n");
    auto context = MakeSessionContext(config_.Compile(), tls, std::make_shared<vm::OptimisticNetwork>(),
                                      std::make_shared<vm::NoRates>(), users);
    ASSERT_TRUE(context.ok()) << context.status().message();
    context_ = *context;
    Connect("192.0.2.10", "client.example.net");
  }

  void Connect(const std::string& address, const std::string& name) {
    SessionEnvironment env;
    env.new_queue_id = [this] { return "QID" + std::to_string(++ids_); };
    env.now = [] { return int64_t{1790000000}; };
    env.log = [this](const std::string& line) { log_.push_back(line); };
    session_ = std::make_unique<Session>(context_, Peer{address, name, name, 4711, "192.0.2.25", 25}, env);
    session_->Start();
    greeting_ = session_->TakeOutput();
  }

  std::string Send(std::string_view bytes) {
    session_->Receive(bytes);
    return session_->TakeOutput();
  }

  // Commits whatever is waiting and returns the replies that follow.
  std::string Commit(queue::StoreOutcome outcome = queue::StoreOutcome::kStored) {
    if (session_->next() != Session::Next::kCommit) {
      ADD_FAILURE() << "nothing to commit";
      return "";
    }
    const MessageToCommit& m = session_->message_to_commit();
    committed_.push_back(m.message);
    committed_.back().content += m.body->memory();  // the whole content: head and body
    EXPECT_EQ(m.size, committed_.back().content.size());
    session_->Committed(outcome);
    return session_->TakeOutput();
  }

  std::string LogText() const {
    std::string all;
    for (const std::string& l : log_) all += l + "\n";
    return all;
  }

  testing::TestConfig config_;
  std::shared_ptr<const SessionContext> context_;
  std::unique_ptr<Session> session_;
  std::string greeting_;
  std::vector<std::string> log_;
  std::vector<queue::QueuedMessage> committed_;
  int ids_ = 0;
};

TEST_F(SessionTest, OneMessage) {
  Configure();
  EXPECT_EQ(greeting_, "220 mx.example.com ESMTP Postfix\r\n");
  std::string ehlo = Send("EHLO client.example.net\r\n");
  EXPECT_EQ(ehlo,
            "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 2000\r\n250-VRFY\r\n250-ENHANCEDSTATUSCODES\r\n"
            "250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
  EXPECT_EQ(Send("MAIL FROM:<alice@example.org>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(Send("Subject: hi\r\nMessage-ID: <1@x>\r\n\r\n..dot\r\nbody\r\n.\r\n"), "");
  EXPECT_EQ(Commit(), "250 2.0.0 Ok: queued as QID1\r\n");
  const queue::QueuedMessage& m = committed_.at(0);
  EXPECT_EQ(m.sender, "alice@example.org");
  ASSERT_EQ(m.recipients.size(), 1u);
  EXPECT_EQ(m.recipients[0].address, "joe@example.com");
  EXPECT_EQ(m.image_id, context_->image->id());
  EXPECT_EQ(m.content,
            "Received: from client.example.net (client.example.net [192.0.2.10])\r\n"
            "\tby mx.example.com (Postern) with ESMTP id QID1\r\n"
            "\tfor <joe@example.com>; Mon, 21 Sep 2026 14:13:20 +0000 (UTC)\r\n"
            "Subject: hi\r\nMessage-ID: <1@x>\r\n\r\n.dot\r\nbody\r\n");
  EXPECT_EQ(Send("QUIT\r\n"), "221 2.0.0 Bye\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
  std::string log = LogText();
  EXPECT_NE(log.find("connect from client.example.net[192.0.2.10]"), std::string::npos);
  EXPECT_NE(log.find("QID1: client=client.example.net[192.0.2.10]"), std::string::npos);
  EXPECT_NE(log.find("QID1: message-id=<1@x>"), std::string::npos);
  EXPECT_NE(log.find("QID1: from=<alice@example.org>, size="), std::string::npos);
  EXPECT_NE(log.find("disconnect from client.example.net[192.0.2.10] ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5"),
            std::string::npos)
      << log;
}

TEST_F(SessionTest, PipelinedCommandsAnswerInOrderAndWaitForTheCommit) {
  Configure();
  std::string out = Send(
      "EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nRCPT TO:<nobody@example.com>\r\n"
      "DATA\r\nx\r\n.\r\nRSET\r\nQUIT\r\n");
  EXPECT_NE(out.find("250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <nobody@example.com>: Recipient address rejected: "
                     "User unknown in local recipient table\r\n354 "),
            std::string::npos)
      << out;
  // RSET and QUIT wait until the message is stored.
  EXPECT_EQ(out.find("221"), std::string::npos);
  EXPECT_EQ(Commit(), "250 2.0.0 Ok: queued as QID1\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n");
}

// With live tables a session hands each decision to its connection
// (Next::kDecide) instead of deciding at once; the replies, their order,
// the log and the command counts stay those of a session that decides at
// once, pipelined or not, for DATA and BDAT, VRFY and the greeting.
TEST_F(SessionTest, DecisionsOffTheLoopAnswerAsDecisionsAtOnce) {
  const std::string input =
      "EHLO c\r\nVRFY joe@example.com\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\n"
      "RCPT TO:<nobody@example.com>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\nMAIL FROM:<b@example.org>\r\n"
      "RCPT TO:<joe@example.com>\r\nBDAT 12 LAST\r\nSubject: y\r\nNOOP\r\nQUIT\r\n";
  auto run = [&](bool off_loop) {
    Configure();
    log_.clear();
    ids_ = 0;
    auto context = std::make_shared<SessionContext>(*context_);
    context->decides_off_loop = off_loop;
    context_ = context;
    Connect("192.0.2.10", "client.example.net");
    std::string out = greeting_;
    // What the connection would do: decisions (here on this thread) and commits.
    auto settle = [&] {
      while (true) {
        if (session_->next() == Session::Next::kDecide) {
          session_->Decided(session_->DecideOffLoop());
          out += session_->TakeOutput();
        } else if (session_->next() == Session::Next::kCommit) {
          out += Commit();
        } else {
          return;
        }
      }
    };
    settle();
    for (size_t at = 0; at < input.size(); at += 7) {  // in pieces, some of them mid-command
      out += Send(input.substr(at, 7));
      settle();
    }
    return out + LogText();
  };
  std::string at_once = run(false);
  EXPECT_NE(at_once.find("disconnect from client.example.net[192.0.2.10] ehlo=1 vrfy=1 mail=2 rcpt=2/3 data=1 bdat=1 "
                         "noop=1 quit=1"),
            std::string::npos)
      << at_once;
  EXPECT_EQ(run(true), at_once);
}

TEST_F(SessionTest, MailWithoutHeloUnlessHeloRequired) {
  // Postfix accepts MAIL before HELO unless smtpd_helo_required = yes.
  Configure();
  EXPECT_EQ(Send("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");
  Configure("smtpd_helo_required = YES\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
}

TEST_F(SessionTest, BooleansAreReadAsPostfixReadsThem) {
  // "YES" is yes: an unknown user is refused, not accepted (backscatter).
  Configure("smtpd_reject_unlisted_recipient = YES\n");
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n");
  EXPECT_EQ(Send("RCPT TO:<nobody@example.com>\r\n").substr(0, 10), "550 5.1.1 ");
  Configure("smtpd_reject_unlisted_recipient = No\n");
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n");
  EXPECT_EQ(Send("RCPT TO:<nobody@example.com>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionTest, OutOfSequenceAndUnknownCommands) {
  Configure("smtpd_helo_required = yes\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  EXPECT_EQ(Send("HELO\r\n"), "501 Syntax: HELO hostname\r\n");
  EXPECT_EQ(Send("HELO c\r\n"), "250 mx.example.com\r\n");
  EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "503 5.5.1 Error: need MAIL command\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@b>\r\n"), "503 5.5.1 Error: nested MAIL command\r\n");
  EXPECT_EQ(Send("DATA\r\n"), "554 5.5.1 Error: no valid recipients\r\n");  // in a transaction
  EXPECT_EQ(Send("EXPN joe\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(Send("FOO\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(Send("HELP\r\n"), "500 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "503 5.5.1 Error: authentication not enabled\r\n");
  EXPECT_EQ(Send("RCPT TO:<>\r\n"), "501 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(Send("RCPT TO:joe@example.com FOO=1\r\n"), "555 5.5.4 Unsupported option: FOO=1\r\n");
}

// Replies measured against Postfix 3.7 (tests/integration/smtp_dialogue_differential.py
// replays the same dialogues against both servers).
TEST_F(SessionTest, RepliesAsPostfixGivesThem) {
  Configure();
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  for (const char* bad : {"x@a..b", "x@-a.example", "x@a-.example", "x@123.456", "x@1.2.3.4", "x@[1.2.3]",
                          "x@[a.example]", "x@a.example:25"}) {
    EXPECT_EQ(Send(std::string("MAIL FROM:<") + bad + ">\r\n"), "501 5.1.7 Bad sender address syntax\r\n") << bad;
  }
  std::string long_label(64, 'a');
  EXPECT_EQ(Send("MAIL FROM:<x@" + long_label + ".example>\r\n"), "501 5.1.7 Bad sender address syntax\r\n");
  EXPECT_EQ(Send("MAIL FROM:<x@" + long_label.substr(1) + ".example>\r\nRSET\r\n"), "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n");
  for (const char* good : {"x@a_b.example", "x@a.example.", "x@[192.0.2.1]", "x@[IPv6:2001:db8::1]", "x@a.123",
                           "x@xn--bad.example", "postmaster"}) {
    EXPECT_EQ(Send(std::string("MAIL FROM:<") + good + ">\r\nRSET\r\n"), "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n") << good;
  }
  EXPECT_EQ(Send("MAIL FROM:<a@b.example> FOO=bar\r\n"), "555 5.5.4 Unsupported option: FOO=bar\r\n");
  Send("MAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(Send("RCPT TO:\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(Send("RCPT TO:<x@a..b>\r\n"), "501 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(Send("ETRN example.com\r\n"), "503 Error: MAIL transaction in progress\r\n");
  EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("BDAT 0\r\n"), "551 5.7.1 Null BDAT request\r\n");
  Send("RSET\r\n");
  EXPECT_EQ(Send("ETRN\r\n"), "500 Syntax: ETRN domain\r\n");
  EXPECT_EQ(Send("ETRN @example.com\r\n"), "459 <example.com>: service unavailable\r\n");
  // smtpd_forbidden_commands: a web request ends the session.
  EXPECT_EQ(Send("GET / HTTP/1.0\r\n"), "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
  Connect("192.0.2.10", "client.example.net");
  EXPECT_EQ(Send("<html>\r\n"), "221 2.7.0 Error: I can break rules, too. Goodbye.\r\n");
  Connect("192.0.2.10", "client.example.net");
  EXPECT_EQ(Send("FOO\r\n"), "500 5.5.2 Error: command not recognized\r\n");
}

TEST_F(SessionTest, RelayIsDeniedToOutsideClients) {
  Configure();
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n");
  EXPECT_EQ(Send("RCPT TO:<victim@elsewhere.example>\r\n"),
            "454 4.7.1 <victim@elsewhere.example>: Relay access denied\r\n");
  EXPECT_EQ(Send("RCPT TO:<victim%elsewhere.example@example.com>\r\n").substr(0, 3), "454");
  EXPECT_NE(LogText().find("NOQUEUE: reject: RCPT from client.example.net[192.0.2.10]: 454 4.7.1 "
                           "<victim@elsewhere.example>: Relay access denied; from=<a@example.org> "
                           "to=<victim@elsewhere.example> proto=ESMTP helo=<c>"),
            std::string::npos)
      << LogText();
}

TEST_F(SessionTest, RelayIsAllowedFromMynetworks) {
  Configure();
  Connect("127.0.0.1", "localhost");
  Send("EHLO c\r\nMAIL FROM:<a@example.com>\r\n");
  EXPECT_EQ(Send("RCPT TO:<someone@elsewhere.example>\r\n"), "250 2.1.5 Ok\r\n");
}

// Every non-standard end-of-data sequence is content; only CRLF.CRLF ends.
TEST_F(SessionTest, SmugglingVariantsNeverEndTheMessage) {
  Configure();
  const char* variants[] = {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r\n", "\n.\r", "\r\n.\r\r\n"};
  for (const char* v : variants) {
    SCOPED_TRACE(::testing::PrintToString(std::string(v)));
    Connect("192.0.2.10", "client.example.net");
    Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
    std::string out = Send(std::string("Subject: x\r\n\r\nfirst") + v +
                           "MAIL FROM:<evil@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\nsmuggled\r\n");
    EXPECT_EQ(out, "");
    EXPECT_EQ(session_->next(), Session::Next::kRead);
    Send(".\r\n");
    committed_.clear();
    EXPECT_EQ(Commit(), "250 2.0.0 Ok: queued as QID" + std::to_string(ids_) + "\r\n");
    ASSERT_EQ(committed_.size(), 1u);
    EXPECT_NE(committed_[0].content.find("MAIL FROM:<evil@example.org>"), std::string::npos);
  }
}

TEST_F(SessionTest, BareNewlineRefusedWhenForbidden) {
  // Postfix 3.7.11 reads "yes" as "normalize": only "reject" refuses.
  Configure("smtpd_forbid_bare_newline = yes\nsmtpd_forbid_bare_newline_exclusions =\n");
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Send("a\nb\r\n.\r\n"), "");
  EXPECT_EQ(Commit(), "250 2.0.0 Ok: queued as QID" + std::to_string(ids_) + "\r\n");
  Configure("smtpd_forbid_bare_newline = reject\nsmtpd_forbid_bare_newline_exclusions =\n");
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
  EXPECT_EQ(Send("line\n.\n"), "521 5.5.2 mx.example.com Error: bare <LF> received\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
  Connect("192.0.2.10", "client.example.net");
  EXPECT_EQ(Send("EHLO c\n"), "521 5.5.2 mx.example.com Error: bare <LF> received\r\n");
}

TEST_F(SessionTest, BareNewlineNormalizedByDefault) {
  Configure();
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
  Send("a\nb\r\n.\r\n");
  Commit();
  EXPECT_TRUE(committed_.at(0).content.ends_with(")\r\na\r\nb\r\n")) << committed_.at(0).content;
}

TEST_F(SessionTest, Limits) {
  Configure();
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org> SIZE=2001\r\n"), "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org> SIZE=100\r\n"), "250 2.1.0 Ok\r\n");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "452 4.5.3 Error: too many recipients\r\n");
  Send("DATA\r\n");
  EXPECT_EQ(Send(std::string(3000, 'x') + "\r\n.\r\n"), "552 5.3.4 Message size exceeds fixed limit\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kRead);
  EXPECT_FALSE(session_->in_transaction());
  EXPECT_EQ(Send(std::string(5000, 'y') + "\r\n"), "500 5.5.2 Error: line too long\r\n");
}

TEST_F(SessionTest, ErrorsAreTarpittedThenDisconnected) {
  Configure("smtpd_soft_error_limit = 2\nsmtpd_hard_error_limit = 5\n");
  Send("EHLO c\r\n");
  session_->Receive("FOO\r\n");
  EXPECT_EQ(session_->reply_delay_ms(), 0);
  session_->TakeOutput();
  session_->Receive("FOO\r\n");
  EXPECT_EQ(session_->reply_delay_ms(), 1000);  // the soft limit (2) is reached
  session_->TakeOutput();
  Send("FOO\r\nFOO\r\nFOO\r\n");
  EXPECT_EQ(Send("NOOP\r\n"), "421 4.7.0 mx.example.com Error: too many errors\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
}

TEST_F(SessionTest, RecipientsBeyondTheLimitAreNotErrorsUpToTheOvershootLimit) {
  Configure("smtpd_recipient_limit = 1\nsmtpd_recipient_overshoot_limit = 3\nsmtpd_hard_error_limit = 3\n");
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\n");
  // Three 452s are forgiven; the next three count, and the hard limit ends it.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "452 4.5.3 Error: too many recipients\r\n") << i;
  }
  EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "452 4.5.3 Error: too many recipients\r\n");
  EXPECT_EQ(Send("NOOP\r\n"), "421 4.7.0 mx.example.com Error: too many errors\r\n");
}

TEST_F(SessionTest, JunkCommandsCountAsErrorsBeyondTheJunkLimit) {
  Configure("smtpd_junk_command_limit = 2\nsmtpd_hard_error_limit = 3\n");
  // Postfix counts a junk command as an error once more than the limit
  // came before it: the 4th, 5th and 6th here; the 7th command finds 3.
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Send("NOOP\r\n"), "250 2.0.0 Ok\r\n") << i;
  EXPECT_EQ(Send("NOOP\r\n"), "421 4.7.0 mx.example.com Error: too many errors\r\n");
}

TEST_F(SessionTest, AcceptedMessageForgivesJunkCommands) {
  Configure("smtpd_junk_command_limit = 1\nsmtpd_hard_error_limit = 3\n");
  for (int i = 0; i < 3; ++i) Send("NOOP\r\n");  // one error so far
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
  Send("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(Commit().substr(0, 3), "250");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Send("NOOP\r\n"), "250 2.0.0 Ok\r\n") << i;
}

TEST_F(SessionTest, ChunkingWithBdat) {
  Configure();
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\n");
  EXPECT_EQ(Send("BDAT 12\r\nSubject: x\r\n"), "250 2.0.0 Ok: 12 bytes\r\n");
  // A chunk is raw bytes: a "." line and bare LF inside are content.
  EXPECT_EQ(Send("BDAT 8 LAST\r\n\r\n.\r\nb\nc"), "");
  EXPECT_EQ(Commit(), "250 2.0.0 Ok: 20 bytes queued as QID1\r\n");  // the bytes of all chunks, as Postfix says
  EXPECT_TRUE(committed_.at(0).content.ends_with("Subject: x\r\n\r\n.\r\nb\r\nc\r\n")) << committed_.at(0).content;
  EXPECT_EQ(Send("BDAT 3 LAST\r\nabc"), "503 5.5.1 Error: need RCPT command\r\n");
  EXPECT_EQ(Send("BDAT x\r\n"), "501 5.5.4 Syntax: BDAT count [LAST]\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
}

TEST_F(SessionTest, DsnParametersAreKept) {
  Configure();
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org> RET=HDRS ENVID=abc+2Bdef BODY=8BITMIME\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<joe@example.com> NOTIFY=BOGUS\r\n"), "501 5.5.4 Error: Bad NOTIFY parameter syntax\r\n");
  EXPECT_EQ(Send("RCPT TO:<joe@example.com> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Joe+40example.com\r\n"),
            "250 2.1.5 Ok\r\n");
  Send("DATA\r\nx\r\n.\r\n");
  Commit();
  const queue::QueuedMessage& m = committed_.at(0);
  EXPECT_EQ(m.ret, "HDRS");
  EXPECT_EQ(m.envid, "abc+def");
  EXPECT_EQ(m.body_type, "8BITMIME");
  EXPECT_EQ(m.recipients.at(0).notify, "SUCCESS,DELAY");
  EXPECT_EQ(m.recipients.at(0).original, "rfc822;Joe@example.com");
}

TEST_F(SessionTest, FailedCommitIsNeverAcknowledged) {
  Configure();
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\nx\r\n.\r\n");
  EXPECT_EQ(Commit(queue::StoreOutcome::kNoSpace), "452 4.3.1 Insufficient system storage\r\n");
  Send("MAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\nx\r\n.\r\n");
  EXPECT_EQ(Commit(queue::StoreOutcome::kFailed), "451 4.3.0 Error: queue file write error\r\n");
  EXPECT_FALSE(session_->in_transaction());
}

TEST_F(SessionTest, StartTlsDiscardsPipelinedPlaintext) {
  Configure("smtpd_tls_security_level = may\nsmtpd_helo_required = yes\n", /*tls=*/true);
  EXPECT_NE(Send("EHLO c\r\n").find("250-STARTTLS\r\n"), std::string::npos);
  // The injected command must not be executed after the handshake.
  EXPECT_EQ(Send("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kStartTls);
  session_->TlsStarted(TlsInfo{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256, std::nullopt});
  EXPECT_EQ(session_->TakeOutput(), "");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org>\r\n"), "503 5.5.1 Error: send HELO/EHLO first\r\n");
  std::string ehlo = Send("EHLO c\r\n");
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos);
  EXPECT_EQ(Send("STARTTLS\r\n"), "554 5.5.1 Error: TLS already active\r\n");
  Send("MAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\nx\r\n.\r\n");
  Commit();
  EXPECT_NE(committed_.at(0).content.find("with ESMTPS id"), std::string::npos);
}

// local_header_rewrite_clients = permit_tls_clientcerts: mail from a
// client whose certificate relay_clientcerts lists gets the headers
// cleanup(8) adds for local clients; another client's does not.
TEST_F(SessionTest, ListedClientCertificatesGetTheMissingHeaders) {
  Configure(
      "smtpd_tls_security_level = may\nsmtpd_tls_ask_ccert = yes\n"
      "local_header_rewrite_clients = permit_tls_clientcerts\nrelay_clientcerts = inline:{{AA:BB=office}}\n",
      /*tls=*/true);
  for (const char* print : {"AA:BB", "CC:DD"}) {
    Connect("192.0.2.10", "client.example.net");
    Send("EHLO c\r\nSTARTTLS\r\n");
    session_->TlsStarted(TlsInfo{"TLSv1.3", "TLS_AES_256_GCM_SHA384", 256,
                                 tls::PeerCertificate{false, print, "", "client.example.net", ""}});
    Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\nSubject: x\r\n\r\nx\r\n.\r\n");
    Commit();
  }
  ASSERT_EQ(committed_.size(), 2u);
  EXPECT_NE(committed_[0].content.find("\r\nMessage-Id: <"), std::string::npos);
  EXPECT_EQ(committed_[1].content.find("\r\nMessage-Id: <"), std::string::npos);
}

TEST_F(SessionTest, EncryptLevelRequiresStartTls) {
  Configure("smtpd_tls_security_level = encrypt\nsmtpd_tls_cert_file = /etc/ssl/certs/mx.pem\n", /*tls=*/true);
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org>\r\n"), "530 5.7.0 Must issue a STARTTLS command first\r\n");
}

TEST_F(SessionTest, StartTlsNotOfferedWithoutCertificate) {
  Configure("smtpd_tls_security_level = may\n", /*tls=*/false);
  EXPECT_EQ(Send("EHLO c\r\n").find("STARTTLS"), std::string::npos);
  EXPECT_EQ(Send("STARTTLS\r\n"), "502 5.5.2 Error: command not recognized\r\n");
}

TEST_F(SessionTest, XclientOnlyForAuthorizedHosts) {
  Configure();
  EXPECT_EQ(Send("XCLIENT ADDR=127.0.0.5\r\n"), "550 5.7.0 Error: insufficient authorization\r\n");
  Connect("127.0.0.1", "localhost");
  EXPECT_EQ(Send("XCLIENT ADDR=203.0.113.5 NAME=spammer.example\r\n"), "220 mx.example.com ESMTP Postfix\r\n");
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n");
  // Now the client is 203.0.113.5: outside mynetworks, no relaying.
  EXPECT_EQ(Send("RCPT TO:<x@elsewhere.example>\r\n"), "454 4.7.1 <x@elsewhere.example>: Relay access denied\r\n");
}

TEST_F(SessionTest, ShutdownAndTimeout) {
  Configure();
  Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\n");
  session_->ShutDown();
  EXPECT_EQ(session_->TakeOutput(), "");  // the transaction goes on
  Send("DATA\r\nx\r\n.\r\n");
  EXPECT_EQ(Commit(), "250 2.0.0 Ok: queued as QID1\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org>\r\n"),
            "421 4.3.2 mx.example.com Service shutting down, closing transmission channel\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
  Connect("192.0.2.10", "client.example.net");
  session_->TimedOut();
  EXPECT_EQ(session_->TakeOutput(), "421 4.4.2 mx.example.com Error: timeout exceeded\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
}

TEST_F(SessionTest, VrfyFollowsDisableVrfyCommand) {
  Configure();
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("VRFY joe@example.com\r\n"), "252 2.0.0 joe@example.com\r\n");
  EXPECT_EQ(Send("VRFY nobody@example.com\r\n").substr(0, 10), "550 5.1.1 ");
  Configure("disable_vrfy_command = yes\n");
  EXPECT_EQ(Send("VRFY joe@example.com\r\n"), "502 5.5.1 VRFY command is disabled\r\n");
}

TEST_F(SessionTest, StrictRfc821Envelopes) {
  Configure("strict_rfc821_envelopes = yes\n");
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:a@example.org\r\n"), "501 5.1.7 Bad sender address syntax\r\n");
  EXPECT_EQ(Send("MAIL FROM: <a@example.org>\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:joe@example.com\r\n"), "501 5.1.3 Bad recipient address syntax\r\n");
  EXPECT_EQ(Send("RCPT TO:<joe@example.com>\r\n"), "250 2.1.5 Ok\r\n");
}

TEST_F(SessionTest, ForbidUnauthPipelining) {
  Configure("smtpd_forbid_unauth_pipelining = yes\n");
  // After EHLO, MAIL and RCPT may be pipelined up to DATA, not past it.
  EXPECT_EQ(Send("EHLO c\r\n").substr(0, 4), "250-");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  Connect("192.0.2.10", "client.example.net");
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\nSubject: x\r\n"),
            "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n554 5.5.0 Error: SMTP protocol synchronization\r\n");
  EXPECT_EQ(session_->next(), Session::Next::kClose);
  // Without PIPELINING (HELO), nothing may be sent ahead.
  Connect("192.0.2.10", "client.example.net");
  Send("HELO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\n"),
            "554 5.5.0 Error: SMTP protocol synchronization\r\n");
  // RSET may be followed; QUIT ends anyway. Off by default, as in Postfix 3.7.
  Configure();
  EXPECT_EQ(Send("EHLO c\r\nMAIL FROM:<a@example.org>\r\n").substr(0, 4), "250-");
}

TEST_F(SessionTest, EightBitAddressNeedsSmtputf8) {
  // Postfix refuses only with strict_smtputf8 (8-bit local parts pass
  // otherwise; an 8-bit domain is bad syntax without SMTPUTF8).
  Configure();
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:<j\xc3\xb6rg@example.org>\r\nRSET\r\n"), "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n");
  EXPECT_EQ(Send("MAIL FROM:<x@\xc3\xa9.example>\r\n"), "501 5.1.7 Bad sender address syntax\r\n");
  EXPECT_EQ(Send("MAIL FROM:<x@\xc3\xa9.example> SMTPUTF8\r\nRSET\r\n"), "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n");
  Configure("strict_smtputf8 = yes\n");
  Send("EHLO c\r\n");
  EXPECT_EQ(Send("MAIL FROM:<j\xc3\xb6rg@example.org>\r\n"),
            "553 5.6.7 Must declare SMTPUTF8 to send unicode address\r\n");
  EXPECT_EQ(Send("MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8\r\n"), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(Send("RCPT TO:<a\x01@example.com>\r\n"), "501 5.1.3 Bad recipient address syntax\r\n");
}

// header_checks actions reach the stored message: REPLACE and IGNORE edit
// headers, PREPEND adds one, HOLD picks the hold queue, DISCARD stores nothing.
TEST_F(SessionTest, HeaderCheckActionsShapeWhatIsStored) {
  config_.Write("header_checks",
                "/^Subject: replace me/ REPLACE Subject: replaced\n"
                "/^X-Secret:/ IGNORE\n"
                "/^X-Old:/ REPLACE X-New: yes\n"
                "/^From:/ PREPEND X-Seen: yes\n"
                "/^Subject: hold/ HOLD\n"
                "/^Subject: drop/ DISCARD\n");
  Configure("header_checks = regexp:/etc/postfix/header_checks\n");
  auto send = [&](const std::string& headers) {
    Send("MAIL FROM:<a@example.org>\r\nRCPT TO:<joe@example.com>\r\nDATA\r\n");
    return Send(headers + "\r\nbody\r\n.\r\n");
  };
  Send("EHLO c\r\n");
  send("From: a@example.org\r\nSubject: replace me\r\nX-Secret: 42\r\n");
  EXPECT_FALSE(session_->message_to_commit().hold);
  Commit();
  const std::string& content = committed_.at(0).content;
  EXPECT_NE(content.find("X-Seen: yes\r\nFrom: a@example.org\r\nSubject: replaced\r\n\r\nbody\r\n"), std::string::npos)
      << content;
  EXPECT_EQ(content.find("X-Secret"), std::string::npos);
  // Headers as received, without a space after the colon, folded: the edit
  // reaches the header it matched (the tables see "X-Secret:42").
  send("X-Secret:42\r\nX-Old:a\r\n b\r\nX-Secret:\r\n\tfolded\r\nX-Kept:1\r\n");
  Commit();
  const std::string& edited = committed_.at(1).content;
  EXPECT_EQ(edited.find("X-Secret"), std::string::npos) << edited;
  EXPECT_EQ(edited.find("X-Old"), std::string::npos) << edited;
  EXPECT_NE(edited.find("X-New: yes\r\nX-Kept:1\r\n\r\nbody"), std::string::npos) << edited;
  send("Subject: hold this\r\n");
  EXPECT_TRUE(session_->message_to_commit().hold);
  Commit();
  EXPECT_EQ(send("Subject: drop this\r\n"), "250 2.0.0 Ok: queued as QID4\r\n");  // accepted, nothing to store
  EXPECT_EQ(session_->next(), Session::Next::kRead);
  EXPECT_NE(LogText().find("QID4: discard: END-OF-MESSAGE"), std::string::npos) << LogText();
}

TEST_F(SessionTest, OpenRelayImageIsRefused) {
  config_.Write("main.cf",
                "compatibility_level = 3.6\nmydestination = example.com\nsmtpd_relay_restrictions = permit\n");
  config_.Write("master.cf", "smtp inet n - n - - smtpd\n");
  auto context = MakeSessionContext(config_.Compile(), false);
  ASSERT_FALSE(context.ok());
  EXPECT_NE(context.status().message().find("open relay"), std::string::npos) << context.status().message();
}

// SMTP AUTH: the session's side of the exchange; the daemon carries each
// step to the authentication server (here, the answers are given by hand).
class SessionAuthTest : public SessionTest {
 protected:
  void ConfigureAuth(const std::string& extra = "") {
    Configure("smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = dovecot\nsmtpd_sasl_path = private/auth\n" + extra);
    Offer();
  }
  void Offer() {
    sasl::DovecotMechanism plain{"PLAIN", true}, login{"LOGIN", true}, anonymous{"ANONYMOUS"};
    anonymous.anonymous = true;
    session_->SetSaslMechanisms({plain, login, anonymous});
  }
  static sasl::DovecotAuthReply Answer(sasl::DovecotAuthReply::Kind kind, std::string data = "") {
    sasl::DovecotAuthReply r;
    r.kind = kind;
    (kind == sasl::DovecotAuthReply::Kind::kContinue ? r.challenge : r.user) = std::move(data);
    return r;
  }
};

TEST_F(SessionAuthTest, OffersTheServersMechanismsButAnonymous) {
  ConfigureAuth("broken_sasl_auth_clients = yes\n");
  std::string ehlo = Send("EHLO c.example\r\n");
  EXPECT_NE(ehlo.find("250-AUTH PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
  EXPECT_NE(ehlo.find("250-AUTH=PLAIN LOGIN\r\n"), std::string::npos) << ehlo;
}

TEST_F(SessionAuthTest, PlainWithAnInitialResponse) {
  ConfigureAuth();
  Send("EHLO c.example\r\n");
  EXPECT_EQ(Send("AUTH PLAIN AGZyZWQAc2VjcmV0\r\n"), "");
  ASSERT_EQ(session_->next(), Session::Next::kAuthenticate);
  EXPECT_TRUE(session_->sasl_step().first);
  EXPECT_EQ(session_->sasl_step().mechanism, "PLAIN");
  EXPECT_EQ(session_->sasl_step().response, "AGZyZWQAc2VjcmV0");
  session_->SaslAnswered(Answer(sasl::DovecotAuthReply::Kind::kOk, "fred"));
  EXPECT_EQ(session_->TakeOutput(), "235 2.7.0 Authentication successful\r\n");
  EXPECT_EQ(Send("AUTH PLAIN AGZyZWQAc2VjcmV0\r\n"), "503 5.5.1 Error: already authenticated\r\n");
  // Relaying is for the authenticated (smtpd_relay_restrictions' default).
  Send("MAIL FROM:<fred@example.com>\r\n");
  EXPECT_EQ(Send("RCPT TO:<someone@elsewhere.example>\r\n"), "250 2.1.5 Ok\r\n");
  EXPECT_NE(LogText().find("QID1: client=client.example.net[192.0.2.10], sasl_method=PLAIN, sasl_username=fred"),
            std::string::npos)
      << LogText();
  EXPECT_EQ(LogText().find("AGZyZWQAc2VjcmV0"), std::string::npos);  // no credential in the log
}

TEST_F(SessionAuthTest, LoginWithChallengesAndAnAbort) {
  ConfigureAuth();
  Send("EHLO c.example\r\n");
  Send("AUTH LOGIN\r\n");
  ASSERT_EQ(session_->next(), Session::Next::kAuthenticate);
  EXPECT_FALSE(session_->sasl_step().response.has_value());
  session_->SaslAnswered(Answer(sasl::DovecotAuthReply::Kind::kContinue, "VXNlcm5hbWU6"));
  EXPECT_EQ(session_->TakeOutput(), "334 VXNlcm5hbWU6\r\n");
  EXPECT_EQ(Send("amVhbg==\r\n"), "");
  ASSERT_EQ(session_->next(), Session::Next::kAuthenticate);
  EXPECT_FALSE(session_->sasl_step().first);
  EXPECT_EQ(session_->sasl_step().response, "amVhbg==");
  session_->SaslAnswered(Answer(sasl::DovecotAuthReply::Kind::kContinue, "UGFzc3dvcmQ6"));
  EXPECT_EQ(session_->TakeOutput(), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_EQ(Send("*\r\n"), "501 5.7.0 Authentication aborted\r\n");
  EXPECT_EQ(Send("NOOP\r\n"), "250 2.0.0 Ok\r\n");
}

TEST_F(SessionAuthTest, FailuresAndRefusals) {
  ConfigureAuth();
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "");  // Postfix asks for EHLO only with smtpd_helo_required
  session_->SaslAnswered(Answer(sasl::DovecotAuthReply::Kind::kFail));
  EXPECT_EQ(session_->TakeOutput(), "535 5.7.8 Error: authentication failed: (reason unavailable)\r\n");
  EXPECT_EQ(Send("AUTH\r\n"), "501 5.5.4 Syntax: AUTH mechanism\r\n");
  EXPECT_EQ(Send("AUTH ANONYMOUS\r\n"), "535 5.7.8 Error: authentication failed: Invalid authentication mechanism\r\n");
  Send("AUTH PLAIN =\r\n");
  ASSERT_EQ(session_->next(), Session::Next::kAuthenticate);
  EXPECT_EQ(session_->sasl_step().response, "=");  // as sent: the server decides
  session_->SaslAnswered(Status::Temporary("read from private/auth: timed out"));
  EXPECT_EQ(session_->TakeOutput(),
            "454 4.7.0 Temporary authentication failure: read from private/auth: timed out\r\n");
  Send("EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "503 5.5.1 Error: MAIL transaction in progress\r\n");
}

TEST_F(SessionAuthTest, TlsAuthOnlyHidesAuthUntilStartTls) {
  ConfigureAuth("smtpd_tls_auth_only = yes\n");
  std::string ehlo = Send("EHLO c.example\r\n");
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << ehlo;
  EXPECT_EQ(Send("AUTH PLAIN AGZyZWQAc2VjcmV0\r\n"), "503 5.5.1 Error: authentication not enabled\r\n");
}

TEST_F(SessionAuthTest, NotEnabledWithoutTheSetting) {
  Configure();
  Offer();
  EXPECT_EQ(Send("EHLO c.example\r\n").find("AUTH"), std::string::npos);
  EXPECT_EQ(Send("AUTH PLAIN\r\n"), "503 5.5.1 Error: authentication not enabled\r\n");
}

}  // namespace
}  // namespace postern::session
