// suggest.h: "did you mean ...?" hints by edit distance.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace postern {

// Damerau-Levenshtein (optimal string alignment) distance.
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible
// typo (distance at most a third of the word's length, and at most 3);
// "" otherwise. Ties go to the first candidate in order.
std::string Suggest(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace postern
