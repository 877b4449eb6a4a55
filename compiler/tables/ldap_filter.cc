// ldap_filter.cc: see ldap_filter.h.
#include "compiler/tables/ldap_filter.h"

#include <set>

#include "util/strings.h"

namespace postern::tables {
namespace {

class Deriver {
 public:
  explicit Deriver(std::string_view text) : text_(text) {}

  Result<LdapEnumeration> Run() {
    std::string_view trimmed = Trim(text_);
    if (trimmed.empty()) return Status::Permanent("empty query_filter");
    pos_ = static_cast<size_t>(trimmed.data() - text_.data());
    end_ = pos_ + trimmed.size();
    if (text_[pos_] == '(') {
      Filter(/*negated=*/false);
    } else {
      Item(end_, /*negated=*/false);  // Postfix's bare form: attr=%s
    }
    if (error_.empty() && pos_ != end_) error_ = "text after the filter: \"" + std::string(text_.substr(pos_)) + "\"";
    if (!error_.empty()) return Status::Permanent(error_);
    result_.filter = out_.front() == '(' ? out_ : "(" + out_ + ")";
    std::set<char> forms;
    for (const LdapKeyAttribute& key : result_.key_attributes) forms.insert(key.part);
    if (forms.empty()) return Status::Permanent("the filter does not compare an attribute with the key (%s, %u or %d)");
    auto key_part = mail::KeyPartOfForms(forms);
    if (!key_part) return Status::Permanent("the filter compares the key as %s and as %u or %d");
    result_.key_part = *key_part;
    return result_;
  }

 private:
  // "(" ( "&" filters | "|" filters | "!" filter | item ) ")"
  void Filter(bool negated) {
    if (!error_.empty()) return;
    if (pos_ >= end_ || text_[pos_] != '(') {
      error_ = "expected '(' at offset " + std::to_string(pos_);
      return;
    }
    out_ += '(';
    ++pos_;
    if (pos_ < end_ && (text_[pos_] == '&' || text_[pos_] == '|' || text_[pos_] == '!')) {
      char op = text_[pos_++];
      out_ += op;
      SkipSpace();
      if (pos_ >= end_ || text_[pos_] != '(') {
        error_ = std::string("expected a filter after '") + op + "'";
        return;
      }
      do {
        Filter(negated || op == '!');
        SkipSpace();
      } while (error_.empty() && op != '!' && pos_ < end_ && text_[pos_] == '(');
    } else {
      size_t close = pos_;
      while (close < end_ && text_[close] != ')' && text_[close] != '(') ++close;
      Item(close, negated);
    }
    if (!error_.empty()) return;
    if (pos_ >= end_ || text_[pos_] != ')') {
      error_ = "missing ')'";
      return;
    }
    out_ += ')';
    ++pos_;
  }

  // attr op value, up to `close`.
  void Item(size_t close, bool negated) {
    std::string_view item = text_.substr(pos_, close - pos_);
    pos_ = close;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      error_ = "\"" + std::string(item) + "\" is not an attribute assertion";
      return;
    }
    std::string_view value = item.substr(eq + 1);
    if (!HasPlaceholder(value)) {
      for (size_t i = 0; i < item.size(); ++i) {  // %% is a '%'
        out_ += item[i];
        if (item[i] == '%' && i + 1 < item.size() && item[i + 1] == '%') ++i;
      }
      return;
    }
    std::string_view attribute = Trim(item.substr(0, eq));
    char op = attribute.back();
    if (op == '~' || op == '<' || op == '>' || op == ':') {
      error_ = "the key in \"" + std::string(item) + "\" is not compared for equality";
      return;
    }
    if (negated) {
      error_ = "the key in \"" + std::string(item) + "\" is under a negation";
      return;
    }
    char part = 0;
    if (value == "%s" || value == "%S" || value == "%u@%d" || value == "%U@%D") {
      part = 's';
    } else if (value == "%u" || value == "%U") {
      part = 'u';
    } else if (value == "%d" || value == "%D") {
      part = 'd';
    } else {
      error_ = "\"" + std::string(item) + "\" is not of the form attribute=%s (or %u, %d, %u@%d)";
      return;
    }
    result_.key_attributes.push_back({std::string(attribute), part});
    out_ += std::string(attribute) + "=*";
  }

  void SkipSpace() {
    while (pos_ < end_ && IsSpace(text_[pos_])) ++pos_;
  }

  static bool HasPlaceholder(std::string_view value) {
    for (size_t i = 0; i + 1 < value.size(); ++i) {
      if (value[i] != '%') continue;
      if (value[i + 1] != '%') return true;
      ++i;
    }
    return false;
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t end_ = 0;
  std::string out_;
  std::string error_;
  LdapEnumeration result_;
};

}  // namespace

Result<LdapEnumeration> DeriveLdapEnumeration(std::string_view query_filter) { return Deriver(query_filter).Run(); }

}  // namespace postern::tables
