// Fuzzes the SMTP session state machine with a real compiled image:
// arbitrary client bytes in arbitrary chunks, commits that succeed or fail,
// TLS handshakes that succeed or fail, AUTH exchanges whose server accepts,
// challenges, refuses or is gone. Checks that every reply is a
// well-formed SMTP reply, that a 250 "queued as" is given exactly for each
// stored commit, and that nothing is asked of the connection in the wrong
// order.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "compiler/check/configuration.h"
#include "compiler/emit/image_builder.h"
#include "compiler/emit/image_publisher.h"
#include "runtime/image/image.h"
#include "runtime/session/session.h"

namespace {

using namespace postern;

std::shared_ptr<const session::SessionContext> MakeContext() {
  std::string root = (std::filesystem::temp_directory_path() / "postern-fuzz-XXXXXX").string();
  if (mkdtemp(root.data()) == nullptr) std::abort();
  std::ofstream(root + "/main.cf") << "compatibility_level = 3.6\n"
                                      "myhostname = mx.example.com\n"
                                      "mydestination = example.com\n"
                                      "mynetworks = 192.0.2.0/24\n"
                                      "alias_maps =\n"
                                      "smtpd_authorized_xclient_hosts = 127.0.0.1\n"
                                      "smtpd_recipient_limit = 4\n"
                                      "message_size_limit = 3000\n"
                                      "line_length_limit = 100\n"
                                      "smtpd_hard_error_limit = 30\n"
                                      "smtpd_tls_security_level = may\n"
                                      "smtpd_sasl_auth_enable = yes\n"
                                      "smtpd_sasl_type = dovecot\n"
                                      "smtpd_client_restrictions = reject_rbl_client zen.example, sleep 1, "
                                      "check_ccert_access inline:{{AA:BB=REJECT}}\n"
                                      "smtpd_tls_ask_ccert = yes\n"
                                      "relay_clientcerts = inline:{{CC:DD=client.example}}\n"
                                      "smtpd_relay_restrictions = permit_mynetworks, permit_tls_clientcerts, "
                                      "reject_unauth_destination\n"
                                      "smtpd_sender_restrictions = reject_unknown_sender_domain, "
                                      "reject_rhsbl_sender rhsbl.example\n"
                                      "header_checks = regexp:/etc/postfix/header_checks\n"
                                      "smtpd_milters = inet:127.0.0.1:1\n";
  std::ofstream(root + "/header_checks") << "/^Subject: hold/ HOLD\n/^Subject: drop/ DISCARD\n/^X-Bad:/ REJECT bad\n";
  std::ofstream(root + "/master.cf") << "smtp inet n - n - - smtpd\n";
  DiagnosticSink diagnostics;
  check::LoadOptions load;
  load.config_directory = root;
  load.installed_directory = "/etc/postfix";
  load.machine.hostname = "mx.example.com";
  check::Model model = check::LoadConfiguration(load, &diagnostics);
  emit::ImageBuildOptions options;
  options.compiler_version = "fuzz";
  emit::BuiltImage built = emit::BuildImage(model, options, &diagnostics);
  auto published = emit::PublishImage(built, emit::PublishOptions{root + "/images", 0, std::nullopt, ""});
  if (diagnostics.has_errors() || !published.ok()) std::abort();
  auto image = image::Image::Load(root + "/images");
  if (!image.ok()) std::abort();
  // The sessions fetch DNS records themselves: the fuzzer answers them.
  auto context = session::MakeSessionContext(*image, /*tls_available=*/true, /*dns=*/nullptr);
  if (!context.ok()) std::abort();
  return *context;
}

void CheckReplies(const std::string& out, int* queued) {
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find("\r\n", pos);
    if (end == std::string::npos || end - pos < 4) std::abort();  // every line ends in CRLF, has a code
    std::string_view line(out.data() + pos, end - pos);
    for (int i = 0; i < 3; ++i) {
      if (line[static_cast<size_t>(i)] < '0' || line[static_cast<size_t>(i)] > '9') std::abort();
    }
    if (line[3] != ' ' && line[3] != '-') std::abort();
    // "250 2.0.0 Ok: queued as ID", or "... Ok: N bytes queued as ID" after BDAT.
    if (line.starts_with("250 2.0.0 Ok: ") && line.find(" queued as ") != std::string_view::npos) ++*queued;
    pos = end + 2;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::shared_ptr<const session::SessionContext> context = MakeContext();
  if (size < 2) return 0;
  size_t chunk = 1 + data[0] % 32;
  uint8_t outcomes = data[1];
  std::string_view bytes(reinterpret_cast<const char*>(data + 2), size - 2);

  int ids = 0, stored = 0, discarded_or_queued = 0;
  session::SessionEnvironment env;
  env.new_queue_id = [&ids] { return "Q" + std::to_string(++ids); };
  env.now = [] { return int64_t{1790000000}; };
  session::Session s(context, session::Peer{"127.0.0.1", "localhost", "localhost", 25, "127.0.0.1", 25}, env);
  s.SetSaslMechanisms({sasl::DovecotMechanism{"PLAIN", true}, sasl::DovecotMechanism{"LOGIN", true}});
  s.Start();
  CheckReplies(s.TakeOutput(), &discarded_or_queued);
  size_t at = 0;
  int step = 0;
  while (true) {
    switch (s.next()) {
      case session::Session::Next::kClose:
        at = bytes.size();
        break;
      case session::Session::Next::kCommit: {
        bool ok = ((outcomes >> (step++ % 8)) & 1) != 0;
        if (s.message_to_commit().message.recipients.empty()) std::abort();
        s.Committed(ok ? queue::StoreOutcome::kStored : queue::StoreOutcome::kNoSpace);
        stored += ok ? 1 : 0;
        break;
      }
      case session::Session::Next::kAuthenticate: {
        // The authentication server's answers, chosen by the input.
        if (s.sasl_step().mechanism.empty()) std::abort();
        sasl::DovecotAuthReply reply;
        unsigned choice = (outcomes >> (step++ % 7)) & 3;
        reply.kind = choice == 0   ? sasl::DovecotAuthReply::Kind::kOk
                     : choice == 1 ? sasl::DovecotAuthReply::Kind::kContinue
                                   : sasl::DovecotAuthReply::Kind::kFail;
        reply.user = "fred";
        reply.challenge = "VXNlcm5hbWU6";
        if (choice == 3) {
          s.SaslAnswered(Status::Temporary("fuzz"));
        } else {
          s.SaslAnswered(reply);
        }
        break;
      }
      case session::Session::Next::kAskNetwork: {
        // The network's answers, chosen by the input: found, not found, failed.
        session::NetworkReplies replies;
        for (const vm::DnsQuestion& q : s.dns_questions()) {
          unsigned choice = (outcomes >> (step++ % 7)) & 3;
          vm::DnsRecords r;
          r.status = choice == 0   ? vm::DnsRecords::Status::kFound
                     : choice == 1 ? vm::DnsRecords::Status::kNotFound
                                   : vm::DnsRecords::Status::kTemporary;
          if (choice == 0) r.values = {"127.0.0.2"};
          replies.dns.emplace_back(q, r);
        }
        for (const vm::PolicyQuestion& q : s.policy_questions()) {
          replies.policy.emplace_back(q, vm::PolicyReply{vm::PolicyReply::Status::kAction, "DUNNO"});
        }
        replies.paused = s.pause_question().has_value();  // a `sleep`, taken at once
        s.NetworkAnswered(replies);
        break;
      }
      case session::Session::Next::kDecide:  // a decision off the loop, here on the same thread
        s.Decided(s.DecideOffLoop());
        break;
      case session::Session::Next::kMilter: {
        // The milters' answer, chosen by the input: go on, a reply, hold,
        // discard, shutdown.
        unsigned choice = (outcomes >> (step++ % 5)) & 7;
        milter::Outcome o;
        if (choice == 1) o = milter::Response{milter::Response::Kind::kReply, "550 5.7.1 Command rejected"};
        if (choice == 2) o = milter::Response{milter::Response::Kind::kReply, "451 4.7.1 later"};
        if (choice == 3) o = milter::Response{milter::Response::Kind::kHold, ""};
        if (choice == 4) o = milter::Response{milter::Response::Kind::kDiscard, ""};
        if (choice == 5) o = milter::Response{milter::Response::Kind::kShutdown, ""};
        s.MilterAnswered(o);
        break;
      }
      case session::Session::Next::kStartTls:
        if (((outcomes >> (step++ % 8)) & 1) != 0) {
          // With a client certificate (trusted or not) or without one.
          std::optional<tls::PeerCertificate> certificate;
          unsigned choice = (outcomes >> (step++ % 7)) & 3;
          if (choice != 0) {
            certificate = tls::PeerCertificate{choice == 1, "AA:BB", "CC:DD", "client.example", "Test CA"};
          }
          s.TlsStarted(session::TlsInfo{"TLSv1.3", "TLS_AES_128_GCM_SHA256", 128, certificate});
        } else {
          s.TlsFailed("fuzz");
        }
        break;
      case session::Session::Next::kRead:
        if (at >= bytes.size()) break;
        s.Receive(bytes.substr(at, chunk));
        at += chunk;
        break;
    }
    CheckReplies(s.TakeOutput(), &discarded_or_queued);
    if (at >= bytes.size() && s.next() != session::Session::Next::kCommit &&
        s.next() != session::Session::Next::kStartTls && s.next() != session::Session::Next::kAuthenticate) {
      break;
    }
  }
  // Each 250 "queued as" is a stored commit or a DISCARD (never a failed commit).
  if (discarded_or_queued < stored) std::abort();
  s.TimedOut();
  CheckReplies(s.TakeOutput(), &discarded_or_queued);
  return 0;
}
