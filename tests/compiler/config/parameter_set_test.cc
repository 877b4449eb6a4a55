// Tests for compiler/config/parameter_set, parameter_registry and
// parameter_value: defaults, computed defaults, types.
#include "compiler/config/parameter_set.h"

#include <gtest/gtest.h>

#include "compiler/config/parameter_registry.h"
#include "compiler/config/parameter_value.h"

namespace postern::config {
namespace {

MachineFacts TestMachine() {
  MachineFacts facts;
  facts.hostname = "vm";
  facts.addresses = {
      {"127.0.0.1", 8, false}, {"192.0.2.2", 24, false}, {"::1", 128, true}, {"fe80::fc:ff:fe00:1", 64, true}};
  return facts;
}

struct Fixture {
  explicit Fixture(const std::string& text) {
    DiagnosticSink sink;
    main_cf = ParseMainCf(std::make_shared<const SourceFile>("main.cf", text), &sink);
    ParameterSet::Options options;
    options.machine = TestMachine();
    params = std::make_unique<ParameterSet>(main_cf, options);
  }
  std::string Expanded(const std::string& name, View view = View::kEffective) {
    MacroExpander expander = params->Expander(view);
    return params->Expanded(name, &expander, view);
  }
  MainCf main_cf;
  std::unique_ptr<ParameterSet> params;
};

TEST(ParameterSetTest, ComputedDefaultsFollowTheMachine) {
  Fixture f("");
  EXPECT_EQ(f.Expanded("myhostname"), "vm.localdomain");
  EXPECT_EQ(f.Expanded("mydomain"), "localdomain");
  EXPECT_EQ(f.Expanded("mydestination"), "vm.localdomain, localhost.localdomain, localhost");
  // compatibility_level 0: mynetworks_style defaults to subnet.
  EXPECT_EQ(f.Expanded("mynetworks"), "127.0.0.0/8 192.0.2.0/24 [::1]/128 [fe80::]/64");
  EXPECT_EQ(f.Expanded("relay_domains"), "vm.localdomain, localhost.localdomain, localhost");
}

TEST(ParameterSetTest, ExplicitValuesDriveComputedOnesButNotDefaultsView) {
  Fixture f("myhostname = mx.example.com\ncompatibility_level = 3.6\nmyorigin = $mydomain\n");
  EXPECT_EQ(f.Expanded("mydomain"), "example.com");
  EXPECT_EQ(f.Expanded("myorigin"), "example.com");
  EXPECT_EQ(f.Expanded("mynetworks"), "127.0.0.1/32 192.0.2.2/32 [::1]/128 [fe80::fc:ff:fe00:1]/128");
  EXPECT_EQ(f.Expanded("relay_domains"), "");
  EXPECT_EQ(f.Expanded("smtpd_relay_restrictions"),
            "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination");
  EXPECT_EQ(f.Expanded("mydomain", View::kDefaults), "localdomain");
  EXPECT_EQ(*f.params->Raw("mydomain"), "example.com");
}

TEST(ParameterSetTest, CyclesThroughComputedDefaultsTerminate) {
  Fixture f("mydomain = $myhostname\nmynetworks_style = $mynetworks\n");
  EXPECT_EQ(f.Expanded("myhostname"), "vm.localdomain");
  EXPECT_EQ(f.Expanded("mynetworks"), "127.0.0.1/32 192.0.2.2/32 [::1]/128 [fe80::fc:ff:fe00:1]/128");
}

TEST(ParameterSetTest, LastDefinitionWins) {
  Fixture f("relayhost = a\nrelayhost = [b]:587\n");
  EXPECT_EQ(*f.params->Raw("relayhost"), "[b]:587");
  EXPECT_EQ(f.params->ExplicitNames(), std::vector<std::string>{"relayhost"});
  EXPECT_FALSE(f.params->Raw("no_such_parameter").has_value());
}

TEST(ParameterRegistryTest, KnowsTypesDefaultsAndPostfixNames) {
  const ParameterSpec* spec = FindParameter("message_size_limit");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(spec->type, ParameterType::kInteger);
  EXPECT_EQ(spec->default_value, "10240000");
  EXPECT_EQ(FindParameter("postscreen_dnsbl_sites"), nullptr);
  EXPECT_TRUE(IsPostfixParameter("postscreen_dnsbl_sites"));
  EXPECT_FALSE(IsPostfixParameter("mydestinaton"));
  EXPECT_GT(PerTransportSuffixLength("dovecot_destination_recipient_limit"), 0u);
  EXPECT_EQ(PerTransportSuffixLength("mydestination"), 0u);
  auto all = SupportedParameters();
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(),
                             [](const ParameterSpec& a, const ParameterSpec& b) { return a.name < b.name; }));
}

TEST(ParameterValueTest, ChecksTypes) {
  EXPECT_EQ(CheckParameterValue(*FindParameter("message_size_limit"), "10x"), "expected a non-negative integer");
  EXPECT_EQ(CheckParameterValue(*FindParameter("smtpd_helo_required"), "YES"), "");
  EXPECT_EQ(CheckParameterValue(*FindParameter("smtpd_helo_required"), "true"), "expected yes or no");
  EXPECT_EQ(CheckParameterValue(*FindParameter("maximal_queue_lifetime"), "5d"), "");
  EXPECT_NE(CheckParameterValue(*FindParameter("maximal_queue_lifetime"), "5 days"), "");
  EXPECT_EQ(CheckParameterValue(*FindParameter("mynetworks_style"), "bogus"), "expected one of: host, subnet, class");
  EXPECT_EQ(ParseTime("300", 's'), 300);
  EXPECT_EQ(ParseTime("5d", 's'), 5 * 86400);
  EXPECT_EQ(ParseTime("2", 'h'), 7200);
  EXPECT_EQ(ParseTime("1y", 's'), std::nullopt);
}

TEST(ParameterValueTest, SplitsListsKeepingBraceGroups) {
  auto items = SplitParameterList(
      "permit_mynetworks,  reject_unauth_destination\n check_policy_service "
      "{ inet:127.0.0.1:10023, timeout=10s }, inline:{a=b, c=d}");
  ASSERT_TRUE(items);
  EXPECT_EQ(*items, (std::vector<std::string>{"permit_mynetworks", "reject_unauth_destination", "check_policy_service",
                                              "inet:127.0.0.1:10023, timeout=10s", "inline:{a=b, c=d}"}));
  EXPECT_FALSE(SplitParameterList("a, {b"));
}

TEST(ParameterSetTest, ServiceOverridesReplaceMainCfAndExpandInTheService) {
  Fixture f(
      "mua_restrictions = permit_mynetworks, reject\n"
      "smtpd_recipient_restrictions = reject_unauth_destination\n"
      "smtpd_client_restrictions = $smtpd_recipient_restrictions\n"
      "syslog_name = postfix\n");
  DiagnosticSink sink;
  MasterCf master =
      ParseMasterCf(std::make_shared<const SourceFile>("master.cf",
                                                       "submission inet n - n - - smtpd\n"
                                                       "  -o syslog_name=postfix/$service_name\n"
                                                       "  -o smtpd_recipient_restrictions=$mua_restrictions\n"),
                    &sink);
  ASSERT_EQ(master.services.size(), 1u);
  ParameterSet service(*f.params, master.services[0]);
  MacroExpander expander = service.Expander();
  EXPECT_EQ(service.Expanded("syslog_name", &expander), "postfix/submission");
  EXPECT_EQ(service.Expanded("smtpd_recipient_restrictions", &expander), "permit_mynetworks, reject");
  // A main.cf value that names an overridden parameter sees the override.
  EXPECT_EQ(service.Expanded("smtpd_client_restrictions", &expander), "permit_mynetworks, reject");
  // The override's definition points into master.cf; main.cf is untouched.
  ASSERT_NE(service.Definition("syslog_name"), nullptr);
  EXPECT_EQ(service.Definition("syslog_name")->name_location.line, 2);
  EXPECT_EQ(f.Expanded("smtpd_client_restrictions"), "reject_unauth_destination");
}

}  // namespace
}  // namespace postern::config
