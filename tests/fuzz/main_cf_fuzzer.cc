// Fuzzes main.cf parsing, $name expansion and the parameter checks.
#include <cstdint>
#include <string>

#include "compiler/config/main_cf.h"
#include "compiler/config/parameter_set.h"
#include "compiler/config/parameter_value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  auto file = std::make_shared<const SourceFile>("main.cf", std::string(reinterpret_cast<const char*>(data), size));
  DiagnosticSink sink;
  config::MainCf main_cf = config::ParseMainCf(file, &sink);
  config::ParameterSet params(main_cf, {});
  for (const auto& def : main_cf.definitions) {
    config::MacroExpander expander = params.Expander();
    std::string value = params.Expanded(def.name, &expander);
    if (const config::ParameterSpec* spec = config::FindParameter(def.name)) {
      config::CheckParameterValue(*spec, value);
    }
    config::SplitParameterList(value);
  }
  RenderDiagnostics(sink.diagnostics());
  return 0;
}
