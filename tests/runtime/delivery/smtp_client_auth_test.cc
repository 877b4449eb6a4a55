// smtp_client_auth_test.cc: SMTP AUTH in the client conversation (as
// smtp(8) with smtp_sasl_auth_enable), against scripted server replies, with
// the real Cyrus SASL client: PLAIN and LOGIN as Postfix sends them, the
// mechanism filter, the security options, and the failures with Postfix's
// texts.
#include <gtest/gtest.h>

#include "runtime/delivery/sasl_client.h"
#include "runtime/delivery/smtp_client.h"

namespace postern::delivery {
namespace {

class SmtpClientAuthTest : public ::testing::Test {
 protected:
  SmtpClientAuthTest() {
    message_.sender = "alice@example.org";
    message_.recipients = {{"bob@example.net", "", ""}};
    content_ = "Subject: hi\r\n\r\nbody\r\n";
    message_.content = content_;
  }

  // A client with credentials fred/secret; `flags` as
  // smtp_sasl_security_options gives them (plaintext allowed by default).
  SmtpClient Make(std::vector<std::string> filter = {}, std::vector<std::string> options = {"noanonymous"},
                  TlsPolicy tls = TlsPolicy::kNone) {
    ClientOptions o;
    o.helo_name = "mail.example.org";
    o.server = "smarthost.example.net[192.0.2.25]";
    o.tls = tls;
    ClientAuth auth;
    auth.mechanism_filter = std::move(filter);
    auth.start = [options](bool) {
      return NewCyrusSaslClient("smarthost.example.net", SaslCredentials{"fred", "secret"},
                                SaslSecurityFlags(options).value());
    };
    o.auth = std::move(auth);
    return SmtpClient(o, message_);
  }

  static std::string Say(SmtpClient& c, std::string_view reply) {
    c.Receive(reply);
    return c.TakeOutput();
  }

  std::string content_;
  OutboundMessage message_;
};

TEST_F(SmtpClientAuthTest, PlainWithAnInitialResponseThenTheEnvelope) {
  SmtpClient c = Make();
  Say(c, "220 smarthost ESMTP\r\n");
  // "\0fred\0secret": an authentication name and no authorization identity.
  EXPECT_EQ(Say(c, "250-smarthost\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n"), "AUTH PLAIN AGZyZWQAc2VjcmV0\r\n");
  EXPECT_EQ(Say(c, "235 2.7.0 Authentication successful\r\n").substr(0, 29), "MAIL FROM:<alice@example.org>");
}

TEST_F(SmtpClientAuthTest, LoginAnswersEachChallenge) {
  SmtpClient c = Make({"login"});
  Say(c, "220 smarthost ESMTP\r\n");
  EXPECT_EQ(Say(c, "250-smarthost\r\n250 AUTH PLAIN LOGIN\r\n"), "AUTH LOGIN\r\n");
  EXPECT_EQ(Say(c, "334 VXNlcm5hbWU6\r\n"), "ZnJlZA==\r\n");  // Username: fred
  EXPECT_EQ(Say(c, "334 UGFzc3dvcmQ6\r\n"), "c2VjcmV0\r\n");  // Password: secret
  EXPECT_EQ(Say(c, "235 2.7.0 Authentication successful\r\n"), "MAIL FROM:<alice@example.org>\r\n");
}

TEST_F(SmtpClientAuthTest, TheOldAuthEqualsFormIsRead) {
  SmtpClient c = Make();
  Say(c, "220 smarthost ESMTP\r\n");
  EXPECT_EQ(Say(c, "250-smarthost\r\n250 AUTH=PLAIN\r\n").substr(0, 11), "AUTH PLAIN ");
}

TEST_F(SmtpClientAuthTest, NoAuthOfferedMeansNoAuthentication) {
  SmtpClient c = Make();
  Say(c, "220 smarthost ESMTP\r\n");
  EXPECT_EQ(Say(c, "250 smarthost\r\n"), "MAIL FROM:<alice@example.org>\r\n");
}

TEST_F(SmtpClientAuthTest, RefusedCredentialsDeferAsTheHostsFailure) {
  SmtpClient c = Make();
  Say(c, "220 smarthost ESMTP\r\n");
  Say(c, "250-smarthost\r\n250 AUTH PLAIN\r\n");
  EXPECT_EQ(Say(c, "535 5.7.8 Error: authentication failed: authentication failure\r\n"), "QUIT\r\n");
  ASSERT_EQ(c.results().size(), 1u);
  // smtp_sasl_auth_soft_bounce: the 5.7.8 becomes 4.7.8, and the next
  // mail exchanger may be tried.
  EXPECT_EQ(c.results()[0].code, 450);
  EXPECT_TRUE(c.results()[0].host_failure);
  EXPECT_EQ(c.results()[0].status + " " + c.results()[0].reason,
            "4.7.8 SASL authentication failed; server smarthost.example.net[192.0.2.25] said: 535 5.7.8 Error: "
            "authentication failed: authentication failure");
}

TEST_F(SmtpClientAuthTest, PlaintextRefusedByTheSecurityOptions) {
  // Postfix's default, noplaintext: PLAIN and LOGIN are not used.
  SmtpClient c = Make({}, {"noplaintext", "noanonymous"});
  Say(c, "220 smarthost ESMTP\r\n");
  EXPECT_EQ(Say(c, "250-smarthost\r\n250 AUTH PLAIN LOGIN\r\n"), "QUIT\r\n");
  EXPECT_EQ(c.results()[0].code, 450);
  EXPECT_EQ(c.results()[0].status + " " + c.results()[0].reason,
            "4.7.0 SASL authentication failed; cannot authenticate to server smarthost.example.net[192.0.2.25]: "
            "no mechanism available");
}

TEST_F(SmtpClientAuthTest, AFilterThatLeavesNothing) {
  SmtpClient c = Make({"cram-md5"});
  Say(c, "220 smarthost ESMTP\r\n");
  EXPECT_EQ(Say(c, "250-smarthost\r\n250 AUTH PLAIN LOGIN\r\n"), "QUIT\r\n");
  EXPECT_EQ(c.results()[0].status + " " + c.results()[0].reason,
            "4.7.0 SASL authentication failed: server smarthost.example.net[192.0.2.25] offered no compatible "
            "authentication mechanisms for this type of connection security");
}

TEST_F(SmtpClientAuthTest, AuthComesAfterStartTls) {
  SmtpClient c = Make({}, {"noanonymous"}, TlsPolicy::kEncrypt);
  Say(c, "220 smarthost ESMTP\r\n");
  EXPECT_EQ(Say(c, "250-smarthost\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n"), "STARTTLS\r\n");
  Say(c, "220 2.0.0 Ready to start TLS\r\n");
  c.TlsStarted();
  EXPECT_EQ(c.TakeOutput(), "EHLO mail.example.org\r\n");
  EXPECT_EQ(Say(c, "250-smarthost\r\n250 AUTH PLAIN\r\n"), "AUTH PLAIN AGZyZWQAc2VjcmV0\r\n");
}

TEST(MechanismFilterTest, WordsAndExclusions) {
  EXPECT_TRUE(MechanismAllowed({}, "PLAIN"));
  EXPECT_TRUE(MechanismAllowed({"plain", "login"}, "LOGIN"));
  EXPECT_FALSE(MechanismAllowed({"plain"}, "LOGIN"));
  EXPECT_FALSE(MechanismAllowed({"!gssapi", "gssapi", "plain"}, "GSSAPI"));
}

TEST(SaslSecurityFlagsTest, UnknownWordsAreErrors) {
  EXPECT_TRUE(SaslSecurityFlags({"noplaintext", "noanonymous"}).ok());
  EXPECT_EQ(SaslSecurityFlags({}).value(), 0u);
  EXPECT_FALSE(SaslSecurityFlags({"noplain"}).ok());
}

}  // namespace
}  // namespace postern::delivery
