// policy_vm_test.cc: the VM against the reference evaluator of the IR on
// generated transactions, for configurations whose main.cf restriction
// lists cover access tables, classes, value lists, warn_if_reject and
// DEFER_IF_PERMIT, and whose policy files cover sets, and/or/not, routes and
// every deciding action.
#include "runtime/vm/policy_vm.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "compiler/lower/restriction_lowering.h"
#include "compiler/policy/policy_files.h"
#include "compiler/policy/policy_lowering.h"
#include "mail/passwd_table.h"
#include "tests/runtime/reference_evaluator.h"
#include "tests/runtime/test_config.h"

namespace postern::vm {
namespace {

class GeneratedTransactions : public ::testing::TestWithParam<const char*> {};

TEST_P(GeneratedTransactions, VmAgreesWithTheReferenceEvaluator) {
  std::string directory = std::string(POSTERN_SOURCE_DIR) + "/" + GetParam();
  DiagnosticSink diagnostics;
  check::LoadOptions load;
  load.config_directory = directory;
  load.installed_directory = "/etc/postfix";
  check::Model model = check::LoadConfiguration(load, &diagnostics);
  policy::PolicyIr ir = lower::LowerRestrictions(model, *model.parameters, &diagnostics);
  policy::PolicyLoweringOptions lowering;
  lowering.parameter = [&](std::string_view name) -> std::optional<std::string> {
    config::MacroExpander expander = model.parameters->Expander();
    return model.parameters->Expanded(name, &expander);
  };
  policy::LowerPolicy(policy::LoadPolicyFiles(directory, &diagnostics), lowering, &ir, &diagnostics);

  testing::TestConfig scratch;
  emit::BuiltImage built = scratch.Build(directory);
  auto published = emit::PublishImage(built, emit::PublishOptions{scratch.images_directory(), 0, std::nullopt, ""});
  ASSERT_TRUE(published.ok());
  auto image = image::Image::Load(published->path);
  ASSERT_TRUE(image.ok()) << image.status().message();
  auto users = mail::ParsePasswdText("root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home/alice:/bin/sh\n");
  auto resolver = std::make_shared<const resolve::Resolver>(*image, users);
  PolicyVm vm(*image, resolver);

  // Values drawn from the configuration's own tables, plus strangers.
  const std::vector<std::string> addresses = {"192.0.2.10", "198.51.100.7", "203.0.113.66", "203.0.113.5",
                                              "10.1.2.3",   "127.0.0.1",    "192.168.1.20", "2001:db8::5"};
  const std::vector<std::string> names = {"unknown", "mail.outside.example", "host.blocked.example", "bad.example",
                                          "pc20.office.example"};
  const std::vector<std::string> helos = {"mail.outside.example", "localhost.example", "bad.example",
                                          "outsidebox",           "bad_name!.example", "[192.0.2.1]"};
  const std::vector<std::string> senders = {"",
                                            "someone@outside.example",
                                            "spammer@outside.example",
                                            "anyone@badhost.example",
                                            "good@badhost.example",
                                            "vip@partner.example",
                                            "noreply@shop.example",
                                            "someone@localhost",
                                            "ghost@example.net",
                                            "alice@example.net",
                                            "fred@example.com",
                                            "spammer@bad.example"};
  const std::vector<std::string> recipients = {"alice@example.net",
                                               "ghost@example.net",
                                               "anyone@partner.example",
                                               "anyone@elsewhere.example",
                                               "alice",
                                               "abuse@example.net",
                                               "blocked@example.net",
                                               "sales@example.net",
                                               "archive@example.net",
                                               "fred@example.com",
                                               "root@example.com",
                                               "user%elsewhere.org@example.com",
                                               "joe@thebible.com",
                                               "x@sub.partner.example"};
  std::mt19937 random(20261122);
  auto pick = [&](const std::vector<std::string>& from) { return from[random() % from.size()]; };
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    SmtpFacts facts;
    facts.client_address = pick(addresses);
    facts.client_name = pick(names);
    facts.helo = pick(helos);
    facts.sender = pick(senders);
    facts.has_sender = true;
    facts.recipient = pick(recipients);
    facts.sasl_username = random() % 4 == 0 ? "fred" : "";
    facts.size = static_cast<int64_t>(random() % 20000000);
    Decision d = vm.Run(VmStage::kRcpt, facts);
    testing::ReferenceResult expected = testing::EvaluateRcpt(ir, **image, *resolver, facts);
    ASSERT_TRUE(expected.complete) << "the reference met a restriction it does not model";
    ASSERT_EQ(d.kind == Decision::Kind::kAccept, expected.accepted)
        << "client " << facts.client_address << " " << facts.client_name << " helo " << facts.helo << " from <"
        << facts.sender << "> to <" << facts.recipient << ">: vm \"" << d.reply << "\", reference \"" << expected.reply
        << "\"";
    ASSERT_EQ(d.reply, expected.reply) << "to <" << facts.recipient << "> from <" << facts.sender << ">";
    ++compared;
  }
  EXPECT_EQ(compared, 3000);
}

// A transaction from client.example[192.0.2.10] with `sender`.
SmtpFacts ClientFacts(const std::string& sender) {
  SmtpFacts facts;
  facts.client_address = "192.0.2.10";
  facts.client_name = "client.example";
  facts.helo = "client.example";
  facts.sender = sender;
  facts.has_sender = true;
  return facts;
}

// smtpd_sender_login_maps: which login owns which sender, as Postfix's
// smtpd decides (differential.sasl compares the replies with Postfix's).
TEST(SenderLoginTest, OwnersLoggedInOrNot) {
  auto decide = [](const std::string& restriction, const std::string& sasl, const std::string& login,
                   const std::string& sender) {
    testing::TestConfig config;
    config.Write("main.cf",
                 "compatibility_level = 3.6\nmyhostname = mx.example.com\nmydomain = example.com\n"
                 "myorigin = $mydomain\nmydestination = $mydomain\nsmtpd_sasl_type = dovecot\n"
                 "smtpd_sasl_auth_enable = " +
                     sasl +
                     "\n"
                     "smtpd_sender_login_maps = texthash:/etc/postfix/logins\n"
                     "smtpd_sender_restrictions = " +
                     restriction +
                     "\n"
                     "smtpd_relay_restrictions = permit\n");
    config.Write("logins", "fred@example.com fred\nshared@example.com jean, FRED\n@team.example jean\n");
    std::shared_ptr<const image::Image> image = config.Compile();
    PolicyVm vm(image, std::make_shared<const resolve::Resolver>(image));
    SmtpFacts facts = ClientFacts(sender);
    facts.recipient = "someone@elsewhere.example";
    facts.sasl_username = login;
    Decision d = vm.Run(VmStage::kRcpt, facts);
    return d.kind == Decision::Kind::kAccept ? std::string("accept") : d.reply;
  };
  const std::string mismatch = "reject_sender_login_mismatch";
  EXPECT_EQ(decide(mismatch, "yes", "fred", "fred@example.com"), "accept");
  EXPECT_EQ(decide(mismatch, "yes", "fred", "fred"), "accept");                // qualified with @$myorigin
  EXPECT_EQ(decide(mismatch, "yes", "fred", "shared@example.com"), "accept");  // the list, without regard to case
  EXPECT_EQ(decide(mismatch, "yes", "fred", "x@team.example"),
            "553 5.7.1 <x@team.example>: Sender address rejected: not owned by user fred");
  EXPECT_EQ(decide(mismatch, "yes", "fred", "someone@elsewhere.example"),
            "553 5.7.1 <someone@elsewhere.example>: Sender address rejected: not owned by user fred");
  EXPECT_EQ(decide(mismatch, "yes", "", "fred@example.com"),
            "553 5.7.1 <fred@example.com>: Sender address rejected: not logged in");
  EXPECT_EQ(decide(mismatch, "yes", "", "someone@elsewhere.example"), "accept");
  EXPECT_EQ(decide(mismatch, "yes", "fred", ""), "accept");  // the null sender is not checked
  EXPECT_EQ(decide("reject_known_sender_login_mismatch", "yes", "fred", "someone@elsewhere.example"), "accept");
  EXPECT_EQ(decide("reject_authenticated_sender_login_mismatch", "yes", "", "fred@example.com"), "accept");
  EXPECT_EQ(decide("reject_unauthenticated_sender_login_mismatch", "yes", "jean", "fred@example.com"), "accept");
  EXPECT_EQ(decide(mismatch, "no", "", "fred@example.com"), "accept");  // without SASL, Postfix ignores it
}

// A table that fails to answer stops the restriction list with Postfix's
// reply, naming what the failing restriction was about; what decides before
// it still decides.
TEST(LookupFailureTest, ARestrictionOnAFailingTableDefersTheCommand) {
  testing::TestConfig config;
  config.Write("main.cf",
               "compatibility_level = 3.6\nmyhostname = mx.example.com\nmydomain = example.com\n"
               "mydestination = $mydomain\nlocal_recipient_maps =\n"
               "smtpd_recipient_restrictions = check_sender_access inline:{trusted@outside.example=OK},\n"
               "  check_client_access fail:clients, reject\n"
               "smtpd_relay_restrictions = permit\n");
  std::shared_ptr<const image::Image> image = config.Compile();
  PolicyVm vm(image, std::make_shared<const resolve::Resolver>(image));
  SmtpFacts facts = ClientFacts("trusted@outside.example");
  facts.recipient = "someone@example.com";
  EXPECT_EQ(vm.CheckRecipient(facts).kind, Decision::Kind::kAccept);
  facts.sender = "other@outside.example";
  Decision d = vm.CheckRecipient(facts, /*trace=*/true);
  EXPECT_EQ(d.kind, Decision::Kind::kDefer);
  EXPECT_EQ(d.reply, "451 4.3.5 <client.example[192.0.2.10]>: Client host rejected: Server configuration error");
  EXPECT_EQ(d.lookup_failure, "fail:clients lookup error for \"client.example\"");
}

INSTANTIATE_TEST_SUITE_P(Configurations, GeneratedTransactions,
                         ::testing::Values("tests/integration/configs/restrictions", "examples/office",
                                           "tests/golden/policy/language"));

}  // namespace
}  // namespace postern::vm
