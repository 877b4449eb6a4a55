// restriction_lowering.h: Postfix's smtpd restriction lists (main.cf) to the
// policy IR: smtpd_{client,helo,sender,relay,recipient,data,end_of_data}_
// restrictions and the classes of smtpd_restriction_classes, placed in the
// stages smtpd_delay_reject says.
//
// Codes: PP0501 unknown restriction, PP0502 restriction without its
// argument, PP0503 Postfix restriction Postern does not support, PP0504
// restriction class listed but not defined, PP0505 restriction posternd
// does not evaluate (DNS), PP0506 bare table where no access check is implied;
// PP0509 (DNS list reply templates) comes from rbl_reply_check.h.
#pragma once

#include "compiler/check/configuration.h"
#include "compiler/policy/ir.h"
#include "util/diagnostic.h"

namespace postern::lower {

// `parameters` are main.cf's, or an smtpd service's (check::SmtpdService):
// each service's lists are lowered with its -o overrides, and diagnostics
// point at master.cf where an override says what is wrong.
policy::PolicyIr LowerRestrictions(const check::Model& model, const config::ParameterSet& parameters,
                                   DiagnosticSink* diagnostics);

}  // namespace postern::lower
