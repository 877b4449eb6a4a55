// image.cc: see image.h.
#include "runtime/image/image.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include "mail/database_table.h"
#include "mail/master_service_support.h"
#include "mail/passwd_table.h"
#include "mail/servers/live_table.h"
#include "util/sha256.h"

namespace postern::image {
namespace fs = std::filesystem;

Result<std::shared_ptr<const Image>> Image::Load(const std::string& path, const LoadOptions& options) {
  std::error_code ec;
  fs::path directory(path);
  if (!fs::exists(directory / mail::kImageHeaderFile, ec) && fs::exists(directory / "current", ec)) {
    directory = directory / "current";
  }
  fs::path resolved = fs::canonical(directory, ec);
  if (ec) return Status::Permanent("cannot open image " + path + ": " + ec.message());

  std::string header_path = (resolved / mail::kImageHeaderFile).string();
  auto header_file = ImageFile::Read(header_path);
  if (!header_file.ok()) {
    // An image that holds secrets (a 0600 password table) is readable by
    // its group only: the group of mail_owner when compiled as root.
    bool denied = access(resolved.c_str(), R_OK | X_OK) != 0 && errno == EACCES;
    return Status::Permanent((denied ? "cannot read image " + resolved.string() +
                                           ": it holds secrets and only its owner and group may read it; run as "
                                           "mail_owner (the user postern compile gave the group to)"
                                     : "not an image: " + header_file.status().message()));
  }
  std::string_view header_bytes = (*header_file)->bytes();
  auto header = mail::DecodeImageHeader(header_bytes);
  if (!header.ok()) return Status::Permanent(resolved.string() + ": " + header.status().message());

  std::shared_ptr<Image> image(new Image());
  image->id_ = Sha256Hex(header_bytes);
  image->path_ = resolved.string();
  image->header_ = std::move(header).value();
  std::string name = resolved.filename().string();
  if (mail::IsImageId(name) && name != image->id_) {
    return Status::Permanent(resolved.string() + ": the image's content does not match its name (id " + image->id_ +
                             ")");
  }
  for (const mail::ImageSection& section : image->header_.sections) {
    Status s = image->LoadSection(section, image->path_, options);
    if (!s.ok()) return Status::Permanent(resolved.string() + ": " + s.message());
  }
  if (!image->parameters_) return Status::Permanent(resolved.string() + ": image has no parameters section");
  if (!image->has_settings_) return Status::Permanent(resolved.string() + ": image has no settings section");
  if (!image->has_program_) return Status::Permanent(resolved.string() + ": image has no policy program");
  std::vector<const mail::Program*> programs = {&image->program_};
  for (const auto& [service, program] : image->service_programs_) programs.push_back(&program);
  for (const mail::Program* program : programs) {
    for (const std::string& reference : program->tables) {
      if (image->Table(reference) == nullptr) {
        return Status::Permanent(resolved.string() + ": the policy names table " + reference + ", not in the image");
      }
    }
  }
  return std::shared_ptr<const Image>(std::move(image));
}

std::shared_ptr<const mail::LookupTable> Image::LiveTable(const mail::ImageSection& section, std::string_view bytes,
                                                          const LoadOptions& options, Status* status) const {
  auto spec = servers::DecodeLiveTable(bytes);
  if (!spec.ok()) {
    *status = Status::Permanent(section.path + ": " + spec.status().message());
    return nullptr;
  }
  if (options.offline) return servers::OfflineTable(section.reference);
  std::string& path = spec.value().definition_path;
  if (!options.installed_directory.empty() && path.starts_with(options.installed_directory + "/")) {
    std::string local = options.config_directory + path.substr(options.installed_directory.size());
    if (access(local.c_str(), F_OK) == 0) path = local;
  }
  Status secret = servers::ReadLiveTableSecret(&spec.value());
  if (!secret.ok()) {
    *status = Status::Permanent("table " + section.reference + ": " + secret.message());
    return nullptr;
  }
  mail::CaseFold fold = mail::CaseFoldFor(settings_.Boolean("smtputf8_enable"));
  return servers::MakeLiveTable(section.reference, std::move(spec).value(), fold);
}

Status Image::LoadSection(const mail::ImageSection& section, const std::string& directory, const LoadOptions& options) {
  using mail::SectionKind;
  std::shared_ptr<const ImageFile> file;
  std::string_view bytes;
  if (!section.path.empty()) {
    auto read = options.map_files ? ImageFile::Map(directory + "/" + section.path, options.verify_checksums)
                                  : ImageFile::Read(directory + "/" + section.path);
    if (!read.ok()) {
      return Status::Permanent((read.status().not_found() ? "missing file: " : "unreadable file: ") +
                               read.status().message());
    }
    file = *read;
    bytes = file->bytes();
    if (bytes.size() != section.size) {
      return Status::Permanent(section.path + " has " + std::to_string(bytes.size()) + " bytes, the header says " +
                               std::to_string(section.size) + " (truncated or replaced)");
    }
    if (options.verify_checksums && (file->mapped() ? file->sha256() : Sha256Hex(bytes)) != section.sha256) {
      return Status::Permanent(section.path + ": checksum mismatch (corrupted)");
    }
  }
  auto add_table = [&](std::shared_ptr<const mail::LookupTable> table) -> Status {
    if (!tables_.emplace(section.reference, std::move(table)).second) {
      return Status::Permanent("table " + section.reference + " appears twice");
    }
    return Status::Ok();
  };
  switch (section.kind) {
    case SectionKind::kManifest:
      manifest_ = std::string(bytes);
      return Status::Ok();
    case SectionKind::kParameters:
    case SectionKind::kIncludes:
    case SectionKind::kExactTable: {
      if (!mail::CdbTable::LooksValid(bytes)) return Status::Permanent(section.path + ": not a CDB file");
      // Parameter names and include paths are case-sensitive keys; tables
      // fold as the compiler folded them, by smtputf8_enable (mail/case_fold.h).
      mail::CaseFold fold = mail::CaseFold::kNone;
      if (section.kind == SectionKind::kExactTable) {
        // settings.bin comes before the tables in the section table.
        fold = mail::CaseFoldFor(settings_.Boolean("smtputf8_enable"));
      }
      auto table = std::make_unique<mail::CdbTable>(file, bytes, fold, file->mapped());
      if (section.kind == SectionKind::kParameters) {
        parameters_ = std::move(table);
        return Status::Ok();
      }
      if (section.kind == SectionKind::kIncludes) {
        includes_ = std::move(table);
        return Status::Ok();
      }
      return add_table(std::shared_ptr<const mail::LookupTable>(std::move(table)));
    }
    case SectionKind::kDatabaseTable: {
      if (!mail::CdbTable::LooksValid(bytes)) return Status::Permanent(section.path + ": not a CDB file");
      mail::CaseFold fold = mail::CaseFoldFor(settings_.Boolean("smtputf8_enable"));
      auto rows = std::make_shared<mail::CdbTable>(file, bytes, fold, file->mapped());
      std::optional<std::string_view> encoded = rows->Find("");
      if (!encoded) return Status::Permanent(section.path + ": no lookup rules");
      auto rules = mail::DecodeDatabaseRules(*encoded);
      if (!rules.ok()) return Status::Permanent(section.path + ": " + rules.status().message());
      return add_table(std::make_shared<mail::DatabaseTable>(std::move(rules).value(), std::move(rows), fold));
    }
    case SectionKind::kPatternTable: {
      auto rules = mail::DecodePatternRules(bytes);
      if (!rules.ok()) return Status::Permanent(section.path + ": " + rules.status().message());
      return add_table(std::make_shared<mail::PatternTable>(std::move(rules).value()));
    }
    case SectionKind::kStaticTable:
      return add_table(std::make_shared<mail::StaticTable>(std::string(bytes)));
    case SectionKind::kPasswdTable:
      return add_table(std::make_shared<mail::PasswdTable>());
    case SectionKind::kFailTable:
      return add_table(std::make_shared<mail::FailTable>(section.reference));
    case SectionKind::kLiveTable: {
      Status status;
      auto table = LiveTable(section, bytes, options, &status);
      has_live_tables_ = has_live_tables_ || (table && !options.offline);
      return table ? add_table(std::move(table)) : status;
    }
    case SectionKind::kSettings: {
      auto settings = mail::DecodeSettings(bytes);
      if (!settings.ok()) return Status::Permanent(section.path + ": " + settings.status().message());
      settings_ = mail::Settings(std::move(settings).value());
      has_settings_ = true;
      return Status::Ok();
    }
    case SectionKind::kPolicy:
    case SectionKind::kServicePolicy: {
      auto program = mail::DecodeProgram(bytes);
      if (!program.ok()) return Status::Permanent(section.path + ": " + program.status().message());
      Status verified = mail::Verify(*program);
      if (!verified.ok()) return Status::Permanent(section.path + ": " + verified.message());
      if (section.kind == SectionKind::kPolicy) {
        program_ = std::move(program).value();
        has_program_ = true;
      } else if (section.reference.empty() ||
                 !service_programs_.emplace(section.reference, std::move(program).value()).second) {
        return Status::Permanent(section.path + ": no service, or a second policy for service " + section.reference);
      }
      return Status::Ok();
    }
    case SectionKind::kServices: {
      auto services = mail::DecodeServices(bytes);
      if (!services.ok()) return Status::Permanent(section.path + ": " + services.status().message());
      services_ = std::move(services).value();
      return Status::Ok();
    }
  }
  return Status::Permanent("unknown section kind");
}

std::shared_ptr<const Image> Image::ForService(std::string_view service) const {
  std::shared_ptr<Image> view(new Image(*this));
  view->service_ = std::string(service);
  view->settings_ = settings_.ForService(service);
  view->service_programs_.clear();
  if (auto it = service_programs_.find(service); it != service_programs_.end()) view->program_ = it->second;
  return view;
}

std::vector<std::string> Image::SmtpdServices() const {
  std::vector<std::string> names;
  for (const mail::ServiceEntry& s : services_) {
    if (mail::ClassifyService(s.type, s.command) == mail::ServiceSupport::kSmtpServer) names.push_back(s.name);
  }
  return names;
}

std::string Image::DefaultSmtpdService() const {
  std::vector<std::string> names = SmtpdServices();
  if (names.empty() || std::find(names.begin(), names.end(), "smtp") != names.end()) return "smtp";
  return names.front();
}

Result<std::shared_ptr<const Image>> Image::SmtpdService(std::string_view service) const {
  std::vector<std::string> names = SmtpdServices();
  if (!names.empty() && std::find(names.begin(), names.end(), service) == names.end()) {
    std::string list;
    for (const std::string& n : names) list += (list.empty() ? "" : ", ") + n;
    return Status::Permanent("no inet smtpd service \"" + std::string(service) + "\" in master.cf (it has " + list +
                             ")");
  }
  return ForService(service);
}

std::string Image::Text(std::string_view name) const { return std::string(settings_.Text(name)); }

const mail::LookupTable* Image::Table(std::string_view reference) const {
  auto it = tables_.find(reference);
  return it == tables_.end() ? nullptr : it->second.get();
}

}  // namespace postern::image
