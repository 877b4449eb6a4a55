// case_fold.h: how lookup keys are case-folded, as Postfix folds them: with
// smtputf8_enable = yes (the default from compatibility_level 1), UTF-8 keys
// are folded by Unicode rules (ICU, as Postfix's casefold()), otherwise and
// for keys that are not valid UTF-8, only ASCII letters are lowered.
#pragma once

#include <string>
#include <string_view>

namespace postern::mail {

enum class CaseFold {
  kNone,   // keys are case-sensitive (parameter names, file paths)
  kAscii,  // A-Z only
  kUtf8,   // Unicode case folding of UTF-8 (ASCII keys: A-Z)
};

std::string FoldCase(std::string_view key, CaseFold fold);

// Whether FoldCase could change `key`.
bool MayFold(std::string_view key, CaseFold fold);

// The mode Postfix uses for a configuration's smtputf8_enable.
inline CaseFold CaseFoldFor(bool smtputf8_enable) { return smtputf8_enable ? CaseFold::kUtf8 : CaseFold::kAscii; }

}  // namespace postern::mail
