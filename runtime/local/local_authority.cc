// local_authority.cc: see local_authority.h.
#include "runtime/local/local_authority.h"

#include <grp.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "mail/address.h"
#include "mail/image_format.h"
#include "mail/lookup_failure.h"
#include "mail/parameter_list.h"
#include "mail/passwd_table.h"
#include "runtime/image/image_parameters.h"
#include "util/strings.h"

namespace postern::local {
namespace {

namespace fs = std::filesystem;

// Owned by root, and writable by nobody else (a sticky directory such as
// /tmp is fine: others cannot rename what root put there).
Status CheckOwnedByRoot(const fs::path& path, bool directory_expected) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return Status::Temporary(path.string() + ": cannot stat");
  bool directory = S_ISDIR(st.st_mode);
  if (directory_expected ? !directory : !S_ISREG(st.st_mode)) {
    return Status::Temporary(path.string() + ": not a " + (directory_expected ? "directory" : "regular file"));
  }
  bool shared_sticky = directory && (st.st_mode & S_ISVTX) != 0;
  if (st.st_uid != 0 || ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !shared_sticky)) {
    return Status::Temporary(path.string() + " is not owned by root or is writable by others");
  }
  return Status::Ok();
}

Status CheckTrusted(const fs::path& image_directory) {
  for (fs::path p = image_directory; !p.empty(); p = p.parent_path()) {
    if (Status s = CheckOwnedByRoot(p, true); !s.ok()) return s;
    if (p == p.root_path()) break;
  }
  std::error_code ec;
  for (fs::recursive_directory_iterator it(image_directory, ec), end; !ec && it != end; it.increment(ec)) {
    if (Status s = CheckOwnedByRoot(it->path(), it->is_directory(ec)); !s.ok()) return s;
  }
  if (ec) return Status::Temporary(image_directory.string() + ": " + ec.message());
  return Status::Ok();
}

// A passwd(5) line's uid, gid and home.
std::optional<Identity> ParseEntry(const std::string& entry) {
  std::vector<std::string> f = SplitFields(entry, ':');
  long long uid = 0, gid = 0;
  if (f.size() < 6 || !ParseDecimal(f[2], &uid) || !ParseDecimal(f[3], &gid)) return std::nullopt;
  return Identity{static_cast<uid_t>(uid), static_cast<gid_t>(gid), f[5].empty() ? "/" : f[5]};
}

// Whose privileges: a known user who is neither root nor in group root
// gets the user's own (with the spool's group for a mailbox there, as for
// set-gid mail clients: Debian's /var/mail is root:mail 2775); anyone else,
// root included, gets default_privs.
Result<Identity> ChooseIdentity(const std::string& user, const std::string& detail, const image::Image& image,
                                const mail::LookupTable& users) {
  std::optional<Identity> id;
  if (std::optional<std::string> entry = users.Lookup(user)) id = ParseEntry(*entry);
  if (id && id->uid != 0 && id->gid != 0) {
    std::string spool = image.Text("mail_spool_directory");
    std::string_view target = std::string_view(detail).substr(detail.find(' ') + 1);
    struct stat st {};
    if (StartsWith(detail, "mailbox ") && StartsWith(target, spool + "/") && stat(spool.c_str(), &st) == 0 &&
        st.st_gid != 0) {
      id->gid = st.st_gid;
    }
    return *id;
  }
  // default_privs is an account of this machine even when --users stands
  // in for the recipients.
  std::string privs = image.Text("default_privs");
  std::optional<std::string> entry = users.Lookup(privs);
  if (!entry) entry = mail::PasswdTable().Lookup(privs);
  id = entry ? ParseEntry(*entry) : std::nullopt;
  if (!id || id->uid == 0 || id->gid == 0) {
    return Status::Temporary("default_privs \"" + privs + "\" is not an unprivileged user");
  }
  id->home = "/";
  return *id;
}

}  // namespace

std::vector<std::string> ExportedEnvironment(const image::Image& image) {
  std::vector<std::string> out;
  for (const std::string& item :
       mail::SplitParameterList(image.Text("export_environment")).value_or(std::vector<std::string>{})) {
    if (item.find('=') != std::string::npos) {
      if (!StartsWith(item, "PATH=")) out.push_back(item);
    } else if (const char* value = getenv(item.c_str()); value != nullptr && item != "PATH") {
      out.push_back(item + "=" + value);
    }
  }
  return out;
}

namespace {

std::optional<gid_t> GroupId(const std::string& name) {
  struct group entry {};
  struct group* found = nullptr;
  std::vector<char> buffer(16384);
  if (getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
    return std::nullopt;
  }
  return found->gr_gid;
}

}  // namespace

Result<delivery::PipeRequest> PipeDeliveryOf(const PipeHelperRequest& request, const image::Image& image) {
  const mail::ServiceEntry* service = image::TransportService(image, request.transport);
  if (service == nullptr || service->command != "pipe") {
    return Status::Permanent("\"" + request.transport + "\" is not a pipe(8) service");
  }
  Result<mail::PipeService> settings = mail::ParsePipeService(service->arguments);
  if (!settings.ok()) return Status::Permanent("service " + request.transport + ": " + settings.status().message());
  delivery::PipeRequest out;
  out.service = request.transport;
  out.settings = std::move(settings).value();
  mail::PipeMacroValues& v = out.values;
  v.sender = request.sender;
  v.nexthop = request.nexthop;
  v.queue_id = request.queue_id;
  v.size = request.content.size();
  v.client_address = request.client_address;
  v.client_hostname = request.client_hostname;
  v.client_helo = request.client_helo;
  v.sasl_username = request.sasl_username;
  v.recipients = request.recipients;
  v.recipient_delimiter = image.Text("recipient_delimiter");
  out.content = request.content;
  out.now = request.now;
  // <service>_time_limit (its -o override, or main.cf's), else command_time_limit.
  std::string limit = image::ServiceSettingName(image, request.transport, request.transport + "_time_limit");
  out.time_limit = std::max<int64_t>(
      image.settings().Has(limit) ? image.settings().Seconds(limit) : image::TimeParameter(image, "command_time_limit"),
      1);
  out.environment = ExportedEnvironment(image);
  out.environment.push_back("PATH=/usr/bin:/bin");
  out.working_directory = out.settings.directory.empty() ? "/" : out.settings.directory;
  return out;
}

Result<AuthorizedPipe> AuthorizePipe(const PipeHelperRequest& request, const image::Image& image,
                                     const mail::LookupTable& users, const Identity& mail_owner) {
  Result<delivery::PipeRequest> delivery = PipeDeliveryOf(request, image);
  if (!delivery.ok()) return delivery.status();
  AuthorizedPipe out;
  out.request = std::move(delivery).value();
  const mail::PipeService& s = out.request.settings;
  // An account of this machine, even when --users stands in for the
  // recipients (as default_privs).
  std::optional<std::string> entry = users.Lookup(s.user);
  if (!entry) entry = mail::PasswdTable().Lookup(s.user);
  std::optional<Identity> id = entry ? ParseEntry(*entry) : std::nullopt;
  if (!id) return Status::Permanent("user=" + s.user + " of service " + request.transport + " is not a known user");
  if (!s.group.empty()) {
    std::optional<gid_t> gid = GroupId(s.group);
    if (!gid) return Status::Permanent("user=" + s.user + ":" + s.group + ": unknown group " + s.group);
    id->gid = *gid;
  }
  if (id->uid == 0 || id->gid == 0) {
    return Status::Permanent("user=" + s.user + " of service " + request.transport + " has root privileges");
  }
  if (id->uid == mail_owner.uid || id->gid == mail_owner.gid) {
    return Status::Permanent("user=" + s.user + " of service " + request.transport +
                             " has the mail system owner's privileges");
  }
  id->home = "/";
  out.identity = *id;
  out.chroot = s.chroot;
  return out;
}

Result<std::shared_ptr<const image::Image>> LoadTrustedImage(const std::string& images, const std::string& id) {
  if (!mail::IsImageId(id)) return Status::Temporary("malformed image id");
  std::error_code ec;
  std::string path = fs::is_directory(fs::path(images) / id, ec) ? images + "/" + id : images;
  fs::path resolved = fs::canonical(path, ec);
  if (ec) return Status::Temporary(path + ": " + ec.message());
  if (Status s = CheckTrusted(resolved); !s.ok()) return s;
  auto image = image::Image::Load(resolved.string());
  if (!image.ok()) return Status::Temporary(image.status().message());
  if ((*image)->id() != id) return Status::Temporary("image " + id + " is not in " + images);
  return image;
}

Result<AuthorizedDelivery> Authorize(const LocalHelperRequest& request, const resolve::Resolver& resolver,
                                     const mail::LookupTable& users) {
  const image::Image& image = resolver.image();
  if (resolver.config().CommandOf(request.transport) != "local") {
    return Status::Permanent("\"" + request.transport + "\" is not a local delivery service");
  }
  bool found = false;
  mail::LookupFailureScope lookups;
  for (const resolve::Delivery& d : resolver.LocalDeliveries(request.recipient, request.transport)) {
    if (d.status == resolve::Delivery::Status::kDeliver && d.address == request.recipient &&
        d.transport == request.transport && d.detail == request.delivery) {
      found = true;
      break;
    }
  }
  // local(8) defers when its alias tables do not answer.
  if (lookups.failed()) return Status::Temporary("alias database unavailable");
  if (!found) return Status::Permanent("the configuration gives this recipient no such local delivery");

  AuthorizedDelivery out;
  delivery::LocalRequest& q = out.request;
  q.queue_id = request.queue_id;
  q.sender = request.sender;
  q.recipient = request.recipient;
  q.original_recipient = request.original_recipient;
  std::string local = ToLower(mail::SplitAddress(request.recipient).local);
  auto extension = mail::SplitExtension(local, image.Text("recipient_delimiter"));
  q.user = extension ? extension->base : local;
  q.detail = request.delivery;
  q.content = request.content;
  q.hostname = image.Text("myhostname");
  q.now = request.now;
  q.command_time_limit = std::max<int64_t>(image::TimeParameter(image, "command_time_limit"), 1);
  q.mailbox_size_limit = static_cast<uint64_t>(std::max<int64_t>(image::IntParameter(image, "mailbox_size_limit"), 0));
  q.environment = ExportedEnvironment(image);
  auto identity = ChooseIdentity(q.user, q.detail, image, users);
  if (!identity.ok()) return identity.status();
  out.identity = *identity;
  return out;
}

}  // namespace postern::local
