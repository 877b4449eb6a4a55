// suggest.cc: see suggest.h.
#include "util/suggest.h"

#include <algorithm>

namespace postern {

size_t EditDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::string Suggest(std::string_view word, const std::vector<std::string_view>& candidates) {
  size_t limit = std::min<size_t>(3, std::max<size_t>(1, word.size() / 3));
  size_t best_distance = limit + 1;
  std::string_view best;
  for (std::string_view candidate : candidates) {
    // Cheap bound before the quadratic distance.
    size_t diff = candidate.size() > word.size() ? candidate.size() - word.size() : word.size() - candidate.size();
    if (diff > limit) continue;
    size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return std::string(best);
}

}  // namespace postern
