// dovecot_auth_protocol_test.cc: the lines of Dovecot's authentication
// protocol as Dovecot 2.3 sends them, and the checks on what it sends.
#include "runtime/sasl/dovecot_auth_protocol.h"

#include <gtest/gtest.h>

namespace postern::sasl {
namespace {

TEST(DovecotAuthProtocolTest, HandshakeListsMechanisms) {
  DovecotHandshake h;
  for (const char* line : {"VERSION\t1\t2", "MECH\tPLAIN\tplaintext", "MECH\tlogin\tplaintext",
                           "MECH\tGSSAPI-X\tprivate", "SPID\t18468", "CUID\t1", "COOKIE\t0401c4", "DONE"}) {
    ASSERT_TRUE(h.AddLine(line).ok()) << line;
  }
  EXPECT_TRUE(h.done());
  ASSERT_EQ(h.mechanisms().size(), 3u);
  EXPECT_EQ(h.mechanisms()[1].name, "LOGIN");
  EXPECT_TRUE(h.mechanisms()[0].plaintext);
  EXPECT_TRUE(h.mechanisms()[2].private_mechanism);
}

TEST(DovecotAuthProtocolTest, HandshakeRefusesOtherVersionsAndEmptyMechanisms) {
  DovecotHandshake h;
  EXPECT_FALSE(h.AddLine("VERSION\t2\t0").ok());
  EXPECT_FALSE(h.AddLine("MECH").ok());
  DovecotHandshake early;
  EXPECT_FALSE(early.AddLine("DONE").ok());
}

TEST(DovecotAuthProtocolTest, RequestsCarryTheSessionAndNeverBreakTheLine) {
  DovecotAuthRequest r;
  r.id = 7;
  r.mechanism = "PLAIN";
  r.local_ip = "127.0.0.1";
  r.remote_ip = "192.0.2.1";
  r.remote_port = 4242;
  r.secured = true;
  r.initial_response = "AGZyZWQAc2VjcmV0";
  EXPECT_EQ(*EncodeDovecotAuth(r),
            "AUTH\t7\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.1\trport=4242\tsecured\t"
            "resp=AGZyZWQAc2VjcmV0\n");
  r.initial_response = "abc\tservice=imap";
  EXPECT_FALSE(EncodeDovecotAuth(r).ok());
  EXPECT_EQ(*EncodeDovecotContinue(3, "amVhbg=="), "CONT\t3\tamVhbg==\n");
  EXPECT_FALSE(EncodeDovecotContinue(3, "x\nAUTH").ok());
}

TEST(DovecotAuthProtocolTest, Replies) {
  auto ok = ParseDovecotAuthReply("OK\t1\tuser=fred@example.com");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->kind, DovecotAuthReply::Kind::kOk);
  EXPECT_EQ(ok->user, "fred@example.com");
  auto cont = ParseDovecotAuthReply("CONT\t3\tVXNlcm5hbWU6");
  ASSERT_TRUE(cont.ok());
  EXPECT_EQ(cont->kind, DovecotAuthReply::Kind::kContinue);
  EXPECT_EQ(cont->challenge, "VXNlcm5hbWU6");
  auto fail = ParseDovecotAuthReply("FAIL\t4\tcode=invalid_base64\treason=Invalid base64 data");
  ASSERT_TRUE(fail.ok());
  EXPECT_EQ(fail->reason, "Invalid base64 data");
  EXPECT_FALSE(fail->temporary);
  EXPECT_TRUE(ParseDovecotAuthReply("FAIL\t5\ttemp")->temporary);
  EXPECT_FALSE(ParseDovecotAuthReply("OK\t1").ok());  // accepted whom?
  EXPECT_FALSE(ParseDovecotAuthReply("OK\tx\tuser=a").ok());
  EXPECT_FALSE(ParseDovecotAuthReply("HELLO\t1").ok());
}

}  // namespace
}  // namespace postern::sasl
