// reply_template.cc: see reply_template.h. The parse follows mac_parse(3)
// (literal text and $ references) and the expansion mac_expand(3)'s
// callback (the ? and : operators, their optional {} operands).
#include "mail/reply_template.h"

#include "util/strings.h"

namespace postern::mail {
namespace {

constexpr std::string_view kWhitespace = " \t\r\n";
constexpr int kMaxNesting = 100;

size_t SkipWhitespace(std::string_view text, size_t at) {
  while (at < text.size() && kWhitespace.find(text[at]) != std::string_view::npos) ++at;
  return at;
}

class Expander {
 public:
  Expander(const TemplateLookup& lookup, std::optional<std::string_view> filter, bool scan, TemplateExpansion* out)
      : lookup_(lookup), filter_(filter), scan_(scan), out_(out) {}

  void Parse(std::string_view text) {
    std::string literal;
    size_t i = 0;
    while (i < text.size() && out_->error.empty()) {
      if (text[i] != '$') {
        literal += text[i++];
        continue;
      }
      if (i + 1 < text.size() && text[i + 1] == '$') {
        literal += '$';
        i += 2;
        continue;
      }
      Append(literal);
      literal.clear();
      ++i;
      std::string_view expression;
      if (i < text.size() && (text[i] == '{' || text[i] == '(')) {
        char open = text[i], close = open == '{' ? '}' : ')';
        int level = 1;
        size_t end = i + 1;
        for (; level > 0; ++end) {
          if (end >= text.size()) {
            Fail("truncated macro reference: \"" + std::string(text) + "\"");
            return;
          }
          if (text[end] == open) ++level;
          if (text[end] == close) --level;
        }
        expression = text.substr(i + 1, end - i - 2);
        i = end;
      } else {
        size_t end = i;
        while (end < text.size() && (IsAlnum(text[end]) || text[end] == '_')) ++end;
        expression = text.substr(i, end - i);
        i = end;
      }
      if (expression.empty()) {
        Fail("empty macro name: \"" + std::string(text) + "\"");
        return;
      }
      Expression(expression);
    }
    if (out_->error.empty()) Append(literal);
  }

 private:
  void Fail(std::string why) {
    if (out_->error.empty()) out_->error = std::move(why);
  }

  void Append(std::string_view literal) {
    if (!scan_) out_->text.append(literal);
  }

  // A {} operand at `at` (after whitespace): its payload, `at` moved past
  // it and the whitespace after it. nullopt when there is none.
  std::optional<std::string_view> CurlyOperand(std::string_view expression, size_t* at) {
    size_t open = SkipWhitespace(expression, *at);
    if (open >= expression.size() || expression[open] != '{') return std::nullopt;
    int level = 1;
    size_t end = open + 1;
    for (; end < expression.size(); ++end) {
      if (expression[end] == '{') ++level;
      if (expression[end] == '}' && --level == 0) break;
    }
    if (level != 0) {
      Fail("unbalanced {} in attribute expression: \"" + std::string(expression.substr(open)) + "\"");
      return std::string_view();
    }
    *at = SkipWhitespace(expression, end + 1);
    return expression.substr(open + 1, end - open - 1);
  }

  // The operand of ? or : at `at`: a {} payload, or the rest of the text.
  std::string_view Operand(std::string_view expression, size_t* at) {
    if (std::optional<std::string_view> curly = CurlyOperand(expression, at)) return *curly;
    std::string_view rest = expression.substr(*at);
    *at = expression.size();
    return rest;
  }

  void Expression(std::string_view expression) {
    if (++level_ > kMaxNesting) Fail("unreasonable macro call nesting: \"" + std::string(expression) + "\"");
    if (!out_->error.empty()) return;
    size_t start = SkipWhitespace(expression, 0);
    if (start < expression.size() && expression[start] == '{') {
      Fail("relational expressions are not supported in reply templates: \"" + std::string(expression) + "\"");
      return;
    }
    // The name, then nothing or ? or : (whitespace allowed before them).
    size_t at = start;
    char op = 0;
    std::string_view name;
    while (true) {
      size_t next = SkipWhitespace(expression, at);
      if (next == expression.size()) {
        name = expression.substr(start, at - start);
        at = next;
        break;
      }
      if (expression[next] == '?' || expression[next] == ':') {
        name = expression.substr(start, at - start);
        op = expression[next];
        at = next + 1;
        break;
      }
      if (!IsAlnum(expression[at]) && expression[at] != '_') {
        Fail("attribute name syntax error at: \"..." + std::string(expression.substr(0, at)) + ">>>" +
             std::string(expression.substr(at, 20)) + "\"");
        return;
      }
      ++at;
    }
    std::optional<std::string> value = lookup_(name);
    bool set = value && !value->empty();
    if (op == '?') {
      std::string_view if_set = Operand(expression, &at);
      if (!out_->error.empty()) return;
      if (set || scan_) Parse(if_set);
      if (at == expression.size() || !out_->error.empty()) {
        --level_;
        return;
      }
      if (expression[at] != ':') {
        Fail("\":\" expected at: \"..." + std::string(if_set) + "}>>>" + std::string(expression.substr(at, 20)) + "\"");
        return;
      }
      ++at;
      op = ':';
    }
    if (op == ':') {
      std::string_view if_empty = Operand(expression, &at);
      if (!out_->error.empty()) return;
      if (!set || scan_) Parse(if_empty);
      if (at != expression.size()) {
        Fail("unexpected input at: \"..." + std::string(if_empty) + "}>>>" + std::string(expression.substr(at, 20)) +
             "\"");
        return;
      }
    } else if (!value) {
      if (out_->undefined.empty()) out_->undefined = std::string(name);
    } else if (set && !scan_) {
      for (char c : *value) out_->text += filter_ && filter_->find(c) == std::string_view::npos ? '_' : c;
    }
    --level_;
  }

  const TemplateLookup& lookup_;
  std::optional<std::string_view> filter_;
  bool scan_;
  TemplateExpansion* out_;
  int level_ = 0;
};

}  // namespace

TemplateExpansion ExpandTemplate(std::string_view text, const TemplateLookup& lookup,
                                 std::optional<std::string_view> filter, bool scan) {
  TemplateExpansion out;
  Expander(lookup, filter, scan, &out).Parse(text);
  return out;
}

std::span<const std::string_view> RblTemplateNames() {
  static constexpr std::string_view kNames[] = {
      "rbl_code",      "rbl_domain",          "rbl_reason",     "rbl_txt",          "rbl_what",
      "rbl_class",     "server_name",         "client",         "client_address",   "client_port",
      "client_name",   "reverse_client_name", "helo_name",      "sender",           "sender_name",
      "sender_domain", "recipient",           "recipient_name", "recipient_domain", "localtime",
  };
  return kNames;
}

bool IsRblTemplateName(std::string_view name) {
  for (std::string_view n : RblTemplateNames()) {
    if (n == name) return true;
  }
  return false;
}

}  // namespace postern::mail
