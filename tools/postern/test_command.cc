// test_command.cc: `postern test`, the policy and routing of a configuration
// checked against test cases (tools/postern/policy_test_file.h), with the
// runtime VM and resolver on the compiled image. Exit codes: 0 all pass,
// 1 failures or errors, 2 could not run. --format junit for CI; --print
// shows every reply (what a differential test compares with Postfix).
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>

#include "mail/address.h"
#include "mail/passwd_table.h"
#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"
#include "runtime/session/message_content.h"
#include "runtime/vm/policy_vm.h"
#include "tools/postern/commands.h"
#include "tools/postern/image_compiler.h"
#include "tools/postern/policy_test_file.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

namespace fs = std::filesystem;

// DNS as a test case states it: every domain exists unless said missing.
class TestDns : public vm::NetworkOracle {
 public:
  explicit TestDns(const TestCase& c) : case_(c) {}
  // A policy server says what the case's `policy` line says, else DUNNO.
  vm::PolicyReply AskPolicy(std::string_view service, std::string_view) const override {
    for (const auto& [name, action] : case_.policy_actions) {
      if (name == service) return vm::PolicyReply{vm::PolicyReply::Status::kAction, action};
    }
    return vm::PolicyReply{vm::PolicyReply::Status::kAction, "DUNNO"};
  }
  vm::DnsAnswer DomainExists(std::string_view domain) const override {
    for (const std::string& missing : case_.missing_domains) {
      if (missing == domain) return vm::DnsAnswer::kNo;
    }
    return vm::DnsAnswer::kYes;
  }
  std::optional<vm::DnsListing> ListedIn(std::string_view zone, std::string_view address) const override {
    for (const TestCase::Listing& l : case_.listings) {
      if (l.zone == zone && l.address == address) return vm::DnsListing{{l.value}, ""};
    }
    return std::nullopt;
  }
  // The case's `verify` lines; other addresses are deliverable.
  std::optional<mail::AddressVerification> VerifyAddress(std::string_view address) const override {
    for (const TestCase::Verification& v : case_.verifications) {
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
    for (const TestCase::Records& r : case_.records) {
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
  const TestCase& case_;
};

// The body lines body_checks see, as the daemon's session finds them in
// the body (body_checks_size_limit, line_length_limit pieces).
// The local users a configuration's cases assume, when --users does not
// say: its tests/users, else its trace/users (the file `postern trace`
// examples ship), else none (this machine's users).
std::string TestUsersFile(const std::string& config_directory) {
  for (const char* candidate : {"tests/users", "trace/users"}) {
    std::error_code ec;
    fs::path path = fs::path(config_directory) / candidate;
    if (fs::is_regular_file(path, ec)) return path.string();
  }
  return "";
}

std::vector<std::string> BodyCheckLines(const image::Image& image, const std::vector<std::string>& body) {
  session::MessageContent content(std::make_unique<queue::BodySpool>("", "", 0, 0),
                                  session::MessageContent::LimitsOf(session::ReadSessionConfig(image)));
  content.Append("\r\n");  // the headers are given apart: the body follows the blank line
  for (const std::string& line : body) content.Append(line + "\r\n");
  content.Finish();
  return content.TakeBodyCheckLines();
}

struct StepResult {
  const TestStep* step;
  std::string reply;
  std::string route;
  std::string failure;  // empty: as expected
};

std::string Describe(const TestStep& step) {
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

class Runner {
 public:
  Runner(std::shared_ptr<const image::Image> image, std::shared_ptr<const mail::LookupTable> users,
         std::string default_service)
      : image_(std::move(image)), users_(std::move(users)), default_service_(std::move(default_service)) {}

  // The case's steps on its service's view of the image, as posternd runs
  // them for a client of that service (session/session_config.h); an error
  // when the image has no such smtpd service.
  Result<std::vector<StepResult>> Run(const TestCase& c) {
    const std::string& service = c.service.empty() ? default_service_ : c.service;
    auto view = image_->SmtpdService(service);
    if (!view.ok()) return view.status();
    auto [it, added] = resolvers_.try_emplace(service);
    if (added) it->second = std::make_shared<const resolve::Resolver>(*view, users_);
    const std::shared_ptr<const image::Image>& image = *view;
    const std::shared_ptr<const resolve::Resolver>& resolver = it->second;
    auto dns = std::make_shared<TestDns>(c);
    vm::PolicyVm policy(image, resolver, dns);
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
      StepResult r{&step, "", "", ""};
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

 private:
  std::shared_ptr<const image::Image> image_;
  std::shared_ptr<const mail::LookupTable> users_;
  std::string default_service_;
  std::map<std::string, std::shared_ptr<const resolve::Resolver>> resolvers_;  // by service
};

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

int RunTest(const TestOptions& options) {
  std::vector<std::string> files = options.files;
  if (files.empty()) {
    std::error_code ec;
    fs::path dir = fs::path(options.config_directory) / "tests";
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".test") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      std::cerr << "postern test: no test files (give them, or put *.test files in " << dir.string() << ")\n";
      return 2;
    }
  }
  DiagnosticSink diagnostics;
  check::Model model = LoadForImage(options.config_directory, &diagnostics, options.defines);
  TemporaryImages temporary;
  CompileOutcome outcome;
  if (temporary.ok()) outcome = BuildAndPublish(model, temporary.path(), 0, &diagnostics);
  std::vector<std::pair<std::string, std::vector<TestCase>>> suites;
  for (const std::string& path : files) {
    auto file = SourceFile::Read(path);
    if (!file.ok()) {
      diagnostics.FileError("PT0601", path, file.status().message());
      continue;
    }
    suites.emplace_back(path, ParseTestFile(file.value(), &diagnostics));
  }
  std::cerr << RenderDiagnostics(diagnostics.diagnostics());
  if (!outcome.published) {
    std::cerr << "postern test: " << options.config_directory << " does not compile\n";
    return model.main_cf.file ? 1 : 2;
  }
  auto image = image::Image::Load(outcome.published->path, ToolLoadOptions(options.config_directory, options.offline));
  if (!image.ok()) {
    std::cerr << "postern test: " << image.status().message() << "\n";
    return 2;
  }
  std::shared_ptr<const mail::LookupTable> users;
  std::string users_file = options.users_file.empty() ? TestUsersFile(options.config_directory) : options.users_file;
  if (!users_file.empty()) {
    auto file = SourceFile::Read(users_file);
    if (!file.ok()) {
      std::cerr << "postern test: " << file.status().message() << "\n";
      return 2;
    }
    users = mail::ParsePasswdText(file.value()->text());
  }
  Runner runner(*image, users, options.service.empty() ? (*image)->DefaultSmtpdService() : options.service);

  int cases = 0, failed = 0;
  nlohmann::json printed = nlohmann::json::array();
  std::string junit;
  for (const auto& [path, suite] : suites) {
    std::string testcases;
    int suite_failures = 0;
    for (const TestCase& c : suite) {
      ++cases;
      Result<std::vector<StepResult>> results = runner.Run(c);
      std::string failures;
      if (!results.ok()) {
        failures = path + ":" + std::to_string(c.location.line) + ": " + results.status().message() + "\n";
      }
      for (const StepResult& r : results.ok() ? *results : std::vector<StepResult>{}) {
        if (options.print) {
          printed.push_back({{"file", path},
                             {"test", c.name},
                             {"line", r.step->location.line},
                             {"command", Describe(*r.step)},
                             {"reply", r.reply},
                             {"route", r.route}});
        }
        if (!r.failure.empty()) {
          failures +=
              path + ":" + std::to_string(r.step->location.line) + ": " + Describe(*r.step) + ": " + r.failure + "\n";
        }
      }
      if (!failures.empty()) {
        ++failed;
        ++suite_failures;
      }
      if (options.format == "text" && !options.print) {
        std::cout << (failures.empty() ? "PASS " : "FAIL ") << c.name << "\n";
        if (!failures.empty()) std::cout << failures;
      }
      testcases += "  <testcase classname=\"" + XmlEscape(path) + "\" name=\"" + XmlEscape(c.name) + "\">";
      if (!failures.empty()) testcases += "<failure message=\"reply differs\">" + XmlEscape(failures) + "</failure>";
      testcases += "</testcase>\n";
    }
    junit += " <testsuite name=\"" + XmlEscape(path) + "\" tests=\"" + std::to_string(suite.size()) + "\" failures=\"" +
             std::to_string(suite_failures) + "\">\n" + testcases + " </testsuite>\n";
  }
  if (options.print) {
    std::cout << printed.dump(2) << "\n";
  } else if (options.format == "junit") {
    std::cout << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"" << cases << "\" failures=\""
              << failed << "\">\n"
              << junit << "</testsuites>\n";
  }
  std::cerr << "postern test: " << cases << " case(s), " << failed << " failed\n";
  return (failed > 0 || diagnostics.has_errors()) ? 1 : 0;
}

}  // namespace postern::cli
