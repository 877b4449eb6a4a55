// rbl_reply_test.cc: every name postern check lets a DNS list reply
// template use (mail::RblTemplateNames) is one posternd's composer answers,
// so that what check passes never falls back at run time; and one it does
// not know is refused.
#include "runtime/vm/rbl_reply.h"

#include <gtest/gtest.h>

#include "mail/reply_template.h"

namespace postern::vm {
namespace {

RblReply ReplyWith(std::string_view name) {
  RblReplySettings settings;
  settings.default_template = "$rbl_code Service unavailable; ${" + std::string(name) + "}";
  settings.myhostname = "mx.example.net";
  settings.filter = "\t";  // smtpd_expansion_filter's default: tab and printable ASCII
  for (char c = ' '; c <= '~'; ++c) settings.filter += c;
  SmtpFacts facts;
  facts.client_address = "192.0.2.7";
  facts.client_name = "bad.example.org";
  facts.helo = "bad.example.org";
  facts.has_sender = true;
  facts.sender = "someone@example.org";
  facts.recipient = "fred@example.net";
  RblListing listing{"zen.example.org", "192.0.2.7", "Client host", "listed"};
  return ComposeRblReply(settings, listing, facts);
}

TEST(RblReplyTest, EveryNameCheckAllowsIsAnswered) {
  for (std::string_view name : mail::RblTemplateNames()) {
    RblReply reply = ReplyWith(name);
    EXPECT_TRUE(reply.problem.empty()) << name << ": " << reply.problem;
    EXPECT_EQ(reply.reply.substr(0, 10), "554 5.7.1 ") << name;
  }
}

TEST(RblReplyTest, AnUnknownNameIsAConfigurationError) {
  EXPECT_FALSE(mail::IsRblTemplateName("sender_ip"));
  RblReply reply = ReplyWith("sender_ip");
  EXPECT_FALSE(reply.problem.empty());
  EXPECT_EQ(reply.reply, "451 4.3.5 Server configuration error");
}

}  // namespace
}  // namespace postern::vm
