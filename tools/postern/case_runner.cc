// case_runner.cc: see case_runner.h.
#include "tools/postern/case_runner.h"

#include <algorithm>
#include <filesystem>

#include "mail/address.h"
#include "mail/passwd_table.h"
#include "runtime/session/message_content.h"
#include "runtime/vm/policy_vm.h"
#include "util/source_file.h"
#include "util/strings.h"

namespace postern::cli {

// DNS as the case being run states it: every domain exists unless said
// missing. One per service view, shared by its VM; Use() names the case.
class CaseRunner::TestDns : public vm::NetworkOracle {
 public:
  void Use(const TestCase* c) { case_ = c; }
  // A policy server says what the case's `policy` line says, else DUNNO.
  vm::PolicyReply AskPolicy(std::string_view service, std::string_view) const override {
    for (const auto& [name, action] : case_->policy_actions) {
      if (name == service) return vm::PolicyReply{vm::PolicyReply::Status::kAction, action};
    }
    return vm::PolicyReply{vm::PolicyReply::Status::kAction, "DUNNO"};
  }
  vm::DnsAnswer DomainExists(std::string_view domain) const override {
    for (const std::string& missing : case_->missing_domains) {
      if (missing == domain) return vm::DnsAnswer::kNo;
    }
    return vm::DnsAnswer::kYes;
  }
  std::optional<vm::DnsListing> ListedIn(std::string_view zone, std::string_view address) const override {
    for (const TestCase::Listing& l : case_->listings) {
      if (l.zone == zone && l.address == address) return vm::DnsListing{{l.value}, ""};
    }
    return std::nullopt;
  }
  // The case's `verify` lines; other addresses are deliverable.
  std::optional<mail::AddressVerification> VerifyAddress(std::string_view address) const override {
    for (const TestCase::Verification& v : case_->verifications) {
      if (v.address == address) return v.result;
    }
    return mail::AddressVerification{};
  }
  // The case's `dns mx|ns|a` lines; nothing else has such records.
  std::optional<vm::DnsRecords> Lookup(vm::DnsRecordType type, std::string_view name) const override {
    vm::DnsRecords records{vm::DnsRecords::Status::kNotFound, {}};
    if (type == vm::DnsRecordType::kTxt) return records;  // lists' reasons: not stated in test cases
    std::string wanted = type == vm::DnsRecordType::kMx ? "mx" : type == vm::DnsRecordType::kNs ? "ns" : "a";
    bool addresses = wanted == "a";
    for (const TestCase::Records& r : case_->records) {
      if (r.type != wanted || r.name != ToLower(name)) continue;
      for (const std::string& value : r.values) {
        bool ipv6 = value.find(':') != std::string::npos;
        if (addresses && ipv6 != (type == vm::DnsRecordType::kAaaa)) continue;
        records.values.push_back(value);
      }
    }
    if (!records.values.empty()) records.status = vm::DnsRecords::Status::kFound;
    return records;
  }

 private:
  const TestCase* case_ = nullptr;
};

namespace {

namespace fs = std::filesystem;

// The body lines body_checks see, as the daemon's session finds them in
// the body (body_checks_size_limit, line_length_limit pieces).
std::vector<std::string> BodyCheckLines(const image::Image& image, const std::vector<std::string>& body) {
  session::MessageContent content(std::make_unique<queue::BodySpool>("", "", 0, 0),
                                  session::MessageContent::LimitsOf(session::ReadSessionConfig(image)));
  content.Append("\r\n");  // the headers are given apart: the body follows the blank line
  for (const std::string& line : body) content.Append(line + "\r\n");
  content.Finish();
  return content.TakeBodyCheckLines();
}

}  // namespace

std::string TestUsersFile(const std::string& config_directory) {
  for (const char* candidate : {"tests/users", "trace/users"}) {
    std::error_code ec;
    fs::path path = fs::path(config_directory) / candidate;
    if (fs::is_regular_file(path, ec)) return path.string();
  }
  return "";
}

Result<std::shared_ptr<const mail::LookupTable>> ReadUsersFile(const std::string& path) {
  if (path.empty()) return std::shared_ptr<const mail::LookupTable>();
  auto file = SourceFile::Read(path);
  if (!file.ok()) return file.status();
  return std::shared_ptr<const mail::LookupTable>(mail::ParsePasswdText(file.value()->text()));
}

std::vector<std::string> TestFilesOf(const std::string& config_directory) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(config_directory) / "tests", ec)) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string DescribeStep(const TestStep& step) {
  switch (step.kind) {
    case TestStep::Kind::kClient:
      return "client " + step.argument;
    case TestStep::Kind::kHelo:
      return "helo " + step.argument;
    case TestStep::Kind::kMail:
      return "mail from <" + step.argument + ">";
    case TestStep::Kind::kRcpt:
      return "rcpt to <" + step.argument + ">";
    case TestStep::Kind::kData:
      return "data";
  }
  return "";
}

CaseRunner::CaseRunner(std::shared_ptr<const image::Image> image, std::shared_ptr<const mail::LookupTable> users,
                       std::string default_service)
    : image_(std::move(image)), users_(std::move(users)), default_service_(std::move(default_service)) {}

CaseRunner::~CaseRunner() = default;

CaseRunner::ServiceRun* CaseRunner::ServiceFor(const std::string& service) {
  auto [it, added] = services_.try_emplace(service);
  if (added) {
    auto view = image_->SmtpdService(service);
    if (!view.ok()) {
      it->second.error = view.status();
      return &it->second;
    }
    ServiceRun& run = it->second;
    run.view = *view;
    run.resolver = std::make_shared<const resolve::Resolver>(run.view, users_);
    run.dns = std::make_shared<TestDns>();
    run.policy = std::make_unique<vm::PolicyVm>(run.view, run.resolver, run.dns);
  }
  return &it->second;
}

std::shared_ptr<const resolve::Resolver> CaseRunner::ResolverFor(const std::string& service) {
  return ServiceFor(service)->resolver;
}

Result<std::vector<StepResult>> CaseRunner::Run(const TestCase& c) {
  const std::string& service = c.service.empty() ? default_service_ : c.service;
  ServiceRun* run = ServiceFor(service);
  if (!run->error.ok()) return run->error;
  const std::shared_ptr<const image::Image>& image = run->view;
  const std::shared_ptr<const resolve::Resolver>& resolver = run->resolver;
  run->dns->Use(&c);
  vm::PolicyVm& policy = *run->policy;
  vm::SmtpFacts facts;
  facts.reverse_client_name = c.reverse_name.empty() ? "unknown" : c.reverse_name;
  facts.sasl_username = c.sasl_username;
  facts.tls = c.tls;
  if (c.client_certificate) {
    facts.tls_client_certificate_present = true;
    facts.tls_client_certificate = c.client_certificate->trusted;
    facts.ccert_subject = c.client_certificate->cn;
    facts.ccert_fingerprint = c.client_certificate->fingerprint;
    facts.ccert_pubkey_fingerprint = c.client_certificate->pubkey_fingerprint;
  }
  facts.pipelined_without_permission = c.pipelining_violation;
  facts.size = c.size;
  facts.headers = c.headers;
  facts.body_lines = BodyCheckLines(*image, c.body_lines);
  std::vector<StepResult> results;
  for (const TestStep& step : c.steps) {
    StepResult r;
    r.step = &step;
    vm::Decision d;
    switch (step.kind) {
      case TestStep::Kind::kClient:
        facts.client_address = step.argument;
        facts.client_name = step.name;
        if (c.reverse_name.empty()) facts.reverse_client_name = step.name;
        d = policy.Run(vm::VmStage::kConnect, facts);
        r.reply = d.reply.empty() ? "220 " + image->Text("myhostname") + " ESMTP" : d.reply;
        break;
      case TestStep::Kind::kHelo:
        facts.helo = step.argument;
        d = policy.Run(vm::VmStage::kHelo, facts);
        r.reply = d.reply.empty() ? "250 " + image->Text("myhostname") : d.reply;
        break;
      case TestStep::Kind::kMail:
        facts.sender = mail::InternalForm(step.argument);
        facts.has_sender = true;
        d = policy.Run(vm::VmStage::kMail, facts);
        r.reply = d.reply.empty() ? "250 2.1.0 Ok" : d.reply;
        break;
      case TestStep::Kind::kRcpt: {
        facts.recipient = mail::InternalForm(step.argument);
        d = policy.CheckRecipient(facts);
        r.reply = d.reply.empty() ? "250 2.1.5 Ok" : d.reply;
        if (d.kind == vm::Decision::Kind::kAccept) ++facts.recipient_count;
        resolve::ResolveOptions options;
        options.smtpd_checks = false;
        options.record_steps = false;
        if (!d.route.empty()) {
          r.route = d.route;  // the policy's route action overrides
          r.route_from_policy = true;
        } else {
          for (const resolve::Delivery& delivery : resolver->Resolve(facts.recipient, options).results) {
            if (delivery.status == resolve::Delivery::Status::kDeliver) {
              r.route = delivery.transport + ":" + delivery.nexthop;
              break;
            }
          }
        }
        break;
      }
      case TestStep::Kind::kData:
        // The DATA command, then the message at end of data.
        d = policy.Run(vm::VmStage::kData, facts);
        if (d.kind == vm::Decision::Kind::kAccept) d = policy.Run(vm::VmStage::kEndOfData, facts);
        r.reply = d.reply.empty() ? "250 2.0.0 Ok: queued" : d.reply;
        break;
    }
    if (d.hold) r.actions.push_back("HOLD");
    if (d.discard) r.actions.push_back("DISCARD");
    if (!d.redirect.empty()) r.actions.push_back("REDIRECT " + d.redirect);
    if (!d.filter.empty()) r.actions.push_back("FILTER " + d.filter);
    for (const std::string& bcc : d.bcc) r.actions.push_back("BCC " + bcc);
    const Expectation& e = step.expect;
    int code = std::atoi(r.reply.c_str());
    if (e.code != 0 && code != e.code) {
      r.failure = "expected " + std::to_string(e.code) + ", got \"" + r.reply + "\"";
    } else if (!e.reply.empty() && r.reply != e.reply) {
      r.failure = "expected \"" + e.reply + "\", got \"" + r.reply + "\"";
    } else if (!e.route.empty() && r.route != e.route) {
      r.failure = "expected route " + e.route + ", got " + (r.route.empty() ? "no delivery" : r.route);
    }
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace postern::cli
