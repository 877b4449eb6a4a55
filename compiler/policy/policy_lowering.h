// policy_lowering.h: the policy language's AST to the policy IR: names
// resolved (sets, $parameters, tables), types checked, fields and actions
// checked against the stage they are used in. Each stage's rules become one
// restriction list that runs after the main.cf lists of that stage.
//
// Codes: PL0702 undefined set, PL0703 unknown field, PL0704 type mismatch,
// PL0705 field not known at this stage, PL0706 action not allowed at this
// stage, PL0707 unknown $parameter, PL0708 bad regular expression, PL0709
// bad reply code, PL0710 unreachable rule, PL0712 table inside a set,
// PL0713 bad network in a cidr set, PL0714 set defined twice, PL0715
// condition that can never be true.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "compiler/policy/ast.h"
#include "compiler/policy/ir.h"
#include "util/diagnostic.h"

namespace postern::policy {

struct PolicyLoweringOptions {
  // The effective, expanded value of a main.cf parameter; nullopt if unknown.
  std::function<std::optional<std::string>(std::string_view)> parameter;
};

void LowerPolicy(const std::vector<AstFile>& files, const PolicyLoweringOptions& options, PolicyIr* ir,
                 DiagnosticSink* diagnostics);

}  // namespace postern::policy
