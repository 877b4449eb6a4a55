// access_result.cc: see access_result.h.
#include "mail/access_result.h"

#include <algorithm>

#include "util/strings.h"

namespace postern::mail {

AccessResult ParseAccessResult(std::string_view value) {
  using Verb = AccessResult::Verb;
  std::string_view v = Trim(value);
  size_t end = v.find_first_of(" \t");
  std::string word = ToUpper(v.substr(0, end));
  AccessResult r;
  r.text = std::string(end == std::string_view::npos ? std::string_view() : Trim(v.substr(end)));
  static const std::pair<const char*, Verb> kWords[] = {
      {"DUNNO", Verb::kDunno},
      {"REJECT", Verb::kReject},
      {"DEFER", Verb::kDefer},
      {"HANGUP", Verb::kHangup},
      {"INFO", Verb::kInfo},
      {"WARN", Verb::kWarn},
      {"FILTER", Verb::kFilter},
      {"HOLD", Verb::kHold},
      {"DISCARD", Verb::kDiscard},
      {"REDIRECT", Verb::kRedirect},
      {"BCC", Verb::kBcc},
      {"DEFER_IF_PERMIT", Verb::kDeferIfPermit},
      {"DEFER_IF_REJECT", Verb::kDeferIfReject},
      {"PREPEND", Verb::kPrepend},
  };
  for (const auto& [w, verb] : kWords) {
    if (word == w) {
      r.verb = verb;
      return r;
    }
  }
  if (!v.empty() && std::all_of(v.begin(), v.end(), IsDigit)) {
    r.verb = Verb::kOk;  // all-numeric: out-of-band authentication stamps
    return r;
  }
  if (end == 3 && !r.text.empty() && (v[0] == '4' || v[0] == '5') && IsDigit(v[1]) && IsDigit(v[2])) {
    r.verb = Verb::kCoded;
    r.code = std::string(v.substr(0, 3));
    return r;
  }
  if (word == "OK" || word == "RELAY") {
    r.verb = Verb::kOk;
    return r;
  }
  r.verb = v.find(':') != std::string_view::npos ? Verb::kTableReference : Verb::kRestrictions;
  return r;
}

}  // namespace postern::mail
