// implementation_check.h: what the configuration asks for that posternd
// would not do. Every main.cf setting, master.cf service and -o override is
// looked up in the parameter registry (config::ParameterSupport) and in
// mail::ClassifyService; whatever would change Postfix's behaviour and is
// not implemented is named, so a configuration that passes `postern check`
// behaves as the check, trace and test say.
//
// Codes: PC0160 parameter not implemented, PC0161 -o override that posternd
// does not apply to its service, PC0162 master.cf service posternd does not
// run, PC0163 process limit of a delivery service that posternd does not
// apply (an smtpd service's limits its sessions), PC0164
// canonical mapping of header addresses (posternd rewrites the envelope). Each is an
// error when ignoring the setting weakens security or loses mail
// (config::Impact::kSafety), a warning otherwise.
#pragma once

#include "compiler/check/configuration.h"
#include "util/diagnostic.h"

namespace postern::check {

void CheckImplementation(const Model& model, DiagnosticSink* diagnostics);

}  // namespace postern::check
