// case_fold.cc: see case_fold.h.
#include "mail/case_fold.h"

#include <unicode/ucasemap.h>

#include <memory>

#include "util/strings.h"

namespace postern::mail {
namespace {

bool IsAscii(std::string_view key) {
  for (char c : key) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// ICU's full case folding of UTF-8, or nullopt for invalid input.
bool FoldUtf8(std::string_view key, std::string* out) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<UCaseMap, decltype(&ucasemap_close)> map(ucasemap_open(nullptr, U_FOLD_CASE_DEFAULT, &status),
                                                           &ucasemap_close);
  if (U_FAILURE(status)) return false;
  out->resize(key.size() * 3 + 16);
  int32_t n = ucasemap_utf8FoldCase(map.get(), out->data(), static_cast<int32_t>(out->size()), key.data(),
                                    static_cast<int32_t>(key.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    status = U_ZERO_ERROR;
    out->resize(static_cast<size_t>(n));
    n = ucasemap_utf8FoldCase(map.get(), out->data(), n, key.data(), static_cast<int32_t>(key.size()), &status);
  }
  if (U_FAILURE(status) || n < 0) return false;
  out->resize(static_cast<size_t>(n));
  // ICU replaces ill-formed sequences; Postfix folds only valid UTF-8.
  return true;
}

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size() || (n == 2 && c < 0xC2)) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

}  // namespace

bool MayFold(std::string_view key, CaseFold fold) {
  if (fold == CaseFold::kNone) return false;
  for (char c : key) {
    if ((c >= 'A' && c <= 'Z') || (fold == CaseFold::kUtf8 && static_cast<unsigned char>(c) >= 0x80)) return true;
  }
  return false;
}

std::string FoldCase(std::string_view key, CaseFold fold) {
  if (fold == CaseFold::kNone) return std::string(key);
  if (fold == CaseFold::kAscii || IsAscii(key) || !ValidUtf8(key)) return ToLower(key);
  std::string out;
  if (!FoldUtf8(key, &out)) return ToLower(key);
  return out;
}

}  // namespace postern::mail
