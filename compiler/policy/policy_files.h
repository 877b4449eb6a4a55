// policy_files.h: finds and parses a configuration's policy files: every
// DIR/policy/*.pol in name order, and the files they `include` (relative to
// the including file), each once.
//
// Codes: PL0711 include file cannot be read, or includes itself.
#pragma once

#include <string>
#include <vector>

#include "compiler/policy/ast.h"
#include "util/diagnostic.h"

namespace postern::policy {

std::vector<AstFile> LoadPolicyFiles(const std::string& config_directory, DiagnosticSink* diagnostics);

}  // namespace postern::policy
