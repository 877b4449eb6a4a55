// disasm_command.cc: `postern disasm`, the policy bytecode of an image (or
// of a configuration, compiled first), one instruction per line.
#include <iostream>

#include "runtime/image/image.h"
#include "tools/postern/commands.h"
#include "tools/postern/image_compiler.h"

namespace postern::cli {

int RunDisasm(const DisasmOptions& options) {
  std::string image_path = options.image;
  TemporaryImages temporary;
  if (image_path.empty()) {
    DiagnosticSink diagnostics;
    check::Model model = LoadForImage(options.config_directory, &diagnostics);
    CompileOutcome outcome;
    if (temporary.ok()) outcome = BuildAndPublish(model, temporary.path(), 0, &diagnostics);
    std::cerr << RenderDiagnostics(diagnostics.diagnostics());
    if (!outcome.published) return diagnostics.has_errors() && model.main_cf.file ? 1 : 2;
    image_path = outcome.published->path;
  }
  auto image = image::Image::Load(image_path);
  if (!image.ok()) {
    std::cerr << "postern disasm: " << image.status().message() << "\n";
    return 2;
  }
  std::cout << mail::Dump(*(*image)->program());
  return 0;
}

}  // namespace postern::cli
