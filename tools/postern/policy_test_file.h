// policy_test_file.h: `postern test` case files. A case describes one SMTP
// transaction and the replies expected at each step:
//
//   # comment
//   test "an outside client cannot relay"
//     client 203.0.113.9 mail.outside.example
//     helo mail.outside.example
//     mail from <someone@outside.example>
//     rcpt to <user@elsewhere.example>  expect 554 5.7.1 <user@elsewhere.example>: Relay access denied
//     rcpt to <fred@example.com>        expect 250 route local:example.com
//
// Other lines: `service NAME` (the master.cf smtpd service the client
// connects to: its -o overrides apply; default: `postern test --service`,
// else smtp, else master.cf's first smtpd service), `reverse NAME`, `sasl USER`, `tls [client-certificate
// [untrusted] [cn=NAME] [fingerprint=FP] [pubkey=FP]]` (a certificate the CA file verifies, unless untrusted),
// `pipelining-violation`, `size BYTES`, `header NAME: VALUE` and `body LINE`
// (the message, checked at end of data), `data [expect ...]` (the DATA
// command, then end of data), DNS facts for the DNS restrictions:
// `dns missing DOMAIN` (no MX, A or AAAA: reject_unknown_*), `dns listed
// ZONE ADDRESS-OR-DOMAIN [VALUE]` (reject_rbl_client, reject_rhsbl_*),
// `dns mx DOMAIN HOST...`, `dns ns DOMAIN HOST...` and `dns a NAME
// ADDRESS...` (IPv4 or IPv6; check_*_{a,mx,ns}_access: a name without
// such a line has no such records), and
// what a policy server answers: `policy SERVICE ACTION`
// (check_policy_service; DUNNO when not said), and what address
// verification knows (reject_unverified_*): `verify ADDRESS STATUS [TEXT]`,
// STATUS one of deliverable, undeliverable, deferred, in-progress (no probe
// result yet) and failed (the service cannot answer); an address without
// one is deliverable. Nothing else is asked of the network: a case is
// hermetic.
// `expect CODE` checks the code, `expect CODE TEXT` the whole reply.
//
// Codes: PT0601 syntax error in a test file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mail/address_verification.h"
#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern::cli {

struct Expectation {
  int code = 0;       // 0: nothing expected
  std::string reply;  // the whole reply, when given ("554 5.7.1 ...")
  std::string route;  // "transport:nexthop", rcpt only
};

struct TestStep {
  enum class Kind { kClient, kHelo, kMail, kRcpt, kData };
  Kind kind = Kind::kRcpt;
  std::string argument;  // address, HELO name, client address
  std::string name;      // client name (kClient)
  Expectation expect;
  SourceLocation location;
};

struct TestCase {
  std::string name;
  std::string service;  // empty: the run's default
  SourceLocation location;
  std::string reverse_name;
  std::string sasl_username;
  bool tls = false;
  // `tls client-certificate [untrusted] [cn=NAME] [fingerprint=FP] [pubkey=FP]`.
  struct Certificate {
    bool trusted = true;
    std::string cn, fingerprint, pubkey_fingerprint;
  };
  std::optional<Certificate> client_certificate;
  bool pipelining_violation = false;
  int64_t size = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> body_lines;
  std::vector<std::string> missing_domains;
  struct Listing {
    std::string zone, address, value;
  };
  std::vector<Listing> listings;
  // `dns mx|ns|a NAME VALUE...`: the records of a name.
  struct Records {
    std::string type, name;
    std::vector<std::string> values;
  };
  std::vector<Records> records;
  // `policy SERVICE ACTION`: what a check_policy_service server answers.
  std::vector<std::pair<std::string, std::string>> policy_actions;
  // `verify ADDRESS STATUS [TEXT]`.
  struct Verification {
    std::string address;
    mail::AddressVerification result;
    static std::optional<Verification> Parse(std::string_view address, std::string_view status, std::string_view text);
  };
  std::vector<Verification> verifications;
  std::vector<TestStep> steps;
};

std::vector<TestCase> ParseTestFile(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics);

}  // namespace postern::cli
