// image_compiler.cc: see image_compiler.h.
#include "tools/postern/image_compiler.h"

#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <system_error>

#include "mail/image_signature.h"
#include "runtime/vm/relay_analysis.h"

namespace postern::cli {

check::Model LoadForImage(const std::string& config_directory, DiagnosticSink* diagnostics,
                          const std::vector<std::string>& defines, const std::string& scratch_directory) {
  check::LoadOptions load;
  load.config_directory = config_directory;
  load.defines = defines;
  if (!scratch_directory.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(scratch_directory, ec);  // publishing would create it too
    if (!ec) load.scratch_directory = scratch_directory;
  }
  load.installed_directory = "/etc/postfix";
  load.machine = config::MachineFacts::Probe();
  return check::LoadConfiguration(load, diagnostics);
}

void ReportUnansweredLookups(const mail::LookupFailureScope& lookups, const check::Model& model,
                             DiagnosticSink* diagnostics) {
  if (!lookups.failed()) return;
  diagnostics->FileWarning("PT0338", model.config_directory + "/main.cf",
                           "a table did not answer while checking: " + lookups.reason(),
                           "the checks took its answers as none; check where its server can be reached");
}

image::LoadOptions ToolLoadOptions(const std::string& config_directory, bool offline) {
  image::LoadOptions options;
  options.offline = offline;
  options.map_files = true;
  if (!config_directory.empty()) {
    options.installed_directory = "/etc/postfix";
    options.config_directory = config_directory;
  }
  return options;
}

CompileOutcome BuildAndPublish(const check::Model& model, const std::string& images_directory, int keep_previous,
                               DiagnosticSink* diagnostics, bool verify_relay, const std::string& signing_key) {
  CompileOutcome outcome;
  if (!model.main_cf.file || diagnostics->has_errors()) return outcome;
  emit::ImageBuildOptions build;
  build.compiler_version = POSTERN_VERSION;
  emit::BuiltImage image = emit::BuildImage(model, build, diagnostics);
  if (diagnostics->has_errors()) return outcome;
  emit::PublishOptions publish{images_directory, keep_previous, std::nullopt, ""};
  if (!signing_key.empty()) {
    Result<std::string> signature = mail::SignImageId(image.id, signing_key);
    if (!signature.ok()) {
      outcome.error = "cannot sign: " + signature.status().message();
      return outcome;
    }
    publish.signature = std::move(signature).value();
  }
  if (geteuid() == 0) {
    // Restricted files go to the group of the user posternd runs as, which
    // reads them again on reload (posternd --user overrides mail_owner:
    // then the administrator gives them to that group).
    config::MacroExpander expander = model.parameters->Expander();
    std::string owner = model.parameters->Expanded("mail_owner", &expander);
    if (const struct passwd* pw = getpwnam(owner.c_str()); pw != nullptr) publish.reader_group = pw->pw_gid;
  }
  // The image goes into the images directory first without becoming
  // current; the open-relay proof runs on it as the daemon would load it,
  // and only then may a daemon pick it up.
  auto staged = emit::StageImage(image, publish);
  if (!staged.ok()) {
    outcome.error = staged.status().message();
    return outcome;
  }
  if (verify_relay) {
    image::LoadOptions load = ToolLoadOptions(model.config_directory);
    load.verify_checksums = false;  // written just now, from the bytes it was hashed from
    auto loaded = image::Image::Load(staged->path, load);
    if (!loaded.ok()) {
      outcome.error = "the compiled image does not load: " + loaded.status().message();
    } else {
      mail::LookupFailureScope lookups;
      ReportOpenRelay(model, *loaded, diagnostics);
      ReportUnansweredLookups(lookups, model, diagnostics);
    }
    if (!outcome.error.empty() || diagnostics->has_errors()) {
      std::error_code ec;
      if (!staged->already_present) std::filesystem::remove_all(staged->path, ec);
      return outcome;
    }
  }
  auto published = emit::ActivateImage(image.id, publish, std::move(staged).value());
  if (!published.ok()) {
    outcome.error = published.status().message();
  } else {
    outcome.published = std::move(published).value();
  }
  outcome.image = std::move(image);
  return outcome;
}

std::optional<std::string> ImageToUse(const std::string& command, const std::string& image,
                                      const std::string& config_directory, TemporaryImages* temporary, int* exit_code,
                                      const std::vector<std::string>& defines) {
  if (!image.empty()) return image;
  DiagnosticSink diagnostics;
  check::Model model = LoadForImage(config_directory, &diagnostics, defines);
  CompileOutcome outcome;
  if (temporary->ok()) outcome = BuildAndPublish(model, temporary->path(), 0, &diagnostics);
  std::cerr << RenderDiagnostics(diagnostics.diagnostics());
  if (!outcome.published) {
    std::cerr << "postern " << command << ": " << config_directory << " does not compile"
              << (outcome.error.empty() ? "" : ": " + outcome.error) << "\n";
    *exit_code = diagnostics.has_errors() && model.main_cf.file ? 1 : 2;
    return std::nullopt;
  }
  return outcome.published->path;
}

void ReportOpenRelay(const check::Model& model, std::shared_ptr<const image::Image> image,
                     DiagnosticSink* diagnostics) {
  // Each smtpd service with its own settings and policy; main.cf's alone
  // when master.cf runs none (posternd --listen serves main.cf's).
  auto report = [&](const config::ParameterSet& parameters, const std::string& service) {
    vm::RelayFinding relay = vm::AnalyzeRelay(service.empty() ? image : image->ForService(service));
    if (!relay.open) return;
    SourceLocation where{model.main_cf.file, 0, 0};
    if (const config::ParameterDefinition* def = parameters.Definition(relay.list)) where = def->value_location;
    std::string path;
    for (const std::string& step : relay.path) path += (path.empty() ? "" : "; ") + step;
    diagnostics->Error("PC0140", where,
                       "open relay" + (service.empty() ? std::string() : " on service " + service) +
                           ": a client outside mynetworks that is not authenticated can send mail to any "
                           "domain: " +
                           path,
                       "end smtpd_relay_restrictions with reject_unauth_destination or defer_unauth_destination, "
                       "and put every OK of an access table after it");
  };
  if (model.smtpd_services.empty()) report(*model.parameters, "");
  for (const check::SmtpdService& s : model.smtpd_services) report(*s.parameters, s.service->name);
}

TemporaryImages::TemporaryImages() {
  std::error_code ec;
  std::string pattern = (std::filesystem::temp_directory_path(ec) / "postern-images-XXXXXX").string();
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TemporaryImages::~TemporaryImages() {
  std::error_code ec;
  if (!path_.empty()) std::filesystem::remove_all(path_, ec);
}

}  // namespace postern::cli
