// image_compiler.cc: see image_compiler.h.
#include "tools/postern/image_compiler.h"

#include "compiler/check/configuration.h"

namespace postern::cli {

CompileOutcome CompileAndPublish(const CompileRequest& request, DiagnosticSink* diagnostics) {
  CompileOutcome outcome;
  check::LoadOptions load;
  load.config_directory = request.config_directory;
  load.installed_directory = "/etc/postfix";
  load.machine = config::MachineFacts::Probe();
  check::Model model = check::LoadConfiguration(load, diagnostics);
  if (!model.main_cf.file || diagnostics->has_errors()) return outcome;

  emit::ImageBuildOptions build;
  build.compiler_version = POSTERN_VERSION;
  emit::BuiltImage image = emit::BuildImage(model, build, diagnostics);
  if (diagnostics->has_errors()) return outcome;

  emit::PublishOptions publish;
  publish.images_directory = request.images_directory;
  publish.keep_previous = request.keep_previous;
  auto published = emit::PublishImage(image, publish);
  if (!published.ok()) {
    outcome.error = published.status().message();
  } else {
    outcome.published = std::move(published).value();
  }
  outcome.image = std::move(image);
  return outcome;
}

}  // namespace postern::cli
