// pipe_service_test.cc: pipe(8) attributes as master.cf writes them (the
// Debian defaults among them), the errors postern check reports, argv=
// macro expansion with one argument per recipient, and the h, q and u
// flags.
#include "mail/pipe_service.h"

#include <gtest/gtest.h>

namespace postern::mail {
namespace {

using Args = std::vector<std::string>;

PipeService Parse(const Args& arguments) {
  Result<PipeService> s = ParsePipeService(arguments);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? *s : PipeService{};
}

std::string Error(const Args& arguments, size_t* bad = nullptr) {
  Result<PipeService> s = ParsePipeService(arguments, bad);
  return s.ok() ? "" : s.status().message();
}

TEST(PipeServiceTest, ReadsTheAttributesOfDebiansServices) {
  PipeService dovecot = Parse(
      {"flags=DRhu", "user=vmail:mail", "argv=/usr/lib/dovecot/deliver", "-f", "${sender}", "-d", "${recipient}"});
  EXPECT_TRUE(dovecot.flags.delivered_to);
  EXPECT_TRUE(dovecot.flags.return_path);
  EXPECT_TRUE(dovecot.flags.fold_host);
  EXPECT_TRUE(dovecot.flags.fold_user);
  EXPECT_FALSE(dovecot.flags.from_line);
  EXPECT_EQ(dovecot.user, "vmail");
  EXPECT_EQ(dovecot.group, "mail");
  EXPECT_EQ(dovecot.argv, (Args{"/usr/lib/dovecot/deliver", "-f", "${sender}", "-d", "${recipient}"}));

  PipeService uucp = Parse(
      {"flags=Fqhu", "user=uucp", "argv=uux", "-r", "-n", "-z", "-a$sender", "-", "$nexthop!rmail", "($recipient)"});
  EXPECT_TRUE(uucp.flags.quote_local);
  EXPECT_EQ(uucp.group, "");
  EXPECT_EQ(uucp.argv.front(), "uux");

  PipeService all = Parse({"FLAGS=BDFORXhqu.>", "User=list", "directory=/var/lib/x", "chroot=/srv", "eol=\\r\\n",
                           "null_sender=", "size=1000", "argv=/bin/cat"});
  EXPECT_TRUE(all.flags.blank_line && all.flags.original_to && all.flags.final_delivery && all.flags.dot_stuff &&
              all.flags.quote_from);
  EXPECT_EQ(all.directory, "/var/lib/x");
  EXPECT_EQ(all.chroot, "/srv");
  EXPECT_EQ(all.eol, "\r\n");
  EXPECT_EQ(all.null_sender, "");
  EXPECT_EQ(all.size_limit, 1000u);
  EXPECT_EQ(Parse({"user=x", "eol=\\101\\\\", "argv=/bin/cat"}).eol, "A\\");
  EXPECT_EQ(Parse({"user=x", "argv=/bin/cat"}).null_sender, "MAILER-DAEMON");
}

TEST(PipeServiceTest, SaysWhichAttributeIsWrong) {
  size_t bad = 99;
  EXPECT_EQ(Error({"flags=DZ", "user=x", "argv=/bin/cat"}, &bad), "unknown flag \"Z\" in flags=DZ");
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(Error({"user=x", "colour=red", "argv=/bin/cat"}, &bad), "unknown attribute \"colour=red\"");
  EXPECT_EQ(bad, 1u);
  EXPECT_EQ(Error({"user=x", "argv=/bin/cat", "${recipent}"}, &bad),
            "unknown macro name \"recipent\" in \"${recipent}\"");
  EXPECT_EQ(bad, 2u);
  EXPECT_EQ(Error({"user=x", "argv=/bin/echo", "${sender"}), "unbalanced macro \"${sender\" in \"${sender\"");
  EXPECT_EQ(Error({"user=x", "argv=/bin/echo", "a$"}), "empty macro name in \"a$\"");
  EXPECT_EQ(Error({"flags=R", "argv=/bin/cat"}, &bad), "missing user= attribute");
  EXPECT_EQ(bad, 2u);
  EXPECT_EQ(Error({"user=x"}), "missing argv= attribute");
  EXPECT_EQ(Error({"user=x", "argv="}), "argv= names no command");
  EXPECT_EQ(Error({"user=root", "argv=/bin/cat"}), "user=root asks for root privileges, which pipe(8) refuses");
  EXPECT_EQ(Error({"user=x:root", "argv=/bin/cat"}), "user=x:root asks for root privileges, which pipe(8) refuses");
  EXPECT_EQ(Error({"user=x", "size=big", "argv=/bin/cat"}), "bad size= value \"big\"");
  // Everything after argv= is the command, attribute-like words included.
  EXPECT_EQ(Parse({"user=x", "argv=/bin/echo", "user=y", "$$HOME"}).argv, (Args{"/bin/echo", "user=y", "$$HOME"}));
}

PipeMacroValues Values() {
  PipeMacroValues v;
  v.sender = "Alice@Example.ORG";
  v.nexthop = "Mail.Example.COM";
  v.queue_id = "4XyZ";
  v.size = 1234;
  v.client_address = "192.0.2.7";
  v.client_hostname = "client.example.net";
  v.client_helo = "helo.example.net";
  v.sasl_username = "alice";
  v.recipients = {{"Joe+Lists@Example.COM", "info@example.com"}, {"ann@example.com", "ann@example.com"}};
  v.recipient_delimiter = "+";
  return v;
}

std::vector<std::string> Expand(const Args& attributes, const PipeMacroValues& values) {
  return ExpandPipeArguments(Parse(attributes), values);
}

TEST(PipeServiceTest, RecipientMacrosMakeOneArgumentPerRecipient) {
  EXPECT_EQ(Expand({"user=x", "argv=/bin/deliver", "-f", "${sender}", "--", "${recipient}"}, Values()),
            (Args{"/bin/deliver", "-f", "Alice@Example.ORG", "--", "Joe+Lists@Example.COM", "ann@example.com"}));
  EXPECT_EQ(
      Expand({"user=x", "argv=/bin/x", "${nexthop}", "$user", "$(extension)", "${mailbox}@${domain}"}, Values()),
      (Args{"/bin/x", "Mail.Example.COM", "Joe", "ann", "Lists", "", "Joe+Lists@Example.COM", "ann@example.com"}));
  EXPECT_EQ(Expand({"user=x", "argv=/bin/x", "-o${original_recipient}", "${queue_id}/${size}", "$client_address",
                    "${client_hostname}", "${client_helo}", "${sasl_username}", "[${client_port}]", "$$5"},
                   Values()),
            (Args{"/bin/x", "-oinfo@example.com", "-oann@example.com", "4XyZ/1234", "192.0.2.7", "client.example.net",
                  "helo.example.net", "alice", "[]", "$5"}));
}

TEST(PipeServiceTest, FlagsFoldAndQuoteTheAddressesInArguments) {
  PipeMacroValues v = Values();
  v.recipients = {{"Joe Doe+X@Example.COM", "Joe Doe+X@Example.COM"}};
  v.sender = "";
  // h folds domains and the nexthop, u local parts; q quotes whole
  // addresses only.
  EXPECT_EQ(
      Expand({"flags=hqu", "user=x", "argv=/bin/x", "$sender", "$nexthop", "$recipient", "$user", "$domain"}, v),
      (Args{"/bin/x", "MAILER-DAEMON", "mail.example.com", "\"joe doe+x\"@example.com", "joe doe", "example.com"}));
  EXPECT_EQ(Expand({"flags=h", "user=x", "argv=/bin/x", "$recipient", "$mailbox"}, v),
            (Args{"/bin/x", "Joe Doe+X@example.com", "Joe Doe+X"}));
  // An empty null_sender is not quoted; a named one is.
  EXPECT_EQ(Expand({"flags=q", "user=x", "null_sender=", "argv=/bin/x", "-f", "$sender"}, v),
            (Args{"/bin/x", "-f", ""}));
  EXPECT_EQ(Expand({"flags=q", "user=x", "null_sender=mailer daemon", "argv=/bin/x", "$sender"}, v),
            (Args{"/bin/x", "\"mailer daemon\""}));
}

TEST(PipeServiceTest, AnEmptyUserDropsTheArgument) {
  PipeMacroValues v = Values();
  v.recipients = {{"@example.com", ""}, {"bob@example.com", ""}};
  EXPECT_EQ(Expand({"user=x", "argv=/bin/x", "-u", "${user}", "${domain}"}, v),
            (Args{"/bin/x", "-u", "bob", "example.com", "example.com"}));
}

TEST(PipeServiceTest, SplitsExtensionsAsPostfixDoes) {
  PipeMacroValues v = Values();
  v.recipient_delimiter = "-+";
  v.recipients = {{"owner-list@x", ""}, {"list-request@x", ""}, {"joe-a+b@x", ""}, {"+joe@x", ""}, {"joe+@x", ""}};
  EXPECT_EQ(Expand({"user=x", "argv=/bin/x", "${user}/${extension}"}, v),
            (Args{"/bin/x", "owner-list/", "list-request/", "joe/a+b", "+joe/", "joe/"}));
}

}  // namespace
}  // namespace postern::mail
