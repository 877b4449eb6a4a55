// Tests for compiler/config/master_cf.
#include "compiler/config/master_cf.h"

#include <gtest/gtest.h>

namespace postern::config {
namespace {

MasterCf Parse(const std::string& text, DiagnosticSink* sink) {
  return ParseMasterCf(std::make_shared<const SourceFile>("master.cf", text), sink);
}

TEST(MasterCfTest, ParsesServicesOverridesAndBraceGroups) {
  DiagnosticSink sink;
  MasterCf cf = Parse(
      "smtp      inet  n       -       y       -       -       smtpd\n"
      "submission inet n - y - - smtpd\n"
      "  -o smtpd_tls_security_level=encrypt\n"
      "  -o { smtpd_client_restrictions = permit_sasl_authenticated, reject }\n"
      "pickup unix n - y 60? 1 pickup -v\n",
      &sink);
  EXPECT_TRUE(sink.diagnostics().empty()) << RenderDiagnostics(sink.diagnostics());
  ASSERT_EQ(cf.services.size(), 3u);
  EXPECT_EQ(cf.services[0].name, "smtp");
  EXPECT_EQ(cf.services[0].type, "inet");
  EXPECT_EQ(cf.services[0].command, "smtpd");
  ASSERT_EQ(cf.services[1].overrides.size(), 2u);
  EXPECT_EQ(cf.services[1].overrides[0].name, "smtpd_tls_security_level");
  EXPECT_EQ(cf.services[1].overrides[0].value, "encrypt");
  EXPECT_EQ(cf.services[1].overrides[1].name, "smtpd_client_restrictions");
  EXPECT_EQ(cf.services[1].overrides[1].value, "permit_sasl_authenticated, reject");
  EXPECT_EQ(cf.services[1].overrides[1].location.line, 4);
  EXPECT_EQ(cf.services[2].wakeup, "60?");
  EXPECT_EQ(cf.services[2].arguments, std::vector<std::string>{"-v"});
}

TEST(MasterCfTest, ReportsBadFieldsAndDuplicates) {
  DiagnosticSink sink;
  MasterCf cf = Parse(
      "smtp inet n - y - - smtpd\n"
      "smtp inet n - y - - smtpd\n"
      "x tcp n - y - - smtpd\n"
      "y unix maybe - y - - smtpd\n"
      "z unix n - y - many smtpd\n"
      "short unix n -\n"
      "w unix - - - - - smtp -o\n",
      &sink);
  std::vector<std::string> codes;
  for (const auto& d : sink.diagnostics()) codes.push_back(d.code);
  EXPECT_EQ(codes, (std::vector<std::string>{"PC0205", "PC0202", "PC0203", "PC0203", "PC0201", "PC0204"}));
  EXPECT_EQ(cf.services.size(), 2u);
}

}  // namespace
}  // namespace postern::config
