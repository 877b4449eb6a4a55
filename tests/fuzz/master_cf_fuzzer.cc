// Fuzzes master.cf parsing.
#include <cstdint>
#include <string>

#include "compiler/config/master_cf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  auto file = std::make_shared<const SourceFile>("master.cf", std::string(reinterpret_cast<const char*>(data), size));
  DiagnosticSink sink;
  config::ParseMasterCf(file, &sink);
  RenderDiagnostics(sink.diagnostics());
  return 0;
}
