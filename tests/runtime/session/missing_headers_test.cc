// missing_headers_test.cc: the headers cleanup(8) adds to mail that lacks
// them, in its order and formats, and their Resent- forms.
#include "runtime/session/missing_headers.h"

#include <gtest/gtest.h>

namespace postern::session {
namespace {

MissingHeaderFacts Facts(std::vector<std::string> names) {
  MissingHeaderFacts f;
  f.names = std::move(names);
  f.queue_id = "4QID";
  f.hostname = "mx.example.com";
  f.sender = "joe doe@example.com";
  f.arrival = 1796615364;  // Mon Dec  7 03:49:24 UTC 2026
  return f;
}

TEST(MissingHeadersTest, AddsWhatIsMissingInCleanupsOrder) {
  AddedHeaders added = MissingHeaders(Facts({"Subject", "To"}));
  EXPECT_EQ(added.lines,
            "Message-Id: <20261207034924.4QID@mx.example.com>\r\n"
            "Date: Mon,  7 Dec 2026 03:49:24 +0000 (UTC)\r\n"
            "From: \"joe doe\"@example.com\r\n");
  EXPECT_EQ(added.message_id, "<20261207034924.4QID@mx.example.com>");

  AddedHeaders none = MissingHeaders(Facts({"message-id", "DATE", "From", "Cc"}));
  EXPECT_EQ(none.lines, "");
  EXPECT_EQ(none.message_id, "");
}

TEST(MissingHeadersTest, TheNullSenderAndUndisclosedRecipients) {
  MissingHeaderFacts f = Facts({"Message-ID", "Date"});
  f.sender = "";
  f.undisclosed_recipients = "To: undisclosed-recipients:;";
  EXPECT_EQ(MissingHeaders(f).lines, "From: MAILER-DAEMON\r\nTo: undisclosed-recipients:;\r\n");
  f.names.push_back("Resent-Cc");
  EXPECT_EQ(MissingHeaders(f).lines,
            "Resent-Message-Id: <20261207034924.4QID@mx.example.com>\r\n"
            "Resent-Date: Mon,  7 Dec 2026 03:49:24 +0000 (UTC)\r\n"
            "Resent-From: MAILER-DAEMON\r\n");
}

}  // namespace
}  // namespace postern::session
