// dsn_test.cc: notifications as RFC 3464 multipart/reports, checked by
// parsing them with Python's email package (dsn_summary.py): structure,
// per-recipient fields, the original message or its headers.
#include "runtime/delivery/dsn.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace postern::delivery {
namespace {

std::string Summary(const std::string& dsn) {
  std::string path = (std::filesystem::temp_directory_path() / "postern-dsn-XXXXXX").string();
  int fd = mkstemp(path.data());
  close(fd);
  std::ofstream(path, std::ios::binary) << dsn;
  std::string command = "python3 " POSTERN_SOURCE_DIR "/tests/runtime/delivery/dsn_summary.py " + path;
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  std::array<char, 4096> buffer;
  while (p != nullptr && fgets(buffer.data(), buffer.size(), p) != nullptr) out += buffer.data();
  if (p != nullptr) pclose(p);
  std::filesystem::remove(path);
  return out;
}

queue::QueuedMessage Original(const std::string& ret) {
  queue::QueuedMessage m;
  m.id = "000660D55BBD246D";
  m.arrival_time = 1790000000;
  m.sender = "alice@example.org";
  m.ret = ret;
  m.envid = "batch-7";
  m.content = "Received: from x\r\nSubject: hi\r\n\r\nthe body\r\n";
  return m;
}

DsnOptions Options() {
  return DsnOptions{"mx.example.com", "000660D600000001", 1790003600, 50000, "alice@example.org"};
}

TEST(DsnTest, FailureWithTheOriginalMessage) {
  mail::DeliveryStatus rejected = mail::DeliveryStatus::Local(
      550, "5.1.1",
      "host mx.example.net[192.0.2.25] said: 550 5.1.1 <bob@example.net>: Recipient address rejected (in reply to "
      "RCPT TO command)");
  rejected.remote_reply = "550 5.1.1 <bob@example.net>: Recipient address rejected";
  rejected.remote_mta = "mx.example.net";
  std::vector<DsnRecipient> rcpts = {
      {"bob@example.net", "rfc822;Bob@example.net", rejected},
      {"carol@example.net", "", mail::DeliveryStatus::Local(550, "5.4.4", "Host or domain name not found")},
      {"dave@example.net", "", mail::DeliveryStatus::Local(550, "", "mail forwarding loop")}};
  std::string summary = Summary(MakeDsn(Original(""), DsnKind::kFailure, rcpts, Options()));
  EXPECT_EQ(summary,
            "type multipart/report report-type=delivery-status\n"
            "from MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"
            "to alice@example.org\n"
            "subject Undelivered Mail Returned to Sender\n"
            "parts 3\n"
            "part1 text/plain\n"
            "part2 message/delivery-status\n"
            "  per-message Reporting-MTA=dns; mx.example.com Arrival-Date=yes\n"
            "  recipient Final-Recipient=rfc822; bob@example.net; Original-Recipient=rfc822; Bob@example.net; "
            "Action=failed; Status=5.1.1; Remote-MTA=dns; mx.example.net; Diagnostic-Code=smtp; 550 5.1.1 "
            "<bob@example.net>: Recipient address rejected\n"
            "  recipient Final-Recipient=rfc822; carol@example.net; Action=failed; Status=5.4.4\n"
            "  recipient Final-Recipient=rfc822; dave@example.net; Action=failed; Status=5.0.0\n"
            "part3 message/rfc822\n"
            "  original subject hi body 'the body\\r\\n'\n"
            "defects 0\n");
}

TEST(DsnTest, DelayWarningWithHeadersOnly) {
  std::vector<DsnRecipient> rcpts = {
      {"bob@example.net", "",
       mail::DeliveryStatus::Local(450, "", "connect to mx.example.net[192.0.2.25]:25: timeout")}};
  std::string summary = Summary(MakeDsn(Original("HDRS"), DsnKind::kDelay, rcpts, Options()));
  EXPECT_NE(summary.find("subject Delayed Mail (still being retried)\n"), std::string::npos) << summary;
  EXPECT_NE(summary.find("Action=delayed; Status=4.0.0"), std::string::npos) << summary;
  EXPECT_NE(summary.find("part3 text/rfc822-headers\n  headers 'Received: from x\\r\\nSubject: hi\\r\\n'"),
            std::string::npos)
      << summary;
  EXPECT_NE(summary.find("defects 0"), std::string::npos) << summary;
}

}  // namespace
}  // namespace postern::delivery
