// compile_command.cc: `postern compile`, configuration in, published image
// out. Exit codes: 0 published, 1 configuration errors, 2 could not run.
#include <iostream>

#include "tools/postern/commands.h"
#include "tools/postern/image_compiler.h"
#include "util/read_file.h"

namespace postern::cli {

int RunCompile(const CompileOptions& options) {
  std::string signing_key;
  if (!options.signing_key.empty()) {
    Result<std::string> key = ReadRegularFile(options.signing_key);
    if (!key.ok()) {
      std::cerr << "postern compile: " << key.status().message() << "\n";
      return 2;
    }
    signing_key = std::move(key).value();
  }
  DiagnosticSink diagnostics;
  check::Model model = LoadForImage(options.config_directory, &diagnostics, options.defines, options.output_directory);
  CompileOutcome outcome = BuildAndPublish(model, options.output_directory, options.keep, &diagnostics,
                                           /*verify_relay=*/true, signing_key);
  std::cerr << RenderDiagnostics(diagnostics.diagnostics());
  if (!outcome.error.empty()) {
    std::cerr << "postern compile: cannot publish image: " << outcome.error << "\n";
    return 2;
  }
  if (!outcome.image || diagnostics.has_errors()) {
    std::cerr << "postern compile: " << options.config_directory << ": " << diagnostics.error_count()
              << " error(s); no image written\n";
    return model.main_cf.file ? 1 : 2;
  }
  const emit::PublishResult& p = *outcome.published;
  std::cout << outcome.image->id << "\n";
  std::cerr << "postern compile: " << p.path << " (" << outcome.image->files.size() << " files, "
            << outcome.image->total_bytes() << " bytes)" << (p.already_present ? ", already present" : "")
            << (p.repaired ? ", was damaged and is written again" : "") << "; current -> "
            << outcome.image->id.substr(0, 12)
            << (p.previous.empty() || p.previous == outcome.image->id ? "" : " (was " + p.previous.substr(0, 12) + ")")
            << (p.removed > 0 ? "; removed " + std::to_string(p.removed) + " old image(s)" : "")
            << (signing_key.empty() ? "" : "; signed") << "\n";
  return 0;
}

}  // namespace postern::cli
