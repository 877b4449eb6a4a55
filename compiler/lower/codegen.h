// codegen.h: policy IR to bytecode (mail/policy_program.h), with the reply
// texts Postfix's smtpd gives, built from the reply-code parameters.
//
// Codes: PP0510 policy exceeds the compile budget, PP0511 restriction class
// not defined (a call with no target).
#pragma once

#include <functional>
#include <string>

#include "compiler/policy/ir.h"
#include "mail/policy_program.h"
#include "util/diagnostic.h"

namespace postern::lower {

struct CodegenOptions {
  // The effective value of a main.cf parameter (reply codes).
  std::function<std::string(const std::string&)> parameter;
  size_t max_instructions = 1 << 20;  // the compile budget
};

mail::Program Codegen(const policy::PolicyIr& ir, const CodegenOptions& options, DiagnosticSink* diagnostics);

}  // namespace postern::lower
