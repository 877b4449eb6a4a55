// Fuzzes the policy language front end: parsing (ANTLR, behind our
// boundary) and lowering to the IR, which must report problems as
// diagnostics and never crash, whatever the text.
#include <cstdint>
#include <string>

#include "compiler/policy/policy_lowering.h"
#include "compiler/policy/policy_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  auto file = std::make_shared<const SourceFile>("fuzz.pol", std::string(reinterpret_cast<const char*>(data), size));
  DiagnosticSink sink;
  std::vector<policy::AstFile> files = {policy::ParsePolicy(file, &sink)};
  policy::PolicyLoweringOptions options;
  options.parameter = [](std::string_view name) -> std::optional<std::string> {
    if (name == "mynetworks") return std::string("127.0.0.0/8, [::1]/128, 10.0.0.0/8");
    if (name == "mydestination") return std::string("example.com, localhost");
    return std::nullopt;
  };
  policy::PolicyIr ir;
  policy::LowerPolicy(files, options, &ir, &sink);
  RenderDiagnostics(sink.diagnostics());
  return 0;
}
