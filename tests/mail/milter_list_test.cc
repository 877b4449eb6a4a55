// milter_list_test.cc: smtpd_milters as MILTER_README writes it, and the
// values postern check refuses.
#include "mail/milter_list.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

TEST(MilterListTest, EndpointsAndGroups) {
  auto milters = ParseMilterList(
      "inet:localhost:8891, { unix:/run/opendkim.sock, connect_timeout=10s, default_action=accept }"
      " { local:/x, { content_timeout = 2m }, { protocol = 4 no_header_reply } }");
  ASSERT_TRUE(milters.ok()) << milters.status().message();
  ASSERT_EQ(milters->size(), 3u);
  EXPECT_EQ((*milters)[0].endpoint, "inet:localhost:8891");
  EXPECT_FALSE((*milters)[0].default_action);
  EXPECT_EQ((*milters)[1].endpoint, "unix:/run/opendkim.sock");
  EXPECT_EQ((*milters)[1].connect_timeout, "10s");
  EXPECT_EQ((*milters)[1].default_action, "accept");
  EXPECT_EQ((*milters)[2].content_timeout, "2m");
  EXPECT_EQ((*milters)[2].protocol, "4 no_header_reply");
  EXPECT_TRUE(ParseMilterList("")->empty());
}

TEST(MilterListTest, Refused) {
  EXPECT_FALSE(ParseMilterList("tcp:127.0.0.1:1").ok());
  EXPECT_FALSE(ParseMilterList("inet:").ok());
  EXPECT_FALSE(ParseMilterList("{ inet:h:1, timeout=1s }").ok());
  EXPECT_FALSE(ParseMilterList("{ inet:h:1, content_timeout = 2m }").ok());  // spaces need braces
  EXPECT_FALSE(ParseMilterList("{ inet:h:1").ok());
}

TEST(MilterListTest, Protocol) {
  EXPECT_EQ(ParseMilterProtocol("6")->version, 6);
  auto p = ParseMilterProtocol("2 no_header_reply");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->version, 2);
  EXPECT_TRUE(p->no_header_reply);
  EXPECT_FALSE(ParseMilterProtocol("5").ok());
  EXPECT_FALSE(ParseMilterProtocol("no_header_reply").ok());
  EXPECT_FALSE(ParseMilterProtocol("6 4").ok());
  EXPECT_TRUE(IsMilterDefaultAction("Quarantine"));
  EXPECT_FALSE(IsMilterDefaultAction("drop"));
}

}  // namespace
}  // namespace postern::mail
