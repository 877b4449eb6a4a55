// ast.h: the policy language's syntax tree, as the parser front end
// (policy_parser.h) produces it. Plain structs with source locations; no
// names resolved and no types checked yet (policy_lowering.h does that).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "util/diagnostic.h"

namespace postern::policy {

struct AstOperand {
  enum class Kind { kPath, kCall, kString, kNumber, kCidr, kParam, kTable, kName };
  Kind kind = Kind::kPath;
  std::string text;                   // path "rcpt.domain", call name, unquoted string, number, "$name", "type:name"
  std::vector<AstOperand> arguments;  // kCall
  SourceLocation location;
};

struct AstCondition {
  enum class Kind { kNot, kAnd, kOr, kIn, kNotIn, kCompare, kMatch, kRate, kFlag };
  Kind kind = Kind::kFlag;
  std::vector<AstCondition> children;  // kNot (1), kAnd and kOr (2)
  AstOperand left, right;
  std::string comparison;  // kCompare: == != < <= > >=
  std::string regex;       // kMatch: /pattern/flags as written
  int64_t number = 0;      // kRate: the limit
  std::string time_unit;   // kRate
  SourceLocation location;
};

struct AstAction {
  std::string verb;  // accept reject defer discard hold warn redirect add_header route
  int code = 0;
  std::string status;  // enhanced status code, if written
  std::string text;
  std::string argument, argument2;
  SourceLocation location;
};

struct AstRule {
  AstAction action;
  std::optional<AstCondition> condition;
  SourceLocation location;
};

struct AstSet {
  std::string name;
  std::string kind;  // cidr domains addresses, or empty for a bare table
  std::vector<AstOperand> items;
  std::string table;  // `set x = domains hash:/path`
  SourceLocation location;
};

struct AstStage {
  std::string name;
  std::vector<AstRule> rules;
  SourceLocation location;
};

struct AstRoute {
  AstCondition condition;
  std::string target;
  SourceLocation location;
};

struct AstInclude {
  std::string path;
  SourceLocation location;
};

struct AstFile {
  std::shared_ptr<const SourceFile> source;
  std::vector<AstInclude> includes;
  std::vector<AstSet> sets;
  std::vector<AstStage> stages;
  std::vector<AstRoute> routes;
};

}  // namespace postern::policy
