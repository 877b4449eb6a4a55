// case_runner.h: runs an SMTP transaction described as a test case
// (policy_test_file.h) on a compiled image, as posternd's session would:
// the policy VM and the resolver of the case's smtpd service, with the
// network as the case states it (DNS lists, policy servers, address
// verification) and nothing asked of the real one. `postern test` checks
// the replies against the case's expectations; `postern diff` runs the same
// cases on two images and compares them.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mail/lookup_table.h"
#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"
#include "runtime/vm/policy_vm.h"
#include "tools/postern/policy_test_file.h"
#include "util/status.h"

namespace postern::cli {

// The local users a configuration's cases assume, when --users does not
// say: its tests/users, else its trace/users (the file `postern trace`
// examples ship), else "" (this machine's users).
std::string TestUsersFile(const std::string& config_directory);

// A passwd(5) file as the users table the resolver takes; null for "" (the
// system's users).
Result<std::shared_ptr<const mail::LookupTable>> ReadUsersFile(const std::string& path);

// The case files of a configuration: DIR/tests/*.test, sorted.
std::vector<std::string> TestFilesOf(const std::string& config_directory);

struct StepResult {
  const TestStep* step = nullptr;
  std::string reply;                 // the whole reply: "250 2.1.5 Ok", "554 5.7.1 ..."
  std::string route;                 // rcpt: "transport:nexthop" of the first delivery, or the policy's route
  bool route_from_policy = false;    // the policy language's route action chose `route`
  std::vector<std::string> actions;  // what the policy did besides replying: "HOLD", "DISCARD", "REDIRECT a@b", ...
  std::string failure;               // empty: as the step expected
};

// "rcpt to <user@example.com>", as failures and diffs name a step.
std::string DescribeStep(const TestStep& step);

class CaseRunner {
 public:
  // `default_service`: the smtpd service of cases that name none.
  CaseRunner(std::shared_ptr<const image::Image> image, std::shared_ptr<const mail::LookupTable> users,
             std::string default_service);
  ~CaseRunner();
  CaseRunner(const CaseRunner&) = delete;
  CaseRunner& operator=(const CaseRunner&) = delete;

  // The case's steps on its service's view of the image, as posternd runs
  // them for a client of that service (session/session_config.h); an error
  // when the image has no such smtpd service. Every step runs, also after
  // one is refused (a test states what each command gets).
  Result<std::vector<StepResult>> Run(const TestCase& c);

  // The resolver of `service`'s view (for questions about its answers),
  // or null when the image has no such smtpd service.
  std::shared_ptr<const resolve::Resolver> ResolverFor(const std::string& service);

 private:
  class TestDns;
  // A service's view with its resolver and VM, built once: a VM looks at
  // every access table when it is made.
  struct ServiceRun {
    Status error;  // the image has no such smtpd service
    std::shared_ptr<const image::Image> view;
    std::shared_ptr<const resolve::Resolver> resolver;
    std::shared_ptr<TestDns> dns;
    std::unique_ptr<vm::PolicyVm> policy;
  };
  ServiceRun* ServiceFor(const std::string& service);

  std::shared_ptr<const image::Image> image_;
  std::shared_ptr<const mail::LookupTable> users_;
  std::string default_service_;
  std::map<std::string, ServiceRun> services_;
};

}  // namespace postern::cli
