// regexp.h: a compiled PCRE2 pattern with Postfix's table flags, and $n
// replacement text expansion, for regexp: and pcre: tables.
//
// Thread-safe after construction: Match() allocates its own match data.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

struct pcre2_real_code_8;

namespace postern::mail {

struct RegexpFlags {
  bool caseless = true;         // i: Postfix's default is case-insensitive
  bool extended = false;        // x
  bool multiline = false;       // m
  bool dotall = false;          // s
  bool anchored = false;        // A
  bool dollar_endonly = false;  // E
  bool ungreedy = false;        // U
};

class Regexp {
 public:
  ~Regexp();
  Regexp(const Regexp&) = delete;
  Regexp& operator=(const Regexp&) = delete;

  // A permanent error says what is wrong and at which offset.
  static Result<std::shared_ptr<const Regexp>> Compile(std::string_view pattern, RegexpFlags flags);

  // Whether `subject` matches; on a match, fills `groups` (index 0 is the
  // whole match; unset groups are empty) when it is not null.
  bool Match(std::string_view subject, std::vector<std::string>* groups) const;
  int capture_count() const { return capture_count_; }
  // What it was compiled from, so an image can store and recompile it.
  const std::string& pattern() const { return pattern_; }
  const RegexpFlags& flags() const { return flags_; }

 private:
  Regexp(pcre2_real_code_8* code, int capture_count, std::string_view pattern, RegexpFlags flags)
      : code_(code), capture_count_(capture_count), pattern_(pattern), flags_(flags) {}

  pcre2_real_code_8* code_;
  int capture_count_;
  std::string pattern_;
  RegexpFlags flags_;
};

// The largest $n / ${n} index in a replacement text (0 when none). Sets
// *error for a malformed reference ("$" at the end, "${1" unclosed).
int MaxReplacementIndex(std::string_view text, std::string* error);
// Replaces $n and ${n} with groups[n] and $$ with $.
std::string ExpandReplacement(std::string_view text, const std::vector<std::string>& groups);

}  // namespace postern::mail
