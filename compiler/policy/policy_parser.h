// policy_parser.h: policy source text to AST (ast.h), with ANTLR's parser
// generated from grammar/Policy.g4. ANTLR's types stay inside this stage.
// Every syntax error is reported as PL0701 with its line and column.
#pragma once

#include <memory>

#include "compiler/policy/ast.h"
#include "util/diagnostic.h"
#include "util/source_file.h"

namespace postern::policy {

AstFile ParsePolicy(const std::shared_ptr<const SourceFile>& file, DiagnosticSink* diagnostics);

}  // namespace postern::policy
