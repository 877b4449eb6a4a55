// Tests for compiler/tables/table_source: the source formats.
#include "compiler/tables/table_source.h"

#include <gtest/gtest.h>

namespace postern::tables {
namespace {

std::shared_ptr<const SourceFile> File(const std::string& text) {
  return std::make_shared<const SourceFile>("t", text);
}

std::vector<std::string> Codes(const DiagnosticSink& sink) {
  std::vector<std::string> codes;
  for (const auto& d : sink.diagnostics()) codes.push_back(d.code);
  return codes;
}

TEST(TextTableTest, KeyWhitespaceValue) {
  DiagnosticSink sink;
  auto entries = ParseTextTable(File("Key1 v1\nk2  multi word  value \n  continued\nk3\n\"q k\" qv\n"), &sink);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].key, "Key1");
  EXPECT_EQ(entries[1].value, "multi word  value   continued");
  EXPECT_EQ(entries[2].key, "\"q k\"");
  EXPECT_EQ(Codes(sink), std::vector<std::string>{"PT0301"});
  EXPECT_EQ(sink.diagnostics()[0].location.line, 4);
}

TEST(AliasTableTest, NormalisesListsAndUnquotesNames) {
  DiagnosticSink sink;
  auto entries = ParseAliasTable(
      File("root: admin,\n\tfred\n\"quoted name\": x\na: b,c ,  d\nx: \"quoted, value\" , y\nnocolon\ne:\n"
           "user: |\"/usr/bin/foo bar\", /tmp/file, :include:/etc/x\n"),
      &sink);
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[0].value, "admin, fred");
  EXPECT_EQ(entries[1].key, "quoted name");
  EXPECT_EQ(entries[2].value, "b, c, d");
  EXPECT_EQ(entries[3].value, "\"quoted, value\", y");
  EXPECT_EQ(entries[4].value, "|\"/usr/bin/foo bar\", /tmp/file, :include:/etc/x");
  EXPECT_EQ(Codes(sink), (std::vector<std::string>{"PT0303", "PT0303"}));
}

TEST(PatternTableSourceTest, CidrRulesAndErrors) {
  DiagnosticSink sink;
  auto rules = ParsePatternTable(File("172.16.0.0/21 bad\n172.16.1.3/21 x\n172.16.1.4\nif 1.2.0.0/16\n"
                                      "1.2.3.4 in\nendif\nendif\n! 10.0.0.0/8 not ten\n"),
                                 TableFormat::kCidr, &sink);
  EXPECT_EQ(Codes(sink), (std::vector<std::string>{"PT0310", "PT0316", "PT0313"}));
  mail::PatternTable table(std::move(rules));
  EXPECT_EQ(table.Lookup("172.16.7.1"), "bad");
  EXPECT_EQ(table.Lookup("1.2.3.4"), "in");
  EXPECT_EQ(table.Lookup("10.1.1.1"), std::nullopt);
  EXPECT_EQ(table.Lookup("11.1.1.1"), "not ten");
}

TEST(PatternTableSourceTest, PcreRulesFlagsAndSubstitution) {
  DiagnosticSink sink;
  auto rules = ParsePatternTable(File("if /^from/\n/^from (\\w+)@(\\S+)$/ user=$1 domain=${2}\nendif\n"
                                      "/CASE/ folded\n/Strict/i exact\n/(1)(2)/ ($1)($3)\n/(/ broken\n"
                                      "/a/! bang\n!/(x)/ $1\n"),
                                 TableFormat::kPcre, &sink);
  EXPECT_EQ(Codes(sink), (std::vector<std::string>{"PT0314", "PT0311", "PT0315", "PT0317"}));
  mail::PatternTable table(std::move(rules));
  EXPECT_EQ(table.Lookup("from fred@example.com"), "user=fred domain=example.com");
  EXPECT_EQ(table.Lookup("case"), "folded");
  EXPECT_EQ(table.Lookup("strict"), std::nullopt);
  EXPECT_EQ(table.Lookup("Strict"), "exact");
}

TEST(PatternTableSourceTest, RegexpAndNotForm) {
  DiagnosticSink sink;
  auto rules = ParsePatternTable(File("/a/!/b/ a-not-b\n/c/\nif /x/\n"), TableFormat::kRegexp, &sink);
  EXPECT_EQ(Codes(sink), (std::vector<std::string>{"PT0316", "PT0312"}));
  mail::PatternTable table(std::move(rules));
  EXPECT_EQ(table.Lookup("ac"), "a-not-b");
  EXPECT_EQ(table.Lookup("ab"), std::nullopt);
  EXPECT_EQ(table.Lookup("c"), "");
}

}  // namespace
}  // namespace postern::tables
