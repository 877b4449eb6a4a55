// Tests for compiler/config/macro_expander: mac_expand(3) semantics.
#include "compiler/config/macro_expander.h"

#include <gtest/gtest.h>

#include <map>

namespace postern::config {
namespace {

class MacroExpanderTest : public ::testing::Test {
 protected:
  std::string Expand(const std::string& text) {
    MacroExpander expander([this](std::string_view name) -> std::optional<std::string> {
      auto it = vars_.find(std::string(name));
      if (it == vars_.end()) return std::nullopt;
      return it->second;
    });
    std::string result = expander.Expand(text);
    problems_ = expander.problems();
    return result;
  }

  std::map<std::string, std::string> vars_ = {{"name1", "value1"}, {"empty", ""}, {"nested", "<$name1>"},
                                              {"level", "3.6"},    {"a", "$b"},   {"b", "$c"},
                                              {"c", "$a"}};
  std::vector<MacroExpander::Problem> problems_;
};

TEST_F(MacroExpanderTest, PlainReferences) {
  EXPECT_EQ(Expand("$name1"), "value1");
  EXPECT_EQ(Expand("x${name1}y$(name1)z"), "xvalue1yvalue1z");
  EXPECT_EQ(Expand("$( name1 )"), "value1");
  EXPECT_EQ(Expand("$$name1"), "$name1");
  EXPECT_EQ(Expand("[$nested]"), "[<value1>]");
  EXPECT_TRUE(problems_.empty());
}

TEST_F(MacroExpanderTest, ConditionalForms) {
  EXPECT_EQ(Expand("${name1?set}"), "set");
  EXPECT_EQ(Expand("${name1:unset}"), "");
  EXPECT_EQ(Expand("${empty?set}"), "");
  EXPECT_EQ(Expand("${empty:unset}"), "unset");
  EXPECT_EQ(Expand("${name1?{yes $name1}:{no}}"), "yes value1");
  EXPECT_EQ(Expand("${missing?{yes}:{no $name1}}"), "no value1");
  // Postfix 2.11 compatibility: without braces the rest is literal text.
  EXPECT_EQ(Expand("${name1?bug:test}"), "bug:test");
}

TEST_F(MacroExpanderTest, RelationalForms) {
  EXPECT_EQ(Expand("${{$name1} == {value1}}"), "true");
  EXPECT_EQ(Expand("${{$name1} != {value1}}"), "");
  EXPECT_EQ(Expand("${{10} > {9}}"), "true");    // numeric when both are numbers
  EXPECT_EQ(Expand("${{aaa} < {bb}}"), "true");  // else text order
  EXPECT_EQ(Expand("${{aaa} >length {bb}}"), "true");
  EXPECT_EQ(Expand("${{3.10} >level {3.2} ? {newer} : {older}}"), "newer");
  EXPECT_EQ(Expand("${{$level} <level {2} ? {$name1} : {}}"), "");
  EXPECT_EQ(Expand("${{$level} <level {3.7} ? {old} : {new}}"), "old");
  EXPECT_TRUE(problems_.empty());
}

TEST_F(MacroExpanderTest, UndefinedNamesExpandToNothingAndAreReported) {
  EXPECT_EQ(Expand("<$nosuch>"), "<>");
  ASSERT_EQ(problems_.size(), 1u);
  EXPECT_EQ(problems_[0].kind, MacroExpander::Problem::Kind::kUndefined);
  EXPECT_EQ(problems_[0].name, "nosuch");
}

TEST_F(MacroExpanderTest, LoopsAreReportedWithTheirChain) {
  EXPECT_EQ(Expand("$a"), "");
  ASSERT_EQ(problems_.size(), 1u);
  EXPECT_EQ(problems_[0].kind, MacroExpander::Problem::Kind::kLoop);
  EXPECT_EQ(problems_[0].message, "parameter refers to itself: $a -> $b -> $c -> $a");
}

TEST_F(MacroExpanderTest, SyntaxErrors) {
  EXPECT_EQ(Expand("$(name1"), "");
  ASSERT_FALSE(problems_.empty());
  EXPECT_EQ(problems_[0].kind, MacroExpander::Problem::Kind::kSyntax);
  Expand("${na me1}");
  ASSERT_FALSE(problems_.empty());
  EXPECT_EQ(problems_[0].kind, MacroExpander::Problem::Kind::kSyntax);
  Expand("${{x} = {y}}");
  ASSERT_FALSE(problems_.empty());
  Expand("${{$level} >=level {3A}}");
  ASSERT_FALSE(problems_.empty());
  EXPECT_EQ(problems_[0].message, "malformed compatibility level syntax: \"3A\"");
}

TEST(CompatibilityLevelTest, ComparesNumerically) {
  EXPECT_EQ(CompareCompatibilityLevels("3", "3.0"), 0);
  EXPECT_EQ(CompareCompatibilityLevels("3.10", "3.2"), 1);
  EXPECT_EQ(CompareCompatibilityLevels("2", "3.6"), -1);
  EXPECT_EQ(CompareCompatibilityLevels("3.", "3"), std::nullopt);
  EXPECT_EQ(CompareCompatibilityLevels(".1", "3"), std::nullopt);
}

}  // namespace
}  // namespace postern::config
