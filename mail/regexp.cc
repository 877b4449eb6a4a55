// regexp.cc: see regexp.h.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "mail/regexp.h"

#include <pcre2.h>

#include "util/strings.h"

namespace postern::mail {

Regexp::~Regexp() { pcre2_code_free(code_); }

Result<std::shared_ptr<const Regexp>> Regexp::Compile(std::string_view pattern, RegexpFlags flags) {
  uint32_t options = 0;
  if (flags.caseless) options |= PCRE2_CASELESS;
  if (flags.extended) options |= PCRE2_EXTENDED;
  if (flags.multiline) options |= PCRE2_MULTILINE;
  if (flags.dotall) options |= PCRE2_DOTALL;
  if (flags.anchored) options |= PCRE2_ANCHORED;
  if (flags.dollar_endonly) options |= PCRE2_DOLLAR_ENDONLY;
  if (flags.ungreedy) options |= PCRE2_UNGREEDY;
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error_code,
                                   &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof message);
    return Status::Permanent("error in regex at offset " + std::to_string(error_offset) + ": " +
                             reinterpret_cast<const char*>(message));
  }
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // best effort; falls back to the interpreter
  uint32_t captures = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &captures);
  return std::shared_ptr<const Regexp>(new Regexp(code, static_cast<int>(captures), pattern, flags));
}

bool Regexp::Match(std::string_view subject, std::vector<std::string>* groups) const {
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(code_, nullptr);
  int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, data, nullptr);
  bool matched = rc >= 0;
  if (matched && groups != nullptr) {
    groups->assign(static_cast<size_t>(capture_count_) + 1, std::string());
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    uint32_t pairs = pcre2_get_ovector_count(data);
    for (uint32_t i = 0; i < pairs && i < groups->size(); ++i) {
      if (ovector[2 * i] == PCRE2_UNSET) continue;
      (*groups)[i] = std::string(subject.substr(ovector[2 * i], ovector[2 * i + 1] - ovector[2 * i]));
    }
  }
  pcre2_match_data_free(data);
  return matched;
}

namespace {

// Visits each reference in `text`: literal runs and $n indexes.
template <typename Literal, typename Index>
bool ScanReplacement(std::string_view text, Literal on_literal, Index on_index, std::string* error) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      on_literal(text[i++]);
      continue;
    }
    ++i;
    if (i < text.size() && text[i] == '$') {
      on_literal('$');
      ++i;
      continue;
    }
    bool braced = i < text.size() && text[i] == '{';
    if (braced) ++i;
    size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    long long index = 0;
    if (!ParseDecimal(text.substr(start, i - start), &index) || index > 99) {
      if (error) *error = "bad $number in replacement text \"" + std::string(text) + "\"";
      return false;
    }
    if (braced) {
      if (i >= text.size() || text[i] != '}') {
        if (error) *error = "missing '}' in replacement text \"" + std::string(text) + "\"";
        return false;
      }
      ++i;
    }
    on_index(static_cast<int>(index));
  }
  return true;
}

}  // namespace

int MaxReplacementIndex(std::string_view text, std::string* error) {
  int max_index = 0;
  ScanReplacement(
      text, [](char) {}, [&](int n) { max_index = std::max(max_index, n); }, error);
  return max_index;
}

std::string ExpandReplacement(std::string_view text, const std::vector<std::string>& groups) {
  std::string out;
  ScanReplacement(
      text, [&](char c) { out += c; },
      [&](int n) {
        if (static_cast<size_t>(n) < groups.size()) out += groups[static_cast<size_t>(n)];
      },
      nullptr);
  return out;
}

}  // namespace postern::mail
