// Fuzzes the cidr, regexp and pcre table parsers and first-match lookups.
// The first byte picks the format and the last line is the lookup key.
#include <cstdint>
#include <string>

#include "compiler/tables/table_source.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern;
  if (size < 1) return 0;
  const tables::TableFormat formats[] = {tables::TableFormat::kCidr, tables::TableFormat::kRegexp,
                                         tables::TableFormat::kPcre};
  tables::TableFormat format = formats[data[0] % 3];
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string key = text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
  auto file = std::make_shared<const SourceFile>("table", text);
  DiagnosticSink sink;
  mail::PatternTable table(tables::ParsePatternTable(file, format, &sink));
  table.Lookup(key);
  table.Lookup("192.0.2.1");
  RenderDiagnostics(sink.diagnostics());
  return 0;
}
