// image.h: a compiled image, loaded and verified (see mail/image_format.h).
//
// Load() reads IMAGE, checks its magic, version and checksum, that the
// directory's name is the image's id, then maps every section and checks
// its size and sha256 before building any table. Any mismatch refuses the
// whole image: nothing is half-loaded.
//
// An Image is immutable; share it as shared_ptr<const Image> (a session
// pins the image it started with). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mail/cdb_table.h"
#include "mail/image_format.h"
#include "mail/lookup_table.h"
#include "mail/policy_program.h"
#include "mail/settings_format.h"
#include "runtime/image/image_file.h"
#include "util/status.h"

namespace postern::image {

struct LoadOptions {
  // Live tables (mail/servers/live_table.h) are not asked: every lookup in
  // one fails, saying so (`--offline`).
  bool offline = false;
  // The definition files of live tables (for their secrets) under
  // `installed_directory` are read under `config_directory` instead: an
  // image a tool compiled from a checkout.
  std::string installed_directory;
  std::string config_directory;
  // Map the files instead of copying them (image_file.h): for the tools.
  bool map_files = false;
  // Check each file's sha256 against the header. Only an image this
  // process has just written may skip it (postern compile's open-relay
  // proof on the image it is about to publish).
  bool verify_checksums = true;
};

class Image {
 public:
  // `path` is an image directory, or an images directory whose `current`
  // symlink names one.
  static Result<std::shared_ptr<const Image>> Load(const std::string& path, const LoadOptions& options = {});

  const std::string& id() const { return id_; }
  const std::string& path() const { return path_; }
  const mail::ImageHeader& header() const { return header_; }
  std::string_view manifest() const { return manifest_; }

  // The typed parameter values (settings.bin): what the runtime reads for
  // booleans, numbers and times, never parsing them again.
  const mail::Settings& settings() const { return settings_; }
  // A described parameter's value as text ($names expanded), from
  // settings.bin; "" for a name the registry does not describe.
  std::string Text(std::string_view name) const;

  // The table a list element names ("hash:/etc/postfix/virtual"), or null.
  const mail::LookupTable* Table(std::string_view reference) const;
  // Whether a table asks a server at each lookup (a live SQL or LDAP table),
  // which may then wait for it.
  bool has_live_tables() const { return has_live_tables_; }
  // :include: file path -> its addresses (", "-separated); may be null.
  const mail::LookupTable* includes() const { return includes_.get(); }
  const std::vector<mail::ServiceEntry>& services() const { return services_; }
  // The verified policy program.
  const mail::Program* program() const { return &program_; }

  // The image as master.cf service `service` sees it: the same tables, with
  // the settings its -o overrides change ("<service>/<name>" in
  // settings.bin) and its own policy program when it has one. A name with
  // neither gives main.cf's view. Shares the tables with this image.
  std::shared_ptr<const Image> ForService(std::string_view service) const;
  // The service this view is of; "" for main.cf's.
  const std::string& service() const { return service_; }
  // The inet smtpd services of master.cf, in its order.
  std::vector<std::string> SmtpdServices() const;
  // The service a client talks to when none is named (posternd --listen
  // ADDRESS, postern test, postern trace): smtp when master.cf runs it,
  // else its first smtpd service, else "smtp" (main.cf's settings).
  std::string DefaultSmtpdService() const;
  // The view of smtpd service `service` (ForService), or an error naming
  // the image's smtpd services when it has none of that name. An image
  // without smtpd services gives main.cf's view for any name.
  Result<std::shared_ptr<const Image>> SmtpdService(std::string_view service) const;

 private:
  Image() = default;
  Image(const Image&) = default;
  Status LoadSection(const mail::ImageSection& section, const std::string& directory, const LoadOptions& options);
  std::shared_ptr<const mail::LookupTable> LiveTable(const mail::ImageSection& section, std::string_view bytes,
                                                     const LoadOptions& options, Status* status) const;

  std::string id_;
  std::string path_;
  mail::ImageHeader header_;
  std::string manifest_;
  std::string service_;
  std::shared_ptr<const mail::CdbTable> parameters_;
  mail::Settings settings_;
  bool has_live_tables_ = false;
  bool has_settings_ = false;
  std::shared_ptr<const mail::CdbTable> includes_;
  std::vector<mail::ServiceEntry> services_;
  mail::Program program_;
  bool has_program_ = false;
  std::map<std::string, mail::Program, std::less<>> service_programs_;  // services/N.bc
  std::map<std::string, std::shared_ptr<const mail::LookupTable>, std::less<>> tables_;
};

}  // namespace postern::image
