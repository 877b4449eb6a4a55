// behaviour_diff.cc: the route and policy parts of config_diff.h. Both
// images answer the same questions (diff_probes.h) through the resolver
// and the policy VM posternd runs, via the runner `postern test` uses;
// only the answers that differ are kept.
#include <algorithm>
#include <set>

#include "mail/ip_address.h"
#include "runtime/image/image_parameters.h"
#include "runtime/resolve/resolver.h"
#include "runtime/vm/relay_analysis.h"
#include "tools/postern/case_runner.h"
#include "tools/postern/config_diff.h"
#include "tools/postern/diff_probes.h"
#include "util/strings.h"

namespace postern::cli {
namespace {

using resolve::Delivery;

// The smtpd services both images have (each with its own -o overrides and
// policy); main.cf's view when neither runs one.
std::vector<std::string> CommonServices(const image::Image& a, const image::Image& b) {
  std::vector<std::string> services;
  std::vector<std::string> theirs = a.SmtpdServices();
  for (const std::string& s : b.SmtpdServices()) {
    if (std::find(theirs.begin(), theirs.end(), s) != theirs.end()) services.push_back(s);
  }
  if (services.empty() && a.SmtpdServices().empty() && b.SmtpdServices().empty()) {
    services.push_back(b.DefaultSmtpdService());
  }
  return services;
}

std::vector<std::string> RouteLines(const resolve::Resolution& r) {
  std::vector<std::string> lines;
  for (const Delivery& d : r.results) {
    if (d.status == Delivery::Status::kDeliver) {
      lines.push_back(d.address + " via " + d.transport + ":" + d.nexthop + " (" + d.address_class +
                      (d.detail.empty() ? "" : ", " + d.detail) + ")");
    } else {
      lines.push_back(d.address + " " + resolve::DeliveryStatusName(d.status) + " " + std::to_string(d.code) + " " +
                      d.text);
    }
  }
  return lines;
}

bool Delivers(const resolve::Resolution& r) {
  if (r.results.empty()) return false;
  for (const Delivery& d : r.results) {
    if (d.status != Delivery::Status::kDeliver) return false;
  }
  return true;
}

bool Refuses(const resolve::Resolution& r) {
  for (const Delivery& d : r.results) {
    if (d.status == Delivery::Status::kBounce || d.status == Delivery::Status::kReject) return true;
  }
  return false;
}

void DiffRoutes(const DiffSide& old_side, const DiffSide& new_side, const Probes& probes, ConfigDiff* diff) {
  // As `postern trace` routes: the default smtpd service's recipient checks first.
  auto resolver = [](const DiffSide& side) {
    auto view = side.image->SmtpdService(side.image->DefaultSmtpdService());
    return resolve::Resolver(view.ok() ? *view : side.image, side.users);
  };
  resolve::Resolver a = resolver(old_side), b = resolver(new_side);
  resolve::ResolveOptions options;
  options.record_steps = false;
  for (const Probe& probe : probes.recipients.items()) {
    resolve::Resolution old_route = a.Resolve(probe.value, options);
    resolve::Resolution new_route = b.Resolve(probe.value, options);
    ++diff->addresses_compared;
    std::vector<std::string> old_lines = RouteLines(old_route), new_lines = RouteLines(new_route);
    if (old_lines == new_lines) continue;
    diff->routes.push_back({probe.value, probe.origin, std::move(old_lines), std::move(new_lines),
                            Delivers(old_route) && Refuses(new_route)});
  }
}

// A generated transaction: connect, HELO, MAIL, RCPT, DATA.
struct Transaction {
  TestCase steps;
  std::string description;
  std::string origin;
  std::string client;
  std::string recipient;
};

class TransactionSet {
 public:
  void Add(const ClientProbe& client, const std::string& login, const std::string& helo, const std::string& sender,
           const std::string& recipient, const std::string& origin) {
    std::string description = "client " + client.address + " (" + client.name + ")" +
                              (login.empty() ? "" : ", sasl " + login) + ", helo " + helo + ", mail from <" + sender +
                              ">, rcpt to <" + recipient + ">";
    if (!seen_.insert(description).second) return;
    Transaction t;
    t.description = std::move(description);
    t.origin = origin;
    t.client = client.address;
    t.recipient = recipient;
    t.steps.sasl_username = login;
    auto step = [&](TestStep::Kind kind, const std::string& argument, const std::string& name = "") {
      TestStep s;
      s.kind = kind;
      s.argument = argument;
      s.name = name;
      t.steps.steps.push_back(std::move(s));
    };
    step(TestStep::Kind::kClient, client.address, client.name);
    step(TestStep::Kind::kHelo, helo);
    step(TestStep::Kind::kMail, sender);
    step(TestStep::Kind::kRcpt, recipient);
    step(TestStep::Kind::kData, "");
    items_.push_back(std::move(t));
  }
  std::vector<Transaction>& items() { return items_; }

 private:
  std::vector<Transaction> items_;
  std::set<std::string> seen_;
};

// Transactions that vary one thing at a time around an outside client
// sending from outside: each client (with and without a login), each
// sender, HELO name and login against the domain classes' recipients, and
// each recipient from an outside, an internal and an authenticated client.
std::vector<Transaction> Transactions(const Probes& probes) {
  const ClientProbe& outside = probes.clients.items().front();
  const std::string& helo = probes.helos.items().front().value;
  const std::string& sender = probes.senders.items().front().value;
  const std::string& login = probes.logins.items().front().value;
  const ClientProbe* internal = nullptr;
  for (const ClientProbe& c : probes.clients.items()) {
    if (StartsWith(c.origin, "mynetworks")) {
      internal = &c;
      break;
    }
  }
  // The domain classes: outside, and each domain's postmaster.
  std::vector<std::string> classes;
  for (const Probe& p : probes.policy_recipients.items()) {
    if (classes.size() < 16 && (classes.empty() || StartsWith(p.value, "postmaster@"))) classes.push_back(p.value);
  }
  TransactionSet set;
  for (const ClientProbe& c : probes.clients.items()) {
    for (const std::string& rcpt : classes) {
      set.Add(c, "", helo, sender, rcpt, c.origin);
      set.Add(c, login, helo, sender, rcpt, c.origin);
    }
  }
  for (const Probe& s : probes.senders.items()) {
    for (const std::string& rcpt : classes) {
      set.Add(outside, "", helo, s.value, rcpt, s.origin);
      if (internal != nullptr) set.Add(*internal, "", helo, s.value, rcpt, s.origin);
    }
  }
  for (const Probe& h : probes.helos.items()) {
    for (const std::string& rcpt : classes) set.Add(outside, "", h.value, sender, rcpt, h.origin);
  }
  for (const Probe& l : probes.logins.items()) {
    for (const std::string& rcpt : classes) set.Add(outside, l.value, helo, sender, rcpt, l.origin);
  }
  for (const Probe& r : probes.policy_recipients.items()) {
    set.Add(outside, "", helo, sender, r.value, r.origin);
    set.Add(outside, login, helo, sender, r.value, r.origin);
    if (internal != nullptr) set.Add(*internal, "", helo, sender, r.value, r.origin);
  }
  return std::move(set.items());
}

std::string StepName(TestStep::Kind kind) {
  switch (kind) {
    case TestStep::Kind::kClient:
      return "CONNECT";
    case TestStep::Kind::kHelo:
      return "HELO";
    case TestStep::Kind::kMail:
      return "MAIL";
    case TestStep::Kind::kRcpt:
      return "RCPT";
    case TestStep::Kind::kData:
      return "DATA";
  }
  return "";
}

std::string ActionsText(const StepResult& r) { return r.actions.empty() ? "" : " [" + Join(r.actions, ", ") + "]"; }

// What a transaction came to: the first refusal, or acceptance with what
// the policy did besides (a route action, HOLD, DISCARD, ...).
std::string Verdict(const Result<std::vector<StepResult>>& results) {
  if (!results.ok()) return "error: " + results.status().message();
  std::string accepted = "accepted";
  for (const StepResult& r : *results) {
    if (std::atoi(r.reply.c_str()) >= 400) return StepName(r.step->kind) + " " + r.reply;
    if (r.route_from_policy) accepted += ", route " + r.route;
    accepted += ActionsText(r);
  }
  return accepted;
}

bool Accepted(const std::string& verdict) { return StartsWith(verdict, "accepted"); }

// Whether NEW now relays for a client OLD did not let relay: it accepts a
// recipient outside NEW's domains from a client that is not authenticated
// and was not in OLD's $mynetworks, where OLD refused.
class RelayJudge {
 public:
  RelayJudge(const DiffSide& old_side, CaseRunner* new_runner)
      : old_image_(old_side.image),
        old_networks_(image::NetworkListParameter(*old_side.image, "mynetworks")),
        new_runner_(new_runner) {}

  bool OpensRelay(const std::string& service, const std::string& client, const std::string& login,
                  const std::string& recipient, bool old_accepted, bool new_accepted) {
    if (!new_accepted || old_accepted || !login.empty()) return false;
    std::optional<mail::IpAddress> address = mail::IpAddress::Parse(client);
    if (address && old_networks_.Match(*address)) return false;
    std::shared_ptr<const resolve::Resolver> resolver = new_runner_->ResolverFor(service);
    return resolver != nullptr && !resolver->IsAuthDestination(recipient);
  }

 private:
  std::shared_ptr<const image::Image> old_image_;  // holds what old_networks_ points into
  mail::NetworkList old_networks_;
  CaseRunner* new_runner_;
};

void DiffPolicy(const DiffSide& old_side, const DiffSide& new_side, const Probes& probes, ConfigDiff* diff) {
  CaseRunner a(old_side.image, old_side.users, old_side.image->DefaultSmtpdService());
  CaseRunner b(new_side.image, new_side.users, new_side.image->DefaultSmtpdService());
  RelayJudge judge(old_side, &b);
  std::vector<Transaction> transactions = Transactions(probes);
  for (const std::string& service : CommonServices(*old_side.image, *new_side.image)) {
    for (Transaction& t : transactions) {
      t.steps.service = service;
      std::string old_verdict = Verdict(a.Run(t.steps)), new_verdict = Verdict(b.Run(t.steps));
      ++diff->transactions_compared;
      if (old_verdict == new_verdict) continue;
      bool relay = judge.OpensRelay(service, t.client, t.steps.sasl_username, t.recipient, Accepted(old_verdict),
                                    Accepted(new_verdict));
      diff->policy.push_back({service, t.description, t.origin, old_verdict, new_verdict, relay});
    }
  }
}

std::string ClientOf(const TestCase& c) {
  for (const TestStep& step : c.steps) {
    if (step.kind == TestStep::Kind::kClient) return step.argument;
  }
  return "";
}

// The configurations' own test cases, step by step: NEW's cases, then the
// ones only OLD has (by file and name).
void DiffTestCases(const DiffSide& old_side, const DiffSide& new_side, ConfigDiff* diff) {
  CaseRunner a(old_side.image, old_side.users, old_side.image->DefaultSmtpdService());
  CaseRunner b(new_side.image, new_side.users, new_side.image->DefaultSmtpdService());
  RelayJudge judge(old_side, &b);
  std::set<std::pair<std::string, std::string>> run;
  auto compare = [&](const std::string& file, const TestCase& c) {
    if (!run.insert({file, c.name}).second) return;
    Result<std::vector<StepResult>> old_results = a.Run(c), new_results = b.Run(c);
    ++diff->transactions_compared;
    std::string service = c.service.empty() ? new_side.image->DefaultSmtpdService() : c.service;
    if (!old_results.ok() || !new_results.ok()) {
      std::string old_verdict = Verdict(old_results), new_verdict = Verdict(new_results);
      if (old_verdict != new_verdict) {
        diff->policy.push_back({service, "test \"" + c.name + "\"", file + ":" + std::to_string(c.location.line),
                                old_verdict, new_verdict, false});
      }
      return;
    }
    for (size_t i = 0; i < old_results->size() && i < new_results->size(); ++i) {
      const StepResult& o = (*old_results)[i];
      const StepResult& n = (*new_results)[i];
      std::string old_answer = o.reply + (o.route.empty() ? "" : " (route " + o.route + ")") + ActionsText(o);
      std::string new_answer = n.reply + (n.route.empty() ? "" : " (route " + n.route + ")") + ActionsText(n);
      if (old_answer == new_answer) continue;
      bool relay = o.step->kind == TestStep::Kind::kRcpt &&
                   judge.OpensRelay(service, ClientOf(c), c.sasl_username, o.step->argument,
                                    std::atoi(o.reply.c_str()) < 400, std::atoi(n.reply.c_str()) < 400);
      diff->policy.push_back({service, "test \"" + c.name + "\": " + DescribeStep(*o.step),
                              file + ":" + std::to_string(o.step->location.line), old_answer, new_answer, relay});
    }
  };
  for (const auto& [file, cases] : new_side.cases) {
    for (const TestCase& c : cases) compare(file, c);
  }
  for (const auto& [file, cases] : old_side.cases) {
    for (const TestCase& c : cases) compare(file, c);
  }
}

// Services whose policy NEW makes an open relay (vm/relay_analysis.h).
void DiffRelayProof(const DiffSide& old_side, const DiffSide& new_side, ConfigDiff* diff) {
  std::vector<std::string> services = new_side.image->SmtpdServices();
  if (services.empty()) services.push_back("");
  std::vector<std::string> old_services = old_side.image->SmtpdServices();
  for (const std::string& service : services) {
    auto view = [&](const DiffSide& side) { return service.empty() ? side.image : side.image->ForService(service); };
    vm::RelayFinding now = vm::AnalyzeRelay(view(new_side));
    if (!now.open) continue;
    bool old_has =
        service.empty() || std::find(old_services.begin(), old_services.end(), service) != old_services.end();
    if (old_has && vm::AnalyzeRelay(view(old_side)).open) continue;
    diff->open_relay.push_back((service.empty() ? std::string("main.cf") : "service " + service) + ": " +
                               Join(now.path, "; "));
  }
}

}  // namespace

void DiffBehaviour(const DiffSide& old_side, const DiffSide& new_side, ConfigDiff* diff) {
  Probes probes = BaseProbes();
  CollectProbes(*old_side.image, &probes);
  CollectProbes(*new_side.image, &probes);
  for (const DiffSide* side : {&new_side, &old_side}) {
    for (const auto& [file, cases] : side->cases) CollectProbes(file, cases, &probes);
  }
  DiffRoutes(old_side, new_side, probes, diff);
  DiffPolicy(old_side, new_side, probes, diff);
  DiffTestCases(old_side, new_side, diff);
  DiffRelayProof(old_side, new_side, diff);
}

}  // namespace postern::cli
