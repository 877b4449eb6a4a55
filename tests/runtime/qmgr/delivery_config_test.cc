// Tests for runtime/qmgr/delivery_config: how each master.cf transport is
// configured from the image, -o overrides included.
#include "runtime/qmgr/delivery_config.h"

#include <gtest/gtest.h>

#include "runtime/qmgr/notices.h"
#include "tests/runtime/test_config.h"

namespace postern::qmgr {
namespace {

using postern::testing::TestConfig;

TEST(DeliveryConfigTest, TlsLevelPerServiceAndTheObsoleteSwitches) {
  TestConfig config;
  config.Write("main.cf", "compatibility_level = 3.6\nmyhostname = mx.example.com\nsmtp_use_tls = yes\n");
  config.Write("master.cf",
               "smtp unix - - n - - smtp\n"
               "relay unix - - n - - smtp\n  -o smtp_enforce_tls=yes\n"
               "secure unix - - n - - smtp\n  -o smtp_tls_security_level=verify\n"
               "plain unix - - n - - smtp\n  -o smtp_use_tls=no\n"
               "lmtp unix - - n - - lmtp\n");
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile()).value();
  // smtp_use_tls = yes is "may" and smtp_enforce_tls = yes "encrypt" while
  // smtp_tls_security_level is unset, as Postfix reads them.
  EXPECT_EQ(c.transports.at("smtp").tls, delivery::TlsPolicy::kMay);
  EXPECT_EQ(c.transports.at("relay").tls, delivery::TlsPolicy::kEncrypt);
  EXPECT_EQ(c.transports.at("secure").tls, delivery::TlsPolicy::kVerify);
  EXPECT_EQ(c.transports.at("plain").tls, delivery::TlsPolicy::kNone);
  EXPECT_EQ(c.transports.at("lmtp").tls, delivery::TlsPolicy::kNone);
  EXPECT_EQ(c.transports.at("lmtp").connect_timeout, 30);  // lmtp_connect_timeout 0: the system's, 30 s here
}

TEST(DeliveryConfigTest, TypedOverridesAndTransportLimits) {
  TestConfig config;
  config.Write("main.cf",
               "compatibility_level = 3.6\nmyhostname = mx.example.com\nrelay_destination_concurrency_limit = 3\n"
               "default_destination_recipient_limit = 7\n");
  config.Write("master.cf",
               "smtp unix - - n - - smtp\nrelay unix - - n - - smtp\n  -o smtp_connect_timeout=2m\n"
               "  -o relay_destination_recipient_limit=2\nlocal unix - n n - - local\n");
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile()).value();
  EXPECT_EQ(c.transports.at("relay").connect_timeout, 120);  // 2m, converted by the compiler
  EXPECT_EQ(c.transports.at("smtp").connect_timeout, 30);
  EXPECT_EQ(c.transports.at("relay").concurrency_limit, 3);
  EXPECT_EQ(c.transports.at("smtp").concurrency_limit, 20);  // default_destination_concurrency_limit
  EXPECT_EQ(c.transports.at("smtp").recipient_limit, 7);
  EXPECT_EQ(c.transports.at("relay").recipient_limit, 2);  // its own -o
  EXPECT_EQ(c.transports.at("local").recipient_limit, 1);  // local(8): one at a time
}

TEST(DeliveryConfigTest, DoubleBounceSenderNamesPostmasterNotices) {
  TestConfig config;
  config.Write("main.cf",
               "compatibility_level = 3.6\nmyhostname = mx.example.com\nmyorigin = example.com\n"
               "double_bounce_sender = mailer-bounces\n");
  config.Write("master.cf", "smtp unix - - n - - smtp\n");
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile()).value();
  EXPECT_EQ(c.double_bounce_sender, "mailer-bounces");
  // A bounce that bounced goes to the postmaster from it; mail from it never bounces.
  queue::QueuedMessage bounce;
  bounce.sender = "";
  bounce.recipients.resize(1);
  bounce.recipients[0].address = "gone@elsewhere.example";
  bounce.recipients[0].state = queue::QueuedRecipient::State::kBounced;
  EXPECT_EQ(MakeNotice(bounce, delivery::DsnKind::kFailure, {0}, c, "ID", 0, "image").sender,
            "mailer-bounces@example.com");
  queue::QueuedMessage from_it = bounce;
  from_it.sender = "mailer-bounces@example.com";
  EXPECT_TRUE(PlanNotices(from_it, {true}, c, 0).discard_failed);
}

TEST(DeliveryConfigTest, SyslogNamePerService) {
  TestConfig config;
  config.Write("main.cf", "compatibility_level = 3.6\nmyhostname = mx.example.com\nsyslog_name = edge\n");
  config.Write("master.cf",
               "smtp unix - - n - - smtp\nrelay unix - - n - - smtp\n  -o syslog_name=$mail_name/$service_name\n");
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile()).value();
  EXPECT_EQ(c.transports.at("smtp").syslog_name, "edge");
  EXPECT_EQ(c.transports.at("relay").syslog_name, "Postfix/relay");  // expanded by the compiler
}

TEST(DeliveryConfigTest, ClientTlsProtocolsAndCiphersPerLevel) {
  TestConfig config;
  config.Write("main.cf",
               "compatibility_level = 3.6\nmyhostname = mx.example.com\nsmtp_tls_security_level = may\n"
               "smtp_tls_protocols = >=TLSv1.3\nsmtp_tls_mandatory_protocols = !SSLv2, !SSLv3, !TLSv1, !TLSv1.1\n"
               "smtp_tls_mandatory_ciphers = high\n");
  config.Write("master.cf",
               "smtp unix - - n - - smtp\nsecure unix - - n - - smtp\n  -o smtp_tls_security_level=encrypt\n");
  std::shared_ptr<const image::Image> image = config.Compile();
  auto context = MakeDeliveryContext(image, std::make_shared<resolve::Resolver>(image));
  ASSERT_TRUE(context.ok()) << context.status().message();
  const DeliveryContext& c = **context;
  EXPECT_EQ(c.TlsFor(delivery::TlsPolicy::kMay), c.client_tls.get());
  EXPECT_EQ(c.TlsFor(delivery::TlsPolicy::kEncrypt), c.client_tls_mandatory.get());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c.client_tls->native_handle()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(c.client_tls_mandatory->native_handle()), TLS1_2_VERSION);
}

TEST(DeliveryConfigTest, SaslSettingsPerTransport) {
  TestConfig config;
  config.Write("main.cf",
               "compatibility_level = 3.6\nmyhostname = mx.example.com\nsmtp_sasl_auth_enable = yes\n"
               "smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n"
               "smtp_sasl_security_options = noanonymous\nsmtp_sasl_mechanism_filter = plain, login\n");
  config.Write("sasl_passwd", "[relay.example.net]:587 fred:secret\n");
  config.Write("master.cf",
               "smtp unix - - n - - smtp\nplain unix - - n - - smtp\n  -o smtp_sasl_auth_enable=no\n"
               "strict unix - - n - - smtp\n  -o smtp_sasl_tls_security_options=noplaintext\n"
               "  -o smtp_sender_dependent_authentication=yes\nlmtp unix - - n - - lmtp\n");
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile()).value();
  ASSERT_TRUE(c.transports.at("smtp").sasl);
  const delivery::ClientSaslSettings& smtp = *c.transports.at("smtp").sasl;
  EXPECT_EQ(smtp.flags, delivery::SaslSecurityFlags({"noanonymous"}).value());
  EXPECT_EQ(smtp.tls_flags, smtp.flags);  // $smtp_sasl_security_options
  EXPECT_EQ(smtp.verified_flags, smtp.flags);
  EXPECT_EQ(smtp.mechanism_filter, (std::vector<std::string>{"plain", "login"}));
  EXPECT_TRUE(smtp.soft_bounce);
  EXPECT_FALSE(c.transports.at("smtp").sender_dependent_authentication);
  EXPECT_FALSE(c.transports.at("plain").sasl);
  EXPECT_EQ(c.transports.at("strict").sasl->tls_flags, delivery::SaslSecurityFlags({"noplaintext"}).value());
  EXPECT_TRUE(c.transports.at("strict").sender_dependent_authentication);
  EXPECT_FALSE(c.transports.at("lmtp").sasl);  // lmtp_sasl_* are not implemented
}

TEST(DeliveryConfigTest, SaslCredentialsBySenderHostThenDestination) {
  TestConfig config;
  config.Write("main.cf",
               "compatibility_level = 3.6\nmyhostname = mx.example.com\nsmtp_sasl_auth_enable = yes\n"
               "smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd\n");
  config.Write("sasl_passwd",
               "alice@example.org alice:a:colon\n@example.com company:c\nrelay.example.net host:h\n"
               "[relay.example.net]:587 dest:d\n");
  std::shared_ptr<const image::Image> image = config.Compile();
  auto context = MakeDeliveryContext(image, std::make_shared<resolve::Resolver>(image));
  ASSERT_TRUE(context.ok()) << context.status().message();
  auto lookup = [&](const std::string& sender, bool by_sender, const std::string& host, const std::string& dest) {
    auto found = (*context)->SaslCredentialsFor(sender, by_sender, host, dest);
    EXPECT_TRUE(found.ok());
    return found.ok() && found->has_value() ? (*found)->username + "/" + (*found)->password : std::string("none");
  };
  EXPECT_EQ(lookup("alice@example.org", true, "relay.example.net", "[relay.example.net]:587"), "alice/a:colon");
  EXPECT_EQ(lookup("bob@example.com", true, "relay.example.net", "[relay.example.net]:587"), "company/c");
  EXPECT_EQ(lookup("alice@example.org", false, "relay.example.net", "[relay.example.net]:587"), "host/h");
  EXPECT_EQ(lookup("", true, "other.example.net", "[relay.example.net]:587"), "dest/d");
  EXPECT_EQ(lookup("", true, "other.example.net", "other.example.net"), "none");
}

}  // namespace
}  // namespace postern::qmgr
