// macro_expander.h: Postfix's $name expansion (mac_expand(3)) for main.cf
// and master.cf values.
//
// Supports $name, ${name}, $(name), $$, ${name?value}, ${name:value},
// ${name?{value}:{value}}, and the relational forms
// ${{text} op {text}?{value}:{value}} with ==, !=, <, <=, >, >= and the
// `level` variants that compare compatibility levels (e.g. `<level`).
// A name counts as set when its value is not empty. Values of named
// parameters are expanded recursively; a reference cycle is reported once
// and expands to nothing.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern::config {

class MacroExpander {
 public:
  // Returns the raw (unexpanded) value of a parameter, or nullopt when the
  // name is undefined.
  using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

  struct Problem {
    enum class Kind { kUndefined, kLoop, kSyntax };
    Kind kind;
    std::string name;     // the parameter involved, if any
    std::string message;  // human-readable
  };

  explicit MacroExpander(Lookup lookup) : lookup_(std::move(lookup)) {}

  // Expands `text`. `self` names the parameter whose value this is, so that
  // a loop through it is caught at the first step.
  std::string Expand(std::string_view text, std::string_view self = "");

  // Problems seen since construction, each reported once.
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::string ExpandText(std::string_view text);
  std::string ExpandReference(std::string_view body);
  std::string ExpandName(std::string_view name);
  std::optional<std::string> EvaluateRelational(std::string_view body);
  void Report(Problem::Kind kind, std::string name, std::string message);

  Lookup lookup_;
  std::vector<std::string> stack_;  // names being expanded, outermost first
  std::vector<Problem> problems_;
  bool failed_ = false;
};

// Compares two Postfix compatibility levels ("2", "3.6", "3.6.1"): <0, 0, >0.
// Returns nullopt when either is not a level.
std::optional<int> CompareCompatibilityLevels(std::string_view a, std::string_view b);

}  // namespace postern::config
