// Tests for mail/lookup_table and mail/regexp: Postfix's lookup semantics.
#include "mail/lookup_table.h"

#include <gtest/gtest.h>

#include "mail/lookup_failure.h"
#include "mail/settings_format.h"

namespace postern::mail {
namespace {

TEST(ExactTableTest, FoldsCaseAndKeepsTheFirstValue) {
  ExactTable table;
  EXPECT_TRUE(table.Insert("Key1", "v1"));
  EXPECT_FALSE(table.Insert("key1", "v2"));
  EXPECT_EQ(table.Lookup("KEY1"), "v1");
  EXPECT_EQ(table.Lookup("key2"), std::nullopt);
}

TEST(LookupFailureTest, AFailedLookupIsNotFoundAndTaintsItsScope) {
  FailTable table("fail:down");
  LookupFailureScope scope;
  EXPECT_FALSE(LookupFailureScope::CurrentFailed());
  EXPECT_EQ(table.Lookup("a@example.com"), std::nullopt);
  EXPECT_TRUE(scope.failed());
  EXPECT_TRUE(LookupFailureScope::CurrentFailed());
  EXPECT_EQ(scope.reason(), "fail:down lookup error for \"a@example.com\"");
  table.Lookup("b@example.com");  // the first failure is the one reported
  EXPECT_EQ(scope.reason(), "fail:down lookup error for \"a@example.com\"");
}

TEST(LookupFailureTest, AnInnerFailureIsAFailureOfTheScopesAroundIt) {
  FailTable table("fail:down");
  LookupFailureScope outer;
  {
    LookupFailureScope clean;
    ExactTable().Lookup("x");
    EXPECT_FALSE(clean.failed());
  }
  EXPECT_FALSE(outer.failed());
  {
    LookupFailureScope inner;
    table.Lookup("y");
    EXPECT_TRUE(inner.failed());
  }
  EXPECT_TRUE(outer.failed());
  EXPECT_EQ(outer.reason(), "fail:down lookup error for \"y\"");
}

TEST(LookupFailureTest, OutsideEveryScopeTheFailureIsAWarningAndNotFound) {
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(FailTable("fail:down").Lookup("z"), std::nullopt);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("fail:down lookup error for \"z\""), std::string::npos);
}

TEST(RegexpTest, CaseInsensitiveByDefaultWithCaptures) {
  auto re = Regexp::Compile("^(\\w+)@(example)\\.com$", RegexpFlags{});
  ASSERT_TRUE(re.ok());
  std::vector<std::string> groups;
  ASSERT_TRUE(re.value()->Match("Fred@EXAMPLE.com", &groups));
  EXPECT_EQ(ExpandReplacement("$2/${1}/$$", groups), "EXAMPLE/Fred/$");
  RegexpFlags strict;
  strict.caseless = false;
  auto re2 = Regexp::Compile("^abc$", strict);
  EXPECT_FALSE(re2.value()->Match("ABC", nullptr));
}

TEST(RegexpTest, CompileErrorSaysWhere) {
  auto re = Regexp::Compile("(", RegexpFlags{});
  ASSERT_FALSE(re.ok());
  EXPECT_EQ(re.status().message(), "error in regex at offset 1: missing closing parenthesis");
}

TEST(RegexpTest, ReplacementIndexes) {
  std::string error;
  EXPECT_EQ(MaxReplacementIndex("($1)(${12})", &error), 12);
  EXPECT_TRUE(error.empty());
  EXPECT_EQ(MaxReplacementIndex("no refs $$", &error), 0);
  MaxReplacementIndex("${1", &error);
  EXPECT_FALSE(error.empty());
}

PatternRule CidrRule(PatternRule::Kind kind, const char* block, const char* result, bool negate = false) {
  PatternRule rule;
  rule.kind = kind;
  rule.negate = negate;
  std::string error;
  if (block != nullptr) rule.cidr = ParseCidrBlock(block, &error);
  rule.replacement = result;
  return rule;
}

TEST(PatternTableTest, FirstMatchWithIfEndifAndNegation) {
  std::vector<PatternRule> rules;
  rules.push_back(CidrRule(PatternRule::Kind::kIf, "1.2.3.4/30", ""));
  rules.push_back(CidrRule(PatternRule::Kind::kMatch, "1.2.3.3", "can't happen"));
  rules.push_back(CidrRule(PatternRule::Kind::kMatch, "1.2.3.5", "inside"));
  rules.push_back(CidrRule(PatternRule::Kind::kEndif, nullptr, ""));
  rules.push_back(CidrRule(PatternRule::Kind::kMatch, "1.2.3.4/30", "outside", /*negate=*/true));
  rules[0].endif = 3;
  PatternTable table(std::move(rules));
  EXPECT_EQ(table.Lookup("1.2.3.5"), "inside");
  EXPECT_EQ(table.Lookup("1.2.3.3"), "outside");
  EXPECT_EQ(table.Lookup("1.2.3.6"), std::nullopt);
  EXPECT_EQ(table.Lookup("not an address"), std::nullopt);
}

}  // namespace
}  // namespace postern::mail

namespace postern::mail {
namespace {

// Keys fold as Postfix's casefold() folds them: Unicode rules with
// smtputf8_enable = yes, ASCII letters otherwise or for invalid UTF-8.
TEST(CaseFoldTest, FoldsAsPostfix) {
  EXPECT_EQ(FoldCase("\xc3\x84"
                     "DMIN@Example.COM",
                     CaseFold::kUtf8),
            "\xc3\xa4"
            "dmin@example.com");
  EXPECT_EQ(FoldCase("\xc3\x84"
                     "DMIN",
                     CaseFold::kAscii),
            "\xc3\x84"
            "dmin");
  EXPECT_EQ(FoldCase("Stra\xc3\x9f"
                     "e",
                     CaseFold::kUtf8),
            "strasse");  // full folding: sharp s
  EXPECT_EQ(FoldCase("\xce\xa3\xce\x9f\xce\xa6", CaseFold::kUtf8), "\xcf\x83\xce\xbf\xcf\x86");  // Greek
  EXPECT_EQ(FoldCase("A\xc3", CaseFold::kUtf8), "a\xc3");  // not UTF-8: ASCII only
  EXPECT_EQ(FoldCase("MiXeD", CaseFold::kNone), "MiXeD");
  EXPECT_TRUE(MayFold("\xc3\xa4", CaseFold::kUtf8));
  EXPECT_FALSE(MayFold("\xc3\xa4", CaseFold::kAscii));
  ExactTable table(CaseFold::kUtf8);
  table.Insert(
      "\xc3\xa4"
      "dmin",
      "fred");
  EXPECT_EQ(table.Lookup("\xc3\x84"
                         "DMIN"),
            "fred");
}

}  // namespace
}  // namespace postern::mail

namespace postern::mail {
namespace {

TEST(SettingsFormatTest, RoundTripAndTypedReads) {
  SettingsMap in;
  in["message_size_limit"] = SettingValue{SettingKind::kInteger, 10240000, "10240000"};
  in["smtpd_timeout"] = SettingValue{SettingKind::kSeconds, 300, "300s"};
  in["smtputf8_enable"] = SettingValue{SettingKind::kBoolean, 1, "yes"};
  in["myhostname"] = SettingValue{SettingKind::kText, 0, "mx.example.com"};
  auto out = DecodeSettings(EncodeSettings(in));
  ASSERT_TRUE(out.ok()) << out.status().message();
  Settings s(std::move(out).value());
  EXPECT_EQ(s.Integer("message_size_limit"), 10240000);
  EXPECT_EQ(s.Seconds("smtpd_timeout"), 300);
  EXPECT_TRUE(s.Boolean("smtputf8_enable"));
  // Another kind, or an unknown name, reads as nothing.
  EXPECT_EQ(s.Integer("smtpd_timeout"), 0);
  EXPECT_FALSE(s.Boolean("no_such_parameter"));
  EXPECT_EQ(s.size(), 4u);
}

TEST(SettingsFormatTest, DamageIsRefused) {
  std::string bytes = EncodeSettings({{"a", SettingValue{SettingKind::kInteger, 1, "1"}}});
  EXPECT_FALSE(DecodeSettings(bytes.substr(0, bytes.size() - 1)).ok());  // truncated
  std::string version = bytes;
  version[8] = 9;  // the u32 version after the magic
  EXPECT_NE(DecodeSettings(version).status().message().find("recompile"), std::string::npos);
  EXPECT_FALSE(DecodeSettings(bytes + "x").ok());  // trailing bytes
}

}  // namespace
}  // namespace postern::mail
