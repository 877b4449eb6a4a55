// rbl_reply_check.h: the DNS list reply templates of one parameter set
// (main.cf's or an smtpd service's), checked as posternd expands them
// (runtime/vm/rbl_reply.h). PP0509:
//
// - an error for a default_rbl_reply that does not expand (bad $ syntax, a
//   name smtpd does not know): Postfix's smtpd exits at the first listed
//   client, Postern refuses it;
// - a warning for an rbl_reply_maps entry that does not expand (smtpd uses
//   default_rbl_reply instead), and for a template whose text does not
//   start with a 4NN or 5NN code (the client gets 450 4.7.1 Service
//   unavailable).
#pragma once

#include "compiler/check/configuration.h"
#include "util/diagnostic.h"

namespace postern::lower {

void CheckRblReplyTemplates(const check::Model& model, const config::ParameterSet& parameters,
                            DiagnosticSink* diagnostics);

}  // namespace postern::lower
