// policy_test_file.cc: see policy_test_file.h.
#include "tools/postern/policy_test_file.h"

#include <algorithm>

#include "util/strings.h"

namespace postern::cli {
namespace {

// Splits off "expect CODE [TEXT] [route X]" from the end of a step line.
Expectation ParseExpect(std::string_view rest, bool* ok) {
  Expectation e;
  *ok = true;
  rest = Trim(rest);
  if (rest.empty()) return e;
  if (!StartsWith(rest, "expect")) {
    *ok = false;
    return e;
  }
  rest = Trim(rest.substr(6));
  size_t route = rest.rfind(" route ");
  if (StartsWith(rest, "route ")) route = 0;
  if (route != std::string_view::npos) {
    e.route = std::string(Trim(rest.substr(route + (route == 0 ? 6 : 7))));
    rest = Trim(rest.substr(0, route));
  }
  if (rest.empty()) return e;
  size_t end = rest.find(' ');
  std::string_view code = rest.substr(0, end);
  if (code.size() != 3 || !IsDigit(code[0]) || !IsDigit(code[1]) || !IsDigit(code[2])) {
    *ok = false;
    return e;
  }
  e.code = std::stoi(std::string(code));
  if (end != std::string_view::npos) e.reply = std::string(rest);
  return e;
}

// "<addr>" at the start of `text`; the rest after it.
bool TakeAddress(std::string_view text, std::string* address, std::string_view* rest) {
  text = Trim(text);
  if (text.empty() || text.front() != '<') return false;
  size_t close = text.find('>');
  if (close == std::string_view::npos) return false;
  *address = std::string(text.substr(1, close - 1));
  *rest = text.substr(close + 1);
  return true;
}

}  // namespace

std::optional<TestCase::Verification> TestCase::Verification::Parse(std::string_view address, std::string_view status,
                                                                    std::string_view text) {
  Verification v;
  v.address = std::string(address);
  v.result.text = std::string(text);
  if (status == "deliverable") {
    v.result.status = mail::AddressStatus::kDeliverable;
  } else if (status == "undeliverable") {
    v.result.status = mail::AddressStatus::kUndeliverable;
  } else if (status == "deferred") {
    v.result.status = mail::AddressStatus::kDeferred;
  } else if (status == "in-progress") {
    v.result.status = mail::AddressStatus::kInProgress;
    if (v.result.text.empty()) v.result.text = "Address verification in progress";
  } else if (status == "failed") {
    v.result.failed = true;
  } else {
    return std::nullopt;
  }
  return v;
}

std::vector<TestCase> ParseTestFile(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics) {
  std::vector<TestCase> cases;
  for (int n = 1; n <= file->line_count(); ++n) {
    std::string_view raw = file->Line(n);
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    int column = static_cast<int>(raw.find_first_not_of(" \t")) + 1;
    SourceLocation where{file, n, column, static_cast<int>(line.size())};
    auto error = [&](const std::string& message, const std::string& hint = "") {
      diagnostics->Error("PT0601", where, message, hint);
    };
    size_t space = line.find_first_of(" \t");
    std::string word(line.substr(0, space));
    std::string_view rest = space == std::string_view::npos ? std::string_view() : Trim(line.substr(space));
    if (word == "test") {
      if (rest.size() < 2 || rest.front() != '"' || rest.back() != '"') {
        error("a test needs a quoted name", "write test \"what it shows\"");
        continue;
      }
      TestCase c;
      c.name = std::string(rest.substr(1, rest.size() - 2));
      c.location = where;
      cases.push_back(std::move(c));
      continue;
    }
    if (cases.empty()) {
      error("\"" + word + "\" before the first test", "start a case with test \"name\"");
      continue;
    }
    TestCase& c = cases.back();
    TestStep step;
    step.location = where;
    bool ok = true;
    if (word == "client") {
      std::vector<std::string> args = SplitAny(rest.substr(0, rest.find(" expect")), " \t");
      if (args.empty()) {
        error("client needs an address");
        continue;
      }
      step.kind = TestStep::Kind::kClient;
      step.argument = args[0];
      step.name = args.size() > 1 ? args[1] : "unknown";
      size_t expect = rest.find("expect");
      step.expect = ParseExpect(expect == std::string_view::npos ? "" : rest.substr(expect), &ok);
    } else if (word == "helo" || word == "ehlo") {
      size_t end = rest.find_first_of(" \t");
      step.kind = TestStep::Kind::kHelo;
      step.argument = std::string(rest.substr(0, end));
      step.expect = ParseExpect(end == std::string_view::npos ? "" : rest.substr(end), &ok);
      if (step.argument.empty()) ok = false;
    } else if (word == "mail" || word == "rcpt") {
      std::string_view after = rest;
      std::string_view keyword = word == "mail" ? "from" : "to";
      if (!StartsWith(after, keyword)) {
        error(word + " needs \"" + std::string(keyword) + " <address>\"");
        continue;
      }
      std::string_view tail;
      if (!TakeAddress(after.substr(keyword.size()), &step.argument, &tail)) {
        error("missing <address>", "write " + word + " " + std::string(keyword) + " <user@example.com>");
        continue;
      }
      step.kind = word == "mail" ? TestStep::Kind::kMail : TestStep::Kind::kRcpt;
      step.expect = ParseExpect(tail, &ok);
    } else if (word == "data") {
      step.kind = TestStep::Kind::kData;
      step.expect = ParseExpect(rest, &ok);
    } else if (word == "reverse") {
      c.reverse_name = std::string(rest);
      continue;
    } else if (word == "service") {
      if (rest.empty()) {
        error("service needs a master.cf service name", "write service submission");
        continue;
      }
      c.service = std::string(rest);
      continue;
    } else if (word == "sasl") {
      c.sasl_username = std::string(rest);
      continue;
    } else if (word == "tls") {
      c.tls = true;
      std::vector<std::string> args = SplitAny(rest, " \t");
      if (!args.empty() && args[0] == "client-certificate") {
        // tls client-certificate [untrusted] [cn=NAME] [fingerprint=FP] [pubkey=FP]
        c.client_certificate = TestCase::Certificate{};
        for (size_t i = 1; i < args.size(); ++i) {
          const std::string& a = args[i];
          if (a == "untrusted") {
            c.client_certificate->trusted = false;
          } else if (a.starts_with("cn=")) {
            c.client_certificate->cn = a.substr(3);
          } else if (a.starts_with("fingerprint=")) {
            c.client_certificate->fingerprint = a.substr(12);
          } else if (a.starts_with("pubkey=")) {
            c.client_certificate->pubkey_fingerprint = a.substr(7);
          } else {
            error("bad tls line",
                  "write tls, or tls client-certificate [untrusted] [cn=NAME] [fingerprint=FP] "
                  "[pubkey=FP]");
          }
        }
      } else if (!args.empty()) {
        error("bad tls line",
              "write tls, or tls client-certificate [untrusted] [cn=NAME] [fingerprint=FP] "
              "[pubkey=FP]");
      }
      continue;
    } else if (word == "pipelining-violation") {
      c.pipelining_violation = true;
      continue;
    } else if (word == "size") {
      if (auto bytes = ParseDecimal(rest); bytes && *bytes >= 0) {
        c.size = *bytes;
      } else {
        error("size needs a number of bytes");
      }
      continue;
    } else if (word == "body") {
      c.body_lines.emplace_back(rest);
      continue;
    } else if (word == "header") {
      size_t colon = rest.find(':');
      if (colon == std::string_view::npos || colon == 0) {
        error("header needs NAME: VALUE");
      } else {
        c.headers.emplace_back(std::string(Trim(rest.substr(0, colon))), std::string(Trim(rest.substr(colon + 1))));
      }
      continue;
    } else if (word == "policy") {
      std::string_view spec = Trim(rest);
      size_t gap = spec.find_first_of(" \t");
      if (gap == std::string_view::npos) {
        error("bad policy fact", "write policy SERVICE ACTION, e.g. policy inet:127.0.0.1:10023 DEFER_IF_PERMIT");
      } else {
        c.policy_actions.emplace_back(std::string(spec.substr(0, gap)), std::string(Trim(spec.substr(gap))));
      }
      continue;
    } else if (word == "verify") {
      // verify ADDRESS STATUS [TEXT]
      std::string_view spec = Trim(rest);
      size_t gap = spec.find_first_of(" \t");
      std::string_view address = spec.substr(0, gap);
      std::string_view tail = gap == std::string_view::npos ? "" : Trim(spec.substr(gap));
      size_t gap2 = tail.find_first_of(" \t");
      std::optional<TestCase::Verification> v = TestCase::Verification::Parse(
          address, tail.substr(0, gap2), gap2 == std::string_view::npos ? "" : Trim(tail.substr(gap2)));
      if (address.empty() || !v) {
        error("bad verify fact",
              "write verify ADDRESS deliverable|undeliverable|deferred|in-progress|failed [TEXT], e.g. verify "
              "bob@example.com undeliverable host mx[192.0.2.1] said: 550 5.1.1 unknown user");
      } else {
        c.verifications.push_back(std::move(*v));
      }
      continue;
    } else if (word == "dns") {
      std::vector<std::string> args = SplitAny(rest, " \t");
      if (args.size() == 2 && args[0] == "missing") {
        c.missing_domains.push_back(ToLower(args[1]));
      } else if ((args.size() == 3 || args.size() == 4) && args[0] == "listed") {
        c.listings.push_back({args[1], args[2], args.size() == 4 ? args[3] : "127.0.0.2"});
      } else if (args.size() >= 3 && (args[0] == "mx" || args[0] == "ns" || args[0] == "a")) {
        c.records.push_back({args[0], ToLower(args[1]), std::vector<std::string>(args.begin() + 2, args.end())});
      } else {
        error("bad dns fact",
              "write dns missing DOMAIN, dns listed ZONE ADDRESS [VALUE], dns mx DOMAIN HOST..., dns ns DOMAIN "
              "HOST... or dns a NAME ADDRESS...");
      }
      continue;
    } else {
      error("unknown test line \"" + word + "\"",
            "lines are test, service, client, reverse, helo, sasl, tls, size, header, body, policy, dns, verify, mail "
            "from, "
            "rcpt to, data");
      continue;
    }
    if (!ok) {
      error("bad expectation", "write expect CODE [TEXT] [route TRANSPORT:NEXTHOP]");
      continue;
    }
    c.steps.push_back(std::move(step));
  }
  return cases;
}

}  // namespace postern::cli
