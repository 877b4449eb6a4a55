// reply_template_test.cc: reply templates expanded as Postfix's
// mac_expand(3) expands them for smtpd: the $ forms, the ? and : operators
// with and without {} operands, the expansion filter, undefined names and
// syntax errors, and the scan that checks both operands.
#include "mail/reply_template.h"

#include <gtest/gtest.h>

#include <map>

#include "util/strings.h"

namespace postern::mail {
namespace {

const std::string kFilter = UnescapeC(
    "\\t\\40!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

TemplateExpansion Expand(std::string_view text, bool scan = false) {
  static const std::map<std::string, std::string, std::less<>> kValues = {{"code", "554"},
                                                                          {"what", "192.0.2.1"},
                                                                          {"reason", "Listed; see <http://x/>"},
                                                                          {"empty", ""},
                                                                          {"odd",
                                                                           "a\x01"
                                                                           "b\xc3\xa9"}};
  return ExpandTemplate(
      text,
      [](std::string_view name) -> std::optional<std::string> {
        auto it = kValues.find(name);
        if (it == kValues.end()) return std::nullopt;
        return it->second;
      },
      kFilter, scan);
}

TEST(ReplyTemplateTest, NamesInEveryForm) {
  EXPECT_EQ(Expand("$code ${what} $(what) $$5").text, "554 192.0.2.1 192.0.2.1 $5");
  EXPECT_EQ(Expand("[$what]").text, "[192.0.2.1]");
  EXPECT_EQ(Expand("x$empty.y").text, "x.y");
}

TEST(ReplyTemplateTest, ConditionalsWithAndWithoutBraces) {
  EXPECT_EQ(Expand("a${reason?; $reason}").text, "a; Listed; see <http://x/>");
  EXPECT_EQ(Expand("a${empty?; $reason}").text, "a");
  EXPECT_EQ(Expand("a${empty:none}").text, "anone");
  EXPECT_EQ(Expand("a${what:none}").text, "a");
  EXPECT_EQ(Expand("${empty?{yes}:{no}}").text, "no");
  EXPECT_EQ(Expand("${what ? {yes $what} : {no}}").text, "yes 192.0.2.1");
  // An unknown name may be tested: it counts as empty.
  EXPECT_TRUE(Expand("${nosuch?x}${nosuch:y}").ok());
  EXPECT_EQ(Expand("${nosuch?x}${nosuch:y}").text, "y");
}

TEST(ReplyTemplateTest, ValuesAreFilteredNotExpandedAgain) {
  EXPECT_EQ(Expand("$odd").text, "a_b__");
  EXPECT_EQ(Expand("$reason").text, "Listed; see <http://x/>");
  EXPECT_EQ(UnescapeC("\\t\\40a\\\\"), "\t a\\");
}

TEST(ReplyTemplateTest, UndefinedNamesAndSyntaxErrors) {
  EXPECT_EQ(Expand("$code $nosuch").undefined, "nosuch");
  EXPECT_FALSE(Expand("$code $nosuch").ok());
  EXPECT_NE(Expand("${code").error, "");
  EXPECT_NE(Expand("$ code").error, "");
  EXPECT_NE(Expand("${what?{a}x}").error, "");
  EXPECT_NE(Expand("${what?{a}:{b}x}").error, "");
  EXPECT_NE(Expand("${what!}").error, "");
  EXPECT_NE(Expand("${{$what} == {x}?a}").error, "");
}

TEST(ReplyTemplateTest, ScanChecksBothOperands) {
  EXPECT_TRUE(Expand("${what?$code}", true).ok());
  EXPECT_EQ(Expand("${what?{x}:{$nosuch}}", true).undefined, "nosuch");
  EXPECT_EQ(Expand("${what?{x}:{$nosuch}}", false).undefined, "");
  EXPECT_EQ(Expand("$code text", true).text, "");
}

TEST(ReplyTemplateTest, RblNames) {
  EXPECT_TRUE(IsRblTemplateName("rbl_reason"));
  EXPECT_TRUE(IsRblTemplateName("sender_domain"));
  EXPECT_FALSE(IsRblTemplateName("sender_ip"));
  EXPECT_FALSE(IsRblTemplateName("myhostname"));
}

}  // namespace
}  // namespace postern::mail
