// enhanced_status_test.cc: RFC 3463 codes recognised as Postfix's
// dsn_valid() does, split off texts, and read from server replies.
#include "mail/enhanced_status.h"

#include <gtest/gtest.h>

#include "mail/delivery_status.h"

namespace postern::mail {
namespace {

TEST(EnhancedStatusTest, ValidCodes) {
  for (const char* code : {"2.0.0", "4.7.1", "5.1.10", "5.123.999"}) EXPECT_TRUE(IsEnhancedStatus(code)) << code;
  for (const char* code : {"", "5", "5.1", "3.1.1", "5.1.1.", "5..1", "5.1234.1", "5.1.1234", "5.a.1", "51.1.1"}) {
    EXPECT_FALSE(IsEnhancedStatus(code)) << code;
  }
}

TEST(EnhancedStatusTest, SplitsALeadingCode) {
  StatusAndText split = SplitEnhancedStatus("5.1.1 No such user");
  EXPECT_EQ(split.status, "5.1.1");
  EXPECT_EQ(split.text, "No such user");
  split = SplitEnhancedStatus("4.2.0");
  EXPECT_EQ(split.status, "4.2.0");
  EXPECT_EQ(split.text, "");
  split = SplitEnhancedStatus("5.1.1x not a code");
  EXPECT_EQ(split.status, "");
  EXPECT_EQ(split.text, "5.1.1x not a code");
}

TEST(EnhancedStatusTest, FromAServerReply) {
  EXPECT_EQ(EnhancedStatusOfReply(550, "550 5.7.1 relay denied"), "5.7.1");
  EXPECT_EQ(EnhancedStatusOfReply(451, "451 try later"), "4.0.0");
  EXPECT_EQ(EnhancedStatusOfReply(550, "550 4.1.1 inconsistent"), "5.0.0");  // the class must be the code's
  EXPECT_EQ(EnhancedStatusOfReply(250, "250 2.0.0 Ok: queued"), "2.0.0");
  EXPECT_EQ(EnhancedStatusOfReply(0, ""), "");
}

TEST(EnhancedStatusTest, FixedForTheReplyClass) {
  EXPECT_EQ(FixStatusForReplyClass("5.1.1", "Sender address"), "4.1.7");
  EXPECT_EQ(FixStatusForReplyClass("5.1.2", "Sender address"), "4.1.8");
  EXPECT_EQ(FixStatusForReplyClass("5.1.7", "Recipient address"), "4.1.3");
  EXPECT_EQ(FixStatusForReplyClass("4.1.1", "Recipient address"), "4.1.1");
  EXPECT_EQ(FixStatusForReplyClass("4.1.1", "Client host"), "4.0.0");
  EXPECT_EQ(FixStatusForReplyClass("5.1.10", "Sender address"), "4.1.0");
  EXPECT_EQ(FixStatusForReplyClass("5.7.1", "Sender address"), "5.7.1");
}

TEST(DeliveryStatusTest, FromTextAndTheLogText) {
  DeliveryStatus s = DeliveryStatus::FromText(550, "5.1.1 unknown user: joe");
  EXPECT_EQ(s.status, "5.1.1");
  EXPECT_EQ(s.reason, "unknown user: joe");
  EXPECT_TRUE(s.bounced());
  EXPECT_EQ(DeliveryStatus::FromText(450, "table lookup failed").status, "4.0.0");
  DeliveryStatus sent = DeliveryStatus::Local(250, "2.0.0", "host x[192.0.2.1] said: 250 2.0.0 Ok (in reply to ...)");
  sent.remote_reply = "250 2.0.0 Ok";
  EXPECT_EQ(sent.LogText(), "250 2.0.0 Ok");  // as smtp(8) logs a delivery
  sent.code = 450;
  EXPECT_EQ(sent.LogText(), sent.reason);
}

}  // namespace
}  // namespace postern::mail
