// disasm_command.cc: `postern disasm`, the policy bytecode of an image (or
// of a configuration, compiled first), one instruction per line.
#include <iostream>

#include "runtime/image/image.h"
#include "tools/postern/commands.h"
#include "tools/postern/image_compiler.h"

namespace postern::cli {

int RunDisasm(const DisasmOptions& options) {
  TemporaryImages temporary;
  int exit_code = 0;
  std::optional<std::string> image_path =
      ImageToUse("disasm", options.image, options.config_directory, &temporary, &exit_code);
  if (!image_path) return exit_code;
  auto image = image::Image::Load(*image_path, ToolLoadOptions(options.image.empty() ? options.config_directory : ""));
  if (!image.ok()) {
    std::cerr << "postern disasm: " << image.status().message() << "\n";
    return 2;
  }
  std::cout << mail::Dump(*(*image)->program());
  return 0;
}

}  // namespace postern::cli
