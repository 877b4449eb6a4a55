// resolver_test.cc: the resolver's Postfix semantics, one rule per test, on
// images compiled from small configurations.
#include "runtime/resolve/resolver.h"

#include <gtest/gtest.h>

#include "mail/passwd_table.h"
#include "runtime/resolve/routing_checks.h"
#include "tests/runtime/test_config.h"

namespace postern::resolve {
namespace {

using testing::TestConfig;

class ResolverTest : public ::testing::Test {
 protected:
  void Config(const std::string& main_cf) {
    config_.Write("main.cf",
                  "myhostname = mail.example.com\nmydomain = example.com\nmyorigin = $mydomain\n"
                  "mydestination = $myhostname, $mydomain, localhost\nalias_maps = hash:/etc/postfix/aliases\n"
                  "recipient_delimiter = +\n" +
                      main_cf);
  }
  void Table(const std::string& name, const std::string& text) { config_.Write(name, text); }

  Resolution Resolve(const std::string& address, bool smtpd_checks = false) {
    if (!resolver_) {
      auto users =
          mail::ParsePasswdText("fred:x:1000:1000::/home/fred:/bin/sh\njean:x:1001:1001::/home/jean:/bin/sh\n");
      resolver_ = std::make_unique<Resolver>(config_.Compile(), users);
    }
    ResolveOptions options;
    options.smtpd_checks = smtpd_checks;
    return resolver_->Resolve(address, options);
  }

  // "address transport:nexthop" per delivery, "address status code text" otherwise.
  std::vector<std::string> Results(const std::string& address, bool smtpd_checks = false) {
    std::vector<std::string> out;
    for (const Delivery& d : Resolve(address, smtpd_checks).results) {
      if (d.status == Delivery::Status::kDeliver) {
        out.push_back(d.address + " " + d.transport + ":" + d.nexthop + (d.detail.empty() ? "" : " " + d.detail));
      } else {
        out.push_back(d.address + " " + DeliveryStatusName(d.status) + " " + std::to_string(d.code) + " " + d.text);
      }
    }
    return out;
  }

  TestConfig config_;
  std::unique_ptr<Resolver> resolver_;
};

using Strings = std::vector<std::string>;

TEST_F(ResolverTest, DefaultClassUsesRelayhostAndLocalUsesMyhostname) {
  Config("relayhost = [smarthost.isp.example]:587\n");
  Table("aliases", "");
  EXPECT_EQ(Results("x@elsewhere.org"), Strings{"x@elsewhere.org smtp:[smarthost.isp.example]:587"});
  EXPECT_EQ(Results("fred@example.com"), Strings{"fred@example.com local:mail.example.com mailbox /var/mail/fred"});
  EXPECT_EQ(Results("fred"), Strings{"fred@example.com local:mail.example.com mailbox /var/mail/fred"});
}

TEST_F(ResolverTest, CanonicalLookupOrderAndExtensionPropagation) {
  Config("canonical_maps = hash:/etc/postfix/canonical\nrelayhost = relay.example\n");
  Table("aliases", "");
  Table("canonical", "joe@example.com joseph@example.org\nann ann.smith@example.org\n@old.example @new.example\n");
  // user+ext@domain misses, user@domain hits: the extension is carried over.
  EXPECT_EQ(Results("joe+tag@example.com"), Strings{"joseph+tag@example.org smtp:relay.example"});
  // The bare `user` key applies to local domains (and $myorigin) only.
  EXPECT_EQ(Results("ann@example.com"), Strings{"ann.smith@example.org smtp:relay.example"});
  EXPECT_EQ(Results("ann@elsewhere.example"), Strings{"ann@elsewhere.example smtp:relay.example"});
  // @domain -> @other keeps the whole local part.
  EXPECT_EQ(Results("bob+x@old.example"), Strings{"bob+x@new.example smtp:relay.example"});
}

TEST_F(ResolverTest, VirtualAliasExpansionIsRecursiveAndOneToMany) {
  Config("virtual_alias_maps = hash:/etc/postfix/virtual\nvirtual_alias_domains = thebible.com, vieuxbouc.com\n");
  Table("aliases", "");
  Table("virtual", "@thebible.com fred\n@vieuxbouc.com @thebible.com\nteam@thebible.com fred, jean@example.com\n");
  EXPECT_EQ(Results("paul@vieuxbouc.com"), Strings{"fred@example.com local:mail.example.com mailbox /var/mail/fred"});
  EXPECT_EQ(Results("team@thebible.com"), (Strings{"fred@example.com local:mail.example.com mailbox /var/mail/fred",
                                                   "jean@example.com local:mail.example.com mailbox /var/mail/jean"}));
}

TEST_F(ResolverTest, VirtualAliasToItselfIsKeptOnce) {
  Config("virtual_alias_maps = hash:/etc/postfix/virtual\nrelayhost = relay.example\n");
  Table("aliases", "");
  Table("virtual", "a@x.example a@x.example, b@y.example\n");
  EXPECT_EQ(Results("a@x.example"), (Strings{"a@x.example smtp:relay.example", "b@y.example smtp:relay.example"}));
}

TEST_F(ResolverTest, VirtualAliasLoopDefersAtTheRecursionLimit) {
  Config("virtual_alias_maps = hash:/etc/postfix/virtual\nvirtual_alias_recursion_limit = 20\n");
  Table("aliases", "");
  Table("virtual", "a@x.example b@x.example\nb@x.example a@x.example\n");
  EXPECT_EQ(Results("a@x.example"), Strings{"a@x.example defer 451 4.6.0 Alias expansion error"});
}

TEST_F(ResolverTest, VirtualAliasExpansionLimit) {
  Config("virtual_alias_maps = hash:/etc/postfix/virtual\nvirtual_alias_expansion_limit = 3\n");
  Table("aliases", "");
  Table("virtual", "list@x.example a@y.example, b@y.example, c@y.example, d@y.example\n");
  EXPECT_EQ(Results("list@x.example"), Strings{"list@x.example defer 451 4.6.0 Alias expansion error"});
}

TEST_F(ResolverTest, UnknownAddressInVirtualAliasDomainBounces) {
  Config("virtual_alias_maps = hash:/etc/postfix/virtual\nvirtual_alias_domains = example.net\n");
  Table("aliases", "");
  Table("virtual", "known@example.net fred\n");
  EXPECT_EQ(Results("nobody@example.net"),
            Strings{"nobody@example.net bounce 550 5.1.1 User unknown in virtual alias table"});
  EXPECT_EQ(Results("nobody@example.net", /*smtpd_checks=*/true),
            Strings{"nobody@example.net reject 550 5.1.1 <nobody@example.net>: Recipient address rejected: User "
                    "unknown in virtual alias table"});
}

TEST_F(ResolverTest, TransportTableOrderAndDefaults) {
  Config("transport_maps = hash:/etc/postfix/transport\nrelay_domains = example.org\n");
  Table("aliases", "");
  Table("transport",
        "special@example.org smtp:[special.example]\n"
        "example.org :[gateway.example]\n"
        ".example.org smtp:\n"
        "sub.example.net error:5.7.1 no mail here\n"
        "* smtp:[fallback.example]:2525\n");
  // Full address first (with and without extension).
  EXPECT_EQ(Results("special+x@example.org"), Strings{"special+x@example.org smtp:[special.example]"});
  // ":nexthop" keeps the class's transport.
  EXPECT_EQ(Results("u@example.org"), Strings{"u@example.org relay:[gateway.example]"});
  // "transport:" resets the nexthop to the recipient domain.
  EXPECT_EQ(Results("u@a.b.example.org"), Strings{"u@a.b.example.org smtp:a.b.example.org"});
  EXPECT_EQ(Results("u@sub.example.net"), Strings{"u@sub.example.net bounce 550 5.7.1 no mail here"});
  EXPECT_EQ(Results("u@other.example"), Strings{"u@other.example smtp:[fallback.example]:2525"});
}

TEST_F(ResolverTest, PatternTablesSeeOnlyTheFullAddress) {
  Config("transport_maps = pcre:/etc/postfix/transport.pcre\nrelayhost = relay.example\n");
  Table("aliases", "");
  Table("transport.pcre", "/^example\\.org$/ smtp:[domain-matched]\n/@example\\.org$/ smtp:[address-matched]\n");
  EXPECT_EQ(Results("u@example.org"), Strings{"u@example.org smtp:[address-matched]"});
}

TEST_F(ResolverTest, RelocatedUsersBounceWith516) {
  Config("relocated_maps = hash:/etc/postfix/relocated\n");
  Table("aliases", "");
  Table("relocated", "fred@example.com fred@new.example\n");
  EXPECT_EQ(Results("fred@example.com"),
            Strings{"fred@example.com bounce 550 5.1.6 User has moved to fred@new.example"});
}

TEST_F(ResolverTest, AliasesExpandToUsersFilesCommandsAndIncludes) {
  Config("");
  Table("aliases",
        "root: fred, jean\npostmaster: root\nfred: fred, /var/archive/fred\n"
        "tickets: \"|/usr/bin/ticket-import\"\nlist: :include:/etc/postfix/list.txt\n");
  Table("list.txt", "# members\nfred\njean@example.com\n");
  EXPECT_EQ(Results("postmaster@example.com"),
            (Strings{"fred@example.com local:mail.example.com mailbox /var/mail/fred",
                     "fred@example.com local:mail.example.com file /var/archive/fred",
                     "jean@example.com local:mail.example.com mailbox /var/mail/jean"}));
  EXPECT_EQ(Results("tickets@example.com"),
            Strings{"tickets@example.com local:mail.example.com command /usr/bin/ticket-import"});
  EXPECT_EQ(Results("list@example.com"), (Strings{"fred@example.com local:mail.example.com mailbox /var/mail/fred",
                                                  "fred@example.com local:mail.example.com file /var/archive/fred",
                                                  "jean@example.com local:mail.example.com mailbox /var/mail/jean"}));
}

TEST_F(ResolverTest, CommandsAreRefusedWhenNotAllowed) {
  Config("allow_mail_to_commands = forward\n");
  Table("aliases", "tickets: \"|/usr/bin/ticket-import\"\n");
  EXPECT_EQ(Results("tickets@example.com"), Strings{"tickets bounce 550 5.7.1 mail to command is restricted"});
}

TEST_F(ResolverTest, UnknownLocalUsers) {
  Config("");
  Table("aliases", "postmaster: root\n");
  EXPECT_EQ(Results("ghost@example.com"), Strings{"ghost@example.com bounce 550 5.1.1 unknown user: \"ghost\""});
  EXPECT_EQ(Results("ghost@example.com", /*smtpd_checks=*/true),
            Strings{"ghost@example.com reject 550 5.1.1 <ghost@example.com>: Recipient address rejected: User unknown "
                    "in local recipient table"});
  // A user with an extension is known.
  EXPECT_EQ(Results("fred+news@example.com", true),
            Strings{"fred+news@example.com local:mail.example.com mailbox /var/mail/fred"});
}

TEST_F(ResolverTest, UnknownLocalRecipientRejectCodeIsHonoured) {
  Config("unknown_local_recipient_reject_code = 450\n");
  Table("aliases", "");
  EXPECT_EQ(Resolve("ghost@example.com", true).results.at(0).code, 450);
}

TEST_F(ResolverTest, MaildirHomeMailbox) {
  Config("home_mailbox = Maildir/\n");
  Table("aliases", "");
  EXPECT_EQ(Results("jean@example.com"),
            Strings{"jean@example.com local:mail.example.com maildir /home/jean/Maildir/"});
}

TEST_F(ResolverTest, AliasLoopBouncesAtTheAliasLevelLimit) {
  Config("relayhost = relay.example\n");
  Table("aliases", "a: b\nb: a\n");
  // local(8) expands up to 100 levels; level 101 is "b".
  EXPECT_EQ(Results("a@example.com"), Strings{"b@example.com bounce 554 5.4.6 alias database loop for b"});
}

TEST_F(ResolverTest, ForwardedMailThatComesBackIsALoop) {
  Config("virtual_alias_maps = hash:/etc/postfix/virtual\nrelayhost = relay.example\n");
  Table("aliases", "a: a@elsewhere.example\n");
  Table("virtual", "a@elsewhere.example a@example.com\n");
  Strings results = Results("a@example.com");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_NE(results[0].find("5.4.6 mail forwarding loop"), std::string::npos) << results[0];
}

// A table that fails to answer (fail:, a database server that is down)
// defers the whole address, never "not found" (mail/lookup_failure.h).
TEST_F(ResolverTest, ATableThatFailsDefersTheAddress) {
  Config("virtual_alias_maps = fail:virtual_db\nrelayhost = relay.example\n");
  Table("aliases", "");
  EXPECT_EQ(Results("x@elsewhere.org"), Strings{"x@elsewhere.org defer 451 4.3.0 address resolver failure"});
  Resolution r = Resolve("x@elsewhere.org");
  EXPECT_EQ(r.lookup_failure, "fail:virtual_db lookup error for \"x@elsewhere.org\"");
  ASSERT_FALSE(r.steps.empty());
  EXPECT_EQ(r.steps.back().stage, "lookup");
}

TEST_F(ResolverTest, ATransportWildcardThatFailsIsAskedForEachAddress) {
  // The whole address is the first key: a hit before the failing table decides.
  Config("transport_maps = inline:{x@example.org=smtp:[mx.example.org]}, fail:transport_db\n");
  Table("aliases", "");
  EXPECT_EQ(Results("x@example.org"), Strings{"x@example.org smtp:[mx.example.org]"});
  EXPECT_EQ(Results("x@elsewhere.org"), Strings{"x@elsewhere.org defer 451 4.3.0 address resolver failure"});
}

TEST_F(ResolverTest, AnUnlistedCheckThatFailsSaysTemporaryLookupFailure) {
  Config("relay_domains = relay.example\nrelay_recipient_maps = fail:relay_recipients\n");
  Table("aliases", "");
  Resolver resolver(config_.Compile());
  std::optional<Delivery> d = resolver.CheckListed("someone@relay.example", false);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->status, Delivery::Status::kDefer);
  EXPECT_EQ(std::to_string(d->code) + " " + d->text, "451 4.3.0 <someone@relay.example>: Temporary lookup failure");
  EXPECT_EQ(resolver.CheckListed("someone@elsewhere.example", false), std::nullopt);  // not a relay domain
}

TEST_F(ResolverTest, TraceNamesEachStep) {
  Config("virtual_alias_maps = hash:/etc/postfix/virtual\n");
  Table("aliases", "");
  Table("virtual", "info@example.net fred\n");
  Resolution r = Resolve("info@example.net");
  ASSERT_FALSE(r.steps.empty());
  EXPECT_EQ(r.steps[0].stage, "virtual");
  EXPECT_EQ(r.steps[0].table, "virtual_alias_maps hash:/etc/postfix/virtual");
  EXPECT_EQ(r.steps[0].key, "info@example.net");
  EXPECT_EQ(r.steps[0].result, "fred@example.com");
}

}  // namespace
}  // namespace postern::resolve

namespace postern::resolve {
namespace {

// The nexthop is checked where it is written, with or without a master.cf.
TEST(RoutingChecksTest, RelayhostWithoutClosingBracketIsAnError) {
  TestConfig config;
  config.Write("main.cf", "myhostname = mail.example.com\nrelayhost = [smarthost.example\nalias_maps =\n");
  Resolver resolver(config.Compile(), mail::ParsePasswdText(""));
  std::vector<RoutingProblem> problems = CheckRouting(resolver);
  bool found = false;
  for (const RoutingProblem& p : problems) {
    found = found || (p.code == "PC0133" && p.error && p.parameter == "relayhost" &&
                      p.message == "bad relayhost \"[smarthost.example\": missing ']'");
  }
  EXPECT_TRUE(found);
}

TEST(RoutingChecksTest, PipeFlagsDAndONeedOneRecipientWhereMailIsRoutedToThem) {
  TestConfig config;
  config.Write("main.cf",
               "myhostname = mail.example.com\nalias_maps =\nrelay_domains = drop.example, box.example, "
               "lists.example\ntransport_maps = inline:{ drop.example=maildrop, box.example=dovecot, "
               "lists.example=mailman }\ndovecot_destination_recipient_limit = 1\n");
  config.Write("master.cf",
               "smtp inet n - n - - smtpd\nsmtp unix - - n - - smtp\nrelay unix - - n - - smtp\n"
               "local unix - n n - - local\n"
               "dovecot unix - n n - - pipe flags=DRhu user=vmail argv=/usr/lib/dovecot/deliver -d ${recipient}\n"
               "maildrop unix - n n - - pipe flags=DRhu user=vmail argv=/usr/bin/maildrop -d ${recipient}\n"
               "mailman unix - n n - - pipe -o mailman_destination_recipient_limit=1 flags=O user=list "
               "argv=/bin/cat\n"
               "unused unix - n n - - pipe flags=D user=nobody argv=/bin/cat\n");
  Resolver resolver(config.Compile(), mail::ParsePasswdText(""));
  std::vector<std::string> found;
  for (const RoutingProblem& p : CheckRouting(resolver)) {
    if (p.code == "PC0207") found.push_back(p.key + ": " + p.message);
  }
  // Not dovecot (limit 1), not mailman (its -o), not the service no mail goes to.
  EXPECT_EQ(found, (std::vector<std::string>{
                       "drop.example: transport \"maildrop\" is a pipe service with flag D, which needs one recipient "
                       "per delivery, but maildrop_destination_recipient_limit is 50: mail for several of its "
                       "recipients would stay deferred"}));
}

}  // namespace
}  // namespace postern::resolve
