// case_fold.cc: see case_fold.h.
#include "mail/case_fold.h"

#include <unicode/ucasemap.h>

#include "util/strings.h"

namespace postern::mail {
namespace {

bool IsAscii(std::string_view key) {
  for (char c : key) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// One case map for the process: ICU's folding functions take it const, so
// every thread may use it.
const UCaseMap* CaseMap() {
  static const UCaseMap* map = [] {
    UErrorCode status = U_ZERO_ERROR;
    UCaseMap* m = ucasemap_open(nullptr, U_FOLD_CASE_DEFAULT, &status);
    return U_FAILURE(status) ? nullptr : m;
  }();
  return map;
}

// ICU's full case folding of (valid) UTF-8; false when ICU cannot.
bool FoldUtf8(std::string_view key, std::string* out) {
  const UCaseMap* map = CaseMap();
  if (map == nullptr) return false;
  UErrorCode status = U_ZERO_ERROR;
  out->resize(key.size() * 3 + 16);
  int32_t n = ucasemap_utf8FoldCase(map, out->data(), static_cast<int32_t>(out->size()), key.data(),
                                    static_cast<int32_t>(key.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    status = U_ZERO_ERROR;
    out->resize(static_cast<size_t>(n));
    n = ucasemap_utf8FoldCase(map, out->data(), n, key.data(), static_cast<int32_t>(key.size()), &status);
  }
  if (U_FAILURE(status) || n < 0) return false;
  out->resize(static_cast<size_t>(n));
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
