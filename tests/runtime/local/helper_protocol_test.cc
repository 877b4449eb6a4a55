// helper_protocol_test.cc: the frames between posternd and its root
// helper: round trips, and anything malformed (or that posternd could not
// have sent) refused.
#include "runtime/local/helper_protocol.h"

#include <gtest/gtest.h>

#include "util/bytes.h"

namespace postern::local {
namespace {

TEST(HelperProtocolTest, ADeliverRequestRoundTrips) {
  LocalHelperRequest q;
  q.image_id = std::string(64, 'a');
  q.transport = "local";
  q.queue_id = "Q1";
  q.recipient = "root@example.com";
  q.delivery = "command touch /x";
  q.content = "Subject: x\r\n\r\nbody\r\n";
  q.now = 1790000000;
  std::string frame = EncodeDeliverRequest(q);
  auto decoded = DecodeHelperRequest(frame);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->kind, HelperRequestKind::kDeliver);
  EXPECT_EQ(decoded->deliver.recipient, "root@example.com");
  EXPECT_EQ(decoded->deliver.delivery, "command touch /x");
  EXPECT_EQ(decoded->deliver.content, q.content);
  EXPECT_EQ(decoded->deliver.now, 1790000000);
  // Cut short, or with a byte too many: refused.
  for (size_t n = 0; n < frame.size(); ++n) EXPECT_FALSE(DecodeHelperRequest(frame.substr(0, n))) << n;
  EXPECT_FALSE(DecodeHelperRequest(frame + "x"));
  frame[0] = 'X';
  EXPECT_FALSE(DecodeHelperRequest(frame));
}

TEST(HelperProtocolTest, APipeRequestRoundTrips) {
  PipeHelperRequest q;
  q.image_id = std::string(64, 'b');
  q.transport = "dovecot";
  q.queue_id = "Q2";
  q.sender = "alice@example.org";
  q.nexthop = "example.com";
  q.client_address = "192.0.2.1";
  q.client_hostname = "c.example.net";
  q.client_helo = "helo";
  q.sasl_username = "alice";
  q.recipients = {{"joe@example.com", "info@example.com"}, {"ann@example.com", ""}};
  q.content = "Subject: x\r\n\r\nbody\r\n";
  q.now = 1790000001;
  std::string frame = EncodePipeRequest(q);
  auto decoded = DecodeHelperRequest(frame);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->kind, HelperRequestKind::kPipe);
  const PipeHelperRequest& d = decoded->pipe;
  EXPECT_EQ(d.transport, "dovecot");
  EXPECT_EQ(d.nexthop, "example.com");
  EXPECT_EQ(d.sasl_username, "alice");
  ASSERT_EQ(d.recipients.size(), 2u);
  EXPECT_EQ(d.recipients[0].original, "info@example.com");
  EXPECT_EQ(d.recipients[1].address, "ann@example.com");
  EXPECT_EQ(d.content, q.content);
  EXPECT_EQ(d.now, 1790000001);
  for (size_t n = 0; n < frame.size(); ++n) EXPECT_FALSE(DecodeHelperRequest(frame.substr(0, n))) << n;
  EXPECT_FALSE(DecodeHelperRequest(frame + "x"));
  // A recipient count the frame cannot hold is refused before anything is allocated.
  PipeHelperRequest none = q;
  none.recipients.clear();
  ByteWriter huge;
  huge.PutU32(0xffffffffu);
  std::string forged = EncodePipeRequest(none);
  size_t at = forged.size() - 8 - 4 - none.content.size() - 4;  // the count: before the content and now
  forged.replace(at, 4, huge.bytes());
  EXPECT_FALSE(DecodeHelperRequest(forged));
}

TEST(HelperProtocolTest, TlsFilesRequestsNameTheService) {
  auto request = DecodeHelperRequest(EncodeTlsFilesRequest(std::string(64, 'a'), "submission"));
  ASSERT_TRUE(request);
  EXPECT_EQ(request->kind, HelperRequestKind::kTlsFiles);
  EXPECT_EQ(request->image_id, std::string(64, 'a'));
  EXPECT_EQ(request->service, "submission");
  std::string frame = EncodeTlsFilesRequest("id", "smtp");
  EXPECT_FALSE(DecodeHelperRequest(frame.substr(0, frame.size() - 1)));
  EXPECT_FALSE(DecodeHelperRequest(frame + "x"));
}

TEST(HelperProtocolTest, TlsFilesAnswersRoundTrip) {
  tls::ServerTlsFiles files{"/c.pem", "/k.pem", "CERT", "KEY", "/ca.pem", "CA", "/etc/ssl/certs"};
  auto some = DecodeTlsFilesAnswer(EncodeTlsFilesAnswer(std::optional<tls::ServerTlsFiles>(files)));
  ASSERT_TRUE(some.ok() && *some);
  EXPECT_EQ((*some)->key_pem, "KEY");
  EXPECT_EQ((*some)->ca_path, "/ca.pem");
  EXPECT_EQ((*some)->ca_pem, "CA");
  EXPECT_EQ((*some)->ca_directory, "/etc/ssl/certs");
  auto none = DecodeTlsFilesAnswer(EncodeTlsFilesAnswer(std::optional<tls::ServerTlsFiles>()));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
  auto error = DecodeTlsFilesAnswer(EncodeTlsFilesAnswer(Status::Permanent("private key /k.pem: denied")));
  ASSERT_FALSE(error.ok());
  EXPECT_EQ(error.status().message(), "private key /k.pem: denied");
  EXPECT_TRUE(DecodeTlsFilesAnswer("\x07").status().temporary());
}

TEST(HelperProtocolTest, ADeliveryAnswerRoundTrips) {
  mail::DeliveryStatus full = mail::DeliveryStatus::Local(552, "5.2.2", "cannot update mailbox: mailbox full");
  std::optional<mail::DeliveryStatus> decoded = DecodeDeliverAnswer(EncodeDeliverAnswer(full));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->code, 552);
  EXPECT_EQ(decoded->status, "5.2.2");
  EXPECT_EQ(decoded->reason, full.reason);
}

TEST(HelperProtocolTest, AnAnswerTheDaemonCouldNotHaveSentIsRefused) {
  auto answer = [](uint32_t code, const std::string& status) {
    ByteWriter w;
    w.PutU32(code);
    w.PutString(status);
    w.PutString("reason");
    return w.Release();
  };
  EXPECT_TRUE(DecodeDeliverAnswer(answer(250, "2.0.0")).has_value());
  EXPECT_FALSE(DecodeDeliverAnswer(answer(250, "")).has_value());  // found by the fuzzer: no status
  EXPECT_FALSE(DecodeDeliverAnswer(answer(250, "delivered")).has_value());
  EXPECT_FALSE(DecodeDeliverAnswer(answer(199, "2.0.0")).has_value());
  EXPECT_FALSE(DecodeDeliverAnswer(answer(600, "5.0.0")).has_value());
  EXPECT_FALSE(DecodeDeliverAnswer(answer(250, "2.0.0") + "x").has_value());
}

}  // namespace
}  // namespace postern::local
