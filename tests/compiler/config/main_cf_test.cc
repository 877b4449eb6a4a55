// Tests for compiler/config/main_cf.
#include "compiler/config/main_cf.h"

#include <gtest/gtest.h>

namespace postern::config {
namespace {

MainCf Parse(const std::string& text, DiagnosticSink* sink) {
  return ParseMainCf(std::make_shared<const SourceFile>("main.cf", text), sink);
}

TEST(MainCfTest, ParsesDefinitionsWithContinuations) {
  DiagnosticSink sink;
  MainCf cf = Parse("myhostname=mx.example.com\nmydestination = a,\n    b\n# x\nempty =\n", &sink);
  ASSERT_EQ(cf.definitions.size(), 3u);
  EXPECT_EQ(cf.definitions[0].name, "myhostname");
  EXPECT_EQ(cf.definitions[0].value, "mx.example.com");
  EXPECT_EQ(cf.definitions[1].value, "a,    b");
  EXPECT_EQ(cf.definitions[1].value_location.line, 2);
  EXPECT_EQ(cf.definitions[1].value_location.column, 17);
  EXPECT_EQ(cf.definitions[2].value, "");
  EXPECT_TRUE(sink.diagnostics().empty());
}

TEST(MainCfTest, ReportsEveryBadLineAndKeepsGoing) {
  DiagnosticSink sink;
  MainCf cf = Parse("bad line here\n= value\nok = 1\nsmtp.x = 2\npolicy-spf_time_limit = 3600\n", &sink);
  ASSERT_EQ(cf.definitions.size(), 2u);
  EXPECT_EQ(cf.definitions[0].name, "ok");
  EXPECT_EQ(cf.definitions[1].name, "policy-spf_time_limit");  // service names may hold a dash
  ASSERT_EQ(sink.diagnostics().size(), 3u);
  EXPECT_EQ(sink.diagnostics()[0].code, "PC0101");
  EXPECT_EQ(sink.diagnostics()[0].location.line, 1);
  EXPECT_EQ(sink.diagnostics()[1].code, "PC0102");
  EXPECT_EQ(sink.diagnostics()[2].code, "PC0102");
  EXPECT_EQ(sink.diagnostics()[2].location.line, 4);
}

}  // namespace
}  // namespace postern::config
