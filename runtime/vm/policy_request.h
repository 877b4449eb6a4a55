// policy_request.h: the request check_policy_service sends to a policy
// server (SMTPD_POLICY_README): name=value lines, the attributes and their
// order as Postfix 3.7's smtpd sends them, ending with an empty line.
#pragma once

#include <string>
#include <string_view>

#include "runtime/vm/smtp_facts.h"

namespace postern::vm {

// `policy_context`: smtpd_policy_service_policy_context.
std::string PolicyRequest(const SmtpFacts& facts, std::string_view policy_context);

}  // namespace postern::vm
