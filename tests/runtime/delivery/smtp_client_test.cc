// smtp_client_test.cc: the SMTP/LMTP client conversation against scripted
// server replies: pipelined and step by step, HELO fallback, STARTTLS,
// per-recipient results, whole-message failures, lost connections, LMTP,
// address verification probes.
#include "runtime/delivery/smtp_client.h"

#include <gtest/gtest.h>

namespace postern::delivery {
namespace {

class SmtpClientTest : public ::testing::Test {
 protected:
  SmtpClientTest() {
    message_.sender = "alice@example.org";
    message_.recipients = {{"bob@example.net", "SUCCESS,FAILURE", "rfc822;Bob+x=y@example.net"},
                           {"carol@example.net", "", ""}};
    message_.envid = "id 1";
    message_.ret = "HDRS";
    content_ = "Subject: hi\r\n\r\n.hidden\r\nend\r\n";
    message_.content = content_;
  }

  SmtpClient Make(TlsPolicy tls = TlsPolicy::kMay, bool lmtp = false) {
    ClientOptions o;
    o.helo_name = "mail.example.org";
    o.server = "mx.example.net[192.0.2.25]";
    o.tls = tls;
    o.lmtp = lmtp;
    return SmtpClient(o, message_);
  }

  // The server says `reply`; the client's answer.
  static std::string Say(SmtpClient& c, std::string_view reply) {
    c.Receive(reply);
    return c.TakeOutput();
  }

  std::string content_;
  OutboundMessage message_;
};

TEST_F(SmtpClientTest, PipelinedDeliveryWithOneRecipientRefused) {
  SmtpClient c = Make(TlsPolicy::kNone);
  EXPECT_EQ(Say(c, "220 mx.example.net ESMTP\r\n"), "EHLO mail.example.org\r\n");
  EXPECT_EQ(Say(c, "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250-DSN\r\n250 8BITMIME\r\n"),
            "MAIL FROM:<alice@example.org> SIZE=29 RET=HDRS ENVID=id+201\r\n"
            "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bx+3Dy@example.net\r\n"
            "RCPT TO:<carol@example.net>\r\n"
            "DATA\r\n");
  // Replies may come in pieces; the content is dot-stuffed.
  EXPECT_EQ(Say(c, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <carol@example.net>: Recipient"), "");
  EXPECT_EQ(Say(c, " address rejected\r\n354 go ahead\r\n"), "Subject: hi\r\n\r\n..hidden\r\nend\r\n.\r\n");
  EXPECT_EQ(Say(c, "250 2.0.0 Ok: queued as 4ABC\r\n"), "QUIT\r\n");
  EXPECT_EQ(Say(c, "221 2.0.0 Bye\r\n"), "");
  EXPECT_EQ(c.next(), SmtpClient::Next::kDone);
  ASSERT_EQ(c.results().size(), 2u);
  EXPECT_EQ(c.results()[0].code, 250);
  EXPECT_EQ(c.results()[0].reason,
            "host mx.example.net[192.0.2.25] said: 250 2.0.0 Ok: queued as 4ABC (in reply to end of DATA command)");
  EXPECT_EQ(c.results()[1].code, 550);
  EXPECT_EQ(c.results()[1].reason,
            "host mx.example.net[192.0.2.25] said: 550 5.1.1 <carol@example.net>: Recipient address rejected "
            "(in reply to RCPT TO command)");
}

TEST_F(SmtpClientTest, LocalPartsThatAreNotDotStringsAreQuoted) {
  message_.sender = "joe doe@example.org";
  message_.recipients = {{"a..b@example.net", "", ""}, {"\"x\"@example.net", "", ""}};
  SmtpClient c = Make(TlsPolicy::kNone);
  Say(c, "220 old.example.net\r\n");
  Say(c, "502 5.5.2 Error: command not recognized\r\n");
  EXPECT_EQ(Say(c, "250 old.example.net\r\n"), "MAIL FROM:<\"joe doe\"@example.org>\r\n");
  EXPECT_EQ(Say(c, "250 Ok\r\n"), "RCPT TO:<\"a..b\"@example.net>\r\n");
  EXPECT_EQ(Say(c, "250 Ok\r\n"), "RCPT TO:<\"\\\"x\\\"\"@example.net>\r\n");
}

TEST_F(SmtpClientTest, StepByStepWithoutPipeliningAndHeloFallback) {
  SmtpClient c = Make(TlsPolicy::kNone);
  Say(c, "220 old.example.net\r\n");
  EXPECT_EQ(Say(c, "502 5.5.2 Error: command not recognized\r\n"), "HELO mail.example.org\r\n");
  EXPECT_EQ(Say(c, "250 old.example.net\r\n"), "MAIL FROM:<alice@example.org>\r\n");
  EXPECT_EQ(Say(c, "250 Ok\r\n"), "RCPT TO:<bob@example.net>\r\n");
  EXPECT_EQ(Say(c, "451 4.3.0 try later\r\n"), "RCPT TO:<carol@example.net>\r\n");
  EXPECT_EQ(Say(c, "250 Ok\r\n"), "DATA\r\n");
  EXPECT_EQ(Say(c, "354 go\r\n").substr(0, 13), "Subject: hi\r\n");
  EXPECT_EQ(Say(c, "250 Ok\r\n"), "QUIT\r\n");
  Say(c, "221 Bye\r\n");
  EXPECT_EQ(c.results()[0].code, 451);
  EXPECT_EQ(c.results()[1].code, 250);
}

TEST_F(SmtpClientTest, StartTlsWhenOfferedThenEhloAgain) {
  SmtpClient c = Make(TlsPolicy::kMay);
  Say(c, "220 mx\r\n");
  EXPECT_EQ(Say(c, "250-mx\r\n250 STARTTLS\r\n"), "STARTTLS\r\n");
  EXPECT_EQ(Say(c, "220 2.0.0 Ready to start TLS\r\n"), "");
  EXPECT_EQ(c.next(), SmtpClient::Next::kStartTls);
  c.TlsStarted();
  EXPECT_TRUE(c.tls_active());
  EXPECT_EQ(c.TakeOutput(), "EHLO mail.example.org\r\n");
  EXPECT_EQ(Say(c, "250-mx\r\n250 PIPELINING\r\n").substr(0, 10), "MAIL FROM:");
}

TEST_F(SmtpClientTest, EncryptWithoutStartTlsDefers) {
  SmtpClient c = Make(TlsPolicy::kEncrypt);
  Say(c, "220 mx\r\n");
  EXPECT_EQ(Say(c, "250 mx\r\n"), "QUIT\r\n");
  Say(c, "221 Bye\r\n");
  EXPECT_EQ(c.results()[0].code, 450);
  EXPECT_EQ(c.results()[0].reason, "TLS is required, but was not offered by host mx.example.net[192.0.2.25]");
}

TEST_F(SmtpClientTest, LostConnectionDefersEveryoneNotAnswered) {
  SmtpClient c = Make(TlsPolicy::kNone);
  Say(c, "220 mx\r\n");
  Say(c, "250-mx\r\n250 PIPELINING\r\n");
  Say(c, "250 Ok\r\n550 no such user\r\n250 Ok\r\n354 go\r\n");
  c.ConnectionLost("Connection reset by peer");
  EXPECT_EQ(c.next(), SmtpClient::Next::kDone);
  EXPECT_EQ(c.results()[0].code, 550);  // already answered
  EXPECT_EQ(c.results()[1].code, 450);
  EXPECT_EQ(c.results()[1].reason,
            "lost connection with mx.example.net[192.0.2.25] while sending end of data -- message may be sent "
            "more than once: Connection reset by peer");
}

TEST_F(SmtpClientTest, ReuseSendsTheNextMessageOnTheSameSession) {
  ClientOptions o;
  o.helo_name = "mail.example.org";
  o.server = "mx.example.net[192.0.2.25]";
  o.tls = TlsPolicy::kNone;
  o.reuse = true;
  SmtpClient c(o, message_);
  Say(c, "220 mx\r\n");
  Say(c, "250-mx\r\n250 PIPELINING\r\n");
  Say(c, "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n");
  EXPECT_EQ(Say(c, "250 2.0.0 queued as A\r\n"), "");  // no QUIT: the session waits
  ASSERT_EQ(c.next(), SmtpClient::Next::kIdle);
  EXPECT_EQ(c.results()[0].code, 250);
  EXPECT_EQ(c.results()[1].code, 250);

  OutboundMessage second;
  second.sender = "";
  second.recipients = {{"dave@example.net", "", ""}};
  std::string content = "Subject: two\r\n\r\nbody\r\n";
  second.content = content;
  c.SendAnother(second);
  EXPECT_EQ(c.TakeOutput(), "MAIL FROM:<>\r\nRCPT TO:<dave@example.net>\r\nDATA\r\n");
  ASSERT_EQ(c.results().size(), 1u);
  EXPECT_EQ(c.results()[0].code, 0);  // results start over
  // Its only recipient refused: RSET clears the envelope before the session is reused.
  EXPECT_EQ(Say(c, "250 Ok\r\n450 4.2.0 busy\r\n554 5.5.1 no valid recipients\r\n"), "RSET\r\n");
  EXPECT_EQ(Say(c, "250 2.0.0 Ok\r\n"), "");
  ASSERT_EQ(c.next(), SmtpClient::Next::kIdle);
  EXPECT_EQ(c.results()[0].code, 450);
  c.Quit();
  EXPECT_EQ(c.TakeOutput(), "QUIT\r\n");
  Say(c, "221 Bye\r\n");
  EXPECT_EQ(c.next(), SmtpClient::Next::kDone);
}

TEST_F(SmtpClientTest, ProbeStopsAfterTheRecipientReplies) {
  message_.probe = true;
  SmtpClient c = Make(TlsPolicy::kNone);
  Say(c, "220 mx\r\n");
  EXPECT_EQ(Say(c, "250-mx\r\n250 PIPELINING\r\n"),
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.net>\r\n");
  EXPECT_EQ(Say(c, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 <carol@example.net>: unknown\r\n"), "QUIT\r\n");
  Say(c, "221 Bye\r\n");
  EXPECT_EQ(c.next(), SmtpClient::Next::kDone);
  EXPECT_EQ(c.results()[0].code, 250);
  EXPECT_EQ(c.results()[0].LogText(), "250 2.1.5 Ok");
  EXPECT_EQ(c.results()[1].code, 550);
  EXPECT_EQ(c.results()[1].reason,
            "host mx.example.net[192.0.2.25] said: 550 5.1.1 <carol@example.net>: unknown (in reply to RCPT TO "
            "command)");
}

TEST_F(SmtpClientTest, ProbeWithoutPipeliningAndWithReuseEndsWithRset) {
  message_.probe = true;
  message_.recipients.resize(1);
  ClientOptions o;
  o.helo_name = "mail.example.org";
  o.server = "mx.example.net[192.0.2.25]";
  o.tls = TlsPolicy::kNone;
  o.lmtp = true;
  o.reuse = true;
  SmtpClient c(o, message_);
  EXPECT_EQ(Say(c, "220 mx\r\n"), "LHLO mail.example.org\r\n");
  EXPECT_EQ(Say(c, "250 mx\r\n"), "MAIL FROM:<alice@example.org>\r\n");
  EXPECT_EQ(Say(c, "250 2.1.0 Ok\r\n"), "RCPT TO:<bob@example.net>\r\n");
  EXPECT_EQ(Say(c, "450 4.2.1 try later\r\n"), "RSET\r\n");
  EXPECT_EQ(Say(c, "250 2.0.0 Ok\r\n"), "");
  EXPECT_EQ(c.next(), SmtpClient::Next::kIdle);
  EXPECT_EQ(c.results()[0].code, 450);
}

TEST_F(SmtpClientTest, RefusedMailFailsEveryRecipient) {
  SmtpClient c = Make(TlsPolicy::kNone);
  Say(c, "220 mx\r\n");
  Say(c, "250-mx\r\n250 PIPELINING\r\n");
  EXPECT_EQ(Say(c,
                "553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n554 5.5.1 no valid "
                "recipients\r\n"),
            "QUIT\r\n");
  EXPECT_EQ(c.results()[0].code, 553);
  EXPECT_EQ(c.results()[1].code, 553);
  EXPECT_NE(c.results()[1].reason.find("(in reply to MAIL FROM command)"), std::string::npos);
}

TEST_F(SmtpClientTest, GreetingRefusalIsTemporary) {
  SmtpClient c = Make();
  EXPECT_EQ(Say(c, "554 5.7.1 go away\r\n"), "QUIT\r\n");
  EXPECT_EQ(c.results()[0].code, 450);
  EXPECT_EQ(c.results()[0].reason, "host mx.example.net[192.0.2.25] refused to talk to me: 554 5.7.1 go away");
}

TEST_F(SmtpClientTest, MalformedReplyEndsTheConversation) {
  SmtpClient c = Make();
  EXPECT_EQ(Say(c, "hello there\r\n"), "");  // nothing more is said to it: the connection is closed
  EXPECT_EQ(c.next(), SmtpClient::Next::kDone);
  EXPECT_EQ(c.results()[1].code, 451);
}

TEST_F(SmtpClientTest, LmtpRepliesPerRecipient) {
  SmtpClient c = Make(TlsPolicy::kNone, /*lmtp=*/true);
  EXPECT_EQ(Say(c, "220 lmtp\r\n"), "LHLO mail.example.org\r\n");
  Say(c, "250-lmtp\r\n250 PIPELINING\r\n");
  EXPECT_EQ(Say(c, "250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n").substr(0, 13), "Subject: hi\r\n");
  EXPECT_EQ(Say(c, "250 2.0.0 bob saved\r\n"), "");
  EXPECT_EQ(Say(c, "452 4.2.2 carol over quota\r\n"), "QUIT\r\n");
  EXPECT_EQ(c.results()[0].code, 250);
  EXPECT_EQ(c.results()[1].code, 452);
}

TEST_F(SmtpClientTest, Smtputf8NeedsTheServersSupport) {
  message_.smtputf8 = true;
  SmtpClient c = Make(TlsPolicy::kNone);
  Say(c, "220 mx\r\n");
  EXPECT_EQ(Say(c, "250-mx\r\n250 8BITMIME\r\n"), "QUIT\r\n");
  EXPECT_EQ(c.results()[0].code, 550);
  SmtpClient d = Make(TlsPolicy::kNone);
  Say(d, "220 mx\r\n");
  EXPECT_EQ(Say(d, "250-mx\r\n250 SMTPUTF8\r\n"), "MAIL FROM:<alice@example.org> SMTPUTF8\r\n");
}

}  // namespace
}  // namespace postern::delivery
