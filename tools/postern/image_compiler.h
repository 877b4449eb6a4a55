// image_compiler.h: the compile pipeline the commands share: load and check
// a configuration directory, build its image, publish it, load it back.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "compiler/check/configuration.h"
#include "compiler/emit/image_builder.h"
#include "compiler/emit/image_publisher.h"
#include "mail/lookup_failure.h"
#include "runtime/image/image.h"
#include "util/diagnostic.h"

namespace postern::cli {

// Loads a configuration as it will be installed (config_directory is
// /etc/postfix whatever directory it is read from), for images.
// `defines`: --define name=value (check::LoadOptions::defines).
// `scratch_directory`: where text tables are compiled to (the images
// directory the image will be published in, so it links them; created
// if missing); empty: $TMPDIR.
check::Model LoadForImage(const std::string& config_directory, DiagnosticSink* diagnostics,
                          const std::vector<std::string>& defines = {}, const std::string& scratch_directory = "");

struct CompileOutcome {
  std::optional<emit::BuiltImage> image;  // absent when errors stopped the build
  std::optional<emit::PublishResult> published;
  std::string error;  // publishing failed
};

// Builds `model`'s image and publishes it into `images_directory`, unless
// `diagnostics` has (or gets) errors. With `verify_relay`, an image whose
// policy is an open relay is an error (PC0140) and is not published: what
// `postern compile` publishes, posternd will serve.
// `signing_key`: a PEM Ed25519 private key that signs the image
// (mail/image_signature.h); empty: unsigned.
CompileOutcome BuildAndPublish(const check::Model& model, const std::string& images_directory, int keep_previous,
                               DiagnosticSink* diagnostics, bool verify_relay = false,
                               const std::string& signing_key = "");

// PC0140 when the policy of an smtpd service of `image` is an open relay
// (vm/relay_analysis.h), pointing at the restriction list that lets mail
// through: in main.cf, or the service's -o override in master.cf. posternd refuses
// such an image; check and compile report it first.
void ReportOpenRelay(const check::Model& model, std::shared_ptr<const image::Image> image, DiagnosticSink* diagnostics);

// PT0338, once, when a table did not answer the lookups of a check
// (`lookups`: a scope around it): a live table whose server cannot be
// reached from here; the check took its answers as none.
void ReportUnansweredLookups(const mail::LookupFailureScope& lookups, const check::Model& model,
                             DiagnosticSink* diagnostics);

// How a command loads an image compiled from `config_directory` (empty:
// an image given as such): live tables' definition files, named as
// installed (/etc/postfix/...), read from there; with `offline`, live
// tables are not asked (every lookup in one fails, saying so).
image::LoadOptions ToolLoadOptions(const std::string& config_directory, bool offline = false);

// A temporary images directory, removed with everything in it on
// destruction (loaded images stay usable: their files are mapped).
class TemporaryImages {
 public:
  TemporaryImages();
  ~TemporaryImages();
  TemporaryImages(const TemporaryImages&) = delete;
  TemporaryImages& operator=(const TemporaryImages&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The image a command works on: `image` when given, else `config_directory`
// compiled into `temporary` (its diagnostics printed to stderr). nullopt
// when the configuration does not compile; *exit_code is then 1 (errors)
// or 2 (could not run).
std::optional<std::string> ImageToUse(const std::string& command, const std::string& image,
                                      const std::string& config_directory, TemporaryImages* temporary, int* exit_code,
                                      const std::vector<std::string>& defines = {});

}  // namespace postern::cli
