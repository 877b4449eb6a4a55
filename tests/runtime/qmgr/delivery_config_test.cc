// Tests for runtime/qmgr/delivery_config: how each master.cf transport is
// configured from the image, -o overrides included.
#include "runtime/qmgr/delivery_config.h"

#include <gtest/gtest.h>

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
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile());
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
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile());
  EXPECT_EQ(c.transports.at("relay").connect_timeout, 120);  // 2m, converted by the compiler
  EXPECT_EQ(c.transports.at("smtp").connect_timeout, 30);
  EXPECT_EQ(c.transports.at("relay").concurrency_limit, 3);
  EXPECT_EQ(c.transports.at("smtp").concurrency_limit, 20);  // default_destination_concurrency_limit
  EXPECT_EQ(c.transports.at("smtp").recipient_limit, 7);
  EXPECT_EQ(c.transports.at("relay").recipient_limit, 2);  // its own -o
  EXPECT_EQ(c.transports.at("local").recipient_limit, 1);  // local(8): one at a time
}

TEST(DeliveryConfigTest, SyslogNamePerService) {
  TestConfig config;
  config.Write("main.cf", "compatibility_level = 3.6\nmyhostname = mx.example.com\nsyslog_name = edge\n");
  config.Write("master.cf",
               "smtp unix - - n - - smtp\nrelay unix - - n - - smtp\n  -o syslog_name=$mail_name/$service_name\n");
  DeliveryConfig c = ReadDeliveryConfig(*config.Compile());
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

}  // namespace
}  // namespace postern::qmgr
