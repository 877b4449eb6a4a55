// macro_expander.cc: see macro_expander.h.
#include "compiler/config/macro_expander.h"

#include <algorithm>

#include "util/strings.h"

namespace postern::config {
namespace {

// Postfix gives up at this nesting depth ("unreasonable macro call nesting").
constexpr size_t kMaxDepth = 100;

void SkipSpace(std::string_view s, size_t* pos) {
  while (*pos < s.size() && IsSpace(s[*pos])) ++*pos;
}

// Parses "{...}" with balanced braces at *pos; returns the inside.
std::optional<std::string_view> ParseBraced(std::string_view s, size_t* pos) {
  if (*pos >= s.size() || s[*pos] != '{') return std::nullopt;
  int level = 0;
  for (size_t i = *pos; i < s.size(); ++i) {
    if (s[i] == '{') ++level;
    if (s[i] == '}' && --level == 0) {
      std::string_view inside = s.substr(*pos + 1, i - *pos - 1);
      *pos = i + 1;
      return inside;
    }
  }
  return std::nullopt;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return IsDigit(c); });
}

// Splits "3.6.1" into numbers; nullopt unless it is digits separated by
// single dots.
std::optional<std::vector<long long>> ParseLevel(std::string_view s) {
  std::vector<long long> parts;
  for (const std::string& piece : SplitAny(s, ".")) {
    long long n = 0;
    if (!ParseDecimal(piece, &n)) return std::nullopt;
    parts.push_back(n);
  }
  if (parts.empty() || s.front() == '.' || s.back() == '.' || s.find("..") != std::string_view::npos) {
    return std::nullopt;
  }
  return parts;
}

}  // namespace

std::optional<int> CompareCompatibilityLevels(std::string_view a, std::string_view b) {
  auto left = ParseLevel(a);
  auto right = ParseLevel(b);
  if (!left || !right) return std::nullopt;
  size_t n = std::max(left->size(), right->size());
  left->resize(n, 0);
  right->resize(n, 0);
  if (*left < *right) return -1;
  if (*left > *right) return 1;
  return 0;
}

void MacroExpander::Report(Problem::Kind kind, std::string name, std::string message) {
  for (const Problem& p : problems_) {
    if (p.kind == kind && p.name == name && p.message == message) return;
  }
  problems_.push_back({kind, std::move(name), std::move(message)});
}

std::string MacroExpander::Expand(std::string_view text, std::string_view self) {
  failed_ = false;
  if (!self.empty()) stack_.emplace_back(self);
  std::string result = ExpandText(text);
  if (!self.empty()) stack_.pop_back();
  return failed_ ? std::string() : result;
}

std::string MacroExpander::ExpandText(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c != '$') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {  // $$ is a literal $
      out += '$';
      i += 2;
      continue;
    }
    ++i;
    if (i < text.size() && (text[i] == '{' || text[i] == '(')) {
      char open = text[i];
      char close = open == '{' ? '}' : ')';
      int level = 1;
      size_t end = i + 1;
      while (end < text.size() && level > 0) {
        if (text[end] == open) ++level;
        if (text[end] == close) --level;
        ++end;
      }
      if (level > 0) {
        Report(Problem::Kind::kSyntax, "", "truncated macro reference: \"" + std::string(text) + "\"");
        failed_ = true;
        return out;
      }
      out += ExpandReference(text.substr(i + 1, end - i - 2));
      i = end;
      continue;
    }
    size_t end = i;
    while (end < text.size() && (IsAlnum(text[end]) || text[end] == '_')) ++end;
    if (end == i) {
      Report(Problem::Kind::kSyntax, "", "empty macro name: \"" + std::string(text) + "\"");
      failed_ = true;
      return out;
    }
    out += ExpandName(text.substr(i, end - i));
    i = end;
  }
  return out;
}

std::string MacroExpander::ExpandName(std::string_view name) {
  if (std::find(stack_.begin(), stack_.end(), name) != stack_.end()) {
    std::string chain;
    auto first = std::find(stack_.begin(), stack_.end(), name);
    for (auto it = first; it != stack_.end(); ++it) chain += "$" + *it + " -> ";
    chain += "$" + std::string(name);
    Report(Problem::Kind::kLoop, std::string(name), "parameter refers to itself: " + chain);
    failed_ = true;
    return "";
  }
  if (stack_.size() >= kMaxDepth) {
    Report(Problem::Kind::kLoop, std::string(name), "unreasonable macro call nesting: \"" + std::string(name) + "\"");
    failed_ = true;
    return "";
  }
  std::optional<std::string> raw = lookup_(name);
  if (!raw) {
    Report(Problem::Kind::kUndefined, std::string(name), "undefined parameter: " + std::string(name));
    return "";
  }
  stack_.emplace_back(name);
  std::string value = ExpandText(*raw);
  stack_.pop_back();
  return value;
}

std::optional<std::string> MacroExpander::EvaluateRelational(std::string_view body) {
  size_t pos = 0;
  SkipSpace(body, &pos);
  auto lhs = ParseBraced(body, &pos);
  if (!lhs) return std::nullopt;
  SkipSpace(body, &pos);
  size_t op_start = pos;
  while (pos < body.size() && std::string_view("=!<>").find(body[pos]) != std::string_view::npos) ++pos;
  std::string_view op = body.substr(op_start, pos - op_start);
  size_t suffix_start = pos;
  while (pos < body.size() && IsAlpha(body[pos])) ++pos;
  std::string_view suffix = body.substr(suffix_start, pos - suffix_start);
  static constexpr std::string_view kOps[] = {"==", "!=", "<", "<=", ">", ">="};
  if (std::find(std::begin(kOps), std::end(kOps), op) == std::end(kOps)) {
    Report(Problem::Kind::kSyntax, "",
           "\"==\", \"!=\", \"<\", \"<=\", \">=\" or \">\" expected in \"${" + std::string(body) + "}\"");
    return std::nullopt;
  }
  if (!suffix.empty() && suffix != "level" && suffix != "length") {
    Report(Problem::Kind::kSyntax, "", "bad operator suffix \"" + std::string(suffix) + "\"");
    return std::nullopt;
  }
  SkipSpace(body, &pos);
  auto rhs = ParseBraced(body, &pos);
  if (!rhs) {
    Report(Problem::Kind::kSyntax, "", "\"{expression}\" expected in \"${" + std::string(body) + "}\"");
    return std::nullopt;
  }
  std::string left = ExpandText(*lhs);
  std::string right = ExpandText(*rhs);
  int cmp = 0;
  if (suffix == "level") {
    auto c = CompareCompatibilityLevels(left, right);
    if (!c) {
      Report(Problem::Kind::kSyntax, "",
             "malformed compatibility level syntax: \"" + (ParseLevel(left) ? right : left) + "\"");
      return std::nullopt;
    }
    cmp = *c;
  } else if (suffix == "length") {
    cmp = left.size() < right.size() ? -1 : (left.size() > right.size() ? 1 : 0);
  } else if (AllDigits(left) && AllDigits(right)) {
    long long l = 0;
    long long r = 0;
    if (ParseDecimal(left, &l) && ParseDecimal(right, &r)) cmp = l < r ? -1 : (l > r ? 1 : 0);
  } else {
    cmp = left.compare(right);
  }
  bool truth = (op == "==" && cmp == 0) || (op == "!=" && cmp != 0) || (op == "<" && cmp < 0) ||
               (op == "<=" && cmp <= 0) || (op == ">" && cmp > 0) || (op == ">=" && cmp >= 0);

  SkipSpace(body, &pos);
  if (pos == body.size()) return truth ? std::string("true") : std::string();
  char which = body[pos];
  if (which != '?' && which != ':') {
    Report(Problem::Kind::kSyntax, "", "\"?\" or \":\" expected in \"${" + std::string(body) + "}\"");
    return std::nullopt;
  }
  ++pos;
  SkipSpace(body, &pos);
  std::string_view when_true;
  std::string_view when_false;
  std::string_view& first = which == '?' ? when_true : when_false;
  if (pos < body.size() && body[pos] == '{') {
    auto value = ParseBraced(body, &pos);
    if (!value) return std::nullopt;
    first = *value;
    SkipSpace(body, &pos);
    if (pos < body.size()) {
      if (which != '?' || body[pos] != ':') {
        Report(Problem::Kind::kSyntax, "", "\":\" expected in \"${" + std::string(body) + "}\"");
        return std::nullopt;
      }
      ++pos;
      SkipSpace(body, &pos);
      if (pos < body.size() && body[pos] == '{') {
        auto other = ParseBraced(body, &pos);
        if (!other) return std::nullopt;
        when_false = *other;
      } else {
        when_false = body.substr(pos);
      }
    }
  } else {
    first = body.substr(pos);
  }
  return ExpandText(truth ? when_true : when_false);
}

std::string MacroExpander::ExpandReference(std::string_view body) {
  size_t pos = 0;
  SkipSpace(body, &pos);
  if (pos < body.size() && body[pos] == '{') {
    std::optional<std::string> value = EvaluateRelational(body);
    if (!value) {
      failed_ = true;
      return "";
    }
    return *value;
  }
  size_t name_start = pos;
  while (pos < body.size() && (IsAlnum(body[pos]) || body[pos] == '_')) ++pos;
  std::string_view name = body.substr(name_start, pos - name_start);
  size_t after_name = pos;
  SkipSpace(body, &pos);
  if (name.empty() || (pos < body.size() && body[pos] != '?' && body[pos] != ':') ||
      (pos < body.size() && after_name != pos)) {
    Report(Problem::Kind::kSyntax, "", "attribute name syntax error in \"${" + std::string(body) + "}\"");
    failed_ = true;
    return "";
  }
  if (pos == body.size()) return ExpandName(name);

  // ${name?value} / ${name:value}, or ${name?{value}:{value}}.
  char which = body[pos++];
  std::string current = ExpandName(name);
  bool set = !current.empty();
  std::string_view when_set;
  std::string_view when_unset;
  if (which == '?' && pos < body.size() && body[pos] == '{') {
    auto value = ParseBraced(body, &pos);
    if (!value) {
      when_set = body.substr(pos);
    } else {
      when_set = *value;
      SkipSpace(body, &pos);
      if (pos < body.size()) {
        if (body[pos] != ':') {
          Report(Problem::Kind::kSyntax, "", "\":\" expected in \"${" + std::string(body) + "}\"");
          failed_ = true;
          return "";
        }
        ++pos;
        SkipSpace(body, &pos);
        auto other = ParseBraced(body, &pos);
        when_unset = other ? *other : body.substr(pos);
      }
    }
  } else if (which == ':' && pos < body.size() && body[pos] == '{') {
    auto value = ParseBraced(body, &pos);
    SkipSpace(body, &pos);
    if (!value || pos != body.size()) {
      Report(Problem::Kind::kSyntax, "", "unexpected input in \"${" + std::string(body) + "}\"");
      failed_ = true;
      return "";
    }
    when_unset = *value;
  } else if (which == '?') {
    when_set = body.substr(pos);
  } else {
    when_unset = body.substr(pos);
  }
  return ExpandText(set ? when_set : when_unset);
}

}  // namespace postern::config
