// hermetic_check.h: `postern check --hermetic`: what an image compiled
// from this configuration here would take from this machine rather than
// from the configuration, so that an image built in CI does not silently
// carry the runner's host name, networks or files:
//
// - myhostname (and what derives from it: mydomain, myorigin,
//   mydestination...) computed from this machine's host name, and
//   mynetworks computed from its interfaces, when neither main.cf nor
//   --define sets them;
// - tables read from files outside the configuration directory (paths
//   under /etc/postfix are read from it), such as the default
//   alias_maps = hash:/etc/aliases.
//
// Each is a warning, PC0170; `--define name=value` or main.cf settles it.
#pragma once

#include "compiler/check/configuration.h"
#include "util/diagnostic.h"

namespace postern::check {

void CheckHermetic(const Model& model, DiagnosticSink* diagnostics);

}  // namespace postern::check
