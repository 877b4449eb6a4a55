// reference_evaluator.h: a slow, direct interpreter of the policy IR,
// written independently of the VM, that the VM is checked against on
// generated transactions (policy_vm_test.cc). Test code only: the product
// has one semantics, the VM.
#pragma once

#include <string>

#include "compiler/policy/ir.h"
#include "runtime/image/image.h"
#include "runtime/resolve/resolver.h"
#include "runtime/vm/smtp_facts.h"

namespace postern::testing {

struct ReferenceResult {
  bool accepted = true;
  std::string reply;     // when refused
  bool complete = true;  // false: a restriction the reference does not know was met
};

// The rcpt stage as the IR says (without smtpd_reject_unlisted_recipient).
ReferenceResult EvaluateRcpt(const policy::PolicyIr& ir, const image::Image& image, const resolve::Resolver& resolver,
                             const vm::SmtpFacts& facts);

}  // namespace postern::testing
