// Fuzzes the alias table source parser and lookups in the result.
#include <cstdint>
#include <string>

#include "compiler/tables/table_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  auto file = std::make_shared<const SourceFile>("table", std::string(reinterpret_cast<const char*>(data), size));
  DiagnosticSink sink;
  mail::ExactTable table;
  for (auto& entry : tables::ParseAliasTable(file, &sink)) {
    table.Insert(entry.key, entry.value);
    table.Lookup(entry.key);
  }
  RenderDiagnostics(sink.diagnostics());
  return 0;
}
